/**
 * Applies one upstream `multiStatus` answer (≤ 100 orders of one provider) to the store in ONE
 * transaction, or one savepoint of a group's transaction (`applyOrderBatches`) (issue #5,
 * "Order status sync"). Per order: one read (the whole batch in one
 * query) and one prepared UPDATE; a final status adds the refund (`settleRefund`) and a
 * change the customer can see adds a webhook outbox row, in the same transaction.
 *
 * Per answer item:
 * - a canonical status: status, start_count, remains (clamped to 0..quantity), cost (upstream
 *   charge × the order's exchange rate, rounded half-up to minor units), synced_at; misses reset;
 * - `Partial` without `remains`: the refund cannot be computed, so the order keeps its status
 *   and remains, is flagged (`PARTIAL_NO_REMAINS_FLAG`) and asked again next cycle;
 * - `Partial` on a package order (`isPackageOrder`: stored quantity 1, upstream remains in
 *   units of an unknown package size): status Partial, remains clamped to 0..1 as the customer
 *   sees it, NO automatic refund, flagged for the operator (`packagePartialFlag`);
 * - an unknown status spelling: kept raw in `raw_status`, the order flagged, status unchanged;
 * - `{"error": ...}` or absent from the answer: a miss (`miss_count` + 1, `last_error`); after
 *   `flagAfterMisses` consecutive misses the order is flagged for the operator, never refunded;
 * - a held (`unknown`) order with an upstream id given a canonical status: the upstream has it,
 *   so it becomes `submitted` (its hold flag cleared) and settles like any order (issue #11).
 */
import type Sqlite from "better-sqlite3";
import type { Minor } from "../billing/money.js";
import { withJournalsInMemory } from "../db/journals-in-memory.js";
import type { SubmissionState } from "../db/schema.js";
import { FINAL_ORDER_STATUSES, type OrderStatus } from "../panel/statuses.js";
import type { AppContext } from "../runtime/context.js";
import type { ItemError, UpstreamOrderState } from "../upstream/types.js";
import { enqueueOrderWebhook } from "../webhooks/outbox.js";
import { convertedCost } from "./cost.js";
import { isPackageOrder, packagePartialFlag } from "./packages.js";
import { settleRefund } from "./refunds.js";

/** Flag text prefixes set by sync (cleared by sync when the order answers normally again). */
export const UNKNOWN_STATUS_FLAG = "unknown upstream status";
export const MISSES_FLAG = "not found upstream";
export const PARTIAL_NO_REMAINS_FLAG = "Partial without remains";

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
  /** Orders held because upstream said Partial without remains (status unchanged). */
  partialWithoutRemains: number[];
  /** Package orders that ended Partial: flagged, nothing refunded automatically. */
  packagePartials: number[];
}

/** One order as the batch reads it (raw row, in this column order). */
type OrderSyncRow = [
  id: number,
  customerId: number,
  upstreamOrderId: string | null,
  quantity: number,
  charge: number,
  refunded: number,
  exchangeRate: string,
  status: string,
  startCount: number | null,
  remains: number | null,
  rawStatus: string | null,
  missCount: number,
  flag: string | null,
  submission: SubmissionState,
  /** `services.type` of the order's service, read only for quantity-1 orders (else null). */
  serviceType: string | null,
];

const ROW_COLUMNS = `id, customer_id, upstream_order_id, quantity, charge, refunded, exchange_rate, status, start_count,
  remains, raw_status, miss_count, flag, submission,
  CASE WHEN quantity = 1 THEN (SELECT type FROM services WHERE services.id = orders.service_id) END`;

type UpdateParams = [
  status: string,
  startCount: number | null,
  remains: number | null,
  /** null keeps the stored cost. */
  cost: number | null,
  rawStatus: string | null,
  missCount: number,
  lastError: string | null,
  flag: string | null,
  syncedAt: number,
  updatedAt: number,
  submission: SubmissionState,
  id: number,
  /** The submission read (the update is conditional on it). */
  expected: SubmissionState,
];

interface BatchStatements {
  /** Rows of a batch by id, per id count (`IN (?, ?, ...)`), raw mode. */
  rows: Map<number, Sqlite.Statement<number[], OrderSyncRow>>;
  update: Sqlite.Statement<UpdateParams>;
  webhookUrl: Sqlite.Statement<[number], { webhook_url: string | null }>;
  /**
   * Runs its argument in one write transaction (`.immediate()`: BEGIN IMMEDIATE, as
   * `inTransaction`), built once per database instead of once per batch.
   */
  transaction: Sqlite.Transaction<(body: () => void) => void>;
}

