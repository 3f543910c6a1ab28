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
 * The request id: a client's `X-Request-Id` of up to 255 word characters, `-` or `=`, else a
 * random UUID. What hono's `requestId()` takes, reading the header with {@link requestHeader}.
 */
export function requestIdOf(c: Context): string {
  const given = requestHeader(c, "x-request-id");
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Middleware for the routes beside the API (health, metrics, dashboard): the request id as
 * `c.get("requestId")`, sent back as `X-Request-Id`. The API handler does the same itself
 * (`api/v2-handler.ts`), so that no middleware runs before it.
 */
export function requestIdMiddleware(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const id = requestIdOf(c);
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
  };
}
