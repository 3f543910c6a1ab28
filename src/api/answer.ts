/**
 * How the API's answers are built (issue #14). An answer is a `Response` over a plain header
 * object, never Hono's `c.json()`: with a header set beside the content type (`X-Request-Id`
 * on every answer) Hono builds a web `Headers` and @hono/node-server iterates it back into an
 * object, ~5 µs per answer. A plain object is written by @hono/node-server as it is.
 *
 * When a rate limiter ran on the request it set `RateLimit-*` headers on the context: the
 * answer then goes through `c.body()`, which merges them.
 */
import { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { endOfTurn } from "./end-of-turn.js";

/** Header names as @hono/node-server passes them to `writeHead` (any case is valid HTTP). */
export type AnswerHeaders = Record<string, string>;

/** A JSON answer: `text` is the serialised body (UTF-8). */
export function jsonAnswer(
  c: Context,
  status: number,
  text: string,
  headers: AnswerHeaders,
  throughContext: boolean,
): Response {
  headers["content-type"] = "application/json";
  return bytesAnswer(c, status, text, headers, throughContext);
}

/** An answer of `body` as it is (a string or precompressed bytes), with exactly `headers`. */
export function bytesAnswer(
  c: Context,
  status: number,
  body: string | Uint8Array<ArrayBuffer>,
  headers: AnswerHeaders,
  throughContext: boolean,
): Response {
  if (throughContext) return c.body(body, status as ContentfulStatusCode, headers);
  return new Response(body, { status, headers });
}

/**
 * A 304 Not Modified: no body and no `Content-Length` (RFC 9110 §15.4.5). A web `Response` may
 * not carry even an empty body with a 304, and @hono/node-server serves a body-less `Response`
 * by building a web `Response` and iterating its `Headers` (~10 µs). So, served by
 * @hono/node-server and with no headers on the context (`throughContext` false), the 304 is
 * written to Node's response directly and `RESPONSE_ALREADY_SENT` returned, as @hono/node-server
 * documents ("Direct response from Node.js API"); else Hono's `c.body(null, 304)`.
 * The direct write waits for the end of the turn, as every other answer does (`end-of-turn.ts`).
 * Either way the status the caller should log is 304.
 */
export function notModifiedAnswer(c: Context, headers: AnswerHeaders, throughContext: boolean): Response {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!throughContext && outgoing instanceof ServerResponse) {
    // With the turn's other answers (`end-of-turn.ts`), as the handler returns the others.
    void endOfTurn().then(() => {
      try {
        outgoing.writeHead(304, headers);
        outgoing.end();
      } catch {
        // A closed connection does not throw here (Node drops the bytes); only headers already
        // sent or an invalid header value would. Then no whole answer can be written: the
        // connection is closed, and the client sees it fail rather than read a broken answer.
        outgoing.destroy();
      }
    });
    return RESPONSE_ALREADY_SENT;
  }
  return c.body(null, 304, headers);
}
