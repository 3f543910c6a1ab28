/** Candidate selection (issue #12): policy order and each skip rule, with nothing sent. */
import { describe, expect, it } from "vitest";
import { type RouteRow, type SelectionInput, selectCandidates } from "../../src/routing/candidates.js";

const route = (
  routeIndex: number,
  providerId: string,
  cost: string | null,
  extra: Partial<RouteRow> = {},
): RouteRow => ({
  routeIndex,
  providerId,
  upstreamService: String(routeIndex + 1),
  cost,
  min: 10,
  max: 10000,
  dripfeed: true,
  usable: cost !== null,
  unusableReason: cost === null ? "upstream service not listed by the provider" : null,
  ...extra,
});

const input = (over: Partial<SelectionInput> = {}): SelectionInput => ({
  policy: "priority",
  rate: 130_000, // 1.30 per 1000
  quantity: 1000,
  dripfeed: false,
  circuitOf: () => "closed",
  ...over,
});

const order = (routes: RouteRow[], over: Partial<SelectionInput> = {}) => {
  const s = selectCandidates(routes, input(over));
  return {
    candidates: s.candidates.map((r) => r.providerId),
    skipped: s.skipped.map((k) => [k.route.providerId, k.reason, k.detail]),
  };
};

const ROUTES = [route(0, "jap", "1"), route(1, "mtp", "0.9"), route(2, "jp", "1.1")];

describe("candidate selection", () => {
  it("priority keeps the listed order; cheapest sorts by current cost, ties in listed order", () => {
    expect(order(ROUTES).candidates).toEqual(["jap", "mtp", "jp"]);
    expect(order(ROUTES, { policy: "cheapest" }).candidates).toEqual(["mtp", "jap", "jp"]);
    const tied = [route(0, "a", "1.0"), route(1, "b", "1"), route(2, "c", "0.99999")];
    expect(order(tied, { policy: "cheapest" }).candidates).toEqual(["c", "a", "b"]);
  });

  it("skips a route whose provider's circuit is open (half-open still probes) or has no client", () => {
    const circuits: Record<string, "open" | "half_open"> = { jap: "open", jp: "half_open" };
    expect(order(ROUTES, { circuitOf: (p) => circuits[p] ?? (p === "mtp" ? undefined : "closed") })).toEqual({
      candidates: ["jp"],
      skipped: [
        ["jap", "circuit_open", "circuit of jap is open"],
        ["mtp", "no_client", "no client for provider mtp"],
      ],
    });
  });

  it("skips a route whose upstream service is missing or disabled in the cached catalogue", () => {
    const routes = [
      route(0, "jap", null),
      route(1, "mtp", "0.9", {
        usable: false,
        unusableReason: 'type "Package" differs from the reference route\'s "Default"',
      }),
      route(2, "jp", "1.1"),
    ];
    expect(order(routes)).toEqual({
      candidates: ["jp"],
      skipped: [
        ["jap", "unusable", "upstream service not listed by the provider"],
        ["mtp", "unusable", 'type "Package" differs from the reference route\'s "Default"'],
      ],
    });
  });

  it("skips a route whose own min/max does not admit the quantity, and one without drip-feed for a drip-feed order", () => {
    const routes = [route(0, "jap", "1", { min: 2000 }), route(1, "mtp", "0.9", { max: 500 }), route(2, "jp", "1.1")];
    expect(order(routes)).toEqual({
      candidates: ["jp"],
      skipped: [
        ["jap", "quantity", "quantity below the route's minimum 2000"],
        ["mtp", "quantity", "quantity above the route's maximum 500"],
      ],
    });
    expect(order(routes, { quantity: undefined }).candidates).toEqual(["jap", "mtp", "jp"]);
    const drip = [route(0, "jap", "1", { dripfeed: false }), route(1, "mtp", "0.9")];
    expect(order(drip, { dripfeed: true }).candidates).toEqual(["mtp"]);
  });

  it("skips a route whose cost leaves no margin (cost ≥ sell rate): margin protection per route", () => {
    const routes = [route(0, "jap", "1.3"), route(1, "mtp", "1.31"), route(2, "jp", "1.29999")];
    expect(order(routes)).toEqual({
      candidates: ["jp"],
      skipped: [
        ["jap", "no_margin", "cost 1.3 is at or above the sell rate"],
        ["mtp", "no_margin", "cost 1.31 is at or above the sell rate"],
      ],
    });
  });
});
