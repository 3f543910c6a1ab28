/**
 * One provider's request queue (issue #3, "Per-provider queues"): p-queue with the provider's
 * `concurrency` and a sliding-window rate limit (`strict: true`, so no more than `intervalCap`
 * starts in any rolling `interval`), three priority classes, and bounded waiting: a job whose
 * estimated wait passes its deadline fails at once (`queue_timeout`), one still waiting at its
 * deadline is removed (`queue_timeout`), and beyond `maxQueued` waiting jobs new ones fail
 * (`queue_full`), each with a `retryAfterMs` estimate.
 *
 * The rate limit is enforced twice: p-queue spaces dequeues, and right before each send a
 * sliding log of actual send times holds the job if needed (see `paceSend`), so the upstream
 * never sees more than `intervalCap` requests per window even when work between dequeue and
 * send bunches them. Every retry is a new job and counts against the limit.
 */
import PQueue from "p-queue";
import type { CallPriority } from "./types.js";

/** p-queue priorities: greater runs first. */
export const PRIORITY_VALUE: Readonly<Record<CallPriority, number>> = { customer: 2, sync: 1, catalogue: 0 };

export interface ProviderQueueOptions {
  /** Jobs running at once (≥ 1). */
  concurrency: number;
  /** Starts allowed in any rolling `intervalMs` (≥ 1). */
  intervalCap: number;
  /** Rate window, ms. */
  intervalMs: number;
  /**
   * Added to the window, ms, so network jitter between our start and the upstream's arrival
   * time cannot push the upstream's measured rate over the limit. Default: 2 % of the window,
   * within 25..1000 ms.
   */
  rateMarginMs?: number;
  /** Waiting jobs beyond which new ones fail with `queue_full`. Default 1000. */
  maxQueued?: number;
  /** Clock, epoch ms (tests). */
  now?: () => number;
}

/** Why a job did not run. `closed`: the queue was closed (shutdown). */
export type QueueRefusal = "queue_full" | "queue_timeout" | "circuit_open" | "closed";

export type QueueResult<T> =
  | { ran: true; value: T; waitedMs: number }
  | { ran: false; reason: QueueRefusal; retryAfterMs: number; waitedMs: number };

export interface QueueJobOptions {
  priority: CallPriority;
  /** Latest time the job may start, epoch ms. */
  startBy: number;
}

interface Waiting {
  priority: number;
  controller: AbortController;
}

/** Marks an abort we caused, carrying the refusal to report. */
class Refusal {
  constructor(
    readonly reason: QueueRefusal,
    readonly retryAfterMs: number,
  ) {}
}

export function defaultRateMarginMs(intervalMs: number): number {
  return Math.min(1000, Math.max(25, Math.round(intervalMs * 0.02)));
}

export class ProviderQueue {
  readonly concurrency: number;
  readonly intervalCap: number;
  /** The effective window (configured interval + margin), ms. */
  readonly windowMs: number;
  readonly maxQueued: number;
  private readonly queue: PQueue;
  private readonly now: () => number;
  private readonly waiting = new Set<Waiting>();
  /** Send times of the last `intervalCap` jobs, ascending, epoch ms. */
  private readonly sends: number[] = [];
  private running = 0;
  /** Moving average of job run time, ms (undefined until a job finished). */
  private avgRunMs: number | undefined;
  private closed = false;

  constructor(options: ProviderQueueOptions) {
    this.concurrency = options.concurrency;
    this.intervalCap = options.intervalCap;
    this.windowMs = options.intervalMs + (options.rateMarginMs ?? defaultRateMarginMs(options.intervalMs));
    this.maxQueued = options.maxQueued ?? 1000;
    this.now = options.now ?? Date.now;
    this.queue = new PQueue({
      concurrency: options.concurrency,
      intervalCap: options.intervalCap,
      interval: this.windowMs,
      strict: true,
    });
  }

  /** Jobs waiting to start. */
  get queued(): number {
    return this.waiting.size;
  }

  /** Jobs running now. */
  get inFlight(): number {
    return this.running;
  }

