/**
 * Fuzzing /api/v2 beyond test/api/fuzz.test.ts (issue #8): negative, float and huge
 * quantities, repeated keys, huge and unicode fields, ids beyond 2^53, JSON arrays, and
 * arbitrary bytes and encodings over real HTTP. Exact oracles where the contract gives one;
 * everywhere: a JSON answer, no 500, nothing charged unless an order was placed, and the
 * ledger balanced.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAmount } from "../../src/billing/money.js";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { silentLogger } from "../../src/observability/logger.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { harness, json } from "../api/app-harness.js";
import { addCustomer, balanceOf } from "../helpers/context.js";
import type { FakeProvider } from "../helpers/fake-provider.js";

/** Service 1 of the harness: Default, 10..10000, refill/cancel/drip-feed. */
const MIN = 10;
const MAX = 10_000;

const quantityText = fc.oneof(
  fc.integer({ min: -1_000_000, max: 0 }).map(String),
  fc.integer({ min: 1, max: 20_000 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 99 })).map(([a, b]) => `${a}.${b}`),
  fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 90n }).map(String),
  fc.constantFrom("", " ", "1e3", "1E3", "0x10", "+100", "-0", "100 ", " 100", "0100", "１００", "100abc", "∞", "NaN"),
);

/** The parameters of the last `add` the scripted provider received. */
function lastAdd(provider: FakeProvider): Record<string, string> | undefined {
  const call = provider.calls.filter((c) => c.method === "add").at(-1);
  return call?.args[0] as Record<string, string> | undefined;
}

/** What the contract makes of a quantity: the number placed, or undefined for a 400. */
function acceptedQuantity(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  const n = Number(t);
  return n >= MIN && n <= MAX ? n : undefined;
}

