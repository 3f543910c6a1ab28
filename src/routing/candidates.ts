/**
 * Candidate selection for an order (issue #12, "Placing an order"), pure: the routes of a
 * service in policy order, without those that must not be sent anything now:
 * - `unusable`: the catalogue says no (upstream service not listed or disabled, other type,
 *   provider removed);
 * - `circuit_open`: the provider's circuit is open (our own back-pressure);
 * - `no_client`: no client for the provider;
 * - `quantity`: the route's own min/max does not admit the quantity;
 * - `no_dripfeed`: a drip-feed order and a route that does not offer drip-feed;
 * - `no_margin`: the route's cost is at or above our sell rate (margin protection per route).
 * `priority` keeps the listed order; `cheapest` sorts by current cost (ties: listed order).
 */
import { Decimal } from "decimal.js";
import type { Minor } from "../billing/money.js";
import { isBelowCost } from "../billing/pricing.js";
import type { RoutingPolicy } from "./config.js";

/** What selection reads of a stored route (`service_routes`). */
export interface RouteRow {
  routeIndex: number;
  providerId: string;
  upstreamService: string;
  cost: string | null;
  min: number | null;
  max: number | null;
  dripfeed: boolean;
  usable: boolean;
  unusableReason: string | null;
}

export type SkipReason = "unusable" | "circuit_open" | "no_client" | "quantity" | "no_dripfeed" | "no_margin";

export interface SkippedRoute<R extends RouteRow = RouteRow> {
  route: R;
  reason: SkipReason;
  /** One line for the operator. */
  detail: string;
}

export interface SelectionInput {
  policy: RoutingPolicy;
  /** Our sell rate, minor units per 1000. */
  rate: Minor;
  /** The quantity sent upstream (per run for drip-feed); undefined for types without one. */
  quantity: number | undefined;
  dripfeed: boolean;
  /** The provider's circuit now; undefined when there is no client for it. */
  circuitOf(providerId: string): "closed" | "open" | "half_open" | undefined;
}

export interface Selection<R extends RouteRow = RouteRow> {
  /** Routes to try, in order. */
  candidates: R[];
  skipped: SkippedRoute<R>[];
}

/** Why `route` cannot take the order now, or undefined when it can. */
export function skipReason(route: RouteRow, input: SelectionInput): Omit<SkippedRoute, "route"> | undefined {
  if (!route.usable || route.cost === null) {
    return { reason: "unusable", detail: route.unusableReason ?? "upstream service not listed by the provider" };
  }
  const circuit = input.circuitOf(route.providerId);
  if (circuit === undefined) return { reason: "no_client", detail: `no client for provider ${route.providerId}` };
  if (circuit === "open") return { reason: "circuit_open", detail: `circuit of ${route.providerId} is open` };
  if (input.quantity !== undefined) {
    if (route.min !== null && input.quantity < route.min) {
      return { reason: "quantity", detail: `quantity below the route's minimum ${route.min}` };
    }
    if (route.max !== null && input.quantity > route.max) {
      return { reason: "quantity", detail: `quantity above the route's maximum ${route.max}` };
    }
  }
  if (input.dripfeed && !route.dripfeed) return { reason: "no_dripfeed", detail: "route does not offer drip-feed" };
  if (isBelowCost(input.rate, route.cost)) {
    return { reason: "no_margin", detail: `cost ${route.cost} is at or above the sell rate` };
  }
  return undefined;
}

/** Orders `routes` by `policy`. */
export function policyOrder<R extends RouteRow>(routes: readonly R[], policy: RoutingPolicy): R[] {
  const ordered = [...routes].sort((a, b) => a.routeIndex - b.routeIndex);
  if (policy === "priority") return ordered;
  return ordered.sort((a, b) => {
    if (a.cost === null || b.cost === null) return a.cost === null ? (b.cost === null ? 0 : 1) : -1;
    const byCost = new Decimal(a.cost).comparedTo(new Decimal(b.cost));
    return byCost !== 0 ? byCost : a.routeIndex - b.routeIndex;
  });
}

/** The candidates of an order and the routes skipped, each with why. */
export function selectCandidates<R extends RouteRow>(routes: readonly R[], input: SelectionInput): Selection<R> {
  const candidates: R[] = [];
  const skipped: SkippedRoute<R>[] = [];
  for (const route of policyOrder(routes, input.policy)) {
    const why = skipReason(route, input);
    if (why === undefined) candidates.push(route);
    else skipped.push({ route, ...why });
  }
  return { candidates, skipped };
}
