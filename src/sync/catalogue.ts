/**
 * Price and catalogue sync (issue #5): fetch each provider's `services`, cache the upstream
 * catalogue, and recompute every mapped local service (sell rate from the markup rule,
 * converted and rounded up to 4 decimals; min/max narrowed by the config; refill, cancel and
 * dripfeed from upstream). A mapped upstream service that disappears disables the local one
 * until it returns; a fixed-rate service whose cost reaches its rate is disabled until the
 * cost falls. Every rate or cost change is a `price_changes` row. A failed fetch changes nothing.
 * A configured service whose `upstreamService` the provider's catalogue does not list (a typo in
 * the providers file, issue #15) is kept as a disabled row with the reason
 * {@link NOT_IN_CATALOGUE}, so `services list` shows it, and is logged at warn after every
 * catalogue fetch of its provider (`event: "service_not_in_catalogue"`, with its JSON path).
 */
import { and, eq } from "drizzle-orm";
import { formatRate } from "../billing/money.js";
import { isBelowCost, priceService } from "../billing/pricing.js";
import type { ServiceConfig } from "../config/providers-file.js";
import { inTransaction } from "../db/client.js";
import { priceChanges, providers, type Service, services, upstreamServices } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import type { UpstreamService } from "../upstream/types.js";

/** Disabled reason of a configured service its provider's catalogue has never listed. */
export const NOT_IN_CATALOGUE = "not in upstream catalogue";
/** Disabled reason of a configured service whose provider's catalogue was never fetched. */
export const CATALOGUE_NOT_FETCHED = "upstream catalogue not fetched yet";

/** A configured service that its provider's catalogue does not list. */
export interface MissingUpstreamService {
  serviceId: number;
  providerId: string;
  upstreamService: string;
  /** JSON path in the providers file: `services[3].upstreamService`. */
  path: string;
}

/**
 * The services of `ctx.config` mapped to `providerId` whose upstream id is not in `listed`
 * (the upstream ids of the provider's catalogue, as last fetched).
 */
export function missingUpstreamServices(
  ctx: Pick<AppContext, "config">,
  providerId: string,
  listed: ReadonlySet<string>,
): MissingUpstreamService[] {
  const missing: MissingUpstreamService[] = [];
  for (const [i, s] of ctx.config.services.entries()) {
    if (s.provider !== providerId || listed.has(s.upstreamService)) continue;
    missing.push({
      serviceId: s.id,
      providerId,
      upstreamService: s.upstreamService,
      path: `services[${i}].upstreamService`,
    });
  }
  return missing;
}

export interface CatalogueSyncResult {
  providerId: string;
  ok: boolean;
  /** Upstream services listed by the provider. */
  upstreamServices: number;
  /** Local services whose rate, cost or availability changed. */
  changed: number;
  error?: string;
}

/** Fetches and applies one provider's catalogue, at catalogue priority in its queue. */
export async function syncProviderCatalogue(ctx: AppContext, providerId: string): Promise<CatalogueSyncResult> {
  const client = ctx.providers.get(providerId);
  if (!client) return { providerId, ok: false, upstreamServices: 0, changed: 0, error: "unknown provider" };
  const outcome = await client.services({ priority: "catalogue" });
  if (outcome.kind !== "ok") {
    const error = `${outcome.kind}: ${outcome.failure.message}`;
    recordProviderError(ctx, providerId, error);
    ctx.logger.warn(
      { providerId, outcome: outcome.kind, failure: outcome.failure },
      "catalogue sync failed; nothing changed",
    );
    return { providerId, ok: false, upstreamServices: 0, changed: 0, error };
  }
  const changed = applyCatalogue(ctx, providerId, outcome.value);
  const listed = new Set(outcome.value.map((s) => s.service));
  for (const m of missingUpstreamServices(ctx, providerId, listed)) {
    ctx.logger.warn(
      { event: "service_not_in_catalogue", ...m },
      `service ${m.serviceId}: upstream service ${m.upstreamService} is not in ${providerId}'s catalogue (check ${m.path}); disabled`,
    );
  }
  return { providerId, ok: true, upstreamServices: outcome.value.length, changed };
}

/** Syncs every configured provider's catalogue (in parallel: each has its own queue). */
export async function syncAllCatalogues(ctx: AppContext): Promise<CatalogueSyncResult[]> {
  return Promise.all(ctx.config.providers.map((p) => syncProviderCatalogue(ctx, p.id)));
}

