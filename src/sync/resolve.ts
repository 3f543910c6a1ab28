/**
 * The operator's settlement of an `unknown` order (one whose upstream `add` was never
 * confirmed; issue #4, issue #5 `orders resolve`, issue #15):
 * - `{upstreamOrder}`: the operator found it upstream. The id must have the provider's form
 *   (`DialectSpec.orderId`) and the upstream must know it: its `status` is asked first, and an
 *   upstream that answers with an error (e.g. "Incorrect order ID") or cannot be asked refuses
 *   the link, nothing changed. Then → `submitted` with that upstream id and `synced_at` cleared,
 *   so the next status sync takes it over first;
 * - `{refund: true}`: the operator gives up on it → `failed` (never placed, as every other
 *   order refunded before placement), status `Canceled`, the whole charge refunded exactly once
 *   (`settleRefund`).
 * Both clear the order's flag; both write in one transaction, with a webhook outbox row when
 * the customer-visible state changed.
 */
import { and, eq } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { type Order, orders } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import { dialectSpec } from "../upstream/dialects/index.js";
import { enqueueOrderWebhook } from "../webhooks/outbox.js";
import { settleRefund } from "./refunds.js";

/** Why a resolve was refused. */
export class ResolveOrderError extends Error {
  override name = "ResolveOrderError";
  constructor(
    readonly reason:
      | "unknown_order"
      | "not_unknown"
      | "bad_upstream_id"
      | "duplicate_upstream_id"
      | "unknown_upstream_order"
      | "upstream_unreachable",
    message: string,
  ) {
    super(message);
  }
}

export type ResolveAction = { upstreamOrder: string } | { refund: true };

const UPSTREAM_ID = /^[^\s,]{1,64}$/;

/**
 * Settles the `unknown` order `orderId` as the operator decided.
 * @returns the order row after the change.
 * @throws ResolveOrderError `unknown_order` (no such order), `not_unknown` (its submission is
 * not `unknown`: nothing changed), `bad_upstream_id` (not the provider's id form: empty, with a
 * space or comma, > 64 chars, not a number for the seed panels), `duplicate_upstream_id`
 * (another order of the same provider already has that upstream id), `unknown_upstream_order`
 * (the upstream answered its status with an error), `upstream_unreachable` (its status could
 * not be asked: no client, timeout, rate limit...).
 */
export async function resolveUnknownOrder(ctx: AppContext, orderId: number, action: ResolveAction): Promise<Order> {
  if ("refund" in action) return refundUnknownOrder(ctx, orderId);
  const upstreamOrderId = action.upstreamOrder.trim();
  if (!UPSTREAM_ID.test(upstreamOrderId)) {
    throw new ResolveOrderError("bad_upstream_id", `invalid upstream order id ${JSON.stringify(action.upstreamOrder)}`);
  }
  const order = requireUnknown(ctx, orderId);
  const provider = ctx.config.providers.find((p) => p.id === order.providerId);
  if (provider) {
    const form = dialectSpec(provider.dialect).orderId;
    if (!form.pattern.test(upstreamOrderId)) {
      throw new ResolveOrderError(
        "bad_upstream_id",
        `invalid upstream order id ${JSON.stringify(upstreamOrderId)}: ${provider.id} order ids are ${form.description}`,
      );
    }
  }
  requireFree(ctx, order, upstreamOrderId);
  const client = ctx.providers.get(order.providerId);
  if (!client) {
    throw new ResolveOrderError("upstream_unreachable", `provider ${order.providerId} is not configured: cannot check`);
  }
  const outcome = await client.status(upstreamOrderId, { priority: "customer" });
  if (outcome.kind === "rejected") {
    throw new ResolveOrderError(
      "unknown_upstream_order",
      `${order.providerId} does not know order ${upstreamOrderId} (${outcome.failure.message}); nothing changed`,
    );
  }
  if (outcome.kind !== "ok") {
    throw new ResolveOrderError(
      "upstream_unreachable",
      `could not ask ${order.providerId} for order ${upstreamOrderId} (${outcome.kind}: ${outcome.failure.message}); nothing changed, try again`,
    );
  }
  return inTransaction(ctx.db, () => {
    // Checked again inside the write: sync or another operator may have moved meanwhile.
    requireFree(ctx, requireUnknown(ctx, orderId), upstreamOrderId);
    return ctx.db
      .update(orders)
      .set({
        submission: "submitted",
        upstreamOrderId,
        flag: null,
        missCount: 0,
        syncedAt: null,
        updatedAt: ctx.now(),
      })
      .where(eq(orders.id, orderId))
      .returning()
      .get();
  });
}

/** Cancels an `unknown` order: `failed`, `Canceled`, its whole charge refunded once. */
function refundUnknownOrder(ctx: AppContext, orderId: number): Order {
  return inTransaction(ctx.db, () => {
    const order = requireUnknown(ctx, orderId);
    const now = ctx.now();
    ctx.db
      .update(orders)
      .set({ submission: "failed", status: "Canceled", remains: order.quantity, flag: null, updatedAt: now })
      .where(eq(orders.id, orderId))
      .run();
    settleRefund(ctx, order, "Canceled", order.quantity, now);
    const after = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get() ?? order;
    enqueueOrderWebhook(ctx, after, now);
    return after;
  });
}

function requireUnknown(ctx: AppContext, orderId: number): Order {
  const order = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get();
  if (!order) throw new ResolveOrderError("unknown_order", `order ${orderId} not found`);
  if (order.submission !== "unknown") {
    throw new ResolveOrderError(
      "not_unknown",
      `order ${orderId} is ${order.submission}, not unknown: nothing to resolve (orders settle gives the final status of any open order)`,
    );
  }
  return order;
}

function requireFree(ctx: AppContext, order: Order, upstreamOrderId: string): void {
  const taken = ctx.db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.providerId, order.providerId), eq(orders.upstreamOrderId, upstreamOrderId)))
    .get();
  if (taken) {
    throw new ResolveOrderError(
      "duplicate_upstream_id",
      `upstream order ${upstreamOrderId} of provider ${order.providerId} is already order ${taken.id}`,
    );
  }
}
