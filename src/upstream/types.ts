/**
 * The contract between smm-proxy and its upstream providers: what a provider client
 * offers and how every call ends (issue #3, "Failure classification").
 *
 * Every call resolves (never rejects) to exactly one {@link CallOutcome}:
 * - `ok`: parsed value;
 * - `rejected`: the upstream answered an error it defines (`{"error":..}` in a 200, or any
 *   HTTP 4xx other than 408/429). Nothing happened upstream.
 * - `not_sent`: provably never reached the upstream application (connect refused, DNS, TLS,
 *   our own queue timeout/full, circuit open). Safe to retry.
 * - `rate_limited`: HTTP 429 (with Retry-After). Safe to retry.
 * - `ambiguous`: may have been processed, no usable answer (timeout after send, reset,
 *   408/5xx, HTML or invalid JSON, unrecognised shape). `add` is never retried after this.
 */
import type { AddParams } from "../panel/service-types.js";
import type { OrderStatus, RefillStatus } from "../panel/statuses.js";

/** Details kept for the operator; never contains the upstream key. */
export interface UpstreamFailure {
  /** One line, safe to log: what happened. */
  message: string;
  /** HTTP status code when an answer came back. */
  httpStatus?: number;
  /** Up to 200 characters of the answer body, keys redacted. */
  bodyExcerpt?: string;
  /** The upstream's own `{"error": "..."}` text, when it sent one. */
  upstreamError?: string;
  /** True when the upstream refused for lack of funds on OUR account there (`isOutOfFundsError`). */
  outOfFunds?: boolean;
  /**
   * An order id the upstream put in an unconfirmed `add` answer (issue #11): the upstream may
   * hold that order, so the held order keeps the id and status sync follows it.
   */
  upstreamOrderId?: string;
}

/** Why a call never reached the upstream. The first four are our own back-pressure (503 downstream). */
export type NotSentReason = "queue_full" | "queue_timeout" | "circuit_open" | "connect_failed";

export type CallOutcome<T> =
  | { kind: "ok"; value: T }
  | { kind: "rejected"; failure: UpstreamFailure }
  | { kind: "not_sent"; reason: NotSentReason; failure: UpstreamFailure; retryAfterMs?: number }
  | { kind: "rate_limited"; failure: UpstreamFailure; retryAfterMs?: number }
  | { kind: "ambiguous"; failure: UpstreamFailure };

/** Queue priority classes, highest first (issue #3, "Per-provider queues"). */
export type CallPriority = "customer" | "sync" | "catalogue";

export interface CallOptions {
  /** Default `customer` for add/refill/cancel, `sync` for status calls, `catalogue` for services/balance. */
  priority?: CallPriority;
  /**
   * Whole budget for the call including queue wait and retries, ms. Defaults to the provider's
   * timeoutMs; for add/refill/multiRefill/cancel to timeoutMs + half of it (see `minCreateSendMs` in client.ts).
   */
  budgetMs?: number;
  /** Called once, right before the request leaves for the upstream (after queue wait). Used by `add` to record durably that the call started. */
  onSend?: () => void;
  /**
   * Sent as the `Idempotency-Key` header (providers with `idempotencyKeys`, issue #11). An `add`
   * sent with one and answered 409 (its first request still in process upstream) is `ambiguous`.
   */
  idempotencyKey?: string;
}

/** One entry of an upstream `services` catalogue, normalised. */
export interface UpstreamService {
  /** Upstream service id as a string ("1"; `panel` sends strings, others numbers). */
  service: string;
  name: string;
  /** Raw type string as sent ("Default", "Custom Comments", ...). */
  type: string;
  category: string;
  /** Price per 1000 in the provider's currency, exact decimal string ("0.90"). */
  rate: string;
  min: number;
  max: number;
  /** Flags default to false when the dialect does not send them (`panel`). */
  refill: boolean;
  cancel: boolean;
  dripfeed: boolean;
}

/** An order's state as an upstream reports it (seed `000_*` "Order status"). */
export interface UpstreamOrderState {
  /** Canonical status, or null when the spelling is unknown (see `rawStatus`). */
  status: OrderStatus | null;
  rawStatus: string;
  /** Upstream charge, decimal string in `currency` (or the provider's), when sent. */
  charge: string | null;
  startCount: number | null;
  remains: number | null;
  currency: string | null;
}

export interface UpstreamRefillState {
  status: RefillStatus | null;
  rawStatus: string;
}

/** A per-item error inside a batch answer (`{"error": "Incorrect order ID"}`). */
export interface ItemError {
  error: string;
}

/** Parameters of an upstream `add`: the upstream service id plus the type's parameters. */
export type UpstreamAddRequest = { service: string } & AddParams;

/**
 * A configured provider, reached through its dialect and its rate-limited queue.
 * Multi-id methods take at most 100 ids (throw RangeError beyond); callers batch.
 */
export interface ProviderClient {
  readonly id: string;
  services(options?: CallOptions): Promise<CallOutcome<UpstreamService[]>>;
  add(request: UpstreamAddRequest, options?: CallOptions): Promise<CallOutcome<{ order: string }>>;
  status(order: string, options?: CallOptions): Promise<CallOutcome<UpstreamOrderState>>;
  /** Map keyed by upstream order id; ids the upstream left out are absent. */
  multiStatus(
    orders: string[],
    options?: CallOptions,
  ): Promise<CallOutcome<Map<string, UpstreamOrderState | ItemError>>>;
  refill(order: string, options?: CallOptions): Promise<CallOutcome<{ refill: string }>>;
  multiRefill(
    orders: string[],
    options?: CallOptions,
  ): Promise<CallOutcome<Map<string, { refill: string } | ItemError>>>;
  refillStatus(refill: string, options?: CallOptions): Promise<CallOutcome<UpstreamRefillState>>;
  multiRefillStatus(
    refills: string[],
    options?: CallOptions,
  ): Promise<CallOutcome<Map<string, UpstreamRefillState | ItemError>>>;
  /** Map keyed by upstream order id: `{ok: true}` when the cancel was accepted. */
  cancel(orders: string[], options?: CallOptions): Promise<CallOutcome<Map<string, { ok: true } | ItemError>>>;
  balance(options?: CallOptions): Promise<CallOutcome<{ balance: string; currency: string }>>;
  /** Queue and circuit figures for health and metrics. */
  stats(): ProviderStats;
  /** Stops accepting calls; resolves when in-flight calls have ended or `timeoutMs` passed. */
  close(timeoutMs?: number): Promise<void>;
}

export interface ProviderStats {
  queued: number;
  inFlight: number;
  circuit: "closed" | "open" | "half_open";
  /** While the circuit is open: time before a probe may go, ms (absent otherwise). */
  retryAfterMs?: number;
  /** While the circuit is open: when a probe may go, ISO 8601 UTC (the server's clock; absent otherwise). */
  openUntil?: string;
}

/** Largest id list one upstream multi-call takes (seeds: "up to 100 IDs"). */
export const MAX_IDS_PER_CALL = 100;
