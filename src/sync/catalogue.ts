/**
 * Price and catalogue sync (issue #5): fetch each provider's `services`, cache the upstream
 * catalogue, and recompute every mapped local service (sell rate from the markup rule,
 * converted and rounded up to 4 decimals; min/max narrowed by the config; refill, cancel and
 * dripfeed from upstream). A mapped upstream service that disappears disables the local one
 * until it returns; a fixed-rate service whose cost reaches its rate is disabled until the
 * cost falls. Every rate or cost change is a `price_changes` row. A failed fetch changes nothing.
 * A configured route whose `upstreamService` the provider's catalogue does not list (a typo in
 * the providers file, issue #15) is logged at warn after every catalogue fetch of its provider
 * (`event: "service_not_in_catalogue"`, with its JSON path); a service whose reference route
 * was never listed is kept as a disabled row with the reason {@link NOT_IN_CATALOGUE}, so
 * `services list` shows it.
 */
import { eq } from "drizzle-orm";
import { formatRate } from "../billing/money.js";
import type { ServiceConfig } from "../config/providers-file.js";
import { inTransaction } from "../db/client.js";
import { providers, type Service, type ServiceRoute, upstreamServices } from "../db/schema.js";
import { type CatalogueEntry, type ExpandedImports, expandImports } from "../routing/imports.js";
import {
  type CachedUpstream,
  computeService,
  NOT_LISTED,
  type RouteState,
  type ServiceState,
} from "../routing/service-state.js";
import type { AppContext } from "../runtime/context.js";
import type { UpstreamService } from "../upstream/types.js";
import { catalogueStatements, insertRoute, serviceParams, upsertUpstream } from "./catalogue-store.js";

/** Disabled reason of a service whose reference route its provider's catalogue has never listed. */
export const NOT_IN_CATALOGUE = "not in upstream catalogue";

/** A configured route that its provider's catalogue does not list. */
export interface MissingUpstreamService {
  serviceId: number;
  providerId: string;
  upstreamService: string;
  /** JSON path in the providers file: `services[3].upstreamService` or `services[3].routes[1].upstreamService`. */
  path: string;
}

/**
 * The routes of `ctx.config`'s services through `providerId` whose upstream id is not in
 * `listed` (the upstream ids of the provider's catalogue, as last fetched).
 */
export function missingUpstreamServices(
  ctx: Pick<AppContext, "config">,
  providerId: string,
  listed: ReadonlySet<string>,
): MissingUpstreamService[] {
  const missing: MissingUpstreamService[] = [];
  for (const [i, s] of ctx.config.services.entries()) {
    for (const [j, route] of s.routes.entries()) {
      if (route.provider !== providerId || listed.has(route.upstreamService)) continue;
      missing.push({
        serviceId: s.id,
        providerId,
        upstreamService: route.upstreamService,
        path: s.routesListed ? `services[${i}].routes[${j}].upstreamService` : `services[${i}].upstreamService`,
      });
    }
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
      `service ${m.serviceId}: upstream service ${m.upstreamService} is not in ${providerId}'s catalogue (check ${m.path})`,
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
    const st = catalogueStatements(ctx.db);
    for (const s of list) upsertUpstream(st, providerId, s, now);
    ctx.db
      .update(providers)
      .set({ catalogueSyncedAt: now, lastError: null, updatedAt: now })
      .where(eq(providers.id, providerId))
      .run();
    return recomputeServices(ctx, providerId);
  });
}

