/**
 * How orders and refills move on their own (seed `000_*`/`001_*` status values):
 * orders Pending → In progress → Completed, some Partial, some Canceled (refunded);
 * refills Pending → In progress → Completed or Rejected.
 *
 * Each record draws from its own PRNG seeded from (seed, id), so a record's path depends only
 * on the seed and on how many ticks it has seen, not on other traffic.
 */
import { recordRandom } from "./random.js";
import { SIM_FINAL_STATUSES, type SimStore } from "./store.js";
import type { ProgressOptions } from "./types.js";

export type ResolvedProgress = Required<ProgressOptions>;

export const DEFAULT_PROGRESS: ResolvedProgress = {
  tickMs: 1000,
  startProbability: 0.6,
  cancelProbability: 0.05,
  partialProbability: 0.1,
  deliverFraction: 0.5,
  refillStartProbability: 0.6,
  refillRejectProbability: 0.25,
};

const ORDER_SALT = 0x0bde;
const REFILL_SALT = 0x5ef1;

export class Progress {
  private readonly orderRandom = new Map<number, () => number>();
  private readonly refillRandom = new Map<number, () => number>();

  constructor(
    private readonly store: SimStore,
    private readonly options: ResolvedProgress,
    private readonly seed: number,
  ) {}

  /** One step for every order and refill still moving. */
  tick(): void {
    for (const order of this.store.orders.values()) {
      if (SIM_FINAL_STATUSES.has(order.status) || order.cancelRequested) continue;
      const random = this.randomFor(this.orderRandom, ORDER_SALT, order.id);
      const o = this.options;
      if (order.status === "Pending") {
        const r = random();
        if (r < o.startProbability) {
          order.status = "In progress";
          order.start_count = String(Math.floor(random() * 5000));
        } else if (r < o.startProbability + o.cancelProbability) {
          this.store.cancelOrder(order);
        }
      } else if (order.status === "In progress" || order.status === "Processing") {
        const remains = Number.parseInt(order.remains, 10);
        const left = Number.isFinite(remains) ? remains : order.quantity;
        if (random() < o.partialProbability && left > 0 && left < order.quantity) {
          this.store.partialOrder(order, left);
          continue;
        }
        const step = Math.max(1, Math.ceil(order.quantity * o.deliverFraction));
        const next = Math.max(0, left - step);
        order.remains = String(next);
        if (next === 0) order.status = "Completed";
      }
    }
    for (const refill of this.store.refills.values()) {
      if (refill.status !== "Pending" && refill.status !== "In progress") continue;
      const random = this.randomFor(this.refillRandom, REFILL_SALT, refill.id);
      if (refill.status === "Pending") {
        if (random() < this.options.refillStartProbability) refill.status = "In progress";
      } else {
        refill.status = random() < this.options.refillRejectProbability ? "Rejected" : "Completed";
      }
    }
  }

  private randomFor(cache: Map<number, () => number>, salt: number, id: number): () => number {
    let random = cache.get(id);
    if (random === undefined) {
      random = recordRandom(this.seed, salt, id);
      cache.set(id, random);
    }
    return random;
  }
}
