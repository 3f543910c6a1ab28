/**
 * Every local service as the operator reads it (issue #7 `services list`, issue #12 routes,
 * issue #13 Services page): cost of the reference route, sell rate, exact margin, limits,
 * availability, and each route with its own cost, margin and whether it can take an order.
 * A service its provider never listed (`NOT_IN_CATALOGUE`, most likely a typo in the providers
 * file) has no price or limits to show: null.
 */
import { asc, eq, sql } from "drizzle-orm";
import { marginOf } from "../billing/margin.js";
import { formatRate } from "../billing/money.js";
import { isBelowCost } from "../billing/pricing.js";
import type { Db } from "../db/client.js";
import { type Service, type ServiceRoute, serviceRoutes, services } from "../db/schema.js";
import { NOT_IN_CATALOGUE } from "./catalogue.js";

/** A route of a service (issue #12) with its own cost and margin at the service's sell rate. */
export interface RouteMargin {
  /** Position in the service's routes (0 = the pricing reference). */
  route: number;
  providerId: string;
  upstreamService: string;
  /** Upstream rate in our currency per 1000; null when not listed upstream. */
  cost: string | null;
  margin: string | null;
  marginPercent: string | null;
  /**
   * Whether the route can take an order as far as the store knows (listed, same type, a cost
   * below the sell rate). The provider's circuit is known only to the running server.
   */
  usable: boolean;
  whyNot: string | null;
}

export function routeMargin(service: Pick<Service, "rate">, r: ServiceRoute): RouteMargin {
  const margins = r.cost === null ? { margin: null, marginPercent: null } : marginOf(service.rate, r.cost);
  let whyNot = r.usable ? null : (r.unusableReason ?? "not usable");
  if (whyNot === null && r.cost !== null && isBelowCost(service.rate, r.cost)) {
    whyNot = "cost at or above the sell rate";
  }
  return {
    route: r.routeIndex,
    providerId: r.providerId,
    upstreamService: r.upstreamService,
    cost: r.cost,
    ...margins,
    usable: whyNot === null,
    whyNot,
  };
}

/** A local service with its sell rate printed panel-style and its margin (of the reference route). */
export interface ServiceMargin {
  id: number;
  name: string;
  category: string;
  providerId: string;
  upstreamService: string;
  type: string;
  /** Upstream rate in our currency per 1000, exact decimal string (null: never listed upstream). */
  cost: string | null;
  /** Sell rate per 1000 (panel style: at least 2 decimals); null: never listed upstream. */
  rate: string | null;
  /** rate − cost, exact decimal string (negative when selling below cost). */
  margin: string | null;
  /** margin / rate × 100, 2 decimals (half-up); null when the rate is 0. */
  marginPercent: string | null;
  min: number | null;
  max: number | null;
  enabled: boolean;
  disabledReason: string | null;
  /** `priority` (listed order) or `cheapest`. */
  routing: string;
  /** Index of the import rule that produced it (`imports[N]`); null when listed in the file. */
  importRule: number | null;
  routes: RouteMargin[];
}

export function serviceMargin(s: Service, routes: readonly ServiceRoute[] = []): ServiceMargin {
  if (s.disabledReason === NOT_IN_CATALOGUE) {
    const none = { cost: null, rate: null, margin: null, marginPercent: null, min: null, max: null };
    const { id, name, category, providerId, upstreamService, type, enabled, disabledReason, routing, importRule } = s;
    return {
      ...{ id, name, category, providerId, upstreamService, type },
      ...none,
      ...{ enabled, disabledReason, routing, importRule },
      routes: routes.map((r) => routeMargin(s, r)),
    };
  }
  return {
    id: s.id,
    name: s.name,
    category: s.category,
    providerId: s.providerId,
    upstreamService: s.upstreamService,
    type: s.type,
    cost: s.cost,
    rate: formatRate(s.rate),
    ...marginOf(s.rate, s.cost),
    min: s.min,
    max: s.max,
    enabled: s.enabled,
    disabledReason: s.disabledReason,
    routing: s.routing,
    importRule: s.importRule,
    routes: routes.map((r) => routeMargin(s, r)),
  };
}

/** The routes of service `serviceId` with their cost and margin, in route order; empty for an unknown service. */
export function serviceRouteMargins(db: Db, serviceId: number): RouteMargin[] {
  const service = db.select().from(services).where(eq(services.id, serviceId)).get();
  if (service === undefined) return [];
  const routes = db
    .select()
    .from(serviceRoutes)
    .where(eq(serviceRoutes.serviceId, serviceId))
    .orderBy(asc(serviceRoutes.routeIndex))
    .all();
  return serviceMargin(service, routes).routes;
}

/** Every local service as last recomputed by the catalogue sync, by id, with its margin and routes. */
export function listServiceMargins(db: Db): ServiceMargin[] {
  const routesOf = new Map<number, ServiceRoute[]>();
  for (const r of db.select().from(serviceRoutes).orderBy(serviceRoutes.serviceId, serviceRoutes.routeIndex).all()) {
    routesOf.set(r.serviceId, [...(routesOf.get(r.serviceId) ?? []), r]);
  }
  return db
    .select()
    .from(services)
    .orderBy(asc(services.id))
    .all()
    .map((s) => serviceMargin(s, routesOf.get(s.id) ?? []));
}

/**
 * A fingerprint of the stored services and routes (count and last update): it changes whenever the
 * catalogue sync, a reload or the CLI rewrites a service, so a view built from the rows can be
 * kept until it does. One aggregate over the services table.
 */
export function servicesFingerprint(db: Db): string {
  const row = db
    .select({ count: sql<number>`count(*)`, last: sql<number | null>`max(${services.updatedAt})` })
    .from(services)
    .get();
  const routes = db
    .select({ count: sql<number>`count(*)`, last: sql<number | null>`max(${serviceRoutes.updatedAt})` })
    .from(serviceRoutes)
    .get();
  return `${row?.count ?? 0}:${row?.last ?? 0}:${routes?.count ?? 0}:${routes?.last ?? 0}`;
}