  /**
   * Estimated wait before a new job of `priority` would start, ms: the later of the rate
   * limit's next free slot for its place in line and, when all slots are busy, rounds of the
   * average run time.
   */
  estimateWaitMs(priority: CallPriority): number {
    const p = PRIORITY_VALUE[priority];
    let ahead = 0;
    for (const w of this.waiting) if (w.priority >= p) ahead++;
    const now = this.now();
    const cap = this.intervalCap;
    const slot = ahead % cap;
    const rounds = Math.floor(ahead / cap);
    const recent = this.recentSends(now);
    const missing = cap - recent.length;
    const slotFree = slot < missing ? now : (recent[slot - missing] ?? now) + this.windowMs;
    const rateWait = Math.max(now, slotFree) + rounds * this.windowMs - now;
    const free = this.concurrency - this.running;
    const concurrencyWait =
      ahead < free ? 0 : (Math.floor((ahead - free) / this.concurrency) + 1) * (this.avgRunMs ?? 0);
    return Math.max(0, Math.ceil(Math.max(rateWait, concurrencyWait)));
  }

  /**
   * Runs `task` when a slot is free, or refuses without running it. Never rejects unless
   * `task` does.
   */
  async run<T>(task: () => Promise<T>, options: QueueJobOptions): Promise<QueueResult<T>> {
    const enqueuedAt = this.now();
    const refuse = (reason: QueueRefusal, retryAfterMs: number): QueueResult<T> => ({
      ran: false,
      reason,
      retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)),
      waitedMs: this.now() - enqueuedAt,
    });
    if (this.closed) return refuse("closed", 1000);
    const estimate = this.estimateWaitMs(options.priority);
    if (this.waiting.size >= this.maxQueued) return refuse("queue_full", Math.max(1000, estimate));
    if (enqueuedAt + estimate > options.startBy) return refuse("queue_timeout", estimate);

    const entry: Waiting = { priority: PRIORITY_VALUE[options.priority], controller: new AbortController() };
    this.waiting.add(entry);
    const timer = setTimeout(
      () => entry.controller.abort(new Refusal("queue_timeout", this.estimateWaitMs(options.priority))),
      Math.max(0, options.startBy - enqueuedAt),
    );
    let startedAt = enqueuedAt;
    try {
      const value = await this.queue.add(
        async () => {
          // Started: from here on the job is never aborted (p-queue would free its slot early).
          clearTimeout(timer);
          this.waiting.delete(entry);
          startedAt = this.now();
          this.running++;
          try {
            await this.paceSend();
            return await task();
          } finally {
            this.running--;
            this.recordRunTime(this.now() - startedAt);
          }
        },
        { priority: entry.priority, signal: entry.controller.signal },
      );
      return { ran: true, value, waitedMs: startedAt - enqueuedAt };
    } catch (error) {
      if (error instanceof Refusal) return refuse(error.reason, error.retryAfterMs);
      throw error;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(entry);
    }
  }

  /** Refuses every waiting job with `reason` (e.g. the circuit opened). Running jobs are not touched. */
  failWaiting(reason: QueueRefusal, retryAfterMs: number): void {
    for (const entry of this.waiting) entry.controller.abort(new Refusal(reason, retryAfterMs));
  }

  /** Refuses new and waiting jobs; resolves when running jobs have ended or `timeoutMs` passed. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    this.failWaiting("closed", 1000);
    if (this.running === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.queue.onIdle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * The second half of the rate limit: p-queue spaces dequeues, but what the upstream counts
   * is sends, and synchronous work between a dequeue and its `fetch` (a burst of enqueues,
   * cold code) can bunch sends of one window closer to the next window's. So right before the
   * send (the task runs synchronously after this resolves) the sliding log of actual send
   * times is checked and the send is held until it fits; then its time is recorded.
   */
  private async paceSend(): Promise<void> {
    // Let the code that enqueued finish first, so a synchronous burst sends together.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (;;) {
      const now = this.now();
      const recent = this.recentSends(now);
      if (recent.length < this.intervalCap) {
        this.sends.push(now);
        if (this.sends.length > this.intervalCap) this.sends.splice(0, this.sends.length - this.intervalCap);
        return;
      }
      const oldest = recent[recent.length - this.intervalCap] ?? now;
      await new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, oldest + this.windowMs - now)));
    }
  }

  /** Send times within the window ending `now`, ascending. */
  private recentSends(now: number): number[] {
    return this.sends.filter((t) => now - t < this.windowMs);
  }

  private recordRunTime(ms: number): void {
    this.avgRunMs = this.avgRunMs === undefined ? ms : this.avgRunMs * 0.8 + ms * 0.2;
  }
}
