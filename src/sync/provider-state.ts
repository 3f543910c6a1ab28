/**
 * The configured providers with the runtime state the store keeps for each (`providers`
 * table: last balance and when, last catalogue sync, last error), for `providers list` and the
 * dashboard. Never a provider's key.
 */
import { inArray } from "drizzle-orm";
import type { ProviderConfig, ProvidersConfig } from "../config/providers-file.js";
import type { Db } from "../db/client.js";
import { providers } from "../db/schema.js";

export interface ProviderStateView {
  id: string;
  name: string;
  dialect: string;
  url: string;
  currency: string;
  exchangeRate: string;
  rateLimit: { requests: number; intervalMs: number };
  concurrency: number;
  timeoutMs: number;
  /** Last `balance` answer (decimal string in the provider's currency), or null. */
  balance: string | null;
  /** Epoch ms of that answer. */
  balanceCheckedAt: number | null;
  catalogueSyncedAt: number | null;
  lastError: string | null;
}

/** A provider's settings as shown to operators (never its key). */
export function providerSettings(p: ProviderConfig) {
  return {
    id: p.id,
    name: p.name,
    dialect: p.dialect,
    url: p.url,
    currency: p.currency,
    exchangeRate: p.exchangeRate,
    rateLimit: { requests: p.rateLimit.requests, intervalMs: p.rateLimit.intervalMs },
    concurrency: p.concurrency,
  };
}

/** Every provider of `config`, in config order, joined with its stored state. */
export function listProviderStates(db: Db, config: Pick<ProvidersConfig, "providers">): ProviderStateView[] {
  const ids = config.providers.map((p) => p.id);
  const states = new Map(
    (ids.length === 0 ? [] : db.select().from(providers).where(inArray(providers.id, ids)).all()).map((row) => [
      row.id,
      row,
    ]),
  );
  return config.providers.map((p) => {
    const state = states.get(p.id);
    return {
      ...providerSettings(p),
      timeoutMs: p.timeoutMs,
      balance: state?.balance ?? null,
      balanceCheckedAt: state?.balanceCheckedAt ?? null,
      catalogueSyncedAt: state?.catalogueSyncedAt ?? null,
      lastError: state?.lastError ?? null,
    };
  });
}