/** Creates (or refreshes dialect and currency of) the `providers` row of a configured provider. */
export function ensureProviderRow(ctx: AppContext, providerId: string, now: number): void {
  const provider = ctx.config.providers.find((p) => p.id === providerId);
  if (!provider) return;
  ctx.db
    .insert(providers)
    .values({ id: providerId, dialect: provider.dialect, currency: provider.currency, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: providers.id,
      set: { dialect: provider.dialect, currency: provider.currency, updatedAt: now },
    })
    .run();
}

function recordProviderError(ctx: AppContext, providerId: string, error: string): void {
  inTransaction(ctx.db, () => {
    const now = ctx.now();
    ensureProviderRow(ctx, providerId, now);
    ctx.db.update(providers).set({ lastError: error, updatedAt: now }).where(eq(providers.id, providerId)).run();
  });
}

/**
 * Stores a successful `services` answer and recomputes the local services of that provider,
 * in one transaction.
 * @returns the number of local services that changed.
 */
export function applyCatalogue(ctx: AppContext, providerId: string, list: readonly UpstreamService[]): number {
  return inTransaction(ctx.db, () => {
    const now = ctx.now();
    ensureProviderRow(ctx, providerId, now);
    ctx.db
      .update(upstreamServices)
      .set({ present: false, updatedAt: now })
      .where(eq(upstreamServices.providerId, providerId))
      .run();
    for (const s of list) {
      const values = {
        name: s.name,
        type: s.type,
        category: s.category,
        rate: s.rate,
        min: s.min,
        max: s.max,
        refill: s.refill,
        cancel: s.cancel,
        dripfeed: s.dripfeed,
        present: true,
        updatedAt: now,
      };
      ctx.db
        .insert(upstreamServices)
        .values({ providerId, upstreamService: s.service, createdAt: now, ...values })
        .onConflictDoUpdate({ target: [upstreamServices.providerId, upstreamServices.upstreamService], set: values })
        .run();
    }
    ctx.db
      .update(providers)
      .set({ catalogueSyncedAt: now, lastError: null, updatedAt: now })
      .where(eq(providers.id, providerId))
      .run();
    return recomputeServices(ctx, providerId);
  });
}

type Recomputed = Omit<Service, "createdAt" | "updatedAt">;

function recompute(ctx: AppContext, config: ServiceConfig): Recomputed | { disabledReason: string } {
  const provider = ctx.config.providers.find((p) => p.id === config.provider);
  if (!provider) return { disabledReason: "provider removed from config" };
  const upstream = ctx.db
    .select()
    .from(upstreamServices)
    .where(
      and(eq(upstreamServices.providerId, provider.id), eq(upstreamServices.upstreamService, config.upstreamService)),
    )
    .get();
  if (!upstream) {
    const state = ctx.db
      .select({ syncedAt: providers.catalogueSyncedAt })
      .from(providers)
      .where(eq(providers.id, provider.id))
      .get();
    return { disabledReason: state?.syncedAt == null ? CATALOGUE_NOT_FETCHED : NOT_IN_CATALOGUE };
  }
  if (!upstream.present) return { disabledReason: "upstream service not listed by the provider" };
  const markup = config.markup ?? ctx.config.markup;
  const { rate, cost } = priceService(
    upstream.rate,
    provider.exchangeRate,
    config.rate !== undefined ? { rate: config.rate } : { markup },
  );
  const min = Math.max(upstream.min, config.min ?? upstream.min);
  const max = Math.min(upstream.max, config.max ?? upstream.max);
  let disabledReason: string | null = null;
  if (!config.enabled) disabledReason = "disabled in config";
  else if (min > max) disabledReason = "configured min/max outside the upstream range";
  // A fixed sell rate that the cost has reached is withdrawn until the cost falls (issue #5);
  // a markup service follows its cost, and `add` refuses it (502) in the rare case it sells at a loss.
  else if (config.rate !== undefined && isBelowCost(rate, cost))
    disabledReason = "upstream cost at or above the sell rate";
  return {
    id: config.id,
    providerId: provider.id,
    upstreamService: config.upstreamService,
    name: config.name ?? upstream.name,
    type: upstream.type,
    category: config.category ?? upstream.category,
    rate,
    cost,
    min,
    max,
    refill: upstream.refill,
    cancel: upstream.cancel,
    dripfeed: upstream.dripfeed,
    enabled: disabledReason === null,
    disabledReason,
  };
}

