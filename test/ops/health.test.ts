/** `GET /healthz`, `GET /readyz`, and `/metrics` switched off or per app (issue #7). */
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { openDb } from "../../src/db/client.js";
import { createMetrics } from "../../src/observability/metrics.js";
import type { ProviderStats } from "../../src/upstream/types.js";
import { harness } from "../api/app-harness.js";
import { addCustomer } from "../helpers/context.js";
import { captureLogs, parseMetrics } from "./helpers.js";

const OPTIONS = { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false };
const stats =
  (...circuits: Array<ProviderStats["circuit"]>) =>
  () =>
    Object.fromEntries(circuits.map((circuit, i) => [`p${i + 1}`, { queued: 0, inFlight: 0, circuit }]));

describe("GET /healthz", () => {
  it("answers ok while the store is writable, 503 once it is not", async () => {
    const { ctx, app } = harness();
    const ok = await app.request("/healthz");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(await ok.json()).toEqual({ status: "ok" });
    ctx.db.$client.close();
    const down = await app.request("/healthz");
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: "error", error: "store not writable" });
  });
});

describe("GET /healthz while another process writes", () => {
  it("answers ok at once, without waiting on the busy timeout, and keeps that timeout", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const path = join(mkdtempSync(join(tmpdir(), "smm-health-")), "store.db");
    const { ctx } = harness();
    const db = openDb(path);
    const app = createApp({ ...ctx, db }, OPTIONS);
    const other = openDb(path, { migrate: false });
    other.$client.exec("BEGIN IMMEDIATE");
    try {
      const res = await app.request("/healthz");
      expect(res.status).toBe(200);
      expect(db.$client.pragma("busy_timeout", { simple: true })).toBe(5000);
    } finally {
      other.$client.exec("ROLLBACK");
      other.$client.close();
      db.$client.close();
    }
  });
});

describe("GET /readyz", () => {
  it("is ready with config, migrations and at least one closed circuit", async () => {
    const { ctx } = harness();
    const app = createApp(ctx, { ...OPTIONS, providerStats: stats("open", "closed") });
    const res = await app.request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "ready",
      checks: { started: true, config: true, migrations: true, providers: true },
      providers: {
        p1: { queued: 0, inFlight: 0, circuit: "open" },
        p2: { queued: 0, inFlight: 0, circuit: "closed" },
      },
    });
  });

  it("names each provider's circuit, queue depth and calls in flight", async () => {
    const { ctx } = harness();
    const providerStats = () => ({
      jap: { queued: 3, inFlight: 2, circuit: "closed" as const },
      panel: { queued: 0, inFlight: 0, circuit: "half_open" as const },
    });
    const app = createApp(ctx, { ...OPTIONS, providerStats });
    const body = (await (await app.request("/readyz")).json()) as { providers: unknown };
    expect(body.providers).toEqual({
      jap: { queued: 3, inFlight: 2, circuit: "closed" },
      panel: { queued: 0, inFlight: 0, circuit: "half_open" },
    });
  });

  it("is not ready, and the API answers 503, while the server is still starting", async () => {
    const { ctx } = harness();
    let started = false;
    const app = createApp(ctx, { ...OPTIONS, providerStats: stats("closed"), ready: () => started });
    const res = await app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "not ready", checks: { started: false } });
    const api = await app.request("/api/v2", {
      method: "POST",
      body: new URLSearchParams({ key: "k", action: "balance" }),
    });
    expect(api.status).toBe(503);
    expect(api.headers.get("retry-after")).toBe("1");
    expect(await api.json()).toEqual({ error: "Service is starting, try again later" });
    started = true;
    expect((await app.request("/readyz")).status).toBe(200);
  });

  it("logs and counts each 503 answered while starting; a longer API path is a JSON 404 with no log line", async () => {
    const { ctx } = harness();
    const logs = captureLogs("info");
    const metrics = createMetrics({ db: ctx.db });
    const app = createApp({ ...ctx, logger: logs.logger }, { ...OPTIONS, metrics, ready: () => false });
    const body = () => new URLSearchParams({ key: "k", action: "balance" });
    for (let i = 0; i < 2; i += 1) {
      const res = await app.request("/api/v2", { method: "POST", body: body() });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(await res.json()).toEqual({ error: "Service is starting, try again later" });
    }
    const other = await app.request("/api/v2/balance", { method: "POST", body: body() });
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: "Not found" });
    const lines = logs.lines().filter((l) => l.msg === "request");
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatchObject({ action: "none", status: 503, customerId: null });
      expect(typeof line.requestId).toBe("string");
    }
    const scraped = parseMetrics((await metrics.render()).body);
    expect(scraped.get('smm_http_requests_total{action="none",code="503"}')).toBe(2);
    expect(scraped.get('smm_http_request_duration_seconds_count{action="none"}')).toBe(2);
  });

  it("is not ready when no circuit is closed", async () => {
    const { ctx } = harness();
    const app = createApp(ctx, { ...OPTIONS, providerStats: stats("open", "half_open") });
    const res = await app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: "not ready",
      checks: { started: true, config: true, migrations: true, providers: false },
      providers: {
        p1: { queued: 0, inFlight: 0, circuit: "open" },
        p2: { queued: 0, inFlight: 0, circuit: "half_open" },
      },
    });
  });

  it("is not ready when migrations are not applied", async () => {
    const { ctx } = harness();
    const app = createApp({ ...ctx, db: openDb(":memory:", { migrate: false }) }, OPTIONS);
    const res = await app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: "not ready",
      checks: { started: true, config: true, migrations: false, providers: true },
      providers: {},
    });
  });
});

describe("GET /metrics", () => {
  it("answers a JSON 404 when no METRICS_TOKEN is configured", async () => {
    const { app } = harness();
    const res = await app.request("/metrics", { headers: { authorization: "Bearer anything" } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Not found" });
  });

  it("keeps one registry per app", async () => {
    const one = harness();
    const other = harness();
    const appOne = createApp(one.ctx, { ...OPTIONS, metricsToken: "t1" });
    const appOther = createApp(other.ctx, { ...OPTIONS, metricsToken: "t2" });
    const customer = addCustomer(one.ctx, "1.00000");
    const body = new URLSearchParams({ key: customer.apiKey, action: "balance" }).toString();
    const headers = { "content-type": "application/x-www-form-urlencoded" };
    expect((await appOne.request("/api/v2", { method: "POST", headers, body })).status).toBe(200);
    const scrape = async (app: typeof appOne, token: string) =>
      parseMetrics(await (await app.request("/metrics", { headers: { authorization: `Bearer ${token}` } })).text());
    expect((await scrape(appOne, "t1")).get('smm_http_requests_total{action="balance",code="200"}')).toBe(1);
    expect((await scrape(appOther, "t2")).get('smm_http_requests_total{action="balance",code="200"}')).toBeUndefined();
    expect((await scrape(appOther, "t2")).get("smm_customer_balances_total")).toBe(0);
    expect((await scrape(appOne, "t1")).get("smm_customer_balances_total")).toBe(1);
  });
});
