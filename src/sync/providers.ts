/**
 * Which providers a status or refill sync visits, and how many batches of one provider it keeps
 * in flight. Open orders and refills outlive a config reload that removes their provider (the
 * reloadable registry keeps its client), so the providers come from the store too, not only
 * from `ctx.config.providers`.
 */
import type Sqlite from "better-sqlite3";
import type { AppContext } from "../runtime/context.js";
import type { ProviderClient } from "../upstream/types.js";

/** Batches in flight for a provider that is no longer in the config (its old limit is unknown). */
const FALLBACK_CONCURRENCY = 2;

interface ProviderStatements {
  orders: Sqlite.Statement<[], { provider_id: string }>;
  refills: Sqlite.Statement<[], { provider_id: string }>;
}

const cache = new WeakMap<Sqlite.Database, ProviderStatements>();

function statements(db: Sqlite.Database): ProviderStatements {
  let s = cache.get(db);
  if (s === undefined) {
    s = {
      orders: db.prepare(
        `SELECT DISTINCT provider_id FROM orders
         WHERE submission = 'submitted' AND upstream_order_id IS NOT NULL
           AND status NOT IN ('Completed', 'Partial', 'Canceled', 'Failed')`,
      ),
      refills: db.prepare(
        `SELECT DISTINCT provider_id FROM refills
         WHERE upstream_refill_id IS NOT NULL AND status NOT IN ('Completed', 'Rejected', 'Failed')`,
      ),
    };
    cache.set(db, s);
  }
  return s;
}

/**
 * Every configured provider, then every other provider that still has open orders (`orders`)
 * or open refills (`refills`) in the store, in that order, without duplicates.
 */
export function syncProviderIds(ctx: AppContext, table: "orders" | "refills"): string[] {
  const ids = new Set(ctx.config.providers.map((p) => p.id));
  for (const row of statements(ctx.db.$client)[table].all()) ids.add(row.provider_id);
  return [...ids];
}

/**
 * Batches of `providerId` to keep in flight: the provider's configured `concurrency` (its
 * queue runs that many calls at once), 2 when it is no longer configured.
 */
export function providerConcurrency(ctx: AppContext, providerId: string): number {
  return ctx.config.providers.find((p) => p.id === providerId)?.concurrency ?? FALLBACK_CONCURRENCY;
}

const warned = new WeakMap<AppContext, Set<string>>();

/**
 * The client of `providerId`, or undefined after logging ONE warning per context and provider
 * (a provider with open orders and no client would otherwise warn every tick).
 */
export function syncClientOf(ctx: AppContext, providerId: string, job: string): ProviderClient | undefined {
  const client = ctx.providers.get(providerId);
  if (client !== undefined) return client;
  let seen = warned.get(ctx);
  if (seen === undefined) {
    seen = new Set();
    warned.set(ctx, seen);
  }
  if (!seen.has(providerId)) {
    seen.add(providerId);
    ctx.logger.warn({ providerId, job }, "sync: no client for provider; its open items are not synced");
  }
  return undefined;
}
