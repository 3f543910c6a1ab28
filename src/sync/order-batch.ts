/**
 * Applies one upstream `multiStatus` answer (≤ 100 orders of one provider) to the store in ONE
 * transaction (issue #5, "Order status sync"). Per order: one read (the whole batch in one
 * query) and one prepared UPDATE; a final status adds the refund (`settleRefund`) and a
 * change the customer can see adds a webhook outbox row, in the same transaction.
 *
 * Per answer item:
 * - a canonical status: status, start_count, remains (clamped to 0..quantity), cost (upstream
 *   charge × the order's exchange rate, rounded half-up to minor units), synced_at; misses reset;
 * - an unknown status spelling: kept raw in `raw_status`, the order flagged, status unchanged;
 * - `{"error": ...}` or absent from the answer: a miss (`miss_count` + 1, `last_error`); after
 *   `flagAfterMisses` consecutive misses the order is flagged for the operator, never refunded.
 */
import type Sqlite from "better-sqlite3";
import { Decimal } from "decimal.js";
import { type Minor, parseUpstreamDecimal, roundToMinor } from "../billing/money.js";
import { inTransaction } from "../db/client.js";
import type { SubmissionState } from "../db/schema.js";
import { FINAL_ORDER_STATUSES, type OrderStatus } from "../orders/statuses.js";
import type { AppContext } from "../runtime/context.js";
import type { ItemError, UpstreamOrderState } from "../upstream/types.js";
import { enqueueOrderWebhook } from "../webhooks/outbox.js";
import { settleRefund } from "./refunds.js";

/** Flag text prefixes set by sync (cleared by sync when the order answers normally again). */
export const UNKNOWN_STATUS_FLAG = "unknown upstream status";
export const MISSES_FLAG = "not found upstream";

/** What one applied batch did. */
export interface BatchStats {
  /** Orders given a canonical status. */
  synced: number;
  /** Orders answered with an error item or left out of the answer. */
  errors: number;
  /** Orders flagged by this batch (misses threshold reached, or a new unknown status). */
  flagged: number;
  refundCount: number;
  /** Minor units refunded by this batch. */
  refundTotal: Minor;
  /** Webhook outbox rows written. */
  webhooks: number;
  /** Unknown status spellings first seen on these orders (for one log line each). */
  newUnknownStatuses: Map<string, number[]>;
}

interface OrderSyncRow {
  id: number;
  customer_id: number;
  upstream_order_id: string | null;
  quantity: number;
  charge: number;
  refunded: number;
  exchange_rate: string;
  status: string;
  start_count: number | null;
  remains: number | null;
  cost: number | null;
  raw_status: string | null;
  miss_count: number;
  last_error: string | null;
  flag: string | null;
  submission: SubmissionState;
}

type UpdateParams = [
  status: string,
  startCount: number | null,
  remains: number | null,
  cost: number | null,
  rawStatus: string | null,
  missCount: number,
  lastError: string | null,
  flag: string | null,
  syncedAt: number,
  updatedAt: number,
  id: number,
];

interface BatchStatements {
  rows: Sqlite.Statement<[string], OrderSyncRow>;
  update: Sqlite.Statement<UpdateParams>;
}

const cache = new WeakMap<Sqlite.Database, BatchStatements>();

function statements(db: Sqlite.Database): BatchStatements {
  let s = cache.get(db);
  if (s === undefined) {
    s = {
      rows: db.prepare(
        `SELECT id, customer_id, upstream_order_id, quantity, charge, refunded, exchange_rate, status, start_count,
                remains, cost, raw_status, miss_count, last_error, flag, submission
         FROM orders WHERE id IN (SELECT value FROM json_each(?))`,
      ),
      update: db.prepare(
        `UPDATE orders SET status = ?, start_count = ?, remains = ?, cost = ?, raw_status = ?, miss_count = ?,
                last_error = ?, flag = ?, synced_at = ?, updated_at = ? WHERE id = ?`,
      ),
    };
    cache.set(db, s);
  }
  return s;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi);

/** Whether `flag` was set by sync (so sync may replace or clear it). */
export function isSyncFlag(flag: string | null): boolean {
  return flag !== null && (flag.startsWith(UNKNOWN_STATUS_FLAG) || flag.startsWith(MISSES_FLAG));
}

