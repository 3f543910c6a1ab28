/**
 * One provider's request queue (issue #3, "Per-provider queues"): p-queue with the provider's
 * `concurrency` and a sliding-window rate limit (`strict: true`, so no more than `intervalCap`
 * starts in any rolling `interval`), three priority classes, and bounded waiting: a job whose
 * estimated wait passes its deadline fails at once (`queue_timeout`), one still waiting at its
 * deadline is removed (`queue_timeout`), and beyond `maxQueued` waiting jobs new ones fail
 * (`queue_full`), each with a `retryAfterMs` estimate.
 *
 * The rate limit is enforced twice: p-queue spaces dequeues, and right before each send a
 * sliding log of rate slots holds the job if needed (see `paceSend`), so the upstream never
 * counts more than `intervalCap` requests in any `interval` (issue #6, "never above"), even
 * when stalls on either side delay some requests and bunch them with later ones. A slot stays
 * in the window until `interval + margin` after the LATEST moment the upstream can have
 * counted its request (see {@link RateSlot}); every retry is a new job with its own slot.
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
   * Added to the window, ms: covers what the arrival bound of {@link RateSlot} cannot see
   * (clock granularity, the upstream counting by whole seconds, a latency minimum not yet
   * observed). Default: 2 % of the window, within 25..1000 ms.
   */
  rateMarginMs?: number;
  /** Answer latencies kept to find the least one (see {@link RateSlot}). Default 100. */
  latencySamples?: number;
  /**
   * Answers needed before their least latency is trusted; before, a slot counts until its
   * answer (so a run of stalled first answers cannot pass for the upstream's speed). Default 10.
   */
  minLatencySamples?: number;
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

/**
 * The rate slot of one started job, handed to its task. The upstream counts a request at some
 * moment between our send and its answer; what bounds that moment is:
 * - answered (`answered(sentAt, headersAt)`): at the latest `headersAt − minLatency`, where
 *   `minLatency` is the least `headersAt − sentAt` of the provider's last `latencySamples`
 *   answers (0 until `minLatencySamples` came), i.e. the upstream's own answer time
 *   plus the way back: a request stalled anywhere before it was counted (our event loop, the
 *   network, the upstream's accept queue) comes back that much later, so its slot moves later
 *   with it. The cost: a window's budget shrinks by how much slower than the least latency
 *   its answers were (~5 ms per 1 s window against the bench simulator);
 * - not answered (timeout, reset) or no call to `answered`: the moment the task ended;
 * - `release()`: nothing was sent, the slot is freed.
 * The bound is never earlier than the moment the slot was taken.
 */
export interface RateSlot {
  /** Nothing was sent: the slot is given back. */
  release(): void;
  /**
   * The request was written at `sentAt` and the answer's status line and headers arrived at
   * `headersAt` (epoch ms, same clock as the queue's).
   */
  answered(sentAt: number, headersAt: number): void;
}

