/**
 * The API v2 over real loopback HTTP, against simulated upstream panels: every service type,
 * every failure class, balances to the last digit after each (issue #4 "Tests").
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { silentLogger } from "../../src/observability/logger.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { addCustomer, balanceOf } from "../helpers/context.js";
import { freePort } from "../helpers/net.js";

let jap: Simulator;
let panel: Simulator;
let proxy: Runtime;
let closedPort: number;

beforeAll(async () => {
  jap = await startSimulator({ dialect: "jap", apiKey: "jap-key", progress: false, balance: "1000.00000" });
  panel = await startSimulator({ dialect: "panel", apiKey: "panel-key", progress: false, balance: "0.50000" });
  closedPort = await freePort();
  const services = Array.from({ length: 19 }, (_, i) => ({ id: i + 1, provider: "jap", upstreamService: i + 1 }));
  const config = parseProvidersConfig(
    {
      currency: "USD",
      markup: { percent: 20 },
      providers: [
        {
          id: "jap",
          dialect: "jap",
          url: jap.url,
          key: "jap-key",
          rateLimit: { requests: 1000, intervalMs: 1000 },
          timeoutMs: 1500,
        },
        {
          id: "panel",
          dialect: "panel",
          url: panel.url,
          key: "panel-key",
          rateLimit: { requests: 1000, intervalMs: 1000 },
        },
        { id: "dead", dialect: "jap", url: `http://127.0.0.1:${closedPort}/api/v2`, key: "x", timeoutMs: 1000 },
      ],
      services: [...services, { id: 50, provider: "panel", upstreamService: "1" }],
    },
    {},
  );
  proxy = await start(
    loadEnv({ PORT: "0", HOST: "127.0.0.1", DATABASE_PATH: ":memory:", RATE_LIMIT_IP_PER_MIN: "0" }),
    { config, logger: silentLogger(), initialSyncTimeoutMs: 5000, upstream: { circuit: { failureThreshold: 1000 } } },
  );
  // The balance refresh after the first catalogue sync ends before faults are injected.
  await proxy.initialBalances;
});

afterAll(async () => {
  await proxy?.close(2000);
  await Promise.all([jap?.close(), panel?.close()]);
});

beforeEach(() => {
  jap.clearFaults();
  jap.clearLog();
  panel.clearLog();
});

/** POSTs a form body as the panels' PHP client does. */
async function call(
  fields: Record<string, string | number>,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${proxy.url}/api/v2`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])).toString(),
  });
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

const addsReceived = (sim: Simulator) => sim.log.filter((l) => l.action === "add").length;

describe("every service type, placed over HTTP", () => {
  const cases: Array<[string, number, Record<string, string | number>, number, Record<string, string>]> = [
    // [type, local service, fields, expected charge (minor), forwarded params]
    [
      "Default",
      1,
      { link: "https://ig.com/a", quantity: 1000 },
      108_000,
      { link: "https://ig.com/a", quantity: "1000" },
    ],
    [
      "Default drip-feed",
      1,
      { link: "https://ig.com/a", quantity: 100, runs: 3, interval: 15 },
      32_400,
      { link: "https://ig.com/a", quantity: "100", runs: "3", interval: "15" },
    ],
    [
      "Custom Comments",
      2,
      { link: "https://ig.com/p", comments: "a\nb\nc\nd\ne\nf\ng\nh\ni\nj" },
      9_600,
      { link: "https://ig.com/p", comments: "a\nb\nc\nd\ne\nf\ng\nh\ni\nj" },
    ],
    ["Package", 4, { link: "https://yt.com/v" }, 180_000, { link: "https://yt.com/v" }],
    [
      "Custom Comments Package",
      5,
      { link: "https://yt.com/v", comments: "x\ny" },
      1_440_000,
      { link: "https://yt.com/v", comments: "x\ny" },
    ],
    [
      "Mentions",
      6,
      { link: "https://ig.com/p", quantity: 100, usernames: "a\nb" },
      48_000,
      { link: "https://ig.com/p", quantity: "100", usernames: "a\nb" },
    ],
    [
      "Mentions with Hashtags",
      7,
      { link: "https://ig.com/p", quantity: 100, usernames: "a", hashtags: "#x" },
      60_000,
      { link: "https://ig.com/p", quantity: "100", usernames: "a", hashtags: "#x" },
    ],
    [
      "Mentions Custom List",
      8,
      { link: "https://ig.com/p", usernames: "a\nb\nc" },
      2_160,
      { link: "https://ig.com/p", usernames: "a\nb\nc" },
    ],
    [
      "Mentions Hashtag",
      9,
      { link: "https://ig.com/p", quantity: 100, hashtag: "#x" },
      54_000,
      { link: "https://ig.com/p", quantity: "100", hashtag: "#x" },
    ],
    [
      "Mentions User Followers",
      10,
      { link: "https://ig.com/p", quantity: 100, username: "star" },
      50_400,
      { link: "https://ig.com/p", quantity: "100", username: "star" },
    ],
    [
      "Mentions Media Likers",
      11,
      { link: "https://ig.com/p", quantity: 100, media: "https://ig.com/m" },
      57_600,
      { link: "https://ig.com/p", quantity: "100", media: "https://ig.com/m" },
    ],
    [
      "Comment Likes",
      12,
      { link: "https://ig.com/p", quantity: 20, username: "bob" },
      7_200,
      { link: "https://ig.com/p", quantity: "20", username: "bob" },
    ],
    [
      "Comment Replies",
      13,
      { link: "https://ig.com/p", username: "bob", comments: "hi\nyo" },
      2_160,
      { link: "https://ig.com/p", username: "bob", comments: "hi\nyo" },
    ],
    [
      "Poll",
      14,
      { link: "https://x.com/poll", quantity: 100, answer_number: 2 },
      24_000,
      { link: "https://x.com/poll", quantity: "100", answer_number: "2" },
    ],
    [
      "SEO",
      15,
      { link: "https://site.com", quantity: 500, keywords: "seo,smm" },
      45_000,
      { link: "https://site.com", quantity: "500", keywords: "seo,smm" },
    ],
    [
      "Invites from Groups",
      16,
      { link: "https://t.me/chan", quantity: 100, groups: "g1\ng2" },
      84_000,
      { link: "https://t.me/chan", quantity: "100", groups: "g1\ng2" },
    ],
  ];

  it.each(cases)(
    "%s: charged exactly and forwarded with its parameters",
    async (_type, service, fields, charge, forwarded) => {
      const customer = addCustomer(proxy.ctx, "100.00000");
      const res = await call({ key: customer.apiKey, action: "add", service, ...fields });
      expect(res.status).toBe(200);
      const local = (res.body as { order: number }).order;
      expect(balanceOf(proxy.ctx, customer.id)).toEqual({ balance: 10_000_000 - charge, ledger: 10_000_000 - charge });
      const upstream = [...jap.orders.values()].at(-1);
      expect(upstream?.params).toEqual({ service: String(service), ...forwarded });
      const status = await call({ key: customer.apiKey, action: "status", order: local });
      expect(status.body).toMatchObject({ status: "Pending", currency: "USD" });
    },
  );

  it("refuses Subscriptions with 400 and charges nothing", async () => {
    const customer = addCustomer(proxy.ctx, "100.00000");
    const res = await call({
      key: customer.apiKey,
      action: "add",
      service: 17,
      username: "me",
      min: 1,
      max: 2,
      delay: 5,
    });
    expect(res.status).toBe(400);
    expect(addsReceived(jap)).toBe(0);
    expect(balanceOf(proxy.ctx, customer.id).balance).toBe(10_000_000);
  });
});

describe("every failure class", () => {
  const order = { action: "add", service: 1, link: "https://ig.com/a", quantity: 1000 };

  it("rejected ({error} in a 200): 502, full refund, sent once", async () => {
    const customer = addCustomer(proxy.ctx, "10.00000");
    jap.injectFaults("add", 1, { kind: "error", message: "Incorrect link" });
    const res = await call({ key: customer.apiKey, ...order });
    expect(res).toMatchObject({ status: 502, body: { error: "Upstream provider error" } });
    expect(addsReceived(jap)).toBe(1);
    expect(balanceOf(proxy.ctx, customer.id)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
  });

  it("rejected (panel's HTTP 402): 502, full refund", async () => {
    const customer = addCustomer(proxy.ctx, "10.00000");
    const res = await call({
      key: customer.apiKey,
      action: "add",
      service: 50,
      link: "https://ig.com/a",
      quantity: 1000,
    });
    expect(res).toMatchObject({ status: 502, body: { error: "Upstream provider error" } });
    expect(panel.log.filter((l) => l.action === "add").map((l) => l.status)).toEqual([402]);
    expect(balanceOf(proxy.ctx, customer.id).balance).toBe(1_000_000);
  });

  it.each(["http500_html", "http200_html", "truncated_json", "reset", "drop_answer", "hang"] as const)(
    "ambiguous (%s): 200 with the order id (held), charge held, never resent",
    async (fault) => {
      const customer = addCustomer(proxy.ctx, "10.00000");
      const upstreamBefore = jap.orders.size;
      jap.injectFaults("add", 1, fault);
      const res = await call({ key: customer.apiKey, ...order });
      expect(res.status).toBe(200);
      const body = res.body as { order: number };
      expect(Object.keys(body)).toEqual(["order"]);
      expect(addsReceived(jap)).toBe(1);
      expect(balanceOf(proxy.ctx, customer.id)).toEqual({ balance: 1_000_000 - 108_000, ledger: 1_000_000 - 108_000 });
      const status = await call({ key: customer.apiKey, action: "status", order: body.order });
      expect(status.body).toMatchObject({ status: "Pending", charge: "1.08000" });
      const processed = fault === "drop_answer" || fault === "truncated_json" ? 1 : 0;
      expect(jap.orders.size - upstreamBefore).toBe(processed);
    },
  );

  it("rate_limited then ok: retried within the budget, one order", async () => {
    const customer = addCustomer(proxy.ctx, "10.00000");
    jap.injectFaults("add", 1, "http429");
    const res = await call({ key: customer.apiKey, ...order });
    expect(res.status).toBe(200);
    expect(jap.log.filter((l) => l.action === "add").map((l) => l.status)).toEqual([429, 200]);
    expect(balanceOf(proxy.ctx, customer.id).balance).toBe(1_000_000 - 108_000);
  });

  it("not_sent (connection refused): 502, full refund", async () => {
    const customer = addCustomer(proxy.ctx, "10.00000");
    const { applyCatalogue } = await import("../../src/sync/catalogue.js");
    const config = proxy.ctx.config;
    proxy.ctx.config = {
      ...config,
      services: [
        ...config.services,
        {
          id: 60,
          provider: "dead",
          upstreamService: "1",
          routes: [{ provider: "dead", upstreamService: "1" }],
          routing: "priority",
          enabled: true,
        },
      ],
    };
    applyCatalogue(proxy.ctx, "dead", [
      {
        service: "1",
        name: "F",
        type: "Default",
        category: "C",
        rate: "1",
        min: 1,
        max: 100,
        refill: false,
        cancel: false,
        dripfeed: false,
      },
    ]);
    const res = await call({
      key: customer.apiKey,
      action: "add",
      service: 60,
      link: "https://ig.com/a",
      quantity: 10,
    });
    proxy.ctx.config = config;
    expect(res.status).toBe(502);
    expect(balanceOf(proxy.ctx, customer.id)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
  });
});

describe("the whole surface over HTTP", () => {
  it("lists services, answers status, refills and cancels against the simulator", async () => {
    const customer = addCustomer(proxy.ctx, "10.00000");
    const services = await call({ key: customer.apiKey, action: "services" });
    const ids = (services.body as Array<{ service: number }>).map((s) => s.service);
    expect(ids.slice(0, 20)).toEqual([...Array.from({ length: 19 }, (_, i) => i + 1), 50]);
    const placed = await call({
      key: customer.apiKey,
      action: "add",
      service: 1,
      link: "https://ig.com/a",
      quantity: 100,
    });
    const id = (placed.body as { order: number }).order;
    const cancel = await call({ key: customer.apiKey, action: "cancel", orders: String(id) });
    expect(cancel.body).toEqual([{ order: id, cancel: { status: "success" } }]);
    expect(jap.log.filter((l) => l.action === "cancel")).toHaveLength(1);
    const balance = await call({ key: customer.apiKey, action: "balance" });
    expect(balance.body).toEqual({ balance: "9.89200", currency: "USD" });
  });
});

/** One raw POST (no decompression): status, headers, the bytes as sent, and whether it reused a kept-alive socket. */
function rawPost(
  fields: Record<string, string>,
  headers: Record<string, string> = {},
  agent?: Agent,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${proxy.url}/api/v2`,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        ...(agent === undefined ? {} : { agent }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(new URLSearchParams(fields).toString());
  });
}