describe("fuzzing /api/v2 (in process)", () => {
  it("negative, float and huge quantities: 400 and nothing charged, or placed at exactly that quantity", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "100000.00000");
    await fc.assert(
      fc.asyncProperty(quantityText, async (quantity) => {
        const before = balanceOf(h.ctx, customer.id);
        const res = await h.post({
          key: customer.apiKey,
          action: "add",
          service: 1,
          link: "https://ig.com/a",
          quantity,
        });
        const body = (await json(res)) as { order?: number; error?: string };
        const after = balanceOf(h.ctx, customer.id);
        const expected = acceptedQuantity(quantity);
        if (expected === undefined) {
          expect(res.status).toBe(400);
          expect(body.error).toMatch(/^(Incorrect quantity|Quantity (less than minimal|more than maximal) \d+)$/);
          expect(after).toEqual(before);
          return;
        }
        expect(res.status).toBe(200);
        const request = lastAdd(h.provider);
        expect(request).toMatchObject({ quantity: String(expected) });
        // 1.00 per 1000 + 25 %: 1.25 per 1000, rounded up to 5 decimals.
        expect(before.balance - after.balance).toBe(Math.ceil((expected * 125_000) / 1000));
      }),
      { numRuns: 300 },
    );
    const { balance, ledger } = balanceOf(h.ctx, customer.id);
    expect(balance).toBe(ledger);
  });

  it("repeated keys: the last value wins, as in PHP", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "5.00000");
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom("balance", "add", "nope", "status", ""), { minLength: 1, maxLength: 4 }),
        fc.array(fc.constantFrom(customer.apiKey, "wrong-key", ""), { minLength: 1, maxLength: 3 }),
        async (actions, keys) => {
          const body = [...keys.map((k) => `key=${encodeURIComponent(k)}`), ...actions.map((a) => `action=${a}`)].join(
            "&",
          );
          const res = await h.app.request("/api/v2", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body,
          });
          const answer = await json(res);
          const key = keys.at(-1);
          const action = actions.at(-1);
          if (key !== customer.apiKey) {
            expect([res.status, answer]).toEqual([401, { error: "Invalid API key" }]);
          } else if (action === "balance") {
            expect([res.status, answer]).toEqual([200, { balance: "5.00000", currency: "USD" }]);
          } else if (action === "add") {
            // No service field: the panels' answer for a service they do not have.
            expect([res.status, answer]).toEqual([404, { error: "Incorrect service ID" }]);
          } else {
            expect(res.status).toBe(400);
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(balanceOf(h.ctx, customer.id).balance).toBe(parseAmount("5.00000"));
  });

  it("huge and unicode fields: 200 with the field forwarded intact, or 400/413 and nothing charged", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "100000.00000");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 }),
          fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 50 }).map((s) => `https://t.me/${s}`),
          fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).map((s) => `https://ig.com/${s}`),
          fc
            .tuple(fc.constantFrom("x", "é", "😀", "𝕏", "\u0301"), fc.integer({ min: 1000, max: 400_000 }))
            .map(([c, n]) => `https://ig.com/${c.repeat(n)}`),
        ),
        fc.option(fc.string({ unit: "grapheme", maxLength: 2000 }), { nil: undefined }),
        async (link, comments) => {
          const before = balanceOf(h.ctx, customer.id);
          const res = await h.post({
            key: customer.apiKey,
            action: "add",
            service: 3,
            link,
            ...(comments === undefined ? {} : { comments }),
          });
          const body = (await json(res)) as { order?: number; error?: string };
          expect([200, 400, 413]).toContain(res.status);
          if (res.status !== 200) {
            expect(typeof body.error).toBe("string");
            expect(balanceOf(h.ctx, customer.id)).toEqual(before);
            return;
          }
          const sent = lastAdd(h.provider);
          expect(sent?.link).toBe(link.trim());
          expect(sent?.comments?.split(/\r?\n/).map((l) => l.trim())).toEqual(
            expect.arrayContaining(
              (comments ?? "")
                .split(/\r?\n/)
                .map((l) => l.trim())
                .filter((l) => l !== ""),
            ),
          );
        },
      ),
      { numRuns: 150 },
    );
    const { balance, ledger } = balanceOf(h.ctx, customer.id);
    expect(balance).toBe(ledger);
  });

  it("ids beyond 2^53 are unknown, never rounded onto an existing order", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    // An order whose id is the largest safe integer: 2^53 + 1 rounds onto 2^53, 2^53 - 1 stays.
    h.ctx.db.$client
      .prepare(
        `INSERT INTO orders (id, customer_id, service_id, provider_id, upstream_service, upstream_order_id, params,
           quantity, rate, exchange_rate, charge, status, submission, created_at, updated_at)
         VALUES (?, ?, 1, 'p1', '101', '77', '{}', 100, 125000, '1', 0, 'Pending', 'submitted', 0, 0)`,
      )
      .run(Number.MAX_SAFE_INTEGER, customer.id);
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 2n ** 53n, max: 2n ** 90n }),
        fc.constantFrom("", "0", "00"),
        async (id, pad) => {
          const text = `${pad}${id}`;
          const single = await h.post({ key: customer.apiKey, action: "status", order: text });
          expect([single.status, await json(single)]).toEqual([404, { error: "Incorrect order ID" }]);
          const multi = await h.post({
            key: customer.apiKey,
            action: "status",
            orders: `${text},${Number.MAX_SAFE_INTEGER}`,
          });
          const answer = (await json(multi)) as Record<string, { status?: string; error?: string }>;
          expect(multi.status).toBe(200);
          expect(answer[text]).toEqual({ error: "Incorrect order ID" });
          expect(answer[String(Number.MAX_SAFE_INTEGER)]?.status).toBe("Pending");
        },
      ),
      { numRuns: 100 },
    );
    // Past 30 digits an id is not an id at all: unknown, like any id that is not ours.
    const long = await h.post({ key: customer.apiKey, action: "status", order: "1".repeat(31) });
    expect([long.status, await json(long)]).toEqual([404, { error: "Incorrect order ID" }]);
  });

  it("JSON arrays of ids answer exactly like the comma-separated form; nested values are 400", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    const post = (body: string, type: string) =>
      h.app.request("/api/v2", { method: "POST", headers: { "content-type": type }, body });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.nat({ max: 50 }), fc.nat({ max: 50 }).map(String)), { minLength: 1, maxLength: 120 }),
        fc.constantFrom("status", "cancel", "refill"),
        async (ids, action) => {
          const viaJson = await post(
            JSON.stringify({ key: customer.apiKey, action, orders: ids }),
            "application/json; charset=utf-8",
          );
          const viaForm = await post(
            new URLSearchParams({ key: customer.apiKey, action, orders: ids.join(",") }).toString(),
            "application/x-www-form-urlencoded",
          );
          expect([viaJson.status, await json(viaJson)]).toEqual([viaForm.status, await json(viaForm)]);
        },
      ),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.object(), fc.array(fc.nat()), fc.constant(null)), { minLength: 1, maxLength: 3 }),
        async (items) => {
          const res = await post(
            JSON.stringify({ key: customer.apiKey, action: "status", orders: items }),
            "application/json",
          );
          expect([res.status, await json(res)]).toEqual([400, { error: "Incorrect request: orders" }]);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("fuzzing /api/v2 over real HTTP", () => {
  let sim: Simulator;
  let proxy: Runtime;
  let apiKey = "";
  let customerId = 0;

  beforeAll(async () => {
    sim = await startSimulator({ dialect: "jap", apiKey: "sim-key", progress: false, balance: "100000" });
    const config = parseProvidersConfig(
      {
        currency: "USD",
        markup: { percent: 10 },
        providers: [
          { id: "sim", dialect: "jap", url: sim.url, key: "sim-key", rateLimit: { requests: 10000, intervalMs: 1000 } },
        ],
        services: [
          { id: 1, provider: "sim", upstreamService: 1 },
          { id: 2, provider: "sim", upstreamService: 2 },
        ],
      },
      {},
    );
    proxy = await start(
      loadEnv({ PORT: "0", HOST: "127.0.0.1", DATABASE_PATH: ":memory:", RATE_LIMIT_IP_PER_MIN: "0" }),
      { config, logger: silentLogger() },
    );
    const customer = addCustomer(proxy.ctx, "1000.00000");
    apiKey = customer.apiKey;
    customerId = customer.id;
  });

  afterAll(async () => {
    await proxy?.close(2000);
    await sim?.close();
  });

  const encodings = fc.constantFrom(
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=ISO-8859-1",
    "application/x-www-form-urlencoded; charset=utf-16",
    "application/json",
    "application/json; charset=latin1",
    "multipart/form-data; boundary=b",
    "multipart/form-data",
    "text/plain; charset=utf-8",
    "application/octet-stream",
    "",
  );

  it("arbitrary bytes, encodings and methods: JSON, never 500, ledger balanced", async () => {
    const key = () => apiKey;
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
      fc.string({ unit: "binary" }).map((s) => Buffer.from(s, "utf8")),
      fc
        .tuple(
          fc.constantFrom("add", "status", "balance", "cancel", "refill", "services"),
          fc.string({ unit: "binary", maxLength: 60 }),
        )
        .map(([action, v]) =>
          Buffer.from(`key=${key()}&action=${action}&service=1&link=${v}&quantity=${v}&orders=${v}`, "latin1"),
        ),
      fc
        .tuple(fc.constantFrom("add", "status"), fc.jsonValue())
        .map(([action, v]) =>
          Buffer.from(JSON.stringify({ key: key(), action, service: 1, link: v, quantity: v, orders: v })),
        ),
      fc.constant(Buffer.from(`--b\r\nContent-Disposition: form-data; name="key"\r\n\r\n${apiKey}\r\n--b\r\n`)),
      fc.constant(Buffer.from([0xff, 0xfe, 0x6b, 0x00, 0x65, 0x00])),
      fc.constant(Buffer.from(`key=${apiKey}&action=add&service=1&link=https%3A%2F%2Fig.com%2F%E9&quantity=100`)),
      fc.constant(Buffer.from(`key=${apiKey}&action=add&service=1&link=%zz%&quantity=%31%30%30`)),
    );
    await fc.assert(
      fc.asyncProperty(encodings, bodies, fc.constantFrom("POST", "POST", "GET", "PUT"), async (type, body, method) => {
        const res = await fetch(`${proxy.url}/api/v2${method === "GET" ? `?key=${apiKey}&action=balance` : ""}`, {
          method,
          headers: type === "" ? {} : { "content-type": type },
          ...(method === "GET" ? {} : { body }),
        });
        expect(res.status === 500 || res.status === 504).toBe(false);
        if (res.status !== 404 || method !== "PUT")
          expect(res.headers.get("content-type")).toMatch(/^application\/json/);
        await res.json();
      }),
      { numRuns: 200 },
    );
    const { balance, ledger } = balanceOf(proxy.ctx, customerId);
    expect(balance).toBe(ledger);
    // Every order the ledger charged is one the simulator received once.
    const links = sim.log.filter((l) => l.action === "add").map((l) => l.params.link);
    const charged = proxy.ctx.db.$client
      .prepare("SELECT count(*) AS n FROM orders WHERE submission = 'submitted'")
      .get() as {
      n: number;
    };
    expect(charged.n).toBe(links.length);
    const health = await fetch(`${proxy.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
