/**
 * Config reload (issue #7): a valid providers file takes effect without dropping the request
 * in flight (new services and providers appear, markups and limits change); an invalid one is
 * logged and ignored, the old config stays.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { orders } from "../../src/db/schema.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { addCustomer, balanceOf } from "../helpers/context.js";
import { apiCall, captureLogs } from "./helpers.js";

let dir: string;
let file: string;
let one: Simulator;
let two: Simulator;
let proxy: Runtime;
const logs = captureLogs("info");

function writeConfig(raw: unknown): void {
  writeFileSync(file, typeof raw === "string" ? raw : JSON.stringify(raw));
}

const provider = (id: string, sim: Simulator, extra: Record<string, unknown> = {}) => ({
  id,
  dialect: "jap",
  url: sim.url,
  key: `${id}-key`,
  ...extra,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "smm-reload-"));
  file = join(dir, "providers.json");
  one = await startSimulator({ dialect: "jap", apiKey: "one-key", progress: false, latencyMs: 300 });
  two = await startSimulator({ dialect: "jap", apiKey: "two-key", progress: false });
  writeConfig({
    currency: "USD",
    markup: { percent: 10 },
    providers: [provider("one", one, { rateLimit: { requests: 100, intervalMs: 1000 }, concurrency: 2 })],
    services: [{ id: 1, provider: "one", upstreamService: 1 }],
  });
  proxy = await start(
    loadEnv({
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_PATH: ":memory:",
      PROVIDERS_FILE: file,
      RATE_LIMIT_IP_PER_MIN: "0",
      STATUS_SYNC_INTERVAL_MS: "3600000",
      PRICE_SYNC_INTERVAL_MS: "3600000",
    }),
    { logger: logs.logger, initialSyncTimeoutMs: 5000 },
  );
  // The balance refresh that follows the first catalogue sync: done before the provider is watched.
  await proxy.initialBalances;
});

afterAll(async () => {
  await proxy?.close(2000);
  await Promise.all([one?.close(), two?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const servicesOf = async (key: string) =>
  ((await apiCall(proxy.url, { key, action: "services" })).body as Array<{ service: number; rate: string }>).map(
    (s) => [s.service, s.rate],
  );

describe("reload", () => {
  it("applies a valid file while an add is in flight, losing nothing", async () => {
    const { ctx, registry } = proxy;
    const customer = addCustomer(ctx, "10.00000");
    expect(await servicesOf(customer.apiKey)).toEqual([[1, "0.99"]]);
    const before = registry.get("one");

    const inFlight = apiCall(proxy.url, {
      key: customer.apiKey,
      action: "add",
      service: 1,
      link: "https://ig.com/a",
      quantity: 1000,
    });
    // Wait until the upstream call has left (the order records it durably just before).
    for (;;) {
      const row = ctx.db.select().from(orders).where(eq(orders.id, 1)).get();
      if (row?.submitStartedAt != null) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(before?.stats().inFlight).toBe(1);

    writeConfig({
      currency: "USD",
      markup: { percent: 20 },
      providers: [
        provider("one", one, { rateLimit: { requests: 50, intervalMs: 1000 }, concurrency: 4 }),
        provider("two", two),
      ],
      services: [
        { id: 1, provider: "one", upstreamService: 1 },
        { id: 2, provider: "one", upstreamService: 3, markup: { percent: 100 } },
        { id: 3, provider: "two", upstreamService: 1 },
      ],
    });
    // An alert of the old client's open circuit: the rebuilt client starts closed, so it goes.
    ctx.alerts?.raise("circuit_open:one", { type: "circuit_open", text: "provider one: circuit opened" });
    const result = await proxy.reload();
    expect(result).toEqual({ ok: true, added: ["two"], changed: ["one"], removed: [], servicesChanged: 2 });
    expect(ctx.alerts?.current().map((a) => a.key)).not.toContain("circuit_open:one");

    // The add that was in flight completes on the old client.
    expect(await inFlight).toEqual({ status: 200, body: { order: 1 } });
    expect(ctx.db.select().from(orders).where(eq(orders.id, 1)).get()).toMatchObject({
      submission: "submitted",
      upstreamOrderId: "23501",
      charge: 99_000,
    });

    // New markup, a new service, a new provider's service (synced on reload).
    expect(await servicesOf(customer.apiKey)).toEqual([
      [1, "1.08"],
      [2, "0.50"],
      [3, "1.08"],
    ]);
    expect(registry.get("one")).not.toBe(before);
    expect(Object.keys(registry.stats())).toEqual(["one", "two"]);

    const placed = await apiCall(proxy.url, {
      key: customer.apiKey,
      action: "add",
      service: 3,
      link: "https://ig.com/b",
      quantity: 1000,
    });
    expect(placed).toEqual({ status: 200, body: { order: 2 } });
    expect(two.log.filter((l) => l.action === "add")).toHaveLength(1);
    // 10 − 0.99 − 1.08
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 793_000, ledger: 793_000 });
    expect(logs.lines().filter((l) => l.event === "config_reloaded")).toHaveLength(1);
  });

  it("logs and ignores an invalid file; the old config stays", async () => {
    const { ctx } = proxy;
    const config = ctx.config;
    const customer = addCustomer(ctx, "1.00000");
    const services = await servicesOf(customer.apiKey);

    writeConfig({
      currency: "USD",
      providers: [provider("one", one)],
      services: [{ id: 9, provider: "nope", upstreamService: 1 }],
    });
    expect(await proxy.reload()).toEqual({ ok: false, problems: ['services[0].provider: unknown provider "nope"'] });
    writeConfig("{ not json");
    const broken = await proxy.reload();
    expect(broken.ok).toBe(false);

    expect(ctx.config).toBe(config);
    expect(await servicesOf(customer.apiKey)).toEqual(services);
    const failures = logs.lines().filter((l) => l.event === "config_reload_failed");
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ level: 50, problems: ['services[0].provider: unknown provider "nope"'] });
  });

  it("refuses a file whose routes disagree on the upstream type, by the cached catalogue (issue #12)", async () => {
    const { ctx } = proxy;
    const config = ctx.config;
    writeConfig({
      currency: "USD",
      providers: [provider("one", one)],
      services: [
        // Simulator service 1 is Default, service 4 a Package.
        {
          id: 9,
          routes: [
            { provider: "one", upstreamService: 1 },
            { provider: "one", upstreamService: 4 },
          ],
        },
      ],
    });
    expect(await proxy.reload()).toEqual({
      ok: false,
      problems: ['services[0].routes[1]: type "Package" differs from the reference route\'s "Default"'],
    });
    expect(ctx.config).toBe(config);
  });
});