type Recomputed = Omit<Service, "createdAt" | "updatedAt">;

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
  const st = catalogueStatements(ctx.db);
  st.deleteRoutes.run(serviceId);
  for (const route of next) insertRoute(st, serviceId, route, now);
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
 *
 * Memory (issue #14): one service at a time. Its row, its routes and the upstream services its
 * routes name are read by prepared statements when it is computed (nothing loads the whole
 * upstream cache, every row or every route at once); a provider's catalogue is read only when
 * an import rule asks for it; the rows no longer configured are found by iterating ids.
 * @returns how many local services changed.
 */
export function recomputeServices(ctx: AppContext, _providerId?: string): number {
  const now = ctx.now();
  let changed = 0;
  const st = catalogueStatements(ctx.db);
  const upstreamOf = (p: string, u: string): CachedUpstream | undefined =>
    st.upstream.get({ provider: p, upstream: u });
  const exchangeRates = new Map(ctx.config.providers.map((p) => [p.id, p.exchangeRate]));
  const catalogues = new Map<string, CatalogueEntry[]>();
  const effective = effectiveServices(ctx, (p) => {
    let list = catalogues.get(p);
    if (list === undefined) {
      list = st.catalogue.all({ provider: p });
      catalogues.set(p, list);
    }
    return list;
  });
  catalogues.clear();
  for (const conflict of effective.conflicts) {
    ctx.logger.error({ serviceId: conflict.id, rules: conflict.rules }, conflict.message);
  }
  const configured = new Set<number>();
  for (const config of effective.all) {
    configured.add(config.id);
    const existing = st.service.get({ id: config.id });
    const result = computeService(config, {
      markup: ctx.config.markup,
      exchangeRateOf: (p) => exchangeRates.get(p),
      upstreamOf,
      previous: existing,
      importRule: effective.ruleOf.get(config.id) ?? null,
    });
    const storedRoutes = st.routes.all({ id: config.id });
    const routesChanged = writeRoutes(
      ctx,
      config.id,
      storedRoutes.length > 0 ? storedRoutes : undefined,
      result.routes,
      now,
    );
    const next: Recomputed | undefined = result.service;
    if (next === undefined) {
      const reason = neverListed(ctx, config, upstreamOf) ? NOT_IN_CATALOGUE : (result.disabledReason ?? NOT_LISTED);
      if (!existing && reason === NOT_IN_CATALOGUE) {
        // Never listed upstream (a typo?): kept as a disabled row so the operator sees it.
        st.insertService.run(serviceParams(placeholderService(config, reason), now));
        changed++;
        continue;
      }
      if (existing && (existing.enabled || existing.disabledReason !== reason)) {
        st.disableService.run(reason, now, config.id);
        if (existing.enabled) warnDisabled(ctx, config.id, reason);
        changed++;
      } else if (routesChanged && existing) changed++;
      continue;
    }
    if (!existing) {
      st.insertService.run(serviceParams(next, now));
      changed++;
      continue;
    }
    // A placeholder (never listed upstream) had no price: its first real one is not a change.
    const priced = existing.disabledReason !== NOT_IN_CATALOGUE;
    if (priced && existing.rate !== next.rate) {
      st.insertPriceChange.run(next.id, "rate", formatRate(existing.rate), formatRate(next.rate), now);
    }
    if (priced && existing.cost !== next.cost) {
      st.insertPriceChange.run(next.id, "cost", existing.cost, next.cost, now);
    }
    const differs = (Object.keys(next) as Array<keyof Recomputed>).some((k) => existing[k] !== next[k]);
    if (differs) {
      st.updateService.run(serviceParams(next, now));
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
    }
    if (differs || routesChanged) changed++;
  }
  const conflictReason = new Map(effective.conflicts.map((c) => [c.id, c.message]));
  // Rows no longer configured: collected first (SQLite cannot write while a statement iterates).
  const removed: Array<{ id: number; enabled: boolean; reason: string }> = [];
  for (const row of st.serviceStates.iterate()) {
    if (configured.has(row.id)) continue;
    const reason = conflictReason.get(row.id) ?? "removed from config";
    if (!row.enabled && row.disabledReason === reason) continue;
    removed.push({ id: row.id, enabled: row.enabled !== 0, reason });
  }
  for (const row of removed) {
    st.disableService.run(row.reason, now, row.id);
    if (row.enabled) changed++;
  }
  if (changed > 0) ctx.catalogueVersion++;
  return changed;
}

function warnDisabled(ctx: AppContext, serviceId: number, reason: string): void {
  ctx.logger.warn({ serviceId, reason }, "service disabled");
}

/**
 * Whether the reference route of `config` names an upstream service its provider's catalogue
 * has never listed, although that catalogue was fetched (a typo rather than a withdrawal).
 */
function neverListed(
  ctx: AppContext,
  config: ServiceConfig,
  upstreamOf: (providerId: string, upstreamService: string) => unknown,
): boolean {
  const reference = config.routes[0];
  if (reference === undefined || upstreamOf(reference.provider, reference.upstreamService) !== undefined) return false;
  if (!ctx.config.providers.some((p) => p.id === reference.provider)) return false;
  const state = catalogueStatements(ctx.db).catalogueSyncedAt.get({ id: reference.provider });
  return state?.syncedAt != null;
}

/**
 * A disabled row for a configured service its upstream never listed: no price, no limits
 * (routing and import rule as the table's defaults).
 */
function placeholderService(config: ServiceConfig, disabledReason: string): ServiceState {
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
    routing: "priority",
    importRule: null,
  };
}