/** Upstream charge (provider currency) × exchange rate → our minor units; null when not usable. */
function costOf(charge: string | null, exchangeRate: string, rates: Map<string, Decimal>): Minor | null {
  const value = charge === null ? undefined : parseUpstreamDecimal(charge);
  if (value === undefined) return null;
  let rate = rates.get(exchangeRate);
  if (rate === undefined) {
    rate = new Decimal(exchangeRate);
    rates.set(exchangeRate, rate);
  }
  try {
    return roundToMinor(value.times(rate));
  } catch {
    return null;
  }
}

/**
 * Applies `answer` (keyed by upstream order id) to the local orders `orderIds`, in one
 * transaction. Orders that meanwhile left the open set (final status, no longer `submitted`,
 * another upstream id) are skipped untouched.
 * @param flagAfterMisses consecutive misses after which an order is flagged.
 */
export function applyOrderBatch(
  ctx: AppContext,
  orderIds: readonly number[],
  answer: ReadonlyMap<string, UpstreamOrderState | ItemError>,
  flagAfterMisses: number,
): BatchStats {
  const stats: BatchStats = {
    synced: 0,
    errors: 0,
    flagged: 0,
    refundCount: 0,
    refundTotal: 0,
    webhooks: 0,
    newUnknownStatuses: new Map(),
  };
  const s = statements(ctx.db.$client);
  const rates = new Map<string, Decimal>();
  inTransaction(ctx.db, () => {
    const now = ctx.now();
    for (const row of s.rows.all(JSON.stringify(orderIds))) {
      if (
        row.submission !== "submitted" ||
        row.upstream_order_id === null ||
        FINAL_ORDER_STATUSES.has(row.status as OrderStatus)
      ) {
        continue;
      }
      const item = answer.get(row.upstream_order_id);
      if (item === undefined || "error" in item) {
        const misses = row.miss_count + 1;
        let flag = row.flag;
        if (misses >= flagAfterMisses && flag === null) {
          flag = `${MISSES_FLAG}: ${misses} consecutive status syncs without the order`;
          stats.flagged++;
        }
        const error = item === undefined ? "absent from the upstream status answer" : item.error;
        s.update.run(
          row.status,
          row.start_count,
          row.remains,
          row.cost,
          row.raw_status,
          misses,
          error,
          flag,
          now,
          now,
          row.id,
        );
        stats.errors++;
        continue;
      }
      const cost = costOf(item.charge, row.exchange_rate, rates) ?? row.cost;
      if (item.status === null) {
        if (row.raw_status !== item.rawStatus) {
          const ids = stats.newUnknownStatuses.get(item.rawStatus) ?? [];
          ids.push(row.id);
          stats.newUnknownStatuses.set(item.rawStatus, ids);
        }
        let flag = row.flag;
        const wanted = `${UNKNOWN_STATUS_FLAG} ${JSON.stringify(item.rawStatus)}`;
        if ((flag === null || isSyncFlag(flag)) && flag !== wanted) {
          flag = wanted;
          stats.flagged++;
        }
        s.update.run(row.status, row.start_count, row.remains, cost, item.rawStatus, 0, null, flag, now, now, row.id);
        continue;
      }
      const status = item.status;
      const startCount = item.startCount ?? row.start_count;
      const remains = item.remains === null ? row.remains : clamp(item.remains, 0, row.quantity);
      const flag = isSyncFlag(row.flag) ? null : row.flag;
      s.update.run(status, startCount, remains, cost, null, 0, null, flag, now, now, row.id);
      stats.synced++;
      let refunded = row.refunded;
      if (FINAL_ORDER_STATUSES.has(status)) {
        const refund = settleRefund(
          ctx,
          { id: row.id, customerId: row.customer_id, charge: row.charge, quantity: row.quantity },
          status,
          remains ?? 0,
          now,
        );
        if (refund > 0) {
          refunded += refund;
          stats.refundCount++;
          stats.refundTotal += refund;
        }
      }
      // Compared as the customer sees them (a missing start count is 0, missing remains the quantity).
      if (
        status !== row.status ||
        (startCount ?? 0) !== (row.start_count ?? 0) ||
        (remains ?? row.quantity) !== (row.remains ?? row.quantity)
      ) {
        const id = enqueueOrderWebhook(
          ctx,
          {
            id: row.id,
            customerId: row.customer_id,
            status,
            submission: row.submission,
            remains,
            startCount,
            quantity: row.quantity,
            charge: row.charge,
            refunded,
          },
          now,
        );
        if (id !== null) stats.webhooks++;
      }
    }
  });
  return stats;
}
