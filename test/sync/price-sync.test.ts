/**
 * Price and catalogue sync over real HTTP against simulated panels (issue #5): markup kinds,
 * currency conversion, min/max narrowing, price history, disappearance and return of an
 * upstream service, fixed-rate margin protection, and a failing fetch that changes nothing.
 */
import { asc, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listServiceViews } from "../../src/api/actions/services.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { openDb } from "../../src/db/client.js";
import { priceChanges, providers, services } from "../../src/db/schema.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { AppContext } from "../../src/runtime/context.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { syncAllCatalogues, syncProviderCatalogue } from "../../src/sync/catalogue.js";
import { createProviderRegistry, type ProviderRegistry } from "../../src/upstream/registry.js";

let jap: Simulator;
let mtp: Simulator;
let registry: ProviderRegistry;
let ctx: AppContext;

beforeEach(async () => {
  jap = await startSimulator({ dialect: "jap", apiKey: "jk", progress: false });
  mtp = await startSimulator({ dialect: "morethanpanel", apiKey: "mk", progress: false, currency: "EUR" });
  const config = parseProvidersConfig(
    {
      currency: "USD",
      markup: { percent: 25 },
      exchangeRates: { EUR: "1.08" },
      providers: [
        { id: "jap", dialect: "jap", url: jap.url, key: "jk", rateLimit: { requests: 100, intervalMs: 1000 } },
        {
          id: "mtp",
          dialect: "morethanpanel",
          url: mtp.url,
          key: "mk",
          currency: "EUR",
          rateLimit: { requests: 100, intervalMs: 1000 },
        },
      ],
      services: [
        { id: 1, provider: "jap", upstreamService: 1 },
        { id: 2, provider: "jap", upstreamService: 2, markup: { fixed: "0.50" } },
        { id: 3, provider: "jap", upstreamService: 3, rate: "0.30" },
        { id: 4, provider: "mtp", upstreamService: 1, markup: { percent: 10 } },
        { id: 5, provider: "mtp", upstreamService: 15, min: 1000, max: 5000, name: "Traffic", category: "Web" },
        { id: 6, provider: "jap", upstreamService: 3, markup: { percent: "33.333" } },
      ],
    },
    {},
  );
  registry = createProviderRegistry(config.providers, { circuit: { failureThreshold: 100 } });
  ctx = {
    db: openDb(":memory:"),
    config,
    providers: registry,
    logger: silentLogger(),
    now: Date.now,
    catalogueVersion: 0,
  };
});

afterEach(async () => {
  await registry.close(1000);
  await Promise.all([jap.close(), mtp.close()]);
});

const rows = () => ctx.db.select().from(services).orderBy(asc(services.id)).all();
const listed = () => listServiceViews(ctx).map((s) => [s.service, s.rate, s.min, s.max]);

describe("price sync", () => {
  it("prices every markup kind, converts currencies first and rounds up once to 4 decimals", async () => {
    const results = await syncAllCatalogues(ctx);
    expect(results.map((r) => [r.providerId, r.ok])).toEqual([
      ["jap", true],
      ["mtp", true],
    ]);
    expect(rows().map((s) => [s.id, s.rate, s.cost, s.min, s.max, s.enabled])).toEqual([
      [1, 112_500, "0.9", 50, 10000, true], // 0.90 × 1.25 = 1.125
      [2, 850_000, "8", 10, 1500, true], // 8 + 0.50
      [3, 30_000, "0.25", 10, 50000, true], // fixed rate 0.30
      [4, 106_920, "0.972", 50, 10000, true], // 0.90 EUR × 1.08 = 0.972 USD, × 1.10 = 1.0692
      [5, 101_250, "0.81", 1000, 5000, true], // 0.75 × 1.08 × 1.25 = 1.0125; min/max narrowed
      [6, 33_340, "0.25", 10, 50000, true], // 0.25 × 1.33333 = 0.3333325 → 0.3334
    ]);
    expect(listed()).toEqual([
      [1, "1.125", "50", "10000"],
      [2, "8.50", "10", "1500"],
      [3, "0.30", "10", "50000"],
      [4, "1.0692", "50", "10000"],
      [5, "1.0125", "1000", "5000"],
      [6, "0.3334", "10", "50000"],
    ]);
    expect(listServiceViews(ctx)[4]).toMatchObject({ name: "Traffic", category: "Web", type: "SEO" });
  });

  it("records every rate and cost change in price_changes and rebuilds the customers' catalogue", async () => {
    await syncAllCatalogues(ctx);
    const version = ctx.catalogueVersion;
    jap.updateService(1, { rate: "1.10" });
    await syncProviderCatalogue(ctx, "jap");
    expect(ctx.catalogueVersion).toBeGreaterThan(version);
    expect(rows()[0]).toMatchObject({ rate: 137_500, cost: "1.1" });
    const history = ctx.db
      .select({
        serviceId: priceChanges.serviceId,
        field: priceChanges.field,
        old: priceChanges.oldValue,
        new: priceChanges.newValue,
      })
      .from(priceChanges)
      .all();
    expect(history).toEqual([
      { serviceId: 1, field: "rate", old: "1.125", new: "1.375" },
      { serviceId: 1, field: "cost", old: "0.9", new: "1.1" },
    ]);
    await syncProviderCatalogue(ctx, "jap");
    expect(ctx.db.select().from(priceChanges).all()).toHaveLength(2);
  });

  it("disables a service whose upstream service disappears and enables it when it returns", async () => {
    await syncAllCatalogues(ctx);
    expect(jap.removeService(2)).toBe(true);
    await syncProviderCatalogue(ctx, "jap");
    expect(rows()[1]).toMatchObject({ enabled: false, disabledReason: "upstream service not listed by the provider" });
    expect(listed().map(([id]) => id)).toEqual([1, 3, 4, 5, 6]);
    jap.setServices([
      ...jap.services,
      {
        service: 2,
        name: "Comments",
        type: "Custom Comments",
        category: "Instagram Comments",
        rate: "8",
        min: 10,
        max: 1500,
        refill: false,
        cancel: true,
        dripfeed: false,
      },
    ]);
    await syncProviderCatalogue(ctx, "jap");
    expect(rows()[1]).toMatchObject({ enabled: true, disabledReason: null, rate: 850_000 });
  });

  it("withdraws a fixed-rate service while its cost is at or above the rate, and brings it back", async () => {
    await syncAllCatalogues(ctx);
    jap.updateService(3, { rate: "0.30" });
    await syncProviderCatalogue(ctx, "jap");
    expect(rows()[2]).toMatchObject({ enabled: false, disabledReason: "upstream cost at or above the sell rate" });
    // the markup service on the same upstream follows its cost instead
    expect(rows()[5]).toMatchObject({ enabled: true, rate: 40_000 });
    jap.updateService(3, { rate: "0.29" });
    await syncProviderCatalogue(ctx, "jap");
    expect(rows()[2]).toMatchObject({ enabled: true, disabledReason: null, rate: 30_000, cost: "0.29" });
  });

  it("changes nothing when the catalogue fetch fails, and records the error on the provider", async () => {
    await syncAllCatalogues(ctx);
    const before = rows();
    jap.updateService(1, { rate: "5" });
    jap.injectFaults("services", 5, "http500_html");
    const result = await syncProviderCatalogue(ctx, "jap");
    expect(result.ok).toBe(false);
    expect(rows()).toEqual(before);
    expect(ctx.db.select().from(priceChanges).all()).toHaveLength(0);
    const state = ctx.db.select().from(providers).where(eq(providers.id, "jap")).get();
    expect(state?.lastError).toMatch(/^ambiguous: /);
  });
});
