/**
 * The prepared statements of the catalogue sync and the service recomputation (issue #14's
 * memory goal), made once per store and reused for every row. Drizzle's unprepared
 * `.run()`/`.get()` compile a new SQLite statement per call, whose native memory lives until
 * V8 finalises its wrapper: over 20,000 upstream services and 20,000 local services (with their
 * routes) that churn was most of the first sync's peak RSS. Reads go through drizzle's
 * prepared queries (rows mapped exactly as drizzle maps them: booleans, camelCase); writes are
 * plain SQL, booleans bound as 0/1.
 */

import type { Statement } from "better-sqlite3";
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { providers, serviceRoutes, services, upstreamServices } from "../db/schema.js";
import type { RouteState, ServiceState } from "../routing/service-state.js";
import type { UpstreamService } from "../upstream/types.js";

/** SQLite binds booleans as integers. */
const bit = (value: boolean): number => (value ? 1 : 0);

function prepareAll(db: Db) {
  const p = (name: string) => sql.placeholder(name);
  const client = db.$client;
  return {
    /** One cached upstream service (`CachedUpstream`), or undefined. */
    upstream: db
      .select({
        name: upstreamServices.name,
        type: upstreamServices.type,
        category: upstreamServices.category,
        rate: upstreamServices.rate,
        min: upstreamServices.min,
        max: upstreamServices.max,
        refill: upstreamServices.refill,
        cancel: upstreamServices.cancel,
        dripfeed: upstreamServices.dripfeed,
        present: upstreamServices.present,
      })
      .from(upstreamServices)
      .where(and(eq(upstreamServices.providerId, p("provider")), eq(upstreamServices.upstreamService, p("upstream"))))
      .prepare(),
    /** A provider's cached catalogue as import rules read it, in the order it was first stored. */
    catalogue: db
      .select({
        service: upstreamServices.upstreamService,
        category: upstreamServices.category,
        type: upstreamServices.type,
      })
      .from(upstreamServices)
      .where(eq(upstreamServices.providerId, p("provider")))
      .orderBy(sql`rowid`)
      .prepare(),
    service: db
      .select()
      .from(services)
      .where(eq(services.id, p("id")))
      .prepare(),
    routes: db
      .select()
      .from(serviceRoutes)
      .where(eq(serviceRoutes.serviceId, p("id")))
      .orderBy(serviceRoutes.routeIndex)
      .prepare(),
    catalogueSyncedAt: db
      .select({ syncedAt: providers.catalogueSyncedAt })
      .from(providers)
      .where(eq(providers.id, p("id")))
      .prepare(),
    /** Every service row's id and availability (iterated: one row in memory at a time). */
    serviceStates: client.prepare("SELECT id, enabled, disabled_reason AS disabledReason FROM services") as Statement<
      [],
      { id: number; enabled: number; disabledReason: string | null }
    >,
    upsertUpstream: client.prepare(
      `INSERT INTO upstream_services (provider_id, upstream_service, name, type, category, rate, min, max,
         refill, cancel, dripfeed, present, created_at, updated_at)
       VALUES (@providerId, @service, @name, @type, @category, @rate, @min, @max,
         @refill, @cancel, @dripfeed, 1, @now, @now)
       ON CONFLICT (provider_id, upstream_service) DO UPDATE SET name = excluded.name, type = excluded.type,
         category = excluded.category, rate = excluded.rate, min = excluded.min, max = excluded.max,
         refill = excluded.refill, cancel = excluded.cancel, dripfeed = excluded.dripfeed, present = 1,
         updated_at = excluded.updated_at`,
    ),
    deleteRoutes: client.prepare("DELETE FROM service_routes WHERE service_id = ?"),
    insertRoute: client.prepare(
      `INSERT INTO service_routes (service_id, route_index, provider_id, upstream_service, cost, type, min, max,
         refill, cancel, dripfeed, usable, unusable_reason, created_at, updated_at)
       VALUES (@serviceId, @routeIndex, @providerId, @upstreamService, @cost, @type, @min, @max,
         @refill, @cancel, @dripfeed, @usable, @unusableReason, @now, @now)`,
    ),
    insertService: client.prepare(
      `INSERT INTO services (id, provider_id, upstream_service, name, type, category, rate, cost, min, max,
         refill, cancel, dripfeed, enabled, disabled_reason, routing, import_rule, created_at, updated_at)
       VALUES (@id, @providerId, @upstreamService, @name, @type, @category, @rate, @cost, @min, @max,
         @refill, @cancel, @dripfeed, @enabled, @disabledReason, @routing, @importRule, @now, @now)`,
    ),
    updateService: client.prepare(
      `UPDATE services SET provider_id = @providerId, upstream_service = @upstreamService, name = @name,
         type = @type, category = @category, rate = @rate, cost = @cost, min = @min, max = @max,
         refill = @refill, cancel = @cancel, dripfeed = @dripfeed, enabled = @enabled,
         disabled_reason = @disabledReason, routing = @routing, import_rule = @importRule, updated_at = @now
       WHERE id = @id`,
    ),
    disableService: client.prepare("UPDATE services SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?"),
    insertPriceChange: client.prepare(
      "INSERT INTO price_changes (service_id, field, old_value, new_value, created_at) VALUES (?, ?, ?, ?, ?)",
    ),
  };
}

export type CatalogueStatements = ReturnType<typeof prepareAll>;

const cache = new WeakMap<Db, CatalogueStatements>();

/** The catalogue statements of `db`, prepared on first use. */
export function catalogueStatements(db: Db): CatalogueStatements {
  let statements = cache.get(db);
  if (statements === undefined) {
    statements = prepareAll(db);
    cache.set(db, statements);
  }
  return statements;
}

/** Stores (or refreshes, marking it present) one upstream service of `providerId`'s catalogue. */
export function upsertUpstream(st: CatalogueStatements, providerId: string, s: UpstreamService, now: number): void {
  st.upsertUpstream.run({
    providerId,
    service: s.service,
    name: s.name,
    type: s.type,
    category: s.category,
    rate: s.rate,
    min: s.min,
    max: s.max,
    refill: bit(s.refill),
    cancel: bit(s.cancel),
    dripfeed: bit(s.dripfeed),
    now,
  });
}

/** Inserts one route row of `serviceId`. */
export function insertRoute(st: CatalogueStatements, serviceId: number, r: RouteState, now: number): void {
  st.insertRoute.run({
    serviceId,
    routeIndex: r.routeIndex,
    providerId: r.providerId,
    upstreamService: r.upstreamService,
    cost: r.cost,
    type: r.type,
    min: r.min,
    max: r.max,
    refill: bit(r.refill),
    cancel: bit(r.cancel),
    dripfeed: bit(r.dripfeed),
    usable: bit(r.usable),
    unusableReason: r.unusableReason,
    now,
  });
}

/** The bound values of a `services` row (insert or full update). */
export function serviceParams(s: ServiceState, now: number): Record<string, string | number | null> {
  return {
    id: s.id,
    providerId: s.providerId,
    upstreamService: s.upstreamService,
    name: s.name,
    type: s.type,
    category: s.category,
    rate: s.rate,
    cost: s.cost,
    min: s.min,
    max: s.max,
    refill: bit(s.refill),
    cancel: bit(s.cancel),
    dripfeed: bit(s.dripfeed),
    enabled: bit(s.enabled),
    disabledReason: s.disabledReason,
    routing: s.routing,
    importRule: s.importRule,
    now,
  };
}
