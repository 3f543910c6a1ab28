/**
 * `/metrics` after a scripted scenario over real HTTP (a simulated jap panel and a failing
 * upstream that echoes its key), the request and upstream log lines, and redaction: neither a
 * customer key nor an upstream key appears anywhere in the logs (issue #7).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { webhookDeliveries } from "../../src/db/schema.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { refreshProviderBalances } from "../../src/sync/balances.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { addCustomer, balanceOf } from "../helpers/context.js";
import { apiCall, captureLogs, parseMetrics, startEchoUpstream } from "./helpers.js";

const JAP_KEY = "jap-upstream-key-5f1e9a";
const ECHO_KEY = "echo-upstream-key-c42d77";
const TOKEN = "metrics-token-1";

let jap: Simulator;
let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
let proxy: Runtime;
const logs = captureLogs("debug");
let customer: { id: number; apiKey: string };
const answers: Array<{ status: number; body: unknown }> = [];

async function scrape(authorization?: string): Promise<Response> {
  return fetch(`${proxy.url}/metrics`, authorization === undefined ? {} : { headers: { authorization } });
}

beforeAll(async () => {
  jap = await startSimulator({ dialect: "jap", apiKey: JAP_KEY, progress: false, balance: "250.50000" });
  echo = await startEchoUpstream();
  const config = parseProvidersConfig(
    {
      currency: "USD",
      markup: { percent: 10 },
      providers: [
        { id: "jap", dialect: "jap", url: jap.url, key: JAP_KEY, rateLimit: { requests: 1000, intervalMs: 1000 } },
        { id: "echo", dialect: "jap", url: echo.url, key: ECHO_KEY, rateLimit: { requests: 1000, intervalMs: 1000 } },
      ],
      services: [
        { id: 1, provider: "jap", upstreamService: 1 },
        { id: 2, provider: "echo", upstreamService: 1 },
      ],
    },
    {},
  );
  proxy = await start(
    loadEnv({
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_PATH: ":memory:",
      RATE_LIMIT_IP_PER_MIN: "0",
      METRICS_TOKEN: TOKEN,
      STATUS_SYNC_INTERVAL_MS: "3600000",
      PRICE_SYNC_INTERVAL_MS: "3600000",
    }),
    { config, logger: logs.logger, initialSyncTimeoutMs: 5000 },
  );
  const { ctx } = proxy;
  customer = addCustomer(ctx, "10.00000");
  const key = customer.apiKey;
  const link = "https://instagram.com/x";
  // jap Followers: 0.90 per 1000 + 10 % = 0.99.
  answers.push(await apiCall(proxy.url, { key, action: "add", service: 1, link, quantity: 1000 })); // order 1
  answers.push(await apiCall(proxy.url, { key, action: "add", service: 1, link, quantity: 500 })); // order 2
  jap.injectFaults("add", 1, { kind: "error", message: "Not enough funds on balance" });
  answers.push(await apiCall(proxy.url, { key, action: "add", service: 1, link, quantity: 100 })); // order 3, refunded
  // echo: 1.00 per 1000 + 10 % = 1.10; its HTTP 500 leaves the order unknown.
  answers.push(await apiCall(proxy.url, { key, action: "add", service: 2, link, quantity: 100 })); // order 4
  answers.push(await apiCall(proxy.url, { key, action: "status", order: 1 }));
  answers.push(await apiCall(proxy.url, { key: "not-a-key", action: "balance" }));
  jap.setOrder(23501, { status: "Partial", remains: 400 });
  jap.setOrder(23502, { status: "Completed", remains: 0 });
  await runStatusSyncTick(ctx, { providerIds: ["jap"] });
  await refreshProviderBalances(ctx);
  const now = Date.now();
  ctx.db
    .insert(webhookDeliveries)
    .values({
      customerId: customer.id,
      orderId: 1,
      url: "https://hooks.example/x",
      payload: "{}",
      state: "pending",
      nextAttemptAt: now + 3_600_000,
      createdAt: now,
    })
    .run();
});

afterAll(async () => {
  await proxy?.close(2000);
  await Promise.all([jap?.close(), echo?.close()]);
});

describe("the scripted scenario", () => {
  it("answers as the API contract says", () => {
    expect(answers.map((a) => a.status)).toEqual([200, 200, 502, 200, 200, 401]);
    // Held (the upstream's HTTP 500): answered like an accepted order.
    expect(answers[3]?.body).toEqual({ order: 4 });
  });
});

describe("GET /metrics", () => {
  it("requires the bearer token", async () => {
    const missing = await scrape();
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: "Unauthorized" });
    const wrong = await scrape("Bearer nope");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "Unauthorized" });
    const right = await scrape(`Bearer ${TOKEN}`);
    expect(right.status).toBe(200);
    expect(right.headers.get("content-type")).toMatch(/^text\/plain/);
  });

  it("counts requests and upstream calls, and reads queues, circuits and the store at scrape time", async () => {
    const m = parseMetrics(await (await scrape(`Bearer ${TOKEN}`)).text());
    const pick = (prefix: string) =>
      Object.fromEntries([...m].filter(([k]) => k === prefix || k.startsWith(`${prefix}{`)));

    expect(pick("smm_http_requests_total")).toEqual({
      'smm_http_requests_total{action="add",code="200"}': 3,
      'smm_http_requests_total{action="add",code="502"}': 1,
      'smm_http_requests_total{action="status",code="200"}': 1,
      'smm_http_requests_total{action="balance",code="401"}': 1,
    });
    expect(m.get('smm_http_request_duration_seconds_count{action="add"}')).toBe(4);
    expect(m.get('smm_http_request_duration_seconds_count{action="status"}')).toBe(1);

    expect(pick("smm_upstream_calls_total")).toEqual({
      'smm_upstream_calls_total{provider="jap",action="services",outcome="ok"}': 1,
      'smm_upstream_calls_total{provider="echo",action="services",outcome="ok"}': 1,
      'smm_upstream_calls_total{provider="jap",action="add",outcome="ok"}': 2,
      'smm_upstream_calls_total{provider="jap",action="add",outcome="rejected"}': 1,
      'smm_upstream_calls_total{provider="echo",action="add",outcome="ambiguous"}': 1,
      'smm_upstream_calls_total{provider="jap",action="multiStatus",outcome="ok"}': 1,
      'smm_upstream_calls_total{provider="jap",action="balance",outcome="ok"}': 1,
      'smm_upstream_calls_total{provider="echo",action="balance",outcome="ok"}': 1,
    });
    expect(m.get('smm_upstream_call_duration_seconds_count{provider="jap",action="add"}')).toBe(3);

    expect(pick("smm_upstream_queue_depth")).toEqual({
      'smm_upstream_queue_depth{provider="jap"}': 0,
      'smm_upstream_queue_depth{provider="echo"}': 0,
    });
    expect(pick("smm_upstream_in_flight")).toEqual({
      'smm_upstream_in_flight{provider="jap"}': 0,
      'smm_upstream_in_flight{provider="echo"}': 0,
    });
    expect(pick("smm_upstream_circuit_state")).toEqual({
      'smm_upstream_circuit_state{provider="jap",state="closed"}': 1,
      'smm_upstream_circuit_state{provider="jap",state="half_open"}': 0,
      'smm_upstream_circuit_state{provider="jap",state="open"}': 0,
      'smm_upstream_circuit_state{provider="echo",state="closed"}': 1,
      'smm_upstream_circuit_state{provider="echo",state="half_open"}': 0,
      'smm_upstream_circuit_state{provider="echo",state="open"}': 0,
    });

    // Order 1 ended Partial, order 2 Completed, order 3 was refunded, order 4 is unknown (Pending).
    expect(pick("smm_orders_open")).toEqual({ 'smm_orders_open{provider="echo",status="Pending"}': 1 });
    expect(pick("smm_orders_unknown")).toEqual({ 'smm_orders_unknown{provider="echo"}': 1 });
    const age = m.get('smm_oldest_open_order_age_seconds{provider="echo"}');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(pick("smm_oldest_open_order_age_seconds")).toEqual({
      'smm_oldest_open_order_age_seconds{provider="echo"}': age,
    });
    expect(pick("smm_partial_ratio")).toEqual({ 'smm_partial_ratio{provider="jap"}': 0.5 });
    expect(m.get("smm_webhook_outbox_backlog")).toBe(1);

    // 10 − 0.99 − 0.495 + 0.396 (Partial: 400 of 1000 refunded) − 0.11 (unknown order held) = 8.801
    expect(balanceOf(proxy.ctx, customer.id)).toEqual({ balance: 880_100, ledger: 880_100 });
    expect(m.get("smm_customer_balances_total")).toBe(8.801);
    expect(m.get("smm_ledger_total")).toBe(8.801);
    expect(m.get("smm_ledger_mismatch_minor")).toBe(0);
    expect(pick("smm_upstream_balance")).toEqual({
      'smm_upstream_balance{provider="jap",currency="USD"}': Number(jap.balance),
      'smm_upstream_balance{provider="echo",currency="USD"}': 5,
    });
  });
});

describe("logs", () => {
  it("write one line per API request with request id, action, customer id, status and duration", () => {
    const requests = logs.lines().filter((l) => l.msg === "request");
    expect(requests.map((l) => [l.action, l.customerId, l.status])).toEqual([
      ["add", customer.id, 200],
      ["add", customer.id, 200],
      ["add", customer.id, 502],
      ["add", customer.id, 200],
      ["status", customer.id, 200],
      ["balance", null, 401],
    ]);
    for (const line of requests) {
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(line.durationMs).toBeTypeOf("number");
    }
    expect(new Set(requests.map((l) => l.requestId)).size).toBe(6);
  });

  it("write one line per upstream call with provider, action, outcome, duration and HTTP code", () => {
    const calls = logs.lines().filter((l) => l.msg === "upstream call" && l.action === "add");
    expect(calls.map((l) => [l.provider, l.outcome, l.httpStatus])).toEqual([
      ["jap", "ok", 200],
      ["jap", "ok", 200],
      ["jap", "rejected", 200],
      ["echo", "ambiguous", 500],
    ]);
    for (const line of calls) expect(line.durationMs).toBeTypeOf("number");
  });

  it("never contain a customer key or an upstream key, not even in error excerpts", () => {
    const text = logs.text();
    // The echo upstream's answer was logged (redacted) with the unknown order.
    const unknown = logs.lines().find((l) => typeof l.msg === "string" && l.msg.startsWith("order unknown"));
    expect(JSON.stringify(unknown)).toContain("key=[redacted]");
    for (const secret of [customer.apiKey, JAP_KEY, ECHO_KEY]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
    }
  });
});
