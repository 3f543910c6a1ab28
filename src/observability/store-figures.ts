/**
 * Figures read from the store for `/metrics` (issue #7), computed at scrape time with a few
 * aggregate queries (never on the request path). Amounts are integer minor units.
 */
import type { Db } from "../db/client.js";
import { FINAL_ORDER_STATUSES } from "../panel/statuses.js";

/** Window of the Partial ratio, ms (the last day). */
export const PARTIAL_WINDOW_MS = 86_400_000;

export interface StoreFigures {
  /** Every provider the store knows (its `providers` rows). */
  providers: string[];
  /** Non-final orders (not failed at submission) by provider and status. */
  openOrders: Array<{ provider: string; status: string; count: number }>;
  /** Orders whose upstream placement is unconfirmed (`submission = 'unknown'`), by provider. */
  unknownOrders: Array<{ provider: string; count: number }>;
  /** Age of the oldest non-final order per provider, ms. */
  oldestOpenAgeMs: Array<{ provider: string; ageMs: number }>;
  /** Orders that reached a final status in the last day, and how many of those are Partial. */
  finishedLastDay: Array<{ provider: string; finished: number; partial: number }>;
  /** Webhook deliveries still pending. */
  webhookBacklog: number;
  /** Sum of customer balances and of ledger amounts, minor units (must be equal). */
  balancesTotal: number;
  ledgerTotal: number;
  /** Last known upstream balances (decimal strings from the `providers` table). */
  upstreamBalances: Array<{ provider: string; currency: string; balance: string }>;
}

const FINAL = [...FINAL_ORDER_STATUSES].map((s) => `'${s}'`).join(", ");

/** Runs the aggregate queries. `now`: epoch ms. */
export function readStoreFigures(db: Db, now: number): StoreFigures {
  const sqlite = db.$client;
  const openOrders = sqlite
    .prepare(
      `SELECT provider_id AS provider, status, count(*) AS count FROM orders
       WHERE submission != 'failed' AND status NOT IN (${FINAL}) GROUP BY provider_id, status`,
    )
    .all() as StoreFigures["openOrders"];
  const unknownOrders = sqlite
    .prepare(
      `SELECT provider_id AS provider, count(*) AS count FROM orders WHERE submission = 'unknown' GROUP BY provider_id`,
    )
    .all() as StoreFigures["unknownOrders"];
  const oldest = sqlite
    .prepare(
      `SELECT provider_id AS provider, min(created_at) AS createdAt FROM orders
       WHERE submission != 'failed' AND status NOT IN (${FINAL}) GROUP BY provider_id`,
    )
    .all() as Array<{ provider: string; createdAt: number }>;
  const finishedLastDay = sqlite
    .prepare(
      `SELECT provider_id AS provider, count(*) AS finished,
              coalesce(sum(CASE WHEN status = 'Partial' THEN 1 ELSE 0 END), 0) AS partial
       FROM orders WHERE submission != 'failed' AND status IN (${FINAL}) AND updated_at >= ?
       GROUP BY provider_id`,
    )
    .all(now - PARTIAL_WINDOW_MS) as StoreFigures["finishedLastDay"];
  const backlog = sqlite.prepare(`SELECT count(*) AS n FROM webhook_deliveries WHERE state = 'pending'`).get() as {
    n: number;
  };
  const balances = sqlite.prepare(`SELECT coalesce(sum(balance), 0) AS total FROM customers`).get() as {
    total: number;
  };
  const ledger = sqlite.prepare(`SELECT coalesce(sum(amount), 0) AS total FROM ledger_entries`).get() as {
    total: number;
  };
  const upstreamBalances = sqlite
    .prepare(`SELECT id AS provider, currency, balance FROM providers WHERE balance IS NOT NULL`)
    .all() as StoreFigures["upstreamBalances"];
  const known = sqlite.prepare("SELECT id FROM providers ORDER BY id").pluck().all() as string[];
  return {
    providers: known,
    openOrders,
    unknownOrders,
    oldestOpenAgeMs: oldest.map((o) => ({ provider: o.provider, ageMs: Math.max(0, now - o.createdAt) })),
    finishedLastDay,
    webhookBacklog: backlog.n,
    balancesTotal: balances.total,
    ledgerTotal: ledger.total,
    upstreamBalances,
  };
}
