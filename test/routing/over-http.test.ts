/**
 * Routing over real loopback HTTP against simulated panels (issue #12): an ambiguous answer
 * of route 1 (every ambiguous fault class) never reaches route 2 (its request log shows zero
 * adds); each definite class does; an order placed on route 2 is synced, refilled and
 * canceled through route 2; import rules follow the upstream catalogue at every price sync.
 */
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { orders, services } from "../../src/db/schema.js";
import { silentLogger } from "../../src/observability/logger.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { defaultCatalogue, type FaultKind, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { syncProviderCatalogue } from "../../src/sync/catalogue.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { addCustomer, balanceOf } from "../helpers/context.js";

let a: Simulator;
let b: Simulator;
let c: Simulator;
let proxy: Runtime;
let customer: { id: number; apiKey: string };

beforeAll(async () => {
  a = await startSimulator({ dialect: "jap", apiKey: "ka", progress: false });
  b = await startSimulator({ dialect: "morethanpanel", apiKey: "kb", progress: false });
  c = await startSimulator({ dialect: "jap", apiKey: "kc", progress: false });
  const limits = { rateLimit: { requests: 1000, intervalMs: 1000 } };
  const config = parseProvidersConfig(
    {
      currency: "USD",
      markup: { percent: 20 },
      providers: [
        { id: "a", dialect: "jap", url: a.url, key: "ka", timeoutMs: 1000, ...limits },
        { id: "b", dialect: "morethanpanel", url: b.url, key: "kb", ...limits },
        { id: "c", dialect: "jap", url: c.url, key: "kc", timeoutMs: 1000, ...limits },
      ],
      services: [
        // Followers (0.90 per 1000 at both), refill + cancel + drip-feed at both.
        {
          id: 1,
          routes: [
            { provider: "a", upstreamService: 1 },
            { provider: "b", upstreamService: 1 },
          ],
        },
        {
          id: 2,
          routes: [
            { provider: "c", upstreamService: 1 },
            { provider: "b", upstreamService: 1 },
          ],
        },
        // Likes (0.25 per 1000 at both), lowest current cost first.
        {
          id: 3,
          routing: "cheapest",
          routes: [
            { provider: "a", upstreamService: 3 },
            { provider: "b", upstreamService: 3 },
          ],
        },
        // Explicit service holding an id the import rule below would produce.
        { id: 1003, provider: "a", upstreamService: 3, name: "Likes (ours)" },
      ],
      imports: [{ provider: "b", idOffset: 1000, categories: ["instagram*"], types: ["Default"], exclude: [18] }],
    },
    {},
  );
  proxy = await start(
    loadEnv({ PORT: "0", HOST: "127.0.0.1", DATABASE_PATH: ":memory:", RATE_LIMIT_IP_PER_MIN: "0" }),
    {
      config,
      logger: silentLogger(),
      initialSyncTimeoutMs: 5000,
      upstream: { circuit: { failureThreshold: 1000 }, retry: { maxAttempts: 2 } },
    },
  );
  customer = addCustomer(proxy.ctx, "1000.00000");
});

afterAll(async () => {
  await proxy?.close(2000);
  await Promise.all([a?.close(), b?.close()]);
});

beforeEach(() => {
  a.clearFaults();
  b.clearFaults();
  a.clearLog();
  b.clearLog();
});

