/**
 * The operator's settlement of an `unknown` order (one whose upstream `add` was never
 * confirmed; issue #4, issue #5 `orders resolve`):
 * - `{upstreamOrder}`: the operator found it upstream → `submitted` with that upstream id and
 *   `synced_at` cleared, so the next status sync takes it over first;
 * - `{refund: true}`: the operator gives up on it → status `Canceled` with the whole charge
 *   refunded exactly once (`settleRefund`). It stays visible to its customer (as `Canceled`),
 *   so its submission becomes `submitted` with no upstream id (sync and cancel skip it).
 * Both clear the order's flag; both happen in one transaction, with a webhook outbox row when
 * the customer-visible state changed. A `queued` order stuck at run time (older than its
 * provider's longest possible placement, `isStuckQueued`) can be resolved the same way.
 */
import { and, eq } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { type Order, orders } from "../db/schema.js";
import { isStuckQueued } from "../orders/recover.js";
import type { AppContext } from "../runtime/context.js";
import { enqueueOrderWebhook } from "../webhooks/outbox.js";
import { settleRefund } from "./refunds.js";

/** Why a resolve was refused. */
export class ResolveOrderError extends Error {
  override name = "ResolveOrderError";
  constructor(
    readonly reason: "unknown_order" | "not_unknown" | "bad_upstream_id" | "duplicate_upstream_id",
    message: string,
  ) {
    super(message);
  }
}

/** Link the order to the upstream's id, or cancel and refund it (`reason` kept in `last_error`). */
export type ResolveAction = { upstreamOrder: string } | { refund: true; reason?: string };

const UPSTREAM_ID = /^[^\s,]{1,64}$/;

/**
 * Settles the `unknown` order `orderId` as the operator decided.
 * @returns the order row after the change.
 * @throws ResolveOrderError `unknown_order` (no such order), `not_unknown` (its submission is
 * not `unknown`: nothing changed), `bad_upstream_id` (empty, with a space or comma, > 64 chars),
 * `duplicate_upstream_id` (another order of the same provider already has that upstream id).
 */
export function resolveUnknownOrder(ctx: AppContext, orderId: number, action: ResolveAction): Order {
  if ("upstreamOrder" in action && !UPSTREAM_ID.test(action.upstreamOrder.trim())) {
    throw new ResolveOrderError("bad_upstream_id", `invalid upstream order id ${JSON.stringify(action.upstreamOrder)}`);
  }
  return inTransaction(ctx.db, () => {
    const order = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get();
    if (!order) throw new ResolveOrderError("unknown_order", `order ${orderId} not found`);
    if (order.submission === "queued" && !isStuckQueued(ctx, order)) {
      throw new ResolveOrderError(
        "not_unknown",
        `order ${orderId} is queued and its upstream call may still be running: nothing to resolve yet`,
      );
    }
    if (order.submission !== "unknown" && order.submission !== "queued") {
      throw new ResolveOrderError(
        "not_unknown",
        `order ${orderId} is ${order.submission}, not unknown: nothing to resolve`,
      );
    }
    const now = ctx.now();
    if ("upstreamOrder" in action) {
      const upstreamOrderId = action.upstreamOrder.trim();
      const taken = ctx.db
        .select({ id: orders.id })
        .from(orders)
        .where(and(eq(orders.providerId, order.providerId), eq(orders.upstreamOrderId, upstreamOrderId)))
        .get();
      if (taken && taken.id !== orderId) {
        throw new ResolveOrderError(
          "duplicate_upstream_id",
          `upstream order ${upstreamOrderId} of provider ${order.providerId} is already order ${taken.id}`,
        );
      }
      return ctx.db
        .update(orders)
        .set({
          submission: "submitted",
          upstreamOrderId,
          flag: null,
          missCount: 0,
          syncedAt: null,
          updatedAt: now,
        })
        .where(and(eq(orders.id, orderId), eq(orders.submission, order.submission)))
        .returning()
        .get();
    }
    ctx.db
      .update(orders)
      .set({
        submission: "submitted",
        status: "Canceled",
        remains: order.quantity,
        flag: null,
        ...(action.reason === undefined ? {} : { lastError: action.reason }),
        updatedAt: now,
      })
      .where(and(eq(orders.id, orderId), eq(orders.submission, order.submission)))
      .run();
    settleRefund(ctx, order, "Canceled", order.quantity, now);
    const after = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get() ?? order;
    enqueueOrderWebhook(ctx, after, now);
    return after;
  });
}