/**
 * Recomputes the local services mapped to `providerId` (or all, when omitted) from the cached
 * upstream catalogue and the current config. Call inside a transaction, or alone.
 * @returns how many local services changed.
 */
export function recomputeServices(ctx: AppContext, providerId?: string): number {
  const now = ctx.now();
  let changed = 0;
  const configured = new Set<number>();
  for (const config of ctx.config.services) {
    configured.add(config.id);
    if (providerId !== undefined && config.provider !== providerId) {
      const existing = ctx.db.select({ p: services.providerId }).from(services).where(eq(services.id, config.id)).get();
      if (existing === undefined || existing.p !== providerId) continue;
    }
    const existing = ctx.db.select().from(services).where(eq(services.id, config.id)).get();
    const next = recompute(ctx, config);
    if (!("id" in next)) {
      if (!existing && next.disabledReason === NOT_IN_CATALOGUE) {
        // Never listed upstream (a typo?): kept as a disabled row so the operator sees it.
        ctx.db
          .insert(services)
          .values(placeholderService(config, next.disabledReason, now))
          .run();
        changed++;
        continue;
      }
      if (existing && (existing.enabled || existing.disabledReason !== next.disabledReason)) {
        ctx.db
          .update(services)
          .set({ enabled: false, disabledReason: next.disabledReason, updatedAt: now })
          .where(eq(services.id, config.id))
          .run();
        if (existing.enabled) warnDisabled(ctx, config.id, next.disabledReason);
        changed++;
      }
      continue;
    }
    if (!existing) {
      ctx.db
        .insert(services)
        .values({ ...next, createdAt: now, updatedAt: now })
        .run();
      changed++;
      continue;
    }
    // A placeholder (never listed upstream) had no price: its first real one is not a change.
    const priced = existing.disabledReason !== NOT_IN_CATALOGUE;
    if (priced && existing.rate !== next.rate) {
      ctx.db
        .insert(priceChanges)
        .values({
          serviceId: next.id,
          field: "rate",
          oldValue: formatRate(existing.rate),
          newValue: formatRate(next.rate),
          createdAt: now,
        })
        .run();
    }
    if (priced && existing.cost !== next.cost) {
      ctx.db
        .insert(priceChanges)
        .values({ serviceId: next.id, field: "cost", oldValue: existing.cost, newValue: next.cost, createdAt: now })
        .run();
    }
    const differs = (Object.keys(next) as Array<keyof Recomputed>).some((k) => existing[k] !== next[k]);
    if (differs) {
      ctx.db
        .update(services)
        .set({ ...next, updatedAt: now })
        .where(eq(services.id, next.id))
        .run();
      if (priced && (existing.rate !== next.rate || existing.cost !== next.cost)) {
        ctx.logger.info(
          {
            event: "price_changed",
            serviceId: next.id,
            rate: formatRate(next.rate),
            oldRate: formatRate(existing.rate),
            cost: next.cost,
          },
          "service price changed",
        );
      }
      if (existing.enabled && !next.enabled) warnDisabled(ctx, next.id, next.disabledReason ?? "");
      changed++;
    }
  }
  if (providerId === undefined) {
    for (const row of ctx.db.select().from(services).where(eq(services.enabled, true)).all()) {
      if (configured.has(row.id)) continue;
      ctx.db
        .update(services)
        .set({ enabled: false, disabledReason: "removed from config", updatedAt: now })
        .where(eq(services.id, row.id))
        .run();
      changed++;
    }
  }
  if (changed > 0) ctx.catalogueVersion++;
  return changed;
}

function warnDisabled(ctx: AppContext, serviceId: number, reason: string): void {
  ctx.logger.warn({ serviceId, reason }, "service disabled");
}

/** A disabled row for a configured service its upstream never listed: no price, no limits. */
function placeholderService(config: ServiceConfig, disabledReason: string, now: number): typeof services.$inferInsert {
  return {
    id: config.id,
    providerId: config.provider,
    upstreamService: config.upstreamService,
    name: config.name ?? `upstream service ${config.upstreamService}`,
    type: "Default",
    category: config.category ?? "",
    rate: 0,
    cost: "0",
    min: 0,
    max: 0,
    refill: false,
    cancel: false,
    dripfeed: false,
    enabled: false,
    disabledReason,
    createdAt: now,
    updatedAt: now,
  };
}
