/**
 * Failover at placement (issue #12), in process with scripted providers: each definite
 * failure class moves the order to the next route; an ambiguous answer never does; skip rules
 * send nothing; the charge is our sell rate whichever route takes it, the ledger exact; every
 * attempt is recorded; routing metrics count attempts, failovers and the taking route.
 */
import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { orderAttempts, orders } from "../../src/db/schema.js";
import { applyCatalogue } from "../../src/sync/catalogue.js";
import type { CallOutcome, ProviderStats } from "../../src/upstream/types.js";
import { addCustomer, balanceOf, makeContext, postApi, testConfig } from "../helpers/context.js";
import { FakeProvider, upstreamService } from "../helpers/fake-provider.js";

class Provider extends FakeProvider {
  circuit: ProviderStats["circuit"] = "closed";
  override stats(): ProviderStats {
    return this.circuit === "open"
      ? { queued: 0, inFlight: 0, circuit: "open", retryAfterMs: 42_000 }
      : { queued: 0, inFlight: 0, circuit: this.circuit };
  }
}

/** Service 10: routes p1/101 (reference, cost 1.00), p2/201 (0.90), p3/301 (1.10); +30 % → 1.30 per 1000. */
function harness(
  options: {
    routing?: "priority" | "cheapest";
    catalogues?: Record<string, ReturnType<typeof upstreamService>[]>;
  } = {},
) {
  const catalogues = options.catalogues ?? {
    p1: [upstreamService({ service: "101", rate: "1.00" })],
    p2: [upstreamService({ service: "201", rate: "0.90" })],
    p3: [upstreamService({ service: "301", rate: "1.10" })],
  };
  const providers = ["p1", "p2", "p3"].map((id) => new Provider(id, catalogues[id] ?? []));
  const config = testConfig({
    currency: "USD",
    markup: { percent: 30 },
    providers: providers.map((p) => ({ id: p.id, dialect: "jap", url: `https://${p.id}.example/api/v2`, key: "k" })),
    services: [
      {
        id: 10,
        name: "Followers",
        routes: [
          { provider: "p1", upstreamService: 101 },
          { provider: "p2", upstreamService: 201 },
          { provider: "p3", upstreamService: 301 },
        ],
        routing: options.routing ?? "priority",
      },
    ],
  });
  const ctx = makeContext(config, providers);
  for (const p of providers) applyCatalogue(ctx, p.id, p.catalogue);
  const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false, metricsToken: "t" });
  const customer = addCustomer(ctx, "10.00000");
  const add = (quantity = 1000) =>
    postApi(app, {
      key: customer.apiKey,
      action: "add",
      service: "10",
      link: "https://ig.com/a",
      quantity: String(quantity),
    });
  const adds = (p: FakeProvider) => p.calls.filter((c) => c.method === "add");
  const attempts = (orderId: number) =>
    ctx.db
      .select()
      .from(orderAttempts)
      .where(eq(orderAttempts.orderId, orderId))
      .orderBy(asc(orderAttempts.id))
      .all()
      .map((a) => [a.routeIndex, a.providerId, a.upstreamService, a.outcome]);
  const order = (id: number) => ctx.db.select().from(orders).where(eq(orders.id, id)).get();
  const metrics = async () => {
    const res = await app.request("/metrics", { headers: { authorization: "Bearer t" } });
    return res.text();
  };
  const [p1, p2, p3] = providers as [Provider, Provider, Provider];
  const api = async (fields: Record<string, string>) => {
    const res = await app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: customer.apiKey, ...fields }).toString(),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  return { ctx, p1, p2, p3, add, adds, attempts, order, customer, metrics, api };
}

const START = 1_000_000;
/** 1000 × 1.30 per 1000, whichever route takes it. */
const CHARGE = 130_000;

const DEFINITE: Array<[string, CallOutcome<unknown>]> = [
  ["rejected", { kind: "rejected", failure: { message: "upstream error: Not enough funds on balance" } }],
  ["not_sent (connect failed)", { kind: "not_sent", reason: "connect_failed", failure: { message: "ECONNREFUSED" } }],
  ["not_sent (our queue full)", { kind: "not_sent", reason: "queue_full", failure: { message: "queue full" } }],
  ["rate_limited beyond the budget", { kind: "rate_limited", failure: { message: "HTTP 429" }, retryAfterMs: 60_000 }],
];

