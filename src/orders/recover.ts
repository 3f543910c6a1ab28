/**
 * Crash recovery at start (issue #8): an order left `queued` by a crash was charged but its
 * upstream outcome was never recorded.
 * - If its upstream call never started (`submit_started_at` is null), it provably was not
 *   sent: fail it and refund the charge.
 * - If the call had started, the upstream may have it: mark it `unknown` and flag it for the
 *   operator, and its attempt still `sending` becomes `ambiguous` (issue #12: the order points
 *   at the route of that attempt). It is never resent, to that route or any other.
 */
import { and, eq, inArray, isNotNull, isNull } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { orderAttempts, orders } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import { failAndRefund } from "./place-order.js";

export interface RecoveryResult {
  refunded: number;
  markedUnknown: number;
}

/** Settles every `queued` order. Call once at start, before serving requests. */
export function recoverQueuedOrders(ctx: AppContext): RecoveryResult {
  const neverSent = ctx.db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.submission, "queued"), isNull(orders.submitStartedAt)))
    .all();
  for (const { id } of neverSent) failAndRefund(ctx, id, "not sent before a restart", "Canceled");
  const started = inTransaction(ctx.db, () => {
    const now = ctx.now();
    const ids = ctx.db
      .update(orders)
      .set({ submission: "unknown", flag: "upstream call was in flight during a restart", updatedAt: now })
      .where(and(eq(orders.submission, "queued"), isNotNull(orders.submitStartedAt)))
      .returning({ id: orders.id })
      .all();
    if (ids.length > 0) {
      ctx.db
        .update(orderAttempts)
        .set({ outcome: "ambiguous", error: "in flight during a restart", finishedAt: now })
        .where(
          and(
            eq(orderAttempts.outcome, "sending"),
            inArray(
              orderAttempts.orderId,
              ids.map((o) => o.id),
            ),
          ),
        )
        .run();
    }
    return ids;
  });
  if (neverSent.length + started.length > 0) {
    ctx.logger.warn(
      { refunded: neverSent.map((o) => o.id), unknown: started.map((o) => o.id) },
      "recovered orders left queued by a restart",
    );
  }
  return { refunded: neverSent.length, markedUnknown: started.length };
}
