/**
 * Retry policy (issue #3): only `not_sent` because the connection failed and `rate_limited`
 * are retried, each retry a new queued job, with bounded exponential backoff that must fit in
 * the caller's budget. Our own back-pressure (queue_full, queue_timeout, circuit_open) is
 * returned at once; `ambiguous` and `rejected` never are retried (so `add` is never sent twice
 * after an ambiguous answer).
 */
import type { CallOutcome } from "./types.js";

export interface RetryOptions {
  /** Attempts per call, first included. Default 4. */
  maxAttempts?: number;
  /** First backoff, ms; doubles per attempt. Default 100. */
  baseDelayMs?: number;
  /** Backoff ceiling, ms (a longer Retry-After is still honoured). Default 2000. */
  maxDelayMs?: number;
  /** Random source in [0, 1) for jitter (tests). */
  random?: () => number;
}

export function isRetryable(outcome: CallOutcome<unknown>): boolean {
  if (outcome.kind === "rate_limited") return true;
  return outcome.kind === "not_sent" && outcome.reason === "connect_failed";
}

/** Delay before attempt `attempt + 1`, ms: jittered exponential backoff, at least Retry-After. */
export function backoffMs(attempt: number, outcome: CallOutcome<unknown>, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 2000;
  const random = options.random ?? Math.random;
  const exp = Math.min(max, base * 2 ** (attempt - 1));
  const jittered = Math.round(exp * (0.5 + random() * 0.5));
  const retryAfter = outcome.kind === "rate_limited" ? (outcome.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, retryAfter);
}
