/**
 * Recovery of orders left `queued` (issue #8, issue #11): an order was charged but its
 * upstream outcome was never recorded (a crash, or a store write that failed at run time).
 * - If its upstream call never started (`submit_started_at` is null), it provably was not
 *   sent: fail it and refund the charge.
 * - If the call had started, the upstream may have it: mark it `unknown` and flag it for the
 *   operator, and its attempt still `sending` becomes `ambiguous` (issue #12: the order points
 *   at the route of that attempt). It is never resent, to that route or any other.
 *
 * Only orders no live process can still be placing are settled: by default those older than
 * the longest possible call of their provider (its `add` budget plus {@link RECOVERY_MARGIN_MS});
 * the server, holding the instance lock (so no other server is live), passes its start time.
 * Every change is conditional on the order still being `queued`.
 */
import { and, eq, lt } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { orderAttempts, orders } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import { failAndRefund } from "./place-order.js";

/** Added to a provider's `add` budget before a `queued` order counts as stuck, ms. */
export const RECOVERY_MARGIN_MS = 30_000;

/** The default `timeoutMs` of a provider (providers file). */
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The longest an `add` to `providerId` can take from its charge to its answer, ms: the
 * client's default budget for creating calls (timeoutMs + ceil(timeoutMs / 2), see
 * `upstream/client.ts`) plus {@link RECOVERY_MARGIN_MS}. A failover (issue #12) may move an
 * order to another route within the longest budget among its routes, so the longest budget of
 * any configured provider counts, not only that of the provider the order points at now.
 */
export function longestPlacementMs(ctx: AppContext, providerId: string): number {
  let timeoutMs = ctx.config.providers.find((p) => p.id === providerId)?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  for (const p of ctx.config.providers) timeoutMs = Math.max(timeoutMs, p.timeoutMs);
  return timeoutMs + Math.ceil(timeoutMs / 2) + RECOVERY_MARGIN_MS;
}

/**
 * Whether a `queued` order is old enough that no live process can still be placing it: its
 * last write (creation, a route's send or definite answer, an `orders reroute`, which sends an
 * old order anew) is older than the longest possible placement.
 */
export function isStuckQueued(
  ctx: AppContext,
  order: { providerId: string; createdAt: number; updatedAt: number },
  now = ctx.now(),
): boolean {
  return now - Math.max(order.createdAt, order.updatedAt) > longestPlacementMs(ctx, order.providerId);
}

export interface RecoveryResult {
  refunded: number;
  markedUnknown: number;
}

export interface RecoveryOptions {
  /**
   * Settle every `queued` order created before this time (epoch ms). Only for the holder of the
   * instance lock at its start: orders from before it belong to no live server. Default: only
   * orders older than their provider's longest possible placement ({@link isStuckQueued}).
   */
  createdBefore?: number;
}

/** Settles the `queued` orders no live process can still be placing (see the module doc). */
export function recoverQueuedOrders(ctx: AppContext, options: RecoveryOptions = {}): RecoveryResult {
  const now = ctx.now();
  const candidates = ctx.db
    .select({
      id: orders.id,
      providerId: orders.providerId,
      createdAt: orders.createdAt,
      updatedAt: orders.updatedAt,
    })
    .from(orders)
    .where(
      options.createdBefore === undefined
        ? eq(orders.submission, "queued")
        : and(eq(orders.submission, "queued"), lt(orders.createdAt, options.createdBefore)),
    )
    .all()
    .filter((o) => options.createdBefore !== undefined || isStuckQueued(ctx, o, now));
  const refunded: number[] = [];
  const unknown: number[] = [];
  for (const order of candidates) {
    // Decided on the order as it is inside the write transaction: a send that started after
    // the read above (another process) makes it held, never refunded.
    const settled = inTransaction(ctx.db, () => {
      const current = ctx.db
        .select({ submission: orders.submission, submitStartedAt: orders.submitStartedAt })
        .from(orders)
        .where(eq(orders.id, order.id))
        .get();
      if (current?.submission !== "queued") return "none";
      if (current.submitStartedAt === null) {
        return failAndRefund(ctx, order.id, "not sent before a restart", "Canceled") ? "refunded" : "none";
      }
      const changed = ctx.db
        .update(orders)
        .set({ submission: "unknown", flag: "upstream call was in flight during a restart", updatedAt: now })
        .where(and(eq(orders.id, order.id), eq(orders.submission, "queued")))
        .run().changes;
      if (changed > 0) {
        ctx.db
          .update(orderAttempts)
          .set({ outcome: "ambiguous", error: "in flight during a restart", finishedAt: now })
          .where(and(eq(orderAttempts.orderId, order.id), eq(orderAttempts.outcome, "sending")))
          .run();
      }
      return changed > 0 ? "held" : "none";
    });
    if (settled === "refunded") refunded.push(order.id);
    if (settled === "held") unknown.push(order.id);
  }
  if (refunded.length + unknown.length > 0) {
    ctx.logger.warn({ refunded, unknown }, "recovered orders left queued");
  }
  return { refunded: refunded.length, markedUnknown: unknown.length };
}