describe("services over HTTP (issue #14)", () => {
  it("sends the gzip form as is, and a 304 with no body and no Content-Length", async () => {
    const customer = addCustomer(proxy.ctx, "1.00000");
    const form = { key: customer.apiKey, action: "services" };
    const plain = await rawPost(form);
    const gz = await rawPost(form, { "accept-encoding": "gzip" });
    expect(gz.status).toBe(200);
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gz.headers.vary).toBe("Accept-Encoding");
    expect(Number(gz.headers["content-length"])).toBe(gz.body.length);
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
    const ids = (JSON.parse(plain.body.toString("utf8")) as Array<{ service: number }>).map((s) => s.service);
    expect(ids.slice(0, 20)).toEqual([...Array.from({ length: 19 }, (_, i) => i + 1), 50]);

    const again = await rawPost(form, { "accept-encoding": "gzip", "if-none-match": String(gz.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(gz.headers.etag);
    expect(again.headers["content-length"]).toBeUndefined();
  });

  it("after a 304 the kept-alive connection carries the next answer whole", async () => {
    const customer = addCustomer(proxy.ctx, "1.25000");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await rawPost({ key: customer.apiKey, action: "services" }, {}, agent);
      const etag = String(first.headers.etag);
      const notModified = await rawPost(
        { key: customer.apiKey, action: "services" },
        { "if-none-match": etag, "x-request-id": "cond-1" },
        agent,
      );
      expect(notModified.status).toBe(304);
      expect(notModified.headers["x-request-id"]).toBe("cond-1");
      expect(notModified.reusedSocket).toBe(true);
      const balance = await rawPost({ key: customer.apiKey, action: "balance" }, {}, agent);
      expect(balance.reusedSocket).toBe(true);
      expect(balance.status).toBe(200);
      expect(JSON.parse(balance.body.toString("utf8"))).toEqual({ balance: "1.25000", currency: "USD" });
    } finally {
      agent.destroy();
    }
  });

  it("answers made in the same event-loop turn each reach their own request", async () => {
    // 30 customers, each with its own balance, asked at once on 30 connections: the answers
    // leave together at the end of the turn and none is given to another request.
    const customers = Array.from({ length: 30 }, (_, i) => ({
      customer: addCustomer(proxy.ctx, `${i + 1}.00${String(i).padStart(3, "0")}`),
      balance: `${i + 1}.00${String(i).padStart(3, "0")}`,
    }));
    const answers = await Promise.all(
      customers.map(({ customer }, i) =>
        rawPost({ key: customer.apiKey, action: "balance" }, { "x-request-id": `turn-${i}` }),
      ),
    );
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.headers["x-request-id"]).toBe(`turn-${i}`);
      expect(JSON.parse(answer.body.toString("utf8"))).toEqual({ balance: customers[i]?.balance, currency: "USD" });
    });
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const customer = addCustomer(proxy.ctx, "1.00000");
    const form = { key: customer.apiKey, action: "balance" };
    expect((await rawPost(form, { "x-request-id": "abc-123=" })).headers["x-request-id"]).toBe("abc-123=");
    const replaced = (await rawPost(form, { "x-request-id": "no spaces allowed" })).headers["x-request-id"];
    expect(replaced).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
