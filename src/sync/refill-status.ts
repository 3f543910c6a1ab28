/**
 * Refill status sync (issue #5; seed `000_*` "Get multiple refill status"): open refills
 * (status not Completed/Rejected/Failed, upstream refill id known) per provider, oldest-synced
 * first, in batches of up to 100, one upstream multi-refill-status call per batch at `sync`
 * priority, each answer applied in one transaction. Same rules as order sync: canonical
 * status; a per-item error or a refill left out is a miss (`miss_count`, `last_error`, flagged
 * after `flagAfterMisses`); an unknown spelling is kept raw and flagged, status unchanged;
 * a failed call changes nothing. Providers: the configured ones plus any other provider that
 * still has open refills in the store; batches in flight: the provider's `concurrency`.
 */
import type Sqlite from "better-sqlite3";
import { inTransaction } from "../db/client.js";
import { FINAL_REFILL_STATUSES, type RefillStatus } from "../panel/statuses.js";
import type { AppContext } from "../runtime/context.js";
import { chunk } from "../upstream/client.js";
import type { ItemError, UpstreamRefillState } from "../upstream/types.js";
import { isSyncFlag, MISSES_FLAG, UNKNOWN_STATUS_FLAG } from "./order-batch.js";
import { forEachBounded } from "./pool.js";
import { providerConcurrency, syncClientOf, syncProviderIds } from "./providers.js";

export interface RefillSyncResult {
  providers: number;
  upstreamCalls: number;
  /** Refills given a canonical status. */
  synced: number;
  /** Refills answered with an error item or left out (misses). */
  errors: number;
  /** Refills newly flagged. */
  flagged: number;
  failedBatches: number;
}

interface RefillRow {
  id: number;
  upstream_refill_id: string | null;
  status: string;
  raw_status: string | null;
  miss_count: number;
  flag: string | null;
}

interface RefillStatements {
  open: Sqlite.Statement<[string], { id: number; upstream_refill_id: string }>;
  rows: Sqlite.Statement<[string], RefillRow>;
  update: Sqlite.Statement<
    [string, string | null, number, string | null, string | null, number, number, number],
    unknown
  >;
}

const cache = new WeakMap<Sqlite.Database, RefillStatements>();

function statements(db: Sqlite.Database): RefillStatements {
  let s = cache.get(db);
  if (s === undefined) {
    s = {
      open: db.prepare(
        `SELECT id, upstream_refill_id FROM refills
         WHERE provider_id = ? AND upstream_refill_id IS NOT NULL
           AND status NOT IN ('Completed', 'Rejected', 'Failed')
         ORDER BY synced_at ASC NULLS FIRST, id ASC`,
      ),
      rows: db.prepare(
        `SELECT id, upstream_refill_id, status, raw_status, miss_count, flag
         FROM refills WHERE id IN (SELECT value FROM json_each(?))`,
      ),
      update: db.prepare(
        `UPDATE refills SET status = ?, raw_status = ?, miss_count = ?, last_error = ?, flag = ?,
                synced_at = ?, updated_at = ? WHERE id = ?`,
      ),
    };
    cache.set(db, s);
  }
  return s;
}

const SENDABLE_ID = /^[^\s,]+$/;

interface RefillBatchStats {
  synced: number;
  errors: number;
  flagged: number;
  newUnknownStatuses: Map<string, number[]>;
}

/** Applies one multi-refill-status answer to the local refills `refillIds`, in one transaction. */
export function applyRefillBatch(
  ctx: AppContext,
  refillIds: readonly number[],
  answer: ReadonlyMap<string, UpstreamRefillState | ItemError>,
  flagAfterMisses: number,
): RefillBatchStats {
  const stats: RefillBatchStats = { synced: 0, errors: 0, flagged: 0, newUnknownStatuses: new Map() };
  const s = statements(ctx.db.$client);
  inTransaction(ctx.db, () => {
    const now = ctx.now();
    for (const row of s.rows.all(JSON.stringify(refillIds))) {
      if (row.upstream_refill_id === null || FINAL_REFILL_STATUSES.has(row.status as RefillStatus)) continue;
      const item = answer.get(row.upstream_refill_id);
      if (item === undefined || "error" in item) {
        const misses = row.miss_count + 1;
        let flag = row.flag;
        if (misses >= flagAfterMisses && flag === null) {
          flag = `${MISSES_FLAG}: ${misses} consecutive refill status syncs without the refill`;
          stats.flagged++;
        }
        const error = item === undefined ? "absent from the upstream refill status answer" : item.error;
        s.update.run(row.status, row.raw_status, misses, error, flag, now, now, row.id);
        stats.errors++;
        continue;
      }
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
        s.update.run(row.status, item.rawStatus, 0, null, flag, now, now, row.id);
        continue;
      }
      s.update.run(item.status, null, 0, null, isSyncFlag(row.flag) ? null : row.flag, now, now, row.id);
      stats.synced++;
    }
  });
  return stats;
}

/**
 * Runs one refill status sync over every configured provider and every provider with open
 * refills (or `options.providerIds`). Never throws for an upstream or per-batch failure
 * (counted in `failedBatches`, logged).
 */
export async function runRefillSyncTick(
  ctx: AppContext,
  options: { providerIds?: readonly string[]; batchConcurrency?: number } = {},
): Promise<RefillSyncResult> {
  const ids = options.providerIds ?? syncProviderIds(ctx, "refills");
  const result: RefillSyncResult = {
    providers: ids.length,
    upstreamCalls: 0,
    synced: 0,
    errors: 0,
    flagged: 0,
    failedBatches: 0,
  };
  const s = statements(ctx.db.$client);
  await Promise.all(
    ids.map(async (providerId) => {
      const client = syncClientOf(ctx, providerId, "refill-sync");
      if (client === undefined) return;
      const log = ctx.logger.child({ providerId, job: "refill-sync" });
      const batches = chunk(s.open.all(providerId));
      await forEachBounded(batches, options.batchConcurrency ?? providerConcurrency(ctx, providerId), async (batch) => {
        const upstreamIds = batch.map((r) => r.upstream_refill_id).filter((id) => SENDABLE_ID.test(id));
        try {
          let answer: ReadonlyMap<string, UpstreamRefillState | ItemError> = new Map();
          if (upstreamIds.length > 0) {
            result.upstreamCalls++;
            const outcome = await client.multiRefillStatus(upstreamIds, { priority: "sync" });
            if (outcome.kind !== "ok") {
              result.failedBatches++;
              log.warn(
                { outcome: outcome.kind, failure: outcome.failure, refills: batch.length },
                "refill status batch failed; nothing changed, retried next tick",
              );
              return;
            }
            answer = outcome.value;
          }
          const stats = applyRefillBatch(
            ctx,
            batch.map((r) => r.id),
            answer,
            ctx.config.flagAfterMisses,
          );
          result.synced += stats.synced;
          result.errors += stats.errors;
          result.flagged += stats.flagged;
          for (const [rawStatus, refills] of stats.newUnknownStatuses) {
            log.warn(
              { event: "unknown_upstream_status", rawStatus, refills },
              "unknown upstream refill status kept raw; refills flagged",
            );
          }
        } catch (error) {
          result.failedBatches++;
          log.error({ err: error, refills: batch.length }, "refill status batch could not be applied");
        }
      });
    }),
  );
  return result;
}
