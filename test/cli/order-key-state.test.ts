/**
 * `orders show` gives the order's customer `Idempotency-Key` (migrations 0008/0011): the key
 * exactly as sent (quoted, odd characters escaped), whether a repeat still answers this order or
 * another order holds the key now (named), and for a failed order from before orders remembered
 * their key, that it is unknown and what the operator must do before `orders reroute`. Orders are
 * placed through the real API over the CLI's store, against two simulators.
 */
import { writeFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { quotedKey } from "../../src/cli/commands/orders.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { orders } from "../../src/db/schema.js";
import { claimIdempotencyKey, hashRequest, IDEMPOTENCY_TTL_MS, STALE_CLAIM_MS } from "../../src/orders/idempotency.js";
import type { AppContext } from "../../src/runtime/context.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { type CliSandbox, cliSandbox, withAppContext } from "./helpers.js";

let cli: CliSandbox;
let jap: Simulator;
let mtp: Simulator;
let file: Record<string, unknown>;
let customer = 0;
let customerKey = "";
/** The clock of the API's context: the key's 24 h are counted from it. */
let apiNow = Date.now();

const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  cli = cliSandbox("smm-cli-keys-");
  jap = await startSimulator({ dialect: "jap", apiKey: "kj", progress: false });
  mtp = await startSimulator({ dialect: "morethanpanel", apiKey: "km", progress: false });
  const limits = { rateLimit: { requests: 1000, intervalMs: 1000 } };
  file = {
    currency: "USD",
    markup: { percent: "25" },
    providers: [
      { id: "jap", dialect: "jap", url: jap.url, key: "kj", ...limits },
      { id: "mtp", dialect: "morethanpanel", url: mtp.url, key: "km", ...limits },
    ],
    services: [
      {
        id: 1,
        routes: [
          { provider: "jap", upstreamService: 1 },
          { provider: "mtp", upstreamService: 1 },
        ],
      },
    ],
  };
  writeFileSync(cli.env.PROVIDERS_FILE ?? "", JSON.stringify(file));
  ({ id: customer, apiKey: customerKey } = await cli.json<{ id: number; apiKey: string }>([
    "customers",
    "add",
    "--name",
    "c",
    "--balance",
    "20",
  ]));
  await cli.json(["sync", "prices"]);
});

afterAll(async () => {
  await Promise.all([jap.close(), mtp.close()]);
  cli.cleanup();
});

async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  return withAppContext(cli.env.DATABASE_PATH ?? "", parseProvidersConfig(file, {}), fn, () => apiNow);
}

/** `add` over the API (with `Idempotency-Key` when given): HTTP status and body. */
async function add(link: string, idempotencyKey?: string): Promise<{ status: number; body: { order?: number } }> {
  return withContext(async (ctx) => {
    const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
    const res = await app.request("/api/v2", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        ...(idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey }),
      },
      body: new URLSearchParams({ key: customerKey, action: "add", service: "1", link, quantity: "1000" }).toString(),
    });
    return { status: res.status, body: (await res.json()) as { order?: number } };
  });
}

/** Both routes refuse the next add: the order fails, refunded. */
function refuseNextAdd(): void {
  jap.injectFaults("add", 1, { kind: "error", message: "no" });
  mtp.injectFaults("add", 1, { kind: "error", message: "no" });
}

/** The newest order's id. */
async function lastOrderId(): Promise<number> {
  const [last] = await cli.json<Array<{ id: number }>>(["orders", "list", "--limit", "1"]);
  return last?.id ?? 0;
}

/** The `orders show` lines about the key. */
async function keyLines(id: number): Promise<string[]> {
  const result = await cli.run(["orders", "show", String(id)]);
  expect(result.code).toBe(0);
  return result.stdout.split("\n").filter((l) => /^(idempotency key|key state):/.test(l));
}

