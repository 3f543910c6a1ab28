/**
 * The operator's final word on an open order (issue #15, `orders settle ID --status S
 * [--remains N]`): for an order the upstream lost ("not found upstream"), one held `unknown`,
 * or any order still open (status not final, submission `submitted` or `unknown`).
 *
 * The order takes the final status with the same money rules as status sync, in one
 * transaction: `settleRefund` writes exactly what the status calls for beyond what was already
 * refunded (Partial: charge × remains / quantity rounded down; Canceled: the whole charge;
 * Completed: nothing), and a webhook outbox row tells the customer. A final status takes the
 * order out of status sync. Its flag is cleared.
 * - `Completed`: remains 0; `Canceled`: remains = quantity; `Partial`: `remains` is required
 *   (0..quantity, the units not delivered).
 * - An `unknown` order becomes `submitted` whatever the status: its customer was given its id
 *   (held adds answer 200 `{order}`), so it stays visible with its final status, as after
 *   `orders resolve --refund` (a `failed` order is hidden from its customer).
 * - Refused while a re-ask of the order is out (`orders/reask-claim.ts`): its answer may link it.
 */
import { eq } from "drizzle-orm";
import type { Minor } from "../billing/money.js";
import { inTransaction } from "../db/client.js";
import { type Order, orders, type SubmissionState } from "../db/schema.js";
import { endStaleReasks, reaskInFlight, reaskInFlightMessage } from "../orders/reask-claim.js";
import { FINAL_ORDER_STATUSES, type OrderStatus } from "../panel/statuses.js";
import type { AppContext } from "../runtime/context.js";
import { enqueueOrderWebhook } from "../webhooks/outbox.js";
import { settleRefund } from "./refunds.js";

/** The statuses an operator may settle an order with. */
export const SETTLE_STATUSES = ["Completed", "Partial", "Canceled"] as const;
export type SettleStatus = (typeof SETTLE_STATUSES)[number];

/** Why a settle was refused (nothing changed). */
export class SettleOrderError extends Error {
  override name = "SettleOrderError";
  constructor(
    readonly reason: "unknown_order" | "not_open" | "bad_remains" | "reask_in_flight",
    message: string,
  ) {
    super(message);
  }
}

export interface SettleInput {
  status: SettleStatus;
  /** Units not delivered; required for Partial, refused otherwise. */
  remains?: number;
}

export interface SettleResult {
  order: Order;
  /** Minor units refunded by this settle. */
  refundedNow: Minor;
}

/**
 * Settles open order `orderId` with `input.status`.
 * @throws SettleOrderError `unknown_order`; `not_open` (final already, `failed`, or `queued`:
 * its placement is still in progress); `bad_remains` (Partial without remains or outside
 * 0..quantity; remains given with Completed/Canceled); `reask_in_flight` (a re-ask of the held
 * order is out: nothing changed, try again once it is answered).
 */
export function settleOrder(ctx: Pick<AppContext, "db" | "now">, orderId: number, input: SettleInput): SettleResult {
  return inTransaction(ctx.db, () => {
    const order = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get();
    if (!order) throw new SettleOrderError("unknown_order", `order ${orderId} not found`);
    if (order.submission === "queued") {
      throw new SettleOrderError(
        "not_open",
        `order ${orderId} is queued (its placement may still run): orders resolve settles it once stuck`,
      );
    }
    if (order.submission === "failed" || FINAL_ORDER_STATUSES.has(order.status as OrderStatus)) {
      throw new SettleOrderError(
        "not_open",
        `order ${orderId} is already final (${order.status}, ${order.submission}): nothing to settle`,
      );
    }
    const now = ctx.now();
    if (reaskInFlight(order, now)) throw new SettleOrderError("reask_in_flight", reaskInFlightMessage(order));
    const remains = remainsFor(order, input);
    const submission: SubmissionState = order.submission === "unknown" ? "submitted" : order.submission;
    if (order.reaskLeaseUntil !== null) endStaleReasks(ctx, orderId, now);
    ctx.db
      .update(orders)
      .set({
        status: input.status,
        remains,
        submission,
        flag: null,
        missCount: 0,
        syncedAt: now,
        reaskLeaseUntil: null,
        updatedAt: now,
      })
      .where(eq(orders.id, orderId))
      .run();
    const refundedNow = settleRefund(ctx, order, input.status, remains, now);
    const after = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get() ?? order;
    enqueueOrderWebhook(ctx, after, now);
    return { order: after, refundedNow };
  });
}

function remainsFor(order: Order, input: SettleInput): number {
  if (input.status !== "Partial") {
    if (input.remains !== undefined) {
      throw new SettleOrderError("bad_remains", `--remains is only for Partial (${input.status} implies it)`);
    }
    return input.status === "Completed" ? 0 : order.quantity;
  }
  if (input.remains === undefined) {
    throw new SettleOrderError("bad_remains", "Partial needs --remains N (units not delivered)");
  }
  if (!Number.isSafeInteger(input.remains) || input.remains < 0 || input.remains > order.quantity) {
    throw new SettleOrderError(
      "bad_remains",
      `--remains must be 0..${order.quantity} (the order's quantity), got ${input.remains}`,
    );
  }
  return input.remains;
}