/** A rate slot as the queue keeps it. */
interface Slot {
  /** When the slot was taken (the send was allowed), epoch ms. */
  takenAt: number;
  /** Latest moment the upstream can have counted the request, epoch ms; undefined while running. */
  countedBy: number | undefined;
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
  /** Rate slots still in the window (running, or counted within the last `windowMs`). */
  private slots: Slot[] = [];
  /** Recent answer latencies (`headersAt − sentAt`), ms, oldest first. */
  private readonly latencies: number[] = [];
  private readonly latencySamples: number;
  private readonly minLatencySamples: number;
  /** Resolves (and is replaced) whenever a running slot ends. */
  private slotEnded: Promise<void>;
  private signalSlotEnded: () => void = () => undefined;
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
    this.latencySamples = Math.max(1, options.latencySamples ?? 100);
    this.minLatencySamples = Math.min(this.latencySamples, options.minLatencySamples ?? 10);
    this.slotEnded = this.nextSlotEnded();
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
    this.pruneSlots(now);
    const missing = cap - this.slots.length;
    // Sorting the window's sends is needed only when the call must wait for one to age out
    // (a busy provider keeps hundreds in its window: no sort per call, issue #14).
    const slotFree = slot < missing ? now : (this.recentSends(now)[slot - missing] ?? now) + this.windowMs;
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
  async run<T>(task: (slot: RateSlot) => Promise<T>, options: QueueJobOptions): Promise<QueueResult<T>> {
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
          let slot: Slot | undefined;
          try {
            slot = await this.paceSend();
            return await task(this.slotHandle(slot));
          } finally {
            // Not answered: the request may have been counted up to now.
            if (slot !== undefined) this.endSlot(slot, this.now());
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
   * is arrivals. Right before the send (the task runs synchronously after this resolves) the
   * job takes a rate slot if fewer than `intervalCap` slots are in the window (running, or
   * counted by the upstream within the last `windowMs`, see {@link RateSlot}); else it waits
   * for a slot to leave the window or a running one to end.
   */
  private async paceSend(): Promise<Slot> {
    // Let the code that enqueued finish first, so a synchronous burst sends together.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (;;) {
      const now = this.now();
      this.pruneSlots(now);
      if (this.slots.length < this.intervalCap) {
        const slot: Slot = { takenAt: now, countedBy: undefined };
        this.slots.push(slot);
        return slot;
      }
      // Slots that must leave the window before this job fits, earliest first.
      const need = this.slots.length - this.intervalCap + 1;
      const leaving = this.slots
        .flatMap((s) => (s.countedBy === undefined ? [] : [s.countedBy + this.windowMs]))
        .sort((a, b) => a - b);
      const at = leaving[need - 1];
      const ended = this.slotEnded;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ended,
        ...(at === undefined
          ? []
          : [new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(1, at - now))))]),
      ]);
      clearTimeout(timer);
    }
  }

  /** The task's view of its slot; only the first call has an effect. */
  private slotHandle(slot: Slot): RateSlot {
    return {
      release: () => {
        if (slot.countedBy !== undefined) return;
        slot.countedBy = Number.NEGATIVE_INFINITY;
        this.slots = this.slots.filter((s) => s !== slot);
        this.signal();
      },
      answered: (sentAt, headersAt) => {
        if (slot.countedBy !== undefined) return;
        const latency = Math.max(0, headersAt - sentAt);
        this.latencies.push(latency);
        if (this.latencies.length > this.latencySamples) this.latencies.shift();
        const floor = this.latencies.length < this.minLatencySamples ? 0 : Math.min(...this.latencies);
        this.endSlot(slot, headersAt - floor);
      },
    };
  }

  /** Ends a running slot: the upstream counted its request at `countedBy` at the latest. */
  private endSlot(slot: Slot, countedBy: number): void {
    if (slot.countedBy !== undefined) return;
    slot.countedBy = Math.max(slot.takenAt, countedBy);
    this.signal();
  }

  private nextSlotEnded(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.signalSlotEnded = resolve;
    });
  }

  private signal(): void {
    const resolve = this.signalSlotEnded;
    this.slotEnded = this.nextSlotEnded();
    resolve();
  }

  /** Drops slots counted at least `windowMs` ago. */
  private pruneSlots(now: number): void {
    this.slots = this.slots.filter((s) => s.countedBy === undefined || now - s.countedBy < this.windowMs);
  }

  /** For wait estimates: each slot in the window by its count time (running: taken time), ascending. */
  private recentSends(now: number): number[] {
    this.pruneSlots(now);
    return this.slots.map((s) => s.countedBy ?? s.takenAt).sort((a, b) => a - b);
  }

  private recordRunTime(ms: number): void {
    this.avgRunMs = this.avgRunMs === undefined ? ms : this.avgRunMs * 0.8 + ms * 0.2;
  }
}
