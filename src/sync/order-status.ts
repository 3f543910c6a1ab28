/**
 * Order status sync (issue #5): one tick asks every provider for the state of its open
 * orders (`submitted`, status not final; and held `unknown` orders whose upstream answer carried
 * an order id, issue #11) and applies the answers with exactly-once refunds. Before that, held
 * orders of a provider with `idempotencyKeys` are re-asked once (`held-orders.ts`).
 *
 * Per provider, oldest-synced first (synced_at NULLS FIRST, then id), in batches of up to 100:
 * one upstream multi-status call per batch at `sync` priority (the client picks the dialect's
 * form: `status&orders=` or `multiStatus`), so N open orders cost exactly ceil(N/100) calls.
 * Each entry of an answer is read on its own: an unreadable entry is a miss on its own order
 * only (issue #11). A batch whose call reached the upstream and failed has its orders'
 * `synced_at` moved to now, so the next tick asks the others first (those our own queue never
 * sent included) and regroups the batches: a failing batch starves no one.
 * Each answer is applied atomically (`applyOrderBatch`); answers that arrive in the same turn of
 * the event loop share one transaction, one savepoint per batch (`apply-queue.ts`). A failed call (any outcome
 * but `ok`) changes nothing: those orders are asked again next tick. Providers run in
 * parallel; batches of one provider with bounded concurrency (the provider's `concurrency`).
 * The providers visited are the configured ones plus any other provider that still has open
 * orders in the store (removed by a config reload: the registry keeps its client).
 */
import type Sqlite from "better-sqlite3";
import type { Minor } from "../billing/money.js";
import type { AppContext } from "../runtime/context.js";
import { chunk } from "../upstream/client.js";
import type { ItemError, UpstreamOrderState } from "../upstream/types.js";
import { createApplyQueue } from "./apply-queue.js";
import { reaskHeldOrders } from "./held-orders.js";
import type { BatchStats } from "./order-batch.js";
import { forEachBounded } from "./pool.js";
import { providerConcurrency, syncClientOf, syncProviderIds } from "./providers.js";

export interface StatusSyncOptions {
  /** Only these providers (default: every configured provider and every provider with open orders). */
  providerIds?: readonly string[];
  /** Batches of one provider in flight at once (default: the provider's configured `concurrency`). */
  batchConcurrency?: number;
}

export interface StatusSyncResult {
  /** Providers visited. */
  providers: number;
  /** Upstream multi-status calls made. */
  upstreamCalls: number;
  /** Orders given a canonical status. */
  synced: number;
  /** Refunds written: how many, and their total in minor units. */
  refunded: { count: number; total: Minor };
  /** Orders answered with an error item or left out of an answer (misses). */
  errors: number;
  /** Orders newly flagged for the operator. */
  flagged: number;
  /** Batches whose call failed (or could not be applied): nothing changed for them. */
  failedBatches: number;
  /** Webhook outbox rows written. */
  webhooks: number;
  /** Held orders re-asked with their idempotency key (providers with `idempotencyKeys`). */
  heldReasked: number;
  /** Held orders linked to the upstream's order id by a re-ask. */
  heldLinked: number;
  /** Held orders the upstream refused when re-asked: canceled and refunded. */
  heldRefunded: number;
}

/** Upstream ids the client accepts in an id list (no whitespace, no comma). */
const SENDABLE_ID = /^[^\s,]+$/;

interface OpenOrder {
  id: number;
  upstream_order_id: string;
}

const openStatements = new WeakMap<Sqlite.Database, Sqlite.Statement<[string], OpenOrder>>();

function openOrdersStatement(db: Sqlite.Database): Sqlite.Statement<[string], OpenOrder> {
  let s = openStatements.get(db);
  if (s === undefined) {
    s = db.prepare(
      `SELECT id, upstream_order_id FROM orders
       WHERE provider_id = ? AND submission IN ('submitted', 'unknown') AND upstream_order_id IS NOT NULL
         AND status NOT IN ('Completed', 'Partial', 'Canceled', 'Failed')
       ORDER BY synced_at ASC NULLS FIRST, id ASC`,
    );
    openStatements.set(db, s);
  }
  return s;
}

const touchStatements = new WeakMap<Sqlite.Database, Sqlite.Statement<[number, string]>>();

/**
 * Moves the `synced_at` of a failed batch's orders to `now` (nothing else changes): rotation,
 * so the next tick asks the others first and groups these with other orders.
 */
