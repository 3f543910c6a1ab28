/**
 * Domain errors of the customer-facing verbs. They name what went wrong and carry the
 * customer-safe message in the panels' usual wording (seed `001_*` "Error Handling",
 * seed `003_*`); they know nothing of HTTP: `api/errors.ts` maps each `code` to a status.
 */

export type DomainErrorCode =
  | "bad_request"
  | "invalid_key"
  | "insufficient_funds"
  | "unknown_service"
  | "unknown_order"
  | "unknown_refill"
  | "upstream_failed"
  | "upstream_unavailable"
  | "rate_limited"
  | "conflict"
  | "payload_too_large";

export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** Extra fields for the answer body besides `error` (e.g. the held order id). */
    readonly extra: Record<string, unknown> = {},
    /** Seconds the client should wait before retrying (503/429). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const badRequest = (message = "Incorrect request") => new DomainError("bad_request", message);
export const unknownService = () => new DomainError("unknown_service", "Incorrect service ID");
export const unknownOrder = () => new DomainError("unknown_order", "Incorrect order ID");
export const unknownRefill = () => new DomainError("unknown_refill", "Refill not found");
export const invalidKey = () => new DomainError("invalid_key", "Invalid API key");

/** The upstream refused or could not be reached: nothing was placed, the charge is refunded. */
export const upstreamFailed = (message = "Upstream provider error") => new DomainError("upstream_failed", message);

/** Our own back-pressure (queue full, circuit open): refunded, retry later. */
export const upstreamUnavailable = (retryAfterSeconds: number) =>
  new DomainError(
    "upstream_unavailable",
    "Provider is busy, try again later",
    {},
    Math.max(1, Math.ceil(retryAfterSeconds)),
  );
