/**
 * The operator's settlement of an `unknown` order (one whose upstream `add` was never
 * confirmed; issue #4, issue #5 `orders resolve`, issue #15):
 * - `{upstreamOrder}`: the operator found it upstream. The id must have the provider's form
 *   (`DialectSpec.orderId`) and the upstream must know it: its `status` is asked first
 *   (`resolveUnknownOrder`), and an upstream that answers with an error (e.g. "Incorrect order
 *   ID") or cannot be asked refuses the link, nothing changed. Then → `submitted` with that
 *   upstream id and `synced_at` cleared, so the next status sync takes it over first;
 * - `{refund: true}`: the operator gives up on it → status `Canceled` with the whole charge
 *   refunded exactly once (`settleRefund`). Refused for a held order that follows an upstream
 *   order id (the upstream answered with one, issue #11): the upstream holds that order, so only
 *   its final status may refund it (status sync, or `orders settle` once the operator knows it). It stays visible to its customer (as `Canceled`),
 *   so its submission becomes `submitted` with no upstream id (sync and cancel skip it).
 * Both clear the order's flag; both happen in one transaction, with a webhook outbox row when
 * the customer-visible state changed. Both are refused while a re-ask of the order is out
 * (`reask_in_flight`, `orders/reask-claim.ts`): its answer may link the order. A `queued` order stuck at run time (older than its
 * provider's longest possible placement, `isStuckQueued`) can be resolved the same way.
 */
import { and, eq, ne } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { customers, type Order, orders } from "../db/schema.js";
import { DomainError } from "../orders/errors.js";
import { endStaleReasks, reaskInFlight, reaskInFlightMessage } from "../orders/reask-claim.js";
import { isStuckQueued } from "../orders/recover.js";
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
      | "upstream_unreachable"
      | "upstream_holds"
      | "reask_in_flight"
      | "reask_claim_lost",
    message: string,
  ) {
    super(message);
  }
}

/** Link the order to the upstream's id, or cancel and refund it (`reason` kept in `last_error`). */
export type ResolveAction = { upstreamOrder: string } | { refund: true; reason?: string };

const UPSTREAM_ID = /^[^\s,]{1,64}$/;

/**
 * The operator's resolve: for a link, checks the id's form for the provider and asks the
 * upstream for that order's status first (nothing changes when it does not know it), then
 * settles as {@link settleUnknownOrder}. A refund needs no upstream call.
 * @throws ResolveOrderError as {@link settleUnknownOrder}, plus `bad_upstream_id` (not the
 * provider's id form), `unknown_upstream_order` (the upstream answered its status with an
 * error), `upstream_unreachable` (its status could not be asked: no client, timeout, rate limit...).
 */
export async function resolveUnknownOrder(ctx: AppContext, orderId: number, action: ResolveAction): Promise<Order> {
  if ("upstreamOrder" in action) await checkUpstreamOrder(ctx, orderId, action.upstreamOrder.trim());
  return settleUnknownOrder(ctx, orderId, action);
}

/** Refuses an upstream id of the wrong form for the order's provider, or one the upstream does not know. */
async function checkUpstreamOrder(ctx: AppContext, orderId: number, upstreamOrderId: string): Promise<void> {
  const order = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get();
  if (!order) throw new ResolveOrderError("unknown_order", `order ${orderId} not found`);
  // Refused before the upstream is asked; settleUnknownOrder checks again in its transaction.
  if (reaskInFlight(order, ctx.now())) throw new ResolveOrderError("reask_in_flight", reaskInFlightMessage(order));
  if (!UPSTREAM_ID.test(upstreamOrderId)) return; // refused with its own line by settleUnknownOrder
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
  if (order.submission !== "unknown" && order.submission !== "queued") return; // refused by settleUnknownOrder
  const taken = ctx.db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.providerId, order.providerId), eq(orders.upstreamOrderId, upstreamOrderId)))
    .get();
  if (taken && taken.id !== order.id) {
    throw new ResolveOrderError(
      "duplicate_upstream_id",
      `upstream order ${upstreamOrderId} of provider ${order.providerId} is already order ${taken.id}`,
    );
  }
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
}

/** Who settles: the operator (default), or the re-ask holding the order's claim with this lease value. */
export interface SettleUnknownOptions {
  /**
   * The `reask_lease_until` value the calling re-ask wrote (`sync/held-orders.ts`): the order
   * is settled only while it still carries it (`reask_claim_lost` otherwise, nothing changed).
   */
  reaskClaim?: number;
}

