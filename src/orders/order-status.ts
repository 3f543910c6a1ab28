/**
 * The `status` verb (seed `000_*` "Order status" / "Multiple orders status", seed `003_*`
 * `multiStatus`): served from the store, never by a synchronous upstream call.
 */
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import { formatAmount } from "../billing/money.js";
import type { Db } from "../db/client.js";
import { preparedFor } from "../db/prepared.js";
import { customers, type Order, orders } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";

/** One order as the customer sees it: amounts and counts as strings, as the seeds print them. */
export interface OrderStatusView {
  charge: string;
  start_count: string;
  status: string;
  remains: string;
  currency: string;
}

/** The columns of an order its status view reads. */
export type StatusColumns = Pick<
  Order,
  "charge" | "refunded" | "startCount" | "status" | "remains" | "quantity" | "submission"
>;

/** Customer view of an order row. `charge` is net of refunds; an `unknown` order shows `Pending`. */
export function toStatusView(order: StatusColumns, currency: string): OrderStatusView {
  return {
    charge: formatAmount(order.charge - order.refunded),
    start_count: String(order.startCount ?? 0),
    status: order.submission === "unknown" || order.submission === "queued" ? "Pending" : order.status,
    remains: String(order.remains ?? order.quantity),
    currency,
  };
}

/**
 * The customer's own orders among `ids` that exist and were placed (or are held);
 * ids of other customers' orders and failed placements are simply absent.
 */
export function findCustomerOrders(ctx: AppContext, customerId: number, ids: readonly number[]): Map<number, Order> {
  if (ids.length === 0) return new Map();
  const [only] = ids;
  if (ids.length === 1 && only !== undefined) {
    const row = oneOrder(ctx.db).get({ customerId, id: only });
    return new Map(row === undefined ? [] : [[row.id, row]]);
  }
  const rows = ctx.db
    .select()
    .from(orders)
    .where(and(eq(orders.customerId, customerId), inArray(orders.id, [...ids]), ne(orders.submission, "failed")))
    .all();
  return new Map(rows.map((r) => [r.id, r]));
}

/** The one-order case (`status` of one order, the hot path) as a prepared query, once per store (issue #6). */
const oneOrder = preparedFor((db: Db) =>
  db
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.customerId, sql.placeholder("customerId")),
        eq(orders.id, sql.placeholder("id")),
        ne(orders.submission, "failed"),
      ),
    )
    .prepare(),
);

/**
 * The status columns of the customer's own order `id` if it exists and was placed (or is
 * held), else undefined: `status` of one order, the hot path (issue #14). One prepared
 * better-sqlite3 statement returning the row as SQLite gives it (the columns are plain
 * integers and text, aliased to the schema's names): no drizzle row mapping, no Map.
 */
export function findCustomerOrderStatus(ctx: AppContext, customerId: number, id: number): StatusColumns | undefined {
  return oneOrderStatus(ctx.db).get(customerId, id) as StatusColumns | undefined;
}

const oneOrderStatus = preparedFor((db: Db) =>
  db.$client.prepare(
    "SELECT charge, refunded, start_count AS startCount, status, remains, quantity, submission " +
      "FROM orders WHERE customer_id = ? AND id = ? AND submission <> 'failed'",
  ),
);

/** The customer's currency (for the `currency` field). */
export function customerCurrency(ctx: AppContext, customerId: number): string {
  return (
    ctx.db.select({ currency: customers.currency }).from(customers).where(eq(customers.id, customerId)).get()
      ?.currency ?? ctx.config.currency
  );
}
