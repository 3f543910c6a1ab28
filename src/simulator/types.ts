/**
 * Public types of the panel simulator: its options, its records and its test hooks.
 * The shapes it answers with follow the seeds (`000_*` JAP, `002_*` MoreThanPanel,
 * `004_*` JustProvider, `003_*` the generic panel).
 */
import type { SimDialect as Dialect } from "./vocabulary.js";

/** One service of the simulator's catalogue (internal form; each dialect formats it on `services`). */
export interface SimService {
  service: number;
  name: string;
  /** Raw type string ("Default", "Custom Comments", ...); unknown types are ordered like `Default`. */
  type: string;
  category: string;
  /** Price per 1000 (per package for package types), decimal string. */
  rate: string;
  min: number;
  max: number;
  refill: boolean;
  cancel: boolean;
  dripfeed: boolean;
}

/** An order in the simulator's store. State fields are kept as the raw strings it answers with. */
export interface SimOrder {
  id: number;
  service: number;
  /** Every `add` parameter except key/action, as received. */
  params: Record<string, string>;
  /** Total ordered quantity (× runs for drip-feed). */
  quantity: number;
  charge: string;
  start_count: string;
  /** Raw status string; tests may force any spelling ("Cancelled", "weird"). */
  status: string;
  remains: string;
  createdAt: number;
  /** Set by `cancel`; the order turns Canceled shortly after. */
  cancelRequested: boolean;
}

export interface SimRefill {
  id: number;
  order: number;
  /** Raw status string. */
  status: string;
  createdAt: number;
}

/** How orders move on their own, one step per tick; every draw comes from the seeded PRNG. */
export interface ProgressOptions {
  /** Tick interval, ms. Default 1000. */
  tickMs?: number;
  /** Chance per tick that a Pending order starts (In progress). Default 0.6. */
  startProbability?: number;
  /** Chance per tick that a Pending order is canceled by the panel (refunded). Default 0.05. */
  cancelProbability?: number;
  /** Chance per tick that an In progress order stops as Partial. Default 0.1. */
  partialProbability?: number;
  /** Share of the quantity delivered per tick while In progress. Default 0.5. */
  deliverFraction?: number;
  /** Chance per tick that a Pending refill starts. Default 0.6. */
  refillStartProbability?: number;
  /** Chance that a started refill ends Rejected rather than Completed. Default 0.25. */
  refillRejectProbability?: number;
}

export interface RateLimitOptions {
  /** Requests allowed per window (API requests only; the control API is never limited). */
  requests: number;
  intervalMs: number;
}

export interface SimulatorOptions {
  dialect: Dialect;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The key the simulator accepts. Default "sim-key". */
  apiKey?: string;
  /** Default "USD". */
  currency?: string;
  /** Starting balance, decimal string. Default "100.84292". */
  balance?: string;
  /** Services to offer. Default: {@link defaultCatalogue} (every service type). */
  catalogue?: SimService[];
  /** When set (and `catalogue` is not), a generated catalogue of this many services. */
  catalogueSize?: number;
  /** Automatic progress; `false` disables it (use `advance()` to step by hand). Default: enabled, 1000 ms tick. */
  progress?: ProgressOptions | false;
  /** PRNG seed for progress and generated data. Default 1. */
  seed?: number;
  /** Fixed-window rate limit; over it the simulator answers HTTP 429 with Retry-After. */
  rateLimit?: RateLimitOptions;
  /** Fixed delay before answering each API request, ms. Default 0. */
  latencyMs?: number;
  /** Delay between a `cancel` and the order turning Canceled, ms. Default 20. */
  cancelDelayMs?: number;
  /** First order id (default per dialect, e.g. 23501 for jap). */
  firstOrderId?: number;
  /** First refill id (default per dialect). */
  firstRefillId?: number;
}

export const FAULT_KINDS = [
  "hang",
  "reset",
  "http500_html",
  "http200_html",
  "truncated_json",
  "error",
  "http429",
  "drop_answer",
  "http403_html",
  "http502",
] as const;
/**
 * - `hang`: never answers (until `close()`).
 * - `reset`: destroys the socket without processing.
 * - `http500_html` / `http403_html` / `http502`: HTML error page, not processed.
 * - `http200_html`: a Cloudflare-like challenge page with HTTP 200, not processed.
 * - `truncated_json`: processed, the JSON answer is cut in half.
 * - `error`: the dialect's error form with `message`, not processed.
 * - `http429`: HTTP 429 with Retry-After, not processed.
 * - `drop_answer`: processed (an `add` creates the order), then the socket is destroyed.
 */
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  kind: FaultKind;
  /** `error` only: the message. Default "Simulated error". */
  message?: string;
  /** `error` only: HTTP status. Default 200 (panel: 400). */
  httpStatus?: number;
}
export type Fault = FaultKind | FaultSpec;

/** One received API request. */
export interface LogEntry {
  /** ms since epoch, when received. */
  at: number;
  action: string;
  /** Every parameter received; `key` is replaced by "***". */
  params: Record<string, string>;
  /** HTTP status answered; null when no answer was sent (hang, reset, drop_answer). */
  status: number | null;
  fault?: FaultKind;
}

/** What `setOrder` may change; an unknown id creates the order. */
export interface OrderPatch {
  status?: string;
  remains?: string | number;
  start_count?: string | number;
  charge?: string | number;
  /** Only used when creating: service id (default: first service) and quantity (default 1000). */
  service?: number;
  quantity?: number;
}

export interface ServicePatch {
  name?: string;
  type?: string;
  category?: string;
  rate?: string;
  min?: number;
  max?: number;
  refill?: boolean;
  cancel?: boolean;
  dripfeed?: boolean;
}

/** A running simulated panel and its test hooks. */
export interface Simulator {
  readonly dialect: Dialect;
  /** `http://127.0.0.1:PORT/api/v2` */
  readonly url: string;
  /** `http://127.0.0.1:PORT/__sim`: the JSON control API. */
  readonly controlUrl: string;
  readonly port: number;
  readonly apiKey: string;
  /** The store, live (do not mutate; use the hooks). */
  readonly orders: ReadonlyMap<number, SimOrder>;
  readonly refills: ReadonlyMap<number, SimRefill>;
  readonly services: readonly SimService[];
  readonly log: readonly LogEntry[];
  /** Current balance, decimal string with 5 decimals. */
  readonly balance: string;
  setOrder(id: number, patch: OrderPatch): SimOrder;
  setRefill(id: number, patch: { status: string; order?: number }): SimRefill;
  /** The next `count` API calls of `action` (or any action with "*") get `fault`. */
  injectFaults(action: string, count: number, fault: Fault): void;
  clearFaults(): void;
  clearLog(): void;
  setServices(list: SimService[]): void;
  updateService(id: number, patch: ServicePatch): SimService;
  removeService(id: number): boolean;
  setBalance(balance: string): void;
  /** Runs `ticks` progress steps now (works with `progress: false`). */
  advance(ticks?: number): void;
  close(): Promise<void>;
}
