/**
 * What each local service earns (issue #7 `services list`, issue #13 Services page): its cost
 * (upstream rate in our currency per 1000, exact decimal string), sell rate and margin.
 */
import { Decimal } from "decimal.js";
import { asc, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { type Service, type ServiceRoute, serviceRoutes, services } from "../db/schema.js";
import { formatRate } from "./money.js";
import { isBelowCost } from "./pricing.js";

/** Margin figures of a sell rate (minor units per 1000) over a cost (decimal string per 1000). */
export interface Margin {
  /** rate − cost, exact decimal string (negative when selling below cost). */
  margin: string;
  /** margin / rate × 100, 2 decimals (half-up); null when the rate is 0. */
  marginPercent: string | null;
}

/**
 * Exact margin of `rate` (minor units per 1000) over `cost` (decimal string per 1000, any
 * number of decimals), in BigInt: `margin` is the shortest exact decimal, `marginPercent` is
 * margin / rate × 100 rounded once, half away from zero, to 2 decimals from the exact quotient
 * (what decimal.js gives, without its rare double rounding at 20 significant digits), at a
 * fraction of the cost, so a page of 2,000 services stays fast.
 * @throws Error when `cost` is not a plain decimal string.
 */
export function marginOf(rate: number, cost: string): Margin {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(cost.trim());
  if (!match) throw new Error(`invalid cost "${cost}"`);
  const [, sign = "", whole = "0", frac = ""] = match;
  const scale = Math.max(MINOR_DECIMALS, frac.length);
  const costScaled = BigInt(`${sign}${whole}${frac.padEnd(scale, "0")}`);
  const sellScaled = BigInt(rate) * 10n ** BigInt(scale - MINOR_DECIMALS);
  const margin = sellScaled - costScaled;
  return {
    margin: decimalText(margin, scale),
    marginPercent: sellScaled === 0n ? null : percentText(margin, sellScaled),
  };
}

const MINOR_DECIMALS = 5;

/** `value / 10^scale` as the shortest exact decimal ("2", "0.225", "-0.05"). */
function decimalText(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, "");
  const text = frac === "" ? whole : `${whole}.${frac}`;
  return negative && text !== "0" ? `-${text}` : text;
}

/** margin / sell × 100 with 2 decimals, half away from zero (decimal.js ROUND_HALF_UP). */
function percentText(margin: bigint, sell: bigint): string {
  const negative = margin < 0n !== sell < 0n && margin !== 0n;
  const num = (margin < 0n ? -margin : margin) * 10_000n;
  const den = sell < 0n ? -sell : sell;
  let hundredths = num / den;
  if ((num % den) * 2n >= den) hundredths += 1n;
  const text = decimalText(hundredths, 2);
  const [whole, frac = ""] = text.split(".");
  const fixed = `${whole}.${frac.padEnd(2, "0")}`;
  return negative && hundredths !== 0n ? `-${fixed}` : fixed;
}

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
export interface ServiceMargin extends Margin {
  id: number;
  name: string;
  category: string;
  providerId: string;
  upstreamService: string;
  type: string;
  /** Upstream rate in our currency per 1000, exact decimal string. */
  cost: string;
  /** Sell rate per 1000 (panel style: at least 2 decimals). */
  rate: string;
  min: number;
  max: number;
  enabled: boolean;
  disabledReason: string | null;
  /** `priority` (listed order) or `cheapest`. */
  routing: string;
  /** Index of the import rule that produced it (`imports[N]`); null when listed in the file. */
  importRule: number | null;
  routes: RouteMargin[];
}

export function serviceMargin(s: Service, routes: readonly ServiceRoute[] = []): ServiceMargin {
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
 * Sorts services highest first by `margin` or `marginPercent` (exact; a null percent last),
 * then by id. Each value is parsed once, so 2,000 services sort in about a millisecond.
 */
export function sortByMargin(list: readonly ServiceMargin[], by: "margin" | "marginPercent"): ServiceMargin[] {
  const keyed = list.map((s) => ({ s, key: s[by] === null ? null : new Decimal(s[by]) }));
  keyed.sort((a, b) => {
    if (a.key === null || b.key === null) return (a.key === null ? 1 : 0) - (b.key === null ? 1 : 0) || a.s.id - b.s.id;
    return b.key.comparedTo(a.key) || a.s.id - b.s.id;
  });
  return keyed.map((k) => k.s);
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