const cache = new WeakMap<Sqlite.Database, BatchStatements>();

function statements(db: Sqlite.Database): BatchStatements {
  let s = cache.get(db);
  if (s === undefined) {
    s = {
      rows: new Map(),
      update: db.prepare(
        `UPDATE orders SET status = ?, start_count = ?, remains = ?, cost = COALESCE(?, cost), raw_status = ?,
                miss_count = ?, last_error = ?, flag = ?, synced_at = ?, updated_at = ?, submission = ?
         WHERE id = ? AND submission = ?`,
      ),
      webhookUrl: db.prepare("SELECT webhook_url FROM customers WHERE id = ?"),
      transaction: db.transaction((body: () => void) => body()),
    };
    cache.set(db, s);
  }
  return s;
}

/** Reads the rows of `ids` (≤ 100 in practice) with one prepared statement per id count. */
function readRows(db: Sqlite.Database, s: BatchStatements, ids: readonly number[]): OrderSyncRow[] {
  let statement = s.rows.get(ids.length);
  if (statement === undefined) {
    const placeholders = Array.from(ids, () => "?").join(", ");
    statement = db
      .prepare<number[], OrderSyncRow>(`SELECT ${ROW_COLUMNS} FROM orders WHERE id IN (${placeholders})`)
      .raw(true);
    s.rows.set(ids.length, statement);
  }
  return statement.all(...ids);
}

const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi);

