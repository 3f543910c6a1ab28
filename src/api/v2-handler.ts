/**
 * The API v2 endpoint as one Hono handler (issue #14): no middleware runs before it, so Hono
 * calls it directly like a bare route, without composing a chain (each middleware costs a
 * closure call and a promise per request). In order, per request:
 *
 * 1. the request id (a client's `X-Request-Id` or a UUID), sent back on every answer;
 * 2. 503 "Service is starting" until start-up's recovery is done (issue #11);
 * 3. the body within its size limit (413);
 * 4. the per-IP rate limit, when configured (seed `003_*`: 1000 per minute), then the fields
 *    (form, JSON, multipart, query);
 * 5. the API key (401) from the key cache, a suspended account (403);
 * 6. the per-key rate limit, when configured;
 * 7. the action (`actions/`), or 400 for an unknown one;
 * 8. the answer waits for the end of the event-loop turn, to leave with the turn's other answers
 *    (`end-of-turn.ts`);
 * 9. one metrics observation and one log line, errors included.
 *
 * Every failure becomes its answer through the error table (`errors.ts`), never a stack trace.
 */
import type { Context, MiddlewareHandler } from "hono";
import { customerByApiKey, type KeyHolder } from "../customers/key-cache.js";
import { type CacheGenerations, readCacheGenerations } from "../db/cache-generations.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { accountSuspended, badRequest, DomainError, invalidKey } from "../orders/errors.js";
import type { AppContext } from "../runtime/context.js";
import { ACTIONS, resolveAction } from "./actions/index.js";
import { type AnswerHeaders, bytesAnswer, jsonAnswer, notModifiedAnswer } from "./answer.js";
import { bodyReader } from "./body.js";
import { endOfTurn } from "./end-of-turn.js";
import { statusFor, toErrorAnswer } from "./errors.js";
import { chooseCoding, PrecompressedJson } from "./precompressed.js";
import { PresetAnswer } from "./preset-answer.js";
import { type Fields, readFields, readFieldsNow } from "./request-fields.js";
import { requestHeader, requestIdOf } from "./request-headers.js";

/** The context variables the handler sets (read by the error handler and tests). */
export type ApiVars = {
  fields: Fields;
  customer: KeyHolder;
  requestId: string;
  /** The status of an answer written to Node's response directly (a 304), whose `Response` is a marker. */
  answeredStatus: number;
};
export type ApiEnv = { Variables: ApiVars };

export interface ApiHandlerOptions {
  /** Largest accepted body, bytes. */
  maxBodyBytes: number;
  /** Server-wide default for HTTP error codes (`HTTP_ERRORS`); a customer's own setting wins. */
  httpErrors: boolean;
  /** False while the server is still starting: 503. Undefined: always ready. */
  ready: (() => boolean) | undefined;
  /** hono-rate-limiter middleware per client IP, or undefined (off). */
  ipLimiter: MiddlewareHandler<ApiEnv> | undefined;
  /** hono-rate-limiter middleware per customer, or undefined (off). */
  keyLimiter: MiddlewareHandler<ApiEnv> | undefined;
  metrics: Metrics;
  /** The access log: one `request` line per answer (fixed fields only, never a request field). */
  accessLog: Logger;
  /** Unexpected errors are logged here with the request id. */
  logger: Logger;
}

/** Metrics label of a request's action: a known action, `unknown`, or `none` (fields never read). */
function actionLabel(fields: Fields | undefined): string {
  if (fields === undefined) return "none";
  const name = resolveAction(fields);
  return name !== undefined && Object.hasOwn(ACTIONS, name) ? name : "unknown";
}

/** Runs a hono middleware around `inner`, returning `inner`'s answer (or the middleware's own). */
async function around(
  middleware: MiddlewareHandler<ApiEnv>,
  c: Context<ApiEnv>,
  inner: () => Promise<Response>,
): Promise<Response> {
  let answer: Response | undefined;
  const own = await middleware(c, async () => {
    answer = await inner();
  });
  if (answer !== undefined) return answer;
  if (own instanceof Response) return own;
  throw new Error("rate limiter ended a request without an answer");
}

