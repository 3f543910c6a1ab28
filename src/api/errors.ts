/**
 * The one place where failures become HTTP answers (seed `003_*` "HTTP | Meaning" table is
 * the contract: 400 bad shape/unsupported action, 401 key, 402 funds, 404 unknown
 * order/service, 429 rate limit, 502 upstream error; plus 409 idempotency conflict, 413 body
 * too large and 503 for our own back-pressure).
 * Bodies are always the panels' `{"error": "..."}`, never a stack trace.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { InsufficientFundsError } from "../billing/ledger.js";
import { DomainError, type DomainErrorCode } from "../orders/errors.js";

const STATUS_BY_CODE: Readonly<Record<DomainErrorCode, ContentfulStatusCode>> = {
  bad_request: 400,
  invalid_key: 401,
  insufficient_funds: 402,
  unknown_service: 404,
  unknown_order: 404,
  unknown_refill: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  upstream_failed: 502,
  upstream_unavailable: 503,
};

export interface ErrorAnswer {
  status: ContentfulStatusCode;
  body: { error: string } & Record<string, unknown>;
  /** Seconds, for the Retry-After header. */
  retryAfter?: number;
  /** True when the error was not a modelled one (logged with the request id). */
  unexpected: boolean;
}

/** Maps any thrown value to an answer; unmodelled errors become 500 "Internal error". */
export function toErrorAnswer(error: unknown): ErrorAnswer {
  if (error instanceof DomainError) {
    return {
      status: STATUS_BY_CODE[error.code],
      body: { error: error.message, ...error.extra },
      ...(error.retryAfterSeconds !== undefined ? { retryAfter: error.retryAfterSeconds } : {}),
      unexpected: false,
    };
  }
  if (error instanceof InsufficientFundsError) {
    return { status: 402, body: { error: "Not enough funds on balance" }, unexpected: false };
  }
  return { status: 500, body: { error: "Internal error" }, unexpected: true };
}

/**
 * The HTTP status a customer gets for an answer: errors keep their code, unless HTTP error
 * codes are off for it (clients that throw on any non-2xx): then 200 with the same body
 * (issue #4). The customer's own setting (`httpErrorsSet`) wins; otherwise, and for a request
 * with no known customer (an unknown key), the server's `HTTP_ERRORS` (`serverDefault`, issue #11).
 */
export function statusFor(
  customer: { httpErrors: boolean; httpErrorsSet: boolean } | undefined,
  status: number,
  serverDefault = true,
): ContentfulStatusCode {
  const httpErrors = customer?.httpErrorsSet ? customer.httpErrors : serverDefault;
  return (!httpErrors && status >= 400 ? 200 : status) as ContentfulStatusCode;
}
