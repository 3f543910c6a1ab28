/**
 * Operator views of orders (issue #7, `orders list` / `orders show`): read-only queries over
 * the store, every field as stored (amounts in minor units, times epoch ms).
 */
import { and, asc, desc, eq, isNotNull, type SQL } from "drizzle-orm";
import type { Db } from "../db/client.js";
import {
  type LedgerEntry,
  ledgerEntries,
  type Order,
  type OrderAttempt,
  orderAttempts,
  orders,
  type Refill,
  refills,
  type SubmissionState,
} from "../db/schema.js";
import { DomainError } from "./errors.js";

export interface OrderFilter {
  customerId?: number;
  /** Canonical status, compared exactly ("In progress"). */
  status?: string;
  submission?: SubmissionState;
  /** Only orders with a flag for the operator. */
  flagged?: boolean;
  /** Most recent first; default 50. */
  limit?: number;
}

/** Orders matching `filter`, newest first. */
export function listOrders(db: Db, filter: OrderFilter = {}): Order[] {
  const conditions: SQL[] = [];
  if (filter.customerId !== undefined) conditions.push(eq(orders.customerId, filter.customerId));
  if (filter.status !== undefined) conditions.push(eq(orders.status, filter.status));
  if (filter.submission !== undefined) conditions.push(eq(orders.submission, filter.submission));
  if (filter.flagged) conditions.push(isNotNull(orders.flag));
  return db
    .select()
    .from(orders)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(orders.id))
    .limit(filter.limit ?? 50)
    .all();
}

export interface OrderDetail {
  order: Order;
  /** Ledger rows of the order (charge, refunds), oldest first. */
  ledger: LedgerEntry[];
  /** Refill requests on the order, oldest first. */
  refills: Refill[];
  /** Upstream `add` attempts, one per route tried, oldest first (issue #12). */
  attempts: OrderAttempt[];
}

/**
 * One order with its ledger rows and refills.
 * @throws DomainError unknown_order (message `unknown order N`).
 */
export function getOrderDetail(db: Db, orderId: number): OrderDetail {
  const order = db.select().from(orders).where(eq(orders.id, orderId)).get();
  if (!order) throw new DomainError("unknown_order", `unknown order ${orderId}`);
  return {
    order,
    ledger: db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.orderId, orderId))
      .orderBy(asc(ledgerEntries.id))
      .all(),
    refills: db.select().from(refills).where(eq(refills.orderId, orderId)).orderBy(asc(refills.id)).all(),
    attempts: db
      .select()
      .from(orderAttempts)
      .where(eq(orderAttempts.orderId, orderId))
      .orderBy(asc(orderAttempts.id))
      .all(),
  };
}
