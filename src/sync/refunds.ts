/**
 * Exactly-once refunds (issue #5, docs/api.md "Money rules"). What an order's final status makes due:
 * - `Partial`: charge × remains / quantity, rounded down to 5 decimals (`partialRefund`);
 * - `Canceled` / `Failed`: the whole charge;
 * - anything else: nothing.
 * What is written is `max(0, due − already refunded)`, so refunds on an order add up to at
 * most its charge whatever the path (status sync, the operator's resolve, a status that
 * changes again after a manual resync), and re-running a settlement changes nothing.
 */
import type Sqlite from "better-sqlite3";
import { applyBalanceChange } from "../billing/ledger.js";
import { formatAmount, type Minor, partialRefund } from "../billing/money.js";
import type { Order } from "../db/schema.js";
import type { OrderStatus } from "../panel/statuses.js";
import type { AppContext } from "../runtime/context.js";

/** The order fields a settlement reads. */
export type RefundableOrder = Pick<Order, "id" | "customerId" | "charge" | "quantity">;

/** Minor units due back in total for an order ending in `status` with `remains` undelivered. */
export function refundDue(status: OrderStatus | string, charge: Minor, remains: number, quantity: number): Minor {
  switch (status) {
    case "Partial":
      return partialRefund(charge, remains, quantity);
    case "Canceled":
    case "Failed":
      return charge;
    default:
      return 0;
  }
}

interface RefundStatements {
  refunded: Sqlite.Statement<[number], { refunded: number }>;
  add: Sqlite.Statement<[number, number, number]>;
}

const cache = new WeakMap<Sqlite.Database, RefundStatements>();

function statements(db: Sqlite.Database): RefundStatements {
  let s = cache.get(db);
  if (s === undefined) {
    s = {
      refunded: db.prepare("SELECT refunded FROM orders WHERE id = ?"),
      add: db.prepare("UPDATE orders SET refunded = refunded + ?, updated_at = ? WHERE id = ?"),
    };
    cache.set(db, s);
  }
  return s;
}

/**
 * Refunds what `targetStatus` makes due on `order` beyond what was already refunded: adds it
 * to `orders.refunded` and writes one `refund` ledger row (via `applyBalanceChange`). The
 * already-refunded amount is read from the store, so a stale `order` cannot refund twice.
 * MUST be called inside the transaction that sets the order's status (`inTransaction`).
 * Does not change the order's status.
 * @param remains undelivered units as the upstream reported them (clamped to 0..quantity).
 * @returns the minor units refunded now (0 when nothing was due).
 * @throws UnknownCustomerError when the order's customer does not exist.
 */
export function settleRefund(
  ctx: Pick<AppContext, "db" | "now">,
  order: RefundableOrder,
  targetStatus: OrderStatus | string,
  remains: number,
  at: number = ctx.now(),
): Minor {
  const s = statements(ctx.db.$client);
  const already = s.refunded.get(order.id)?.refunded ?? 0;
  const refund = Math.max(0, refundDue(targetStatus, order.charge, remains, order.quantity) - already);
  if (refund === 0) return 0;
  s.add.run(refund, at, order.id);
  applyBalanceChange(ctx.db, {
    customerId: order.customerId,
    amount: refund,
    kind: "refund",
    orderId: order.id,
    note: `order ${order.id} ${targetStatus}: refund ${formatAmount(refund)}`,
    at,
  });
  return refund;
}