/** Whether `flag` was set by sync (so sync may replace or clear it). */
export function isSyncFlag(flag: string | null): boolean {
  return (
    flag !== null &&
    (flag.startsWith(UNKNOWN_STATUS_FLAG) || flag.startsWith(MISSES_FLAG) || flag.startsWith(PARTIAL_NO_REMAINS_FLAG))
  );
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
    partialWithoutRemains: [],
    packagePartials: [],
  };
  if (orderIds.length === 0) return stats;
  const db = ctx.db.$client;
  const s = statements(db);
  const urls = new Map<number, string | null>();
  const webhookUrlOf = (customerId: number): string | null => {
    let url = urls.get(customerId);
    if (url === undefined) {
      url = s.webhookUrl.get(customerId)?.webhook_url ?? null;
      urls.set(customerId, url);
    }
    return url;
  };
  s.transaction.immediate(() => {
    const now = ctx.now();
    for (const row of readRows(db, s, orderIds)) {
      const [id, customerId, upstreamOrderId, quantity, charge, refundedBefore, exchangeRate, oldStatus] = row;
      const [, , , , , , , , oldStartCount, oldRemains, oldRawStatus, missCount, oldFlag, submission, serviceType] =
        row;
      if (
        (submission !== "submitted" && submission !== "unknown") ||
        upstreamOrderId === null ||
        FINAL_ORDER_STATUSES.has(oldStatus as OrderStatus)
      ) {
        continue;
      }
      const item = answer.get(upstreamOrderId);
      if (item === undefined || "error" in item) {
        const misses = missCount + 1;
        let flag = oldFlag;
        if (misses >= flagAfterMisses && flag === null) {
          flag = `${MISSES_FLAG}: ${misses} consecutive status syncs without the order`;
          stats.flagged++;
        }
        const error = item === undefined ? "absent from the upstream status answer" : item.error;
        const args = [oldStatus, oldStartCount, oldRemains, null, oldRawStatus, misses, error, flag, now, now] as const;
        s.update.run(...args, submission, id, submission);
        stats.errors++;
        continue;
      }
      const cost = item.charge === null ? null : convertedCost(item.charge, exchangeRate);
      if (item.status === null) {
        if (oldRawStatus !== item.rawStatus) {
          const ids = stats.newUnknownStatuses.get(item.rawStatus) ?? [];
          ids.push(id);
          stats.newUnknownStatuses.set(item.rawStatus, ids);
        }
        let flag = oldFlag;
        const wanted = `${UNKNOWN_STATUS_FLAG} ${JSON.stringify(item.rawStatus)}`;
        if ((flag === null || isSyncFlag(flag)) && flag !== wanted) {
          flag = wanted;
          stats.flagged++;
        }
        s.update.run(
          oldStatus,
          oldStartCount,
          oldRemains,
          cost,
          item.rawStatus,
          0,
          null,
          flag,
          now,
          now,
          submission,
          id,
          submission,
        );
        continue;
      }
      const status = item.status;
      if (status === "Partial" && item.remains === null) {
        // No remains, no refund to compute: hold the order as it was and ask again next cycle.
        let flag = oldFlag;
        if (flag === null || (isSyncFlag(flag) && !flag.startsWith(PARTIAL_NO_REMAINS_FLAG))) {
          flag = `${PARTIAL_NO_REMAINS_FLAG}: status kept, asked again next cycle`;
          stats.flagged++;
        }
        const error = "upstream answered Partial without remains";
        s.update.run(
          oldStatus,
          oldStartCount,
          oldRemains,
          cost,
          null,
          0,
          error,
          flag,
          now,
          now,
          submission,
          id,
          submission,
        );
        stats.partialWithoutRemains.push(id);
        continue;
      }
      const startCount = item.startCount ?? oldStartCount;
      const remains = item.remains === null ? oldRemains : clamp(item.remains, 0, quantity);
      // A held order the upstream reports on is confirmed: no longer held, its hold flag cleared.
      let flag = isSyncFlag(oldFlag) || submission === "unknown" ? null : oldFlag;
      const packagePartial = status === "Partial" && item.remains !== null && isPackageOrder(quantity, serviceType);
      if (packagePartial) {
        const note = packagePartialFlag(item.remains ?? 0);
        flag = flag === null ? note : `${flag}; ${note}`;
        stats.flagged++;
        stats.packagePartials.push(id);
      }
      s.update.run(status, startCount, remains, cost, null, 0, null, flag, now, now, "submitted", id, submission);
      stats.synced++;
      let refunded = refundedBefore;
      if (FINAL_ORDER_STATUSES.has(status) && !packagePartial) {
        const refund = settleRefund(ctx, { id, customerId, charge, quantity }, status, remains ?? 0, now);
        if (refund > 0) {
          refunded += refund;
          stats.refundCount++;
          stats.refundTotal += refund;
        }
      }
      // Compared as the customer sees them (a missing start count is 0, missing remains the quantity).
      const visibleChange =
        status !== oldStatus ||
        (startCount ?? 0) !== (oldStartCount ?? 0) ||
        (remains ?? quantity) !== (oldRemains ?? quantity);
      if (!visibleChange) continue;
      const url = webhookUrlOf(customerId);
      if (url === null) continue;
      const order = {
        id,
        customerId,
        status,
        submission: "submitted" as const,
        remains,
        startCount,
        quantity,
        charge,
        refunded,
      };
      if (enqueueOrderWebhook(ctx, order, now, url) !== null) stats.webhooks++;
    }
  });
  return stats;
}

/** One answered batch waiting to be applied by {@link applyOrderBatches}. */
export interface BatchJob {
  orderIds: readonly number[];
  answer: ReadonlyMap<string, UpstreamOrderState | ItemError>;
}

/** What applying one job gave: its stats, or the error that rolled that job back. */
export type BatchOutcome = { ok: true; stats: BatchStats } | { ok: false; error: unknown };

/**
 * Applies several answered batches in ONE write transaction, each batch in its own savepoint
 * (`applyOrderBatch` nested): a batch that throws is rolled back alone and reported as
 * `{ok: false}`, the others commit together. Saves a commit (and the WAL work it costs) per
 * batch when answers arrive together. The savepoints' journals stay in memory for that one
 * transaction (`withJournalsInMemory`).
 * @returns one outcome per job, in order. Throws only when the transaction itself cannot start
 * or commit (then nothing of any job was written).
 */
export function applyOrderBatches(ctx: AppContext, jobs: readonly BatchJob[], flagAfterMisses: number): BatchOutcome[] {
  const outcomes: BatchOutcome[] = [];
  const sqlite = ctx.db.$client;
  // Each batch's savepoint journal in memory, not in a temporary file (`db/journals-in-memory.ts`).
  withJournalsInMemory(sqlite, () =>
    statements(sqlite).transaction.immediate(() => {
      for (const job of jobs) {
        try {
          outcomes.push({ ok: true, stats: applyOrderBatch(ctx, job.orderIds, job.answer, flagAfterMisses) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
    }),
  );
  return outcomes;
}
