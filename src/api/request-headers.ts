/**
 * Request headers and the request id, read cheaply (issue #14). Served by @hono/node-server,
 * the first `c.req.header()` builds a web `Headers` from every raw header (~7 µs of CPU per
 * request in `npm run bench`, a quarter of a whole bare route); Node has already parsed them
 * into `incoming.headers` (lower-case names, repeated values joined with ", " as
 * `Headers.get` does), so a header is read there. Elsewhere (`app.request()` in tests) it is
 * `c.req.header()`, as before.
 */
import { randomUUID } from "node:crypto";
import { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";

/** The value of request header `name` (lower-case), or undefined. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (incoming instanceof IncomingMessage) {
    const value = incoming.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }
  return c.req.header(name);
}

const REQUEST_ID = /^[\w\-=]{1,255}$/;

/**
 * Middleware: the request id (`c.get("requestId")`), taken from a client's `X-Request-Id` of
 * up to 255 word characters, `-` or `=`, else a random UUID; sent back as `X-Request-Id`.
 * What hono's `requestId()` does, reading the header with {@link requestHeader}.
 */
export function requestIdMiddleware(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const given = requestHeader(c, "x-request-id");
    const id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
  };
}
