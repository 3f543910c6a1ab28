/**
 * Operator views of orders (issue #7, `orders list` / `orders show`): read-only queries over
 * the store, every field as stored (amounts in minor units, times epoch ms).
 */
import { and, asc, count, desc, eq, inArray, isNotNull, lt, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client.js";
import {
  customers,
  type LedgerEntry,
  ledgerEntries,
  type Order,
  type OrderAttempt,
  orderAttempts,
  orders,
  type Refill,
  refills,
  type SubmissionState,
  services,
} from "../db/schema.js";
import { DomainError } from "./errors.js";

export interface OrderFilter {
  customerId?: number;
  providerId?: string;
  /** Canonical status, compared exactly ("In progress"). */
  status?: string;
  submission?: SubmissionState;
  /** Only orders with a flag for the operator. */
  flagged?: boolean;
  /** Keyset pagination: only orders with a smaller id (the last id of the previous page). */
  beforeId?: number;
  /**
   * Only orders whose `link` parameter contains this text, case-insensitively (SQLite `lower`:
   * ASCII letters only) and literally: `instr`, not `LIKE`, so `%` and `_` are plain characters.
   * `orders list --link` and the dashboard's Orders filter both use it; "" = no filter.
   */
  link?: string;
  /** Most recent first; default 50. */
  limit?: number;
}

/** Orders matching `filter`, newest first. */
export function listOrders(db: Db, filter: OrderFilter = {}): Order[] {
  const conditions: SQL[] = [];
  // Flagged orders are few and have their own partial index: the unary `+` keeps SQLite from
  // walking a whole customer's or provider's orders to find them instead.
  const equals = (column: SQLiteColumn, value: string | number): SQL =>
    filter.flagged ? sql`+${column} = ${value}` : eq(column, value);
  if (filter.customerId !== undefined) conditions.push(equals(orders.customerId, filter.customerId));
  if (filter.status !== undefined) conditions.push(equals(orders.status, filter.status));
  if (filter.submission !== undefined) conditions.push(equals(orders.submission, filter.submission));
  if (filter.providerId !== undefined) conditions.push(equals(orders.providerId, filter.providerId));
  if (filter.flagged) conditions.push(isNotNull(orders.flag));
  if (filter.beforeId !== undefined) conditions.push(lt(orders.id, filter.beforeId));
  if (filter.link !== undefined && filter.link !== "") {
    conditions.push(sql`instr(lower(json_extract(${orders.params}, '$.link')), lower(${filter.link})) > 0`);
  }
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

/** An order held for the operator, with the names a person reads. */
export interface HeldOrder {
  order: Order;
  customerName: string | null;
  serviceName: string | null;
  /** `unknown`: the upstream may or may not have it; `queued`: its placement outlived its longest possible call. */
  reason: "unknown" | "queued";
}

export interface HeldOrderOptions {
  /** Whether a `queued` order is stuck: no live process can still be placing it (`isStuckQueued`). */
  isStuck: (order: Pick<Order, "providerId" | "createdAt" | "updatedAt">) => boolean;
  /** Most held orders returned (oldest first); default 500. */
  limit?: number;
}

/**
 * Orders held for the operator, oldest first: every `unknown` order (the upstream may or may
 * not have it) and every stuck `queued` order (its last write older than the longest possible
 * placement; `orders resolve` settles both). Both read through the submission index; `queued` orders are
 * few (in flight).
 */
export function listHeldOrders(db: Db, options: HeldOrderOptions): HeldOrder[] {
  const limit = options.limit ?? 500;
  const rows = db
    .select({ order: orders, customerName: customers.name, serviceName: services.name })
    .from(orders)
    .leftJoin(customers, eq(customers.id, orders.customerId))
    .leftJoin(services, eq(services.id, orders.serviceId))
    .where(inArray(orders.submission, ["unknown", "queued"]))
    .orderBy(asc(orders.id))
    .all();
  const held: HeldOrder[] = [];
  for (const row of rows) {
    const o = row.order;
    if (o.submission === "queued" && !options.isStuck(o)) continue;
    held.push({ ...row, reason: o.submission === "unknown" ? "unknown" : "queued" });
    if (held.length >= limit) break;
  }
  return held;
}

export interface AttentionCounts {
  /** Orders `unknown` plus stuck `queued` orders (what {@link listHeldOrders} lists). */
  held: number;
  /** Orders with a flag for the operator. */
  flagged: number;
}

/** Counts for the overview, from the submission index and the partial index on flagged orders. */
export function attentionCounts(db: Db, options: Omit<HeldOrderOptions, "limit">): AttentionCounts {
  const unknown = db.select({ n: count() }).from(orders).where(eq(orders.submission, "unknown")).get()?.n ?? 0;
  const queued = db
    .select({ providerId: orders.providerId, createdAt: orders.createdAt, updatedAt: orders.updatedAt })
    .from(orders)
    .where(eq(orders.submission, "queued"))
    .all()
    .filter(options.isStuck).length;
  const flagged = db.select({ n: count() }).from(orders).where(isNotNull(orders.flag)).get()?.n ?? 0;
  return { held: unknown + queued, flagged };
}

/** Names a person reads for a page of orders: customer and service names by id (two indexed lookups). */
export interface OrderLabels {
  customers: Map<number, string>;
  services: Map<number, string>;
}

export function orderLabels(db: Db, list: readonly Pick<Order, "customerId" | "serviceId">[]): OrderLabels {
  const customerIds = [...new Set(list.map((o) => o.customerId))];
  const serviceIds = [...new Set(list.map((o) => o.serviceId))];
  return {
    customers: new Map(
      customerIds.length === 0
        ? []
        : db
            .select({ id: customers.id, name: customers.name })
            .from(customers)
            .where(inArray(customers.id, customerIds))
            .all()
            .map((r) => [r.id, r.name]),
    ),
    services: new Map(
      serviceIds.length === 0
        ? []
        : db
            .select({ id: services.id, name: services.name })
            .from(services)
            .where(inArray(services.id, serviceIds))
            .all()
            .map((r) => [r.id, r.name]),
    ),
  };
}