/** Builds the `/api/v2` handler over a context. */
export function createApiHandler(
  ctx: AppContext,
  options: ApiHandlerOptions,
): (c: Context<ApiEnv>) => Promise<Response> {
  const { httpErrors: serverHttpErrors, ready, ipLimiter, keyLimiter, metrics, accessLog, logger } = options;
  const maxBytes = options.maxBodyBytes;
  const throughContext = ipLimiter !== undefined || keyLimiter !== undefined;
  const readBody = bodyReader(
    maxBytes,
    () => new DomainError("payload_too_large", `Request body too large (limit ${maxBytes} bytes)`),
  );

  const errorAnswer = (c: Context<ApiEnv>, requestId: string, error: unknown): Response => {
    const answer = toErrorAnswer(error);
    if (answer.unexpected) logger.error({ err: error, requestId }, "unexpected error answering a request");
    const headers: AnswerHeaders = { "x-request-id": requestId };
    if (answer.retryAfter !== undefined) headers["retry-after"] = String(answer.retryAfter);
    const status = statusFor(c.get("customer") as KeyHolder | undefined, answer.status, serverHttpErrors);
    return jsonAnswer(c, status, JSON.stringify(answer.body), headers, throughContext);
  };

  /** A precompressed answer (`services`): its form by `Accept-Encoding`, 304 on a matching `If-None-Match`. */
  const precompressedAnswer = (c: Context<ApiEnv>, requestId: string, answer: PrecompressedJson): Response => {
    const form = answer.form(chooseCoding(requestHeader(c, "accept-encoding")));
    const headers: AnswerHeaders = {
      "x-request-id": requestId,
      etag: form.etag,
      vary: "Accept-Encoding",
      "cache-control": "private, no-cache",
    };
    if (answer.notModified(requestHeader(c, "if-none-match"))) {
      c.set("answeredStatus", 304);
      return notModifiedAnswer(c, headers, throughContext);
    }
    headers["content-type"] = "application/json";
    if (form.coding !== "identity") headers["content-encoding"] = form.coding;
    return bytesAnswer(c, 200, form.bytes, headers, throughContext);
  };

  /** The action's answer as a `Response`; a promise only when the action answers with one (`add`, `services`). */
  const act = (c: Context<ApiEnv>, requestId: string, generations: CacheGenerations): Response | Promise<Response> => {
    const customer = c.get("customer");
    const fields = c.get("fields");
    const name = resolveAction(fields);
    const handler = name === undefined ? undefined : Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
    if (!handler) throw badRequest();
    const answer = handler({ ctx, customer, fields, generations, header: (h) => requestHeader(c, h) });
    // Awaiting an answer that is already there would cost microtask turns on the hot path.
    if (answer instanceof Promise) return answer.then((value) => toResponse(c, requestId, customer, value));
    return toResponse(c, requestId, customer, answer);
  };

  const toResponse = (c: Context<ApiEnv>, requestId: string, customer: KeyHolder, answer: unknown): Response => {
    if (answer instanceof PrecompressedJson) return precompressedAnswer(c, requestId, answer);
    if (answer instanceof PresetAnswer) {
      const status = statusFor(customer, answer.statusCode, serverHttpErrors);
      return jsonAnswer(c, status, JSON.stringify(answer.body), { "x-request-id": requestId }, throughContext);
    }
    return jsonAnswer(c, 200, JSON.stringify(answer), { "x-request-id": requestId }, throughContext);
  };

  const afterIpLimit = async (c: Context<ApiEnv>, requestId: string): Promise<Response> => {
    const fields = readFieldsNow(c) ?? (await readFields(c));
    c.set("fields", fields);
    const key = fields.key;
    if (!key) throw invalidKey();
    // One read of the cache counters serves the key cache and the action (`services`).
    const generations = readCacheGenerations(ctx.db);
    const customer = customerByApiKey(ctx.db, key, generations);
    if (!customer) throw invalidKey();
    c.set("customer", customer);
    if (customer.suspendedAt !== null) throw accountSuspended();
    if (keyLimiter !== undefined) return around(keyLimiter, c, async () => act(c, requestId, generations));
    return act(c, requestId, generations);
  };

  const starting = () => new DomainError("upstream_unavailable", "Service is starting, try again later", {}, 1);

  return async (c) => {
    const started = performance.now();
    const requestId = requestIdOf(c);
    c.set("requestId", requestId);
    let answer: Response;
    try {
      if (ready !== undefined && !ready()) throw starting();
      // The body's size is checked before the per-IP limit, as it always was: an oversized body
      // answers 413 and takes no rate-limit slot.
      await readBody(c);
      answer =
        ipLimiter !== undefined
          ? await around(ipLimiter, c, () => afterIpLimit(c, requestId))
          : await afterIpLimit(c, requestId);
    } catch (error) {
      answer = errorAnswer(c, requestId, error);
    }
    // Answers made in this turn leave together at its end (`end-of-turn.ts`).
    await endOfTurn();
    const durationMs = performance.now() - started;
    const action = actionLabel(c.get("fields") as Fields | undefined);
    const status = (c.get("answeredStatus") as number | undefined) ?? answer.status;
    try {
      metrics.observeRequest(action, status, durationMs);
      const customer = c.get("customer") as KeyHolder | undefined;
      accessLog.info(
        { requestId, action, customerId: customer?.id ?? null, status, durationMs: Math.round(durationMs * 10) / 10 },
        "request",
      );
    } catch {
      // A failing log or metrics sink never turns a made answer into an error answer.
    }
    return answer;
  };
}