describe("orders show: the order's Idempotency-Key", () => {
  it("says when the add carried none", async () => {
    apiNow = Date.now();
    const placed = await add("https://ig.com/nokey");
    expect(placed.status).toBe(200);
    expect(await keyLines(placed.body.order ?? 0)).toEqual([
      "idempotency key: none (the add carried no Idempotency-Key)",
    ]);
    const shown = await cli.json<{ idempotency: unknown }>(["orders", "show", String(placed.body.order)]);
    expect(shown.idempotency).toEqual({
      state: "none",
      key: null,
      orderId: null,
      until: null,
      meaning: "the add carried no Idempotency-Key",
    });
  });

  it("prints the key quoted with odd characters escaped, bound to this order until its 24 h end", async () => {
    apiNow = Date.now();
    const key = 'a "b"\tc \u00e9';
    const placed = await add("https://ig.com/odd", key);
    expect(placed.status).toBe(200);
    const id = placed.body.order ?? 0;
    const until = iso(apiNow + IDEMPOTENCY_TTL_MS);
    expect(await keyLines(id)).toEqual([
      'idempotency key: "a \\"b\\"\\tc \\u00e9"',
      `key state:       bound to this order: a repeat with the key answers order ${id} until ${until}`,
    ]);
    expect(JSON.parse(quotedKey(key))).toBe(key);
    const shown = await cli.json<{ idempotency: unknown }>(["orders", "show", String(id)]);
    expect(shown.idempotency).toEqual({
      state: "bound",
      key,
      orderId: id,
      until,
      meaning: `bound to this order: a repeat with the key answers order ${id} until ${until}`,
    });
  });

  it("while the order is still being placed, a repeat is refused (409), as the API answers it", async () => {
    apiNow = Date.now();
    const placed = await add("https://ig.com/queued", "key-queued");
    const id = placed.body.order ?? 0;
    // As between the charge's commit and the upstream's answer: the key is bound, the order queued.
    await withContext(async (ctx) => {
      ctx.db.update(orders).set({ submission: "queued", upstreamOrderId: null }).where(eq(orders.id, id)).run();
    });
    const until = iso(apiNow + IDEMPOTENCY_TTL_MS);
    expect((await keyLines(id))[1]).toBe(
      `key state:       bound to this order, which is still being placed: a repeat with the key is refused (409) until it is, then answers order ${id} until ${until}`,
    );
    const repeat = await add("https://ig.com/queued", "key-queued");
    expect(repeat.status).toBe(409);
  });

  it("once its 24 h are over, says a repeat places a new order", async () => {
    apiNow = Date.now() - IDEMPOTENCY_TTL_MS - 60_000;
    const placed = await add("https://ig.com/old", "old-intent");
    const until = iso(apiNow + IDEMPOTENCY_TTL_MS);
    expect(await keyLines(placed.body.order ?? 0)).toEqual([
      'idempotency key: "old-intent"',
      `key state:       was bound to this order until ${until} (24 h): a repeat with the key now places a new order`,
    ]);
  });

  it("a failed order's key: released, then re-bound to the customer's retry, which it names", async () => {
    apiNow = Date.now();
    refuseNextAdd();
    expect((await add("https://ig.com/retried", "intent-1")).status).toBe(502);
    const failed = await lastOrderId();
    expect(await keyLines(failed)).toEqual([
      'idempotency key: "intent-1"',
      "key state:       released when the order failed: a repeat with the key places a new order; orders reroute binds it to this order again",
    ]);
    const retry = await add("https://ig.com/retried", "intent-1");
    expect(retry.status).toBe(200);
    const retryId = retry.body.order ?? 0;
    expect(await keyLines(failed)).toEqual([
      'idempotency key: "intent-1"',
      `key state:       re-bound to order ${retryId}, the customer's retry of the same request: orders reroute refuses this order (it would charge customer ${customer} twice)`,
    ]);
    expect((await cli.json<{ idempotency: unknown }>(["orders", "show", String(failed)])).idempotency).toMatchObject({
      state: "rebound",
      key: "intent-1",
      orderId: retryId,
      until: null,
    });
    // The retry itself holds the key; reroute refuses the failed order as the line says.
    expect((await keyLines(retryId))[1]).toMatch(/^key state: +bound to this order: /);
    const refused = await cli.run(["orders", "reroute", String(failed), "--route", "1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`its Idempotency-Key placed order ${retryId} since (the customer's retry)`);
  });

  it("a failed order's key claimed by a request being placed now, and one reused by a later request after 24 h", async () => {
    apiNow = Date.now() - IDEMPOTENCY_TTL_MS - 60_000;
    refuseNextAdd();
    expect((await add("https://ig.com/reused", "intent-2")).status).toBe(502);
    const failed = await lastOrderId();
    apiNow = Date.now();
    // A request claimed the key and has not charged its order yet.
    const fields = { action: "add", service: "1", link: "https://ig.com/other", quantity: "1000" };
    await withContext(async (ctx) => {
      expect(claimIdempotencyKey(ctx, customer, "intent-2", hashRequest(fields))).toEqual({ kind: "claimed" });
    });
    expect((await keyLines(failed))[1]).toBe(
      `key state:       claimed by another request of customer ${customer} being placed now: orders reroute refuses this order until that request is answered`,
    );
    // That claim's process stopped: once the claim is stale, a request with the key places its order.
    apiNow = Date.now() + STALE_CLAIM_MS;
    const reused = await add("https://ig.com/other", "intent-2");
    expect(reused.status).toBe(200);
    expect((await keyLines(failed))[1]).toBe(
      `key state:       now bound to order ${reused.body.order}, a later request that reused the key after its 24 h: orders reroute places this order without the key`,
    );
  });

  it("a failed order from before orders remembered their key: unknown, and what to do before orders reroute", async () => {
    apiNow = Date.now();
    refuseNextAdd();
    expect((await add("https://ig.com/legacy")).status).toBe(502);
    const failed = await lastOrderId();
    // What migration 0011 leaves on a failed order from before 0008 (its key row deleted when it failed).
    await withContext(async (ctx) => {
      ctx.db.update(orders).set({ idempotencyKeyUnknown: true }).where(eq(orders.id, failed)).run();
    });
    const todo = `it failed before orders remembered their Idempotency-Key, so a retry of it may have placed another order: before orders reroute ${failed}, check customer ${customer}'s orders since for one that repeats it; if none does, reroute it with --key-checked; if one does, do not reroute it`;
    expect(await keyLines(failed)).toEqual(["idempotency key: unknown", `key state:       ${todo}`]);
    expect((await cli.json<{ idempotency: unknown }>(["orders", "show", String(failed)])).idempotency).toEqual({
      state: "unknown",
      key: null,
      orderId: null,
      until: null,
      meaning: todo,
    });
    expect((await cli.run(["orders", "reroute", String(failed), "--route", "1"])).code).toBe(1);
    const rerouted = await cli.json<{ placed: boolean }>([
      "orders",
      "reroute",
      String(failed),
      "--route",
      "1",
      "--key-checked",
    ]);
    expect(rerouted.placed).toBe(true);
    expect(await keyLines(failed)).toEqual([
      "idempotency key: unknown",
      "key state:       it failed before orders remembered their Idempotency-Key and was placed again after the operator checked (--key-checked)",
    ]);
  });
});