/**
 * Settles the `unknown` order `orderId` as the operator decided (or as its re-ask found,
 * with `options.reaskClaim`). Clears an expired re-ask claim.
 * @returns the order row after the change.
 * @throws ResolveOrderError `unknown_order` (no such order), `not_unknown` (its submission is
 * not `unknown`: nothing changed), `bad_upstream_id` (empty, with a space or comma, > 64 chars),
 * `duplicate_upstream_id` (another order of the same provider already has that upstream id),
 * `upstream_holds` (a refund of an order that follows an upstream order id), `reask_in_flight`
 * (a re-ask of the order is out: {@link reaskInFlightMessage}), `reask_claim_lost` (with
 * `options.reaskClaim`: the order no longer carries that claim).
 */
export function settleUnknownOrder(
  ctx: AppContext,
  orderId: number,
  action: ResolveAction,
  options: SettleUnknownOptions = {},
): Order {
  if ("upstreamOrder" in action && !UPSTREAM_ID.test(action.upstreamOrder.trim())) {
    throw new ResolveOrderError("bad_upstream_id", `invalid upstream order id ${JSON.stringify(action.upstreamOrder)}`);
  }
  return inTransaction(ctx.db, () => {
    const order = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get();
    if (!order) throw new ResolveOrderError("unknown_order", `order ${orderId} not found`);
    const now = ctx.now();
    if (options.reaskClaim !== undefined) {
      if (order.reaskLeaseUntil !== options.reaskClaim) {
        throw new ResolveOrderError("reask_claim_lost", `order ${orderId}: the re-ask's claim ended; nothing changed`);
      }
    } else if (reaskInFlight(order, now)) {
      throw new ResolveOrderError("reask_in_flight", reaskInFlightMessage(order));
    }
    if (order.submission === "queued" && !isStuckQueued(ctx, order)) {
      throw new ResolveOrderError(
        "not_unknown",
        `order ${orderId} is queued and its upstream call may still be running: nothing to resolve yet`,
      );
    }
    if (order.submission !== "unknown" && order.submission !== "queued") {
      throw new ResolveOrderError(
        "not_unknown",
        `order ${orderId} is ${order.submission}, not unknown: nothing to resolve (orders settle gives the final status of any open order)`,
      );
    }
    if (!("upstreamOrder" in action) && order.upstreamOrderId !== null) {
      throw new ResolveOrderError(
        "upstream_holds",
        `order ${orderId} follows upstream order ${order.upstreamOrderId} of ${order.providerId}: the upstream holds it, so it is not refunded here; status sync settles it, or 'orders settle ${orderId} --status ...' once you know its final status`,
      );
    }
    if (options.reaskClaim === undefined && order.reaskLeaseUntil !== null) endStaleReasks(ctx, orderId, now);
    if ("upstreamOrder" in action) {
      const upstreamOrderId = action.upstreamOrder.trim();
      const taken = ctx.db
        .select({ id: orders.id })
        .from(orders)
        .where(
          and(
            eq(orders.providerId, order.providerId),
            eq(orders.upstreamOrderId, upstreamOrderId),
            ne(orders.id, orderId),
          ),
        )
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
          reaskLeaseUntil: null,
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
        reaskLeaseUntil: null,
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

/** What {@link resolveHeldOrder} did: the order after it, the amount refunded now, the customer's balance. */
export interface ResolveOutcome {
  order: Order;
  action: "linked" | "refunded";
  /** Minor units refunded by this resolve (0 when linked). */
  refundedNow: number;
  /** The customer's balance after the resolve, minor units. */
  balance: number;
}

/**
 * {@link resolveUnknownOrder} with the figures an operator reads afterwards (`orders resolve`,
 * the dashboard's Refund and Link buttons).
 * @throws DomainError `unknown_order` (message `unknown order N`, as `orders show`).
 * @throws ResolveOrderError as {@link resolveUnknownOrder}.
 */
export async function resolveHeldOrder(
  ctx: AppContext,
  orderId: number,
  action: ResolveAction,
): Promise<ResolveOutcome> {
  const before = ctx.db.select({ refunded: orders.refunded }).from(orders).where(eq(orders.id, orderId)).get();
  if (before === undefined) throw new DomainError("unknown_order", `unknown order ${orderId}`);
  const after = await resolveUnknownOrder(ctx, orderId, action);
  const balance =
    ctx.db.select({ balance: customers.balance }).from(customers).where(eq(customers.id, after.customerId)).get()
      ?.balance ?? 0;
  return {
    order: after,
    action: "refund" in action ? "refunded" : "linked",
    refundedNow: after.refunded - before.refunded,
    balance,
  };
}