describe("failover on a definite failure", () => {
  it.each(DEFINITE)("%s on route 1: route 2 takes the order, charged once at our sell rate", async (_name, outcome) => {
    const h = harness();
    h.p1.will("add", outcome);
    const res = await h.add();
    expect(res).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds(h.p1)).toHaveLength(1);
    expect(h.adds(h.p2).map((c) => c.args[0])).toEqual([
      { service: "201", link: "https://ig.com/a", quantity: "1000" },
    ]);
    expect(h.adds(h.p3)).toHaveLength(0);
    expect(h.order(1)).toMatchObject({
      providerId: "p2",
      upstreamService: "201",
      upstreamOrderId: "900001",
      submission: "submitted",
      charge: CHARGE,
      refunded: 0,
    });
    expect(h.attempts(1)).toEqual([
      [0, "p1", "101", outcome.kind],
      [1, "p2", "201", "ok"],
    ]);
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
  });

  it("goes on to route 3 when routes 1 and 2 both refuse, and counts it in the metrics", async () => {
    const h = harness();
    h.p1.will("add", { kind: "rejected", failure: { message: "no" } });
    h.p2.will("add", { kind: "not_sent", reason: "connect_failed", failure: { message: "down" } });
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.order(1)).toMatchObject({ providerId: "p3", upstreamService: "301", submission: "submitted" });
    expect(h.attempts(1).map((a) => a[3])).toEqual(["rejected", "not_sent", "ok"]);
    const text = await h.metrics();
    expect(text).toContain('smm_add_attempts_total{provider="p1",outcome="rejected"} 1');
    expect(text).toContain('smm_add_attempts_total{provider="p2",outcome="not_sent"} 1');
    expect(text).toContain('smm_add_attempts_total{provider="p3",outcome="ok"} 1');
    expect(text).toContain('smm_failovers_total{service="10"} 2');
    expect(text).toContain('smm_orders_placed_total{service="10",route="2",provider="p3"} 1');
  });

  it("answers 502 and refunds in full when every route refuses", async () => {
    const h = harness();
    for (const p of [h.p1, h.p2, h.p3]) p.will("add", { kind: "rejected", failure: { message: "no" } });
    expect(await h.add()).toEqual({ status: 502, body: { error: "Upstream provider error" } });
    expect(h.order(1)).toMatchObject({ submission: "failed", status: "Canceled", refunded: CHARGE });
    expect(h.attempts(1).map((a) => a[3])).toEqual(["rejected", "rejected", "rejected"]);
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START, ledger: START });
  });

  it("answers 503 when only our own back-pressure refused on every route", async () => {
    const h = harness();
    for (const p of [h.p1, h.p2, h.p3]) {
      p.will("add", { kind: "not_sent", reason: "queue_full", failure: { message: "full" }, retryAfterMs: 3000 });
    }
    expect(await h.add()).toEqual({ status: 503, body: { error: "Provider is busy, try again later" } });
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START, ledger: START });
  });
});

describe("never failover on an ambiguous answer", () => {
  it("holds the order on route 1 (answered 200) and sends nothing to the others", async () => {
    const h = harness();
    h.p1.will("add", { kind: "ambiguous", failure: { message: "upstream answered HTTP 500" } });
    // A held order is an accepted order (issue #11).
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds(h.p2)).toHaveLength(0);
    expect(h.adds(h.p3)).toHaveLength(0);
    expect(h.order(1)).toMatchObject({ providerId: "p1", submission: "unknown", refunded: 0 });
    expect(h.attempts(1)).toEqual([[0, "p1", "101", "ambiguous"]]);
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
  });

  it("holds the order on route 2 when route 1 refused and route 2 is ambiguous", async () => {
    const h = harness();
    h.p1.will("add", { kind: "rejected", failure: { message: "no" } });
    h.p2.will("add", { kind: "ambiguous", failure: { message: "timeout" } });
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds(h.p3)).toHaveLength(0);
    expect(h.order(1)).toMatchObject({ providerId: "p2", upstreamService: "201", submission: "unknown" });
    expect(h.attempts(1).map((a) => a[3])).toEqual(["rejected", "ambiguous"]);
  });
});