function touchFailedBatch(ctx: AppContext, orderIds: readonly number[]): void {
  const db = ctx.db.$client;
  let s = touchStatements.get(db);
  if (s === undefined) {
    s = db.prepare("UPDATE orders SET synced_at = ? WHERE id IN (SELECT value FROM json_each(?))");
    touchStatements.set(db, s);
  }
  s.run(ctx.now(), JSON.stringify(orderIds));
}

/** The provider's open orders, oldest-synced first. */
export function openOrdersOf(ctx: AppContext, providerId: string): Array<{ id: number; upstreamOrderId: string }> {
  return openOrdersStatement(ctx.db.$client)
    .all(providerId)
    .map((r) => ({ id: r.id, upstreamOrderId: r.upstream_order_id }));
}

function emptyResult(): StatusSyncResult {
  return {
    providers: 0,
    upstreamCalls: 0,
    synced: 0,
    refunded: { count: 0, total: 0 },
    errors: 0,
    flagged: 0,
    failedBatches: 0,
    webhooks: 0,
    heldReasked: 0,
    heldLinked: 0,
    heldRefunded: 0,
  };
}

function add(result: StatusSyncResult, stats: BatchStats): void {
  result.synced += stats.synced;
  result.errors += stats.errors;
  result.flagged += stats.flagged;
  result.refunded.count += stats.refundCount;
  result.refunded.total += stats.refundTotal;
  result.webhooks += stats.webhooks;
}

async function syncProvider(
  ctx: AppContext,
  providerId: string,
  concurrency: number | undefined,
  result: StatusSyncResult,
): Promise<void> {
  const client = syncClientOf(ctx, providerId, "status-sync");
  if (client === undefined) return;
  const log = ctx.logger.child({ providerId, job: "status-sync" });
  const held = await reaskHeldOrders(ctx, providerId, client);
  result.heldReasked += held.asked;
  result.heldLinked += held.linked;
  result.heldRefunded += held.refunded;
  const batches = chunk(openOrdersOf(ctx, providerId));
  const applier = createApplyQueue(ctx, ctx.config.flagAfterMisses);
  await forEachBounded(batches, concurrency ?? providerConcurrency(ctx, providerId), async (batch) => {
    const upstreamIds = batch.map((o) => o.upstreamOrderId).filter((id) => SENDABLE_ID.test(id));
    try {
      let answer: ReadonlyMap<string, UpstreamOrderState | ItemError> = new Map();
      if (upstreamIds.length > 0) {
        result.upstreamCalls++;
        const outcome = await client.multiStatus(upstreamIds, { priority: "sync" });
        if (outcome.kind !== "ok") {
          result.failedBatches++;
          if (outcome.kind !== "not_sent")
            touchFailedBatch(
              ctx,
              batch.map((o) => o.id),
            );
          log.warn(
            { outcome: outcome.kind, failure: outcome.failure, orders: batch.length },
            "status batch failed; nothing changed but synced_at, retried next tick after the others",
          );
          return;
        }
        answer = outcome.value;
      }
      const stats = await applier.apply({ orderIds: batch.map((o) => o.id), answer });
      add(result, stats);
      for (const [rawStatus, orders] of stats.newUnknownStatuses) {
        log.warn(
          { event: "unknown_upstream_status", rawStatus, orders },
          "unknown upstream order status kept raw; orders flagged, status unchanged",
        );
      }
      if (stats.partialWithoutRemains.length > 0) {
        log.warn(
          { event: "partial_without_remains", orders: stats.partialWithoutRemains },
          "upstream answered Partial without remains; status kept, orders flagged, asked again next tick",
        );
      }
      if (stats.packagePartials.length > 0) {
        log.warn(
          { event: "package_partial", orders: stats.packagePartials },
          "package orders ended Partial; nothing refunded automatically, flagged for a manual refund",
        );
      }
    } catch (error) {
      result.failedBatches++;
      try {
        touchFailedBatch(
          ctx,
          batch.map((o) => o.id),
        );
      } catch {
        // the store refuses writes: the batch keeps its place
      }
      log.error({ err: error, orders: batch.length }, "status batch could not be applied; retried next tick");
    }
  });
}

/**
 * Runs one status sync over every provider (or `options.providerIds`). Called by the
 * scheduler, the CLI (`sync status`) and tests. Never throws for an upstream or per-batch
 * failure: those are counted in `failedBatches` and logged.
 */
export async function runStatusSyncTick(ctx: AppContext, options: StatusSyncOptions = {}): Promise<StatusSyncResult> {
  const result = emptyResult();
  const ids = options.providerIds ?? syncProviderIds(ctx, "orders");
  result.providers = ids.length;
  await Promise.all(ids.map((id) => syncProvider(ctx, id, options.batchConcurrency, result)));
  return result;
}
