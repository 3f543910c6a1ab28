/**
 * A local service and its routes as the catalogue makes them (issue #12), pure:
 *
 * - Pricing follows the **reference route** (the first listed): a markup applies to its cost,
 *   a fixed `rate` stays the sell rate. When the reference is not listed upstream the last sell
 *   rate, type and limits are kept (the rate changes only when the reference's cost changes);
 *   a service never priced yet is disabled.
 * - `min`/`max` are the reference's, narrowed by the config; `type` and the flags shown in the
 *   catalogue are the reference's.
 * - A route is `usable` (as far as the catalogue knows) when its provider is configured, its
 *   upstream service is listed, its type agrees with the reference's and its own min ≤ max.
 *   Margin (cost < sell rate), the circuit and the quantity are checked at placement.
 * - The service is enabled when the config enables it, its min ≤ max, some route is usable,
 *   and (for a fixed rate) some usable route leaves a margin.
 */
import { type Minor, parseAmount } from "../billing/money.js";
import { isBelowCost, priceService } from "../billing/pricing.js";
import type { Markup, ServiceConfig } from "../config/providers-file.js";
import type { UpstreamService } from "../upstream/types.js";

/** A cached upstream service, as `upstream_services` holds it (its id is the map key). */
export type CachedUpstream = Omit<UpstreamService, "service"> & {
  /** False when the last catalogue fetch no longer listed it. */
  present: boolean;
};

/** One route as stored in `service_routes`. */
export interface RouteState {
  routeIndex: number;
  providerId: string;
  upstreamService: string;
  /** Upstream rate in our currency per 1000; null when not listed. */
  cost: string | null;
  type: string | null;
  min: number | null;
  max: number | null;
  refill: boolean;
  cancel: boolean;
  dripfeed: boolean;
  usable: boolean;
  unusableReason: string | null;
}

/** The `services` row of a local service (timestamps aside). */
export interface ServiceState {
  id: number;
  providerId: string;
  upstreamService: string;
  name: string;
  type: string;
  category: string;
  rate: Minor;
  cost: string;
  min: number;
  max: number;
  refill: boolean;
  cancel: boolean;
  dripfeed: boolean;
  enabled: boolean;
  disabledReason: string | null;
  routing: "priority" | "cheapest";
  importRule: number | null;
}

/** What the computation reads besides the service's config. */
export interface ServiceInputs {
  /** The file's default markup. */
  markup: Markup;
  /** One unit of the provider's currency in ours; undefined when the provider is not configured. */
  exchangeRateOf(providerId: string): string | undefined;
  upstreamOf(providerId: string, upstreamService: string): CachedUpstream | undefined;
  /** The service's current row, if any (kept figures when the reference is not listed). */
  previous?: Pick<ServiceState, "name" | "type" | "category" | "rate" | "cost" | "min" | "max"> | undefined;
  importRule?: number | null;
}

export const NOT_LISTED = "upstream service not listed by the provider";
export const PROVIDER_REMOVED = "provider removed from config";
export const BELOW_COST = "upstream cost at or above the sell rate";

/**
 * Computes the service row and its route rows.
 * @returns `service` undefined when it cannot be priced at all (`disabledReason` says why).
 */
export function computeService(
  config: ServiceConfig,
  inputs: ServiceInputs,
): { service: ServiceState | undefined; disabledReason: string | null; routes: RouteState[] } {
  const listed = config.routes.map((route) => {
    const exchangeRate = inputs.exchangeRateOf(route.provider);
    const upstream = exchangeRate === undefined ? undefined : inputs.upstreamOf(route.provider, route.upstreamService);
    return { route, exchangeRate, upstream: upstream?.present ? upstream : undefined };
  });
  const reference = listed[0];
  const ref = reference?.upstream;
  const rule = config.rate !== undefined ? { rate: config.rate } : { markup: config.markup ?? inputs.markup };
  let rate: Minor;
  let refCost: string;
  let base: Pick<ServiceState, "name" | "type" | "category" | "min" | "max">;
  if (ref !== undefined && reference?.exchangeRate !== undefined) {
    const priced = priceService(ref.rate, reference.exchangeRate, rule);
    rate = priced.rate;
    refCost = priced.cost;
    base = {
      name: ref.name,
      type: ref.type,
      category: ref.category,
      min: Math.max(ref.min, config.min ?? ref.min),
      max: Math.min(ref.max, config.max ?? ref.max),
    };
  } else if (inputs.previous !== undefined && config.routes.length > 1) {
    ({ rate, cost: refCost } = inputs.previous);
    base = inputs.previous;
    if (config.rate !== undefined) rate = parseAmount(config.rate);
  } else {
    const why = reference?.exchangeRate === undefined ? PROVIDER_REMOVED : NOT_LISTED;
    return { service: undefined, disabledReason: why, routes: routeStates(listed, undefined) };
  }
  const routes = routeStates(listed, base.type);
  let disabledReason: string | null = null;
  if (!config.enabled) disabledReason = "disabled in config";
  else if (base.min > base.max) disabledReason = "configured min/max outside the upstream range";
  else if (!routes.some((r) => r.usable)) disabledReason = routes[0]?.unusableReason ?? NOT_LISTED;
  // A fixed sell rate that every route's cost has reached is withdrawn until a cost falls (issue #5);
  // a markup service follows its reference cost, and placement refuses routes selling at a loss.
  else if (config.rate !== undefined && !routes.some((r) => r.usable && r.cost !== null && !isBelowCost(rate, r.cost)))
    disabledReason = BELOW_COST;
  const flags = ref ?? { refill: false, cancel: false, dripfeed: false };
  const service: ServiceState = {
    id: config.id,
    providerId: config.provider,
    upstreamService: config.upstreamService,
    name: config.name ?? base.name,
    type: base.type,
    category: config.category ?? base.category,
    rate,
    cost: refCost,
    min: base.min,
    max: base.max,
    refill: flags.refill,
    cancel: flags.cancel,
    dripfeed: flags.dripfeed,
    enabled: disabledReason === null,
    disabledReason,
    routing: config.routing,
    importRule: inputs.importRule ?? null,
  };
  return { service, disabledReason, routes };
}

function routeStates(
  listed: ReadonlyArray<{
    route: { provider: string; upstreamService: string };
    exchangeRate: string | undefined;
    upstream: CachedUpstream | undefined;
  }>,
  referenceType: string | undefined,
): RouteState[] {
  return listed.map(({ route, exchangeRate, upstream }, routeIndex) => {
    const state: RouteState = {
      routeIndex,
      providerId: route.provider,
      upstreamService: route.upstreamService,
      cost: null,
      type: null,
      min: null,
      max: null,
      refill: false,
      cancel: false,
      dripfeed: false,
      usable: false,
      unusableReason: null,
    };
    if (exchangeRate === undefined) return { ...state, unusableReason: PROVIDER_REMOVED };
    if (upstream === undefined) return { ...state, unusableReason: NOT_LISTED };
    const filled: RouteState = {
      ...state,
      cost: priceService(upstream.rate, exchangeRate, { rate: "0" }).cost,
      type: upstream.type,
      min: upstream.min,
      max: upstream.max,
      refill: upstream.refill,
      cancel: upstream.cancel,
      dripfeed: upstream.dripfeed,
    };
    let why: string | null = null;
    if (referenceType !== undefined && upstream.type !== referenceType) {
      why = `type "${upstream.type}" differs from the reference route's "${referenceType}"`;
    } else if (upstream.min > upstream.max) why = "upstream min above its max";
    return { ...filled, usable: why === null, unusableReason: why };
  });
}