async function call(fields: Record<string, string | number>): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${proxy.url}/api/v2`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(
      Object.entries({ key: customer.apiKey, ...fields }).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString(),
  });
  return { status: res.status, body: await res.json() };
}

const add = (service: number, link = "https://ig.com/a") => call({ action: "add", service, link, quantity: 1000 });
const addsAt = (sim: Simulator) => sim.log.filter((l) => l.action === "add").length;
const orderRow = (id: number) => proxy.ctx.db.select().from(orders).where(eq(orders.id, id)).get();
/** 1000 × 0.90 × 1.20. */
const CHARGE = 108_000;

describe("route 1 ambiguous: held there (answered 200), never sent to route 2", () => {
  const AMBIGUOUS: FaultKind[] = [
    "reset",
    "http500_html",
    "http200_html",
    "truncated_json",
    "drop_answer",
    "http502",
    "hang",
  ];
  it.each(AMBIGUOUS)("%s: held on route 1, zero adds at route 2", async (fault) => {
    a.injectFaults("add", 1, fault);
    const before = balanceOf(proxy.ctx, customer.id).balance;
    const res = await add(1);
    // A held order is an accepted order (issue #11): 200 {"order"}.
    expect(res.status).toBe(200);
    const orderId = (res.body as { order: number }).order;
    expect(orderRow(orderId)).toMatchObject({ providerId: "a", submission: "unknown", refunded: 0 });
    expect(addsAt(b)).toBe(0);
    expect(balanceOf(proxy.ctx, customer.id)).toEqual({ balance: before - CHARGE, ledger: before - CHARGE });
  });
});

describe("route 1 definite failure: route 2 takes the order", () => {
  const DEFINITE: Array<[string, () => unknown, number]> = [
    ["rejected ({error} in a 200)", () => a.injectFaults("add", 1, "error"), 1],
    ["rejected (HTTP 403 page)", () => a.injectFaults("add", 1, "http403_html"), 1],
    ["rate_limited beyond the budget (429, retried once)", () => a.injectFaults("add", 2, "http429"), 1],
    ["not_sent (connection refused: provider c stopped after its catalogue sync)", () => c.close(), 2],
  ];
  it.each(DEFINITE)("%s", async (_name, arrange, service) => {
    await arrange();
    const before = balanceOf(proxy.ctx, customer.id).balance;
    const res = await add(service);
    expect(res.status).toBe(200);
    const orderId = (res.body as { order: number }).order;
    expect(orderRow(orderId)).toMatchObject({ providerId: "b", upstreamService: "1", submission: "submitted" });
    expect(addsAt(b)).toBe(1);
    expect(balanceOf(proxy.ctx, customer.id)).toEqual({ balance: before - CHARGE, ledger: before - CHARGE });
  });
});

describe("an order placed on route 2", () => {
  it("is synced, refilled and canceled through route 2", async () => {
    a.injectFaults("add", 2, "error");
    const first = (await add(1, "https://ig.com/refill")).body as { order: number };
    const second = (await add(1, "https://ig.com/cancel")).body as { order: number };
    const upstreamOf = (id: number) => Number(orderRow(id)?.upstreamOrderId);
    expect(orderRow(first.order)?.providerId).toBe("b");

    b.setOrder(upstreamOf(first.order), { status: "Completed", remains: 0 });
    b.setOrder(upstreamOf(second.order), { status: "In progress", remains: 500 });
    a.clearLog();
    await runStatusSyncTick(proxy.ctx);
    expect(orderRow(first.order)?.status).toBe("Completed");
    expect(orderRow(second.order)?.status).toBe("In progress");
    expect(b.log.filter((l) => l.action === "status").length).toBeGreaterThan(0);

    expect((await call({ action: "refill", order: first.order })).status).toBe(200);
    expect(b.log.filter((l) => l.action === "refill").map((l) => l.params.order)).toEqual([
      String(upstreamOf(first.order)),
    ]);
    const cancel = await call({ action: "cancel", orders: String(second.order) });
    expect(cancel.status).toBe(200);
    expect(b.log.filter((l) => l.action === "cancel").map((l) => l.params.orders)).toEqual([
      String(upstreamOf(second.order)),
    ]);
    expect(a.log).toEqual([]);
  });
});

describe("cheapest", () => {
  it("follows a price change after the price sync", async () => {
    b.updateService(3, { rate: "0.20" });
    await syncProviderCatalogue(proxy.ctx, "b");
    const first = (await add(3, "https://ig.com/cheap1")).body as { order: number };
    expect(orderRow(first.order)).toMatchObject({ providerId: "b", upstreamService: "3", submission: "submitted" });
    a.updateService(3, { rate: "0.15" });
    await syncProviderCatalogue(proxy.ctx, "a");
    const second = (await add(3, "https://ig.com/cheap2")).body as { order: number };
    expect(orderRow(second.order)).toMatchObject({ providerId: "a", upstreamService: "3", submission: "submitted" });
    expect(addsAt(a)).toBe(1);
    expect(addsAt(b)).toBe(1);
  });
});

describe("import rules", () => {
  const row = (id: number) => proxy.ctx.db.select().from(services).where(eq(services.id, id)).get();
  const imported = () =>
    proxy.ctx.db
      .select({ id: services.id })
      .from(services)
      .where(and(eq(services.importRule, 0), eq(services.enabled, true)))
      .orderBy(asc(services.id))
      .all()
      .map((s) => s.id);

  it("produce the filtered services at idOffset + upstream id, explicit services winning", async () => {
    await syncProviderCatalogue(proxy.ctx, "b");
    // Instagram* + Default in the default catalogue: 1 Followers, 3 Likes (explicit wins), 18 Premium (excluded).
    expect(imported()).toEqual([1001]);
    expect(row(1001)).toMatchObject({ providerId: "b", upstreamService: "1", rate: 108_000 });
    expect(row(1003)).toMatchObject({ providerId: "a", name: "Likes (ours)", importRule: null });
    expect(row(1018)).toBeUndefined();
  });

  it("add a newly listed upstream service after the next price sync and disable one that disappears", async () => {
    b.setServices([
      ...defaultCatalogue().filter((s) => s.service !== 1),
      {
        service: 40,
        name: "Reels Views",
        type: "Default",
        category: "Instagram Reels",
        rate: "0.10",
        min: 100,
        max: 100000,
        refill: false,
        cancel: false,
        dripfeed: false,
      },
    ]);
    await syncProviderCatalogue(proxy.ctx, "b");
    expect(imported()).toEqual([1040]);
    expect(row(1040)).toMatchObject({ name: "Reels Views", rate: 12_000, enabled: true });
    expect(row(1001)).toMatchObject({ enabled: false, disabledReason: "upstream service not listed by the provider" });
    const res = await add(1040);
    expect(res.status).toBe(200);
    expect(b.log.filter((l) => l.action === "add").map((l) => l.params.service)).toEqual(["40"]);
  });
});
