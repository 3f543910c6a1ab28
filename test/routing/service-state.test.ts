/** Reference-route pricing and route usability (issue #12), pure. */
import { describe, expect, it } from "vitest";
import { parseProvidersConfig, type ServiceConfig } from "../../src/config/providers-file.js";
import { type CachedUpstream, computeService, type ServiceInputs } from "../../src/routing/service-state.js";

const config = parseProvidersConfig(
  {
    currency: "USD",
    markup: { percent: "30" },
    exchangeRates: { EUR: "1.08" },
    providers: [
      { id: "a", dialect: "jap", url: "https://a.example/api/v2", key: "k" },
      { id: "b", dialect: "jap", url: "https://b.example/api/v2", key: "k", currency: "EUR" },
    ],
    services: [
      {
        id: 10,
        routes: [
          { provider: "a", upstreamService: 1 },
          { provider: "b", upstreamService: 7 },
        ],
        min: 100,
      },
      {
        id: 11,
        routes: [
          { provider: "a", upstreamService: 2 },
          { provider: "b", upstreamService: 8 },
        ],
        rate: "1.00",
      },
    ],
  },
  {},
);
const [multi, fixed] = config.services as [ServiceConfig, ServiceConfig];

const upstream = (over: Partial<CachedUpstream> = {}): CachedUpstream => ({
  name: "Followers",
  type: "Default",
  category: "Instagram",
  rate: "1.00",
  min: 10,
  max: 10000,
  refill: true,
  cancel: false,
  dripfeed: true,
  present: true,
  ...over,
});

function inputs(catalogue: Record<string, CachedUpstream>, previous?: ServiceInputs["previous"]): ServiceInputs {
  return {
    markup: config.markup,
    exchangeRateOf: (p) => config.providers.find((x) => x.id === p)?.exchangeRate,
    upstreamOf: (p, u) => catalogue[`${p}/${u}`],
    previous,
  };
}

describe("reference-route pricing", () => {
  it("prices on the first route's cost, with min/max and flags from it, each route with its own cost", () => {
    const out = computeService(
      multi,
      inputs({ "a/1": upstream(), "b/7": upstream({ rate: "0.50", refill: false, min: 500, max: 500000 }) }),
    );
    expect(out.service).toMatchObject({ rate: 130_000, cost: "1", min: 100, max: 10000, refill: true, cancel: false });
    expect(out.routes.map((r) => [r.routeIndex, r.providerId, r.cost, r.min, r.max, r.usable])).toEqual([
      [0, "a", "1", 10, 10000, true],
      [1, "b", "0.54", 500, 500000, true],
    ]);
  });

  it("keeps the sell rate when only another route's cost changes", () => {
    const before = computeService(multi, inputs({ "a/1": upstream(), "b/7": upstream({ rate: "0.50" }) }));
    const after = computeService(multi, inputs({ "a/1": upstream(), "b/7": upstream({ rate: "2.00" }) }));
    expect(after.service?.rate).toBe(before.service?.rate);
    expect(after.routes[1]?.cost).toBe("2.16");
  });

  it("keeps the last sell rate while the reference is not listed, and serves through the other route", () => {
    const previous = computeService(multi, inputs({ "a/1": upstream(), "b/7": upstream() })).service;
    const out = computeService(
      multi,
      inputs({ "a/1": upstream({ present: false }), "b/7": upstream({ rate: "0.60" }) }, previous),
    );
    expect(out.service).toMatchObject({ rate: 130_000, cost: "1", enabled: true });
    expect(out.routes.map((r) => [r.usable, r.unusableReason])).toEqual([
      [false, "upstream service not listed by the provider"],
      [true, null],
    ]);
  });

  it("disables a service never priced whose reference is not listed", () => {
    const out = computeService(multi, inputs({ "b/7": upstream() }));
    expect(out.service).toBeUndefined();
    expect(out.disabledReason).toBe("upstream service not listed by the provider");
  });

  it("marks a route whose type differs from the reference's unusable", () => {
    const out = computeService(multi, inputs({ "a/1": upstream(), "b/7": upstream({ type: "Package" }) }));
    expect(out.routes[1]).toMatchObject({
      usable: false,
      unusableReason: 'type "Package" differs from the reference route\'s "Default"',
    });
  });

  it("keeps a fixed-rate service enabled while one route still leaves a margin", () => {
    const both = inputs({ "a/2": upstream({ rate: "1.20" }), "b/8": upstream({ rate: "0.80" }) });
    expect(computeService(fixed, both).service).toMatchObject({ rate: 100_000, enabled: true });
    const none = inputs({ "a/2": upstream({ rate: "1.20" }), "b/8": upstream({ rate: "1.00" }) });
    expect(computeService(fixed, none).service).toMatchObject({
      enabled: false,
      disabledReason: "upstream cost at or above the sell rate",
    });
  });
});
