/**
 * Price and catalogue sync (issue #5): fetch each provider's `services`, cache the upstream
 * catalogue, and recompute every mapped local service (sell rate from the markup rule,
 * converted and rounded up to 4 decimals; min/max narrowed by the config; refill, cancel and
 * dripfeed from upstream). A mapped upstream service that disappears disables the local one
 * until it returns; a fixed-rate service whose cost reaches its rate is disabled until the
 * cost falls. Every rate or cost change is a `price_changes` row. A failed fetch changes nothing.
 */
import { eq } from "drizzle-orm";
import { formatRate } from "../billing/money.js";
import type { ServiceConfig } from "../config/providers-file.js";
import { inTransaction } from "../db/client.js";
import {
  priceChanges,
  providers,
  type Service,
  type ServiceRoute,
  serviceRoutes,
  services,
  upstreamServices,
} from "../db/schema.js";
import { type CatalogueEntry, type ExpandedImports, expandImports } from "../routing/imports.js";
import { type CachedUpstream, computeService, NOT_LISTED, type RouteState } from "../routing/service-state.js";
import type { AppContext } from "../runtime/context.js";
import type { UpstreamService } from "../upstream/types.js";

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

/** The cached catalogues, read once per recompute: by `provider\0upstream id`, and listed per provider. */
function loadUpstreamCache(ctx: AppContext): {
  byKey: Map<string, CachedUpstream>;
  byProvider: Map<string, CatalogueEntry[]>;
} {
  const byKey = new Map<string, CachedUpstream>();
  const byProvider = new Map<string, CatalogueEntry[]>();
  for (const row of ctx.db.select().from(upstreamServices).all()) {
    byKey.set(`${row.providerId}\u0000${row.upstreamService}`, row);
    let list = byProvider.get(row.providerId);
    if (list === undefined) {
      list = [];
      byProvider.set(row.providerId, list);
    }
    list.push({ service: row.upstreamService, category: row.category, type: row.type });
  }
  return { byKey, byProvider };
}

/** The route rows of every service, by service id, in route order. */
function loadRoutes(ctx: AppContext): Map<number, ServiceRoute[]> {
  const out = new Map<number, ServiceRoute[]>();
  for (const row of ctx.db
    .select()
    .from(serviceRoutes)
    .orderBy(serviceRoutes.serviceId, serviceRoutes.routeIndex)
    .all()) {
    let list = out.get(row.serviceId);
    if (list === undefined) {
      list = [];
      out.set(row.serviceId, list);
    }
    list.push(row);
  }
  return out;
}

const ROUTE_FIELDS = [
  "providerId",
  "upstreamService",
  "cost",
  "type",
  "min",
  "max",
  "refill",
  "cancel",
  "dripfeed",
  "usable",
  "unusableReason",
] as const;

/** Replaces the stored routes of `serviceId` when they differ from `next`. @returns whether they changed. */
function writeRoutes(
  ctx: AppContext,
  serviceId: number,
  existing: readonly ServiceRoute[] | undefined,
  next: readonly RouteState[],
  now: number,
): boolean {
  const same =
    existing !== undefined &&
    existing.length === next.length &&
    existing.every((row, i) => {
      const route = next[i];
      return route !== undefined && ROUTE_FIELDS.every((k) => row[k] === route[k]);
    });
  if (same) return false;
  ctx.db.delete(serviceRoutes).where(eq(serviceRoutes.serviceId, serviceId)).run();
  if (next.length > 0) {
    ctx.db
      .insert(serviceRoutes)
      .values(next.map((r) => ({ ...r, serviceId, createdAt: now, updatedAt: now })))
      .run();
  }
  return true;
}

/**
 * The services the config declares now: those listed in the file, then those its import
 * rules produce from the cached catalogues (see `routing/imports.ts`).
 */
export function effectiveServices(
  ctx: Pick<AppContext, "config">,
  catalogueOf: (providerId: string) => readonly CatalogueEntry[],
): ExpandedImports & { all: ServiceConfig[] } {
  const explicitIds = new Set(ctx.config.services.map((s) => s.id));
  const expanded = expandImports(ctx.config.imports, catalogueOf, explicitIds);
  return { ...expanded, all: [...ctx.config.services, ...expanded.services] };
}

/**
 * Recomputes every local service and its routes from the cached upstream catalogues and the
 * current config (services listed in the file and those its import rules produce). Call
 * inside a transaction, or alone. `providerId` is accepted for callers that synced one
 * provider: a service may route through several providers, so all are recomputed.
 * @returns how many local services changed.
 */
export function recomputeServices(ctx: AppContext, _providerId?: string): number {
  const now = ctx.now();
  let changed = 0;
  const cache = loadUpstreamCache(ctx);
  const exchangeRates = new Map(ctx.config.providers.map((p) => [p.id, p.exchangeRate]));
  const existingRows = new Map(
    ctx.db
      .select()
      .from(services)
      .all()
      .map((row) => [row.id, row]),
  );
  const existingRoutes = loadRoutes(ctx);
  const effective = effectiveServices(ctx, (p) => cache.byProvider.get(p) ?? []);
  for (const conflict of effective.conflicts) {
    ctx.logger.error({ serviceId: conflict.id, rules: conflict.rules }, conflict.message);
  }
  const configured = new Set<number>();
  for (const config of effective.all) {
    configured.add(config.id);
    const existing = existingRows.get(config.id);
    const result = computeService(config, {
      markup: ctx.config.markup,
      exchangeRateOf: (p) => exchangeRates.get(p),
      upstreamOf: (p, u) => cache.byKey.get(`${p}\u0000${u}`),
      previous: existing,
      importRule: effective.ruleOf.get(config.id) ?? null,
    });
    const routesChanged = writeRoutes(ctx, config.id, existingRoutes.get(config.id), result.routes, now);
    const next: Recomputed | undefined = result.service;
    if (next === undefined) {
      const reason = result.disabledReason ?? NOT_LISTED;
      if (existing && (existing.enabled || existing.disabledReason !== reason)) {
        ctx.db
          .update(services)
          .set({ enabled: false, disabledReason: reason, updatedAt: now })
          .where(eq(services.id, config.id))
          .run();
        if (existing.enabled) warnDisabled(ctx, config.id, reason);
        changed++;
      } else if (routesChanged && existing) changed++;
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
    if (existing.rate !== next.rate) {
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
    if (existing.cost !== next.cost) {
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
      if (existing.rate !== next.rate || existing.cost !== next.cost) {
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
    }
    if (differs || routesChanged) changed++;
  }
  const conflictReason = new Map(effective.conflicts.map((c) => [c.id, c.message]));
  for (const row of existingRows.values()) {
    if (configured.has(row.id)) continue;
    const reason = conflictReason.get(row.id) ?? "removed from config";
    if (!row.enabled && row.disabledReason === reason) continue;
    ctx.db
      .update(services)
      .set({ enabled: false, disabledReason: reason, updatedAt: now })
      .where(eq(services.id, row.id))
      .run();
    if (row.enabled) changed++;
  }
  if (changed > 0) ctx.catalogueVersion++;
  return changed;
}

function warnDisabled(ctx: AppContext, serviceId: number, reason: string): void {
  ctx.logger.warn({ serviceId, reason }, "service disabled");
}