describe("skip rules: nothing is sent to a skipped route", () => {
  it("skips a provider whose circuit is open", async () => {
    const h = harness();
    h.p1.circuit = "open";
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds(h.p1)).toHaveLength(0);
    expect(h.order(1)).toMatchObject({ providerId: "p2" });
    expect(h.attempts(1)).toEqual([[1, "p2", "201", "ok"]]);
  });

  it("answers 503 with the circuit's Retry-After, charging nothing, when every circuit is open", async () => {
    const h = harness();
    for (const p of [h.p1, h.p2, h.p3]) p.circuit = "open";
    expect(await h.add()).toEqual({ status: 503, body: { error: "Provider is busy, try again later" } });
    expect(h.order(1)).toBeUndefined();
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START, ledger: START });
  });

  it("skips a route whose upstream service is missing from the cached catalogue", async () => {
    const h = harness();
    applyCatalogue(h.ctx, "p2", []);
    h.p1.will("add", { kind: "rejected", failure: { message: "no" } });
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds(h.p2)).toHaveLength(0);
    expect(h.order(1)).toMatchObject({ providerId: "p3" });
  });

  it("skips a route whose min/max does not admit the quantity", async () => {
    const h = harness({
      catalogues: {
        p1: [upstreamService({ service: "101", rate: "1.00", min: 10, max: 10000 })],
        p2: [upstreamService({ service: "201", rate: "0.90", min: 5000, max: 10000 })],
        p3: [upstreamService({ service: "301", rate: "1.10", min: 10, max: 10000 })],
      },
    });
    h.p1.will("add", { kind: "rejected", failure: { message: "no" } });
    expect(await h.add(1000)).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds(h.p2)).toHaveLength(0);
    expect(h.order(1)).toMatchObject({ providerId: "p3" });
  });

  it("skips a route whose cost leaves no margin, and refuses with 502 without charging when none does", async () => {
    const h = harness({
      catalogues: {
        p1: [upstreamService({ service: "101", rate: "1.00" })],
        p2: [upstreamService({ service: "201", rate: "1.30" })],
        p3: [upstreamService({ service: "301", rate: "1.10" })],
      },
    });
    h.p1.will("add", { kind: "rejected", failure: { message: "no" } });
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds(h.p2)).toHaveLength(0);
    expect(h.order(1)).toMatchObject({ providerId: "p3", charge: CHARGE });

    applyCatalogue(h.ctx, "p3", [upstreamService({ service: "301", rate: "1.5" })]);
    h.p1.circuit = "open";
    expect(await h.add()).toEqual({ status: 502, body: { error: "Service is temporarily unavailable" } });
    expect(h.order(2)).toBeUndefined();
  });
});

describe("cheapest", () => {
  it("tries the route with the lowest current cost first, and follows a price change", async () => {
    const h = harness({ routing: "cheapest" });
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.order(1)).toMatchObject({ providerId: "p2" });
    applyCatalogue(h.ctx, "p2", [upstreamService({ service: "201", rate: "1.20" })]);
    applyCatalogue(h.ctx, "p3", [upstreamService({ service: "301", rate: "0.80" })]);
    expect(await h.add()).toEqual({ status: 200, body: { order: 2 } });
    expect(h.order(2)).toMatchObject({ providerId: "p3", upstreamService: "301", rate: 130_000 });
  });
});

describe("per-order flags", () => {
  it("offers refill and cancel from the route that took the order, not the reference", async () => {
    const h = harness({
      catalogues: {
        p1: [upstreamService({ service: "101", rate: "1.00", refill: true, cancel: true })],
        p2: [upstreamService({ service: "201", rate: "0.90", refill: false, cancel: false })],
        p3: [upstreamService({ service: "301", rate: "1.10" })],
      },
    });
    h.p1.will("add", { kind: "rejected", failure: { message: "no" } });
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(await h.add()).toEqual({ status: 200, body: { order: 2 } });
    expect(h.order(1)?.providerId).toBe("p2");
    expect(h.order(2)?.providerId).toBe("p1");
    h.ctx.db.update(orders).set({ status: "Completed" }).run();
    expect(await h.api({ action: "refill", order: "1" })).toEqual({
      status: 400,
      body: { error: "Refill is not available for this order" },
    });
    expect(await h.api({ action: "refill", order: "2" })).toEqual({ status: 200, body: { refill: "1" } });
    expect(h.p1.calls.filter((c) => c.method === "refill").map((c) => c.args[0])).toEqual(["900001"]);
    expect(h.p2.calls.filter((c) => c.method === "refill")).toHaveLength(0);
  });
});
