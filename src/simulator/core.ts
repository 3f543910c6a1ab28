/**
 * The simulator's state and behaviour without HTTP: store, progress timer, cancel timers,
 * faults, request log and rate limit. The API and control routes both drive one core.
 */

import { type ActionContext, handleAction } from "./actions.js";
import { defaultCatalogue, generatedCatalogue } from "./catalogue.js";
import { type Answer, DIALECT_SPECS, type DialectSpec } from "./dialects.js";
import { FaultQueue } from "./faults.js";
import { DEFAULT_PROGRESS, Progress } from "./progress.js";
import { FixedWindow } from "./rate-limit.js";
import { SIM_FINAL_STATUSES, SimStore } from "./store.js";
import type { LogEntry, SimOrder, SimulatorOptions } from "./types.js";
import type { SimDialect as Dialect } from "./vocabulary.js";

/** Entries kept in the request log; older ones are dropped in batches. */
const LOG_LIMIT = 10_000;

export class SimulatorCore {
  readonly dialect: Dialect;
  readonly spec: DialectSpec;
  readonly apiKey: string;
  readonly store: SimStore;
  readonly faults = new FaultQueue();
  readonly log: LogEntry[] = [];
  readonly latencyMs: number;
  private readonly limiter: FixedWindow | undefined;
  private readonly progress: Progress;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly hangs = new Set<() => void>();
  private readonly cancelDelayMs: number;
  private readonly context: ActionContext;
  closed = false;

  constructor(options: SimulatorOptions) {
    this.dialect = options.dialect;
    this.spec = DIALECT_SPECS[options.dialect];
    this.apiKey = options.apiKey ?? "sim-key";
    this.latencyMs = options.latencyMs ?? 0;
    this.cancelDelayMs = options.cancelDelayMs ?? 20;
    const seed = options.seed ?? 1;
    const services =
      options.catalogue ??
      (options.catalogueSize === undefined ? defaultCatalogue() : generatedCatalogue(options.catalogueSize, seed));
    this.store = new SimStore({
      balance: options.balance ?? "100.84292",
      services,
      currency: options.currency ?? "USD",
      firstOrderId: options.firstOrderId ?? this.spec.firstOrderId,
      firstRefillId: options.firstRefillId ?? this.spec.firstRefillId,
    });
    this.limiter = options.rateLimit === undefined ? undefined : new FixedWindow(options.rateLimit);
    const progress = { ...DEFAULT_PROGRESS, ...(options.progress === false ? {} : options.progress) };
    this.progress = new Progress(this.store, progress, seed);
    if (options.progress !== false) {
      const timer = setInterval(() => this.progress.tick(), progress.tickMs);
      timer.unref();
      this.timers.add(timer);
    }
    this.context = {
      spec: this.spec,
      store: this.store,
      apiKey: this.apiKey,
      onCancelAccepted: (order) => this.scheduleCancel(order),
    };
  }

  /** Answers an API request (no faults, no rate limit: the HTTP layer applies those). */
  answer(params: Record<string, string>): Answer {
    return handleAction(this.context, params);
  }

  /** Seconds to wait when this request is over the rate limit, else 0. */
  rateLimitHit(): number {
    return this.limiter?.hit() ?? 0;
  }

  record(entry: LogEntry): void {
    this.log.push(entry);
    if (this.log.length >= LOG_LIMIT + 1000) this.log.splice(0, this.log.length - LOG_LIMIT);
  }

  clearLog(): void {
    this.log.length = 0;
  }

  advance(ticks = 1): void {
    for (let i = 0; i < ticks; i++) this.progress.tick();
  }

  /** Resolves on close(): how a `hang` fault waits forever. */
  waitUntilClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.hangs.add(resolve));
  }

  /** A fixed delay that ends early on close(). */
  delay(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.hangs.delete(resolve);
        resolve();
      }, ms);
      this.timers.add(timer);
      this.hangs.add(resolve);
    });
  }

  private scheduleCancel(order: SimOrder): void {
    const finish = () => {
      if (order.cancelRequested && !SIM_FINAL_STATUSES.has(order.status)) this.store.cancelOrder(order);
      order.cancelRequested = false;
    };
    if (this.cancelDelayMs <= 0) {
      finish();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      finish();
    }, this.cancelDelayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Stops every timer and releases hanging requests. */
  shutdown(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const release of this.hangs) release();
    this.hangs.clear();
  }
}
