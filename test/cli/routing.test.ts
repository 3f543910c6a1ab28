/**
 * The operator's view of routing (issue #12): `services list` routes and import counts,
 * `config check` import counts and route type check, `orders show` attempts, and
 * `orders reroute` charging once.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { placeOrder } from "../../src/orders/place-order.js";
import type { AppContext } from "../../src/runtime/context.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { type CliSandbox, cliSandbox, withAppContext } from "./helpers.js";

let cli: CliSandbox;
let jap: Simulator;
let mtp: Simulator;
let file: Record<string, unknown>;
let customer = 0;
let customerKey = "";

beforeAll(async () => {
  cli = cliSandbox("smm-cli-routing-");
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
        name: "Followers",
        routes: [
          { provider: "jap", upstreamService: 1 },
          { provider: "mtp", upstreamService: 1 },
        ],
      },
    ],
    imports: [{ provider: "mtp", idOffset: 1000, categories: ["instagram followers"] }],
  };
  writeFileSync(cli.env.PROVIDERS_FILE ?? "", JSON.stringify(file));
  ({ id: customer, apiKey: customerKey } = await cli.json<{ id: number; apiKey: string }>([
    "customers",
    "add",
    "--name",
    "c",
    "--balance",
    "10",
  ]));
  await cli.json(["sync", "prices"]);
});

afterAll(async () => {
  await Promise.all([jap.close(), mtp.close()]);
  cli.cleanup();
});

/** Runs `fn` over an app context on the sandbox database, closed afterwards. */
async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  return withAppContext(cli.env.DATABASE_PATH ?? "", parseProvidersConfig(file, {}), fn);
}

/** Places an order through the real `add` path over the sandbox database; resolves to its id or the error. */
async function place(link: string): Promise<number | Error> {
  return withContext(async (ctx) => {
    try {
      return (await placeOrder(ctx, { customerId: customer, fields: { service: "1", link, quantity: "1000" } })).order;
    } catch (error) {
      return error as Error;
    }
  });
}

/** `add` over the API with an `Idempotency-Key`: the HTTP status and JSON body. */
async function addWithKey(link: string, idempotencyKey: string): Promise<{ status: number; body: unknown }> {
  return withContext(async (ctx) => {
    const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
    const res = await app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "Idempotency-Key": idempotencyKey },
      body: new URLSearchParams({ key: customerKey, action: "add", service: "1", link, quantity: "1000" }).toString(),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  });
}

const balance = async () =>
  (await cli.json<Array<{ id: number; balance: string }>>(["customers", "list"])).find((c) => c.id === customer)
    ?.balance;

describe("services list", () => {
  it("shows each route with its cost, margin and usability, and the services each import produced", async () => {
    const list = await cli.json<Array<Record<string, unknown>>>(["services", "list"]);
    expect(list.map((s) => [s.id, s.importRule, s.providerId])).toEqual([
      [1, null, "jap"],
      [1001, 0, "mtp"],
      [1018, 0, "mtp"],
    ]);
    expect(list[0]?.routes).toEqual([
      {
        route: 0,
        providerId: "jap",
        upstreamService: "1",
        cost: "0.9",
        margin: "0.225",
        marginPercent: "20.00",
        usable: true,
        whyNot: null,
        circuit: null,
      },
      {
        route: 1,
        providerId: "mtp",
        upstreamService: "1",
        cost: "0.9",
        margin: "0.225",
        marginPercent: "20.00",
        usable: true,
        whyNot: null,
        circuit: null,
      },
    ]);
    mtp.updateService(1, { rate: "1.20" });
    await cli.json(["sync", "prices"]);
    const text = (await cli.run(["services", "list"])).stdout;
    expect(text).toContain("Routes of services with several:");
    expect(text).toMatch(/\n +1 +0 \(reference\) +jap +unknown +1 +0\.9 +0\.225 +20\.00 +yes +-\n/);
    expect(text).toMatch(/\n +1 +1 +mtp +unknown +1 +1\.2 +-0\.075 +-6\.67 +no +cost at or above the sell rate\n/);
    expect(text).toMatch(/Services produced by import rules:\n.*\n.*\nimports\[0\] +2\n/);
    expect(
      text.endsWith("\n\ncircuit state unknown: no server is running on port 1 (asked http://127.0.0.1:1/readyz)\n"),
    ).toBe(true);
    mtp.updateService(1, { rate: "0.90" });
    await cli.json(["sync", "prices"]);
  });
});

describe("config check", () => {
  it("counts what each import rule produced over the cached catalogues", async () => {
    const out = await cli.json<{ imports: unknown[] }>(["config", "check"]);
    expect(out.imports).toEqual([
      {
        rule: 0,
        provider: "mtp",
        idOffset: 1000,
        categories: ["instagram followers"],
        types: null,
        exclude: [],
        produced: 2,
        skipped: 0,
        overridden: 0,
        catalogueCached: true,
      },
    ]);
  });

  it("creates no database when none exists yet (usable before migrate)", async () => {
    const fresh = join(cli.dir, "not-yet.db");
    const out = await cli.json<{ imports: Array<{ produced: number; catalogueCached: boolean }> }>(
      ["config", "check"],
      { DATABASE_PATH: fresh },
    );
    expect(out.imports.map((i) => [i.produced, i.catalogueCached])).toEqual([[0, false]]);
    expect(existsSync(fresh)).toBe(false);
  });

  it("refuses a route whose upstream type differs from the reference route's, naming the path", async () => {
    const bad = join(cli.dir, "bad-types.json");
    writeFileSync(
      bad,
      JSON.stringify({
        ...file,
        services: [
          {
            id: 2,
            routes: [
              { provider: "jap", upstreamService: 1 },
              { provider: "mtp", upstreamService: 2 },
            ],
          },
        ],
      }),
    );
    const result = await cli.run(["config", "check"], { PROVIDERS_FILE: bad });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: services[0].routes[1]: type "Custom Comments" differs from the reference route\'s "Default"\n',
    );
  });
});

describe("orders show and orders reroute", () => {
  it("lists every attempt of an order that failed over", async () => {
    jap.injectFaults("add", 1, { kind: "error", message: "Not enough funds on balance" });
    const id = await place("https://ig.com/show");
    const shown = await cli.json<{ providerId: string; attempts: Array<Record<string, unknown>> }>([
      "orders",
      "show",
      String(id),
    ]);
    expect(shown.providerId).toBe("mtp");
    expect(shown.attempts.map((a) => [a.route, a.providerId, a.upstreamService, a.outcome, a.error])).toEqual([
      [0, "jap", "1", "rejected", "upstream error: Not enough funds on balance"],
      [1, "mtp", "1", "ok", expect.stringMatching(/^upstream order \d+$/)],
    ]);
    const text = (await cli.run(["orders", "show", String(id)])).stdout;
    expect(text).toMatch(
      /Upstream attempts:\n.*\n.*\n +0 +jap +1 +add +rejected +upstream error: Not enough funds on balance/,
    );
  });

  it("charges a failed order again, once, when rerouted", async () => {
    const before = await balance();
    jap.injectFaults("add", 1, { kind: "error", message: "no" });
    mtp.injectFaults("add", 1, { kind: "error", message: "no" });
    const failed = await place("https://ig.com/failed");
    expect(failed).toBeInstanceOf(Error);
    expect(await balance()).toBe(before);
    const [order] = await cli.json<Array<{ id: number }>>(["orders", "list", "--limit", "1"]);
    const result = await cli.json<Record<string, unknown>>(["orders", "reroute", String(order?.id), "--route", "1"]);
    expect(result).toMatchObject({
      providerId: "mtp",
      submission: "submitted",
      route: 1,
      chargedNow: "1.12500",
      charge: "1.12500",
      refunded: "0.00000",
      placed: true,
      error: null,
    });
    expect(await balance()).toBe((Number(before) - 1.125).toFixed(5));
  });

  it("refuses an unknown order until the operator confirms it is not upstream, then reuses its charge", async () => {
    jap.injectFaults("add", 1, "http500_html");
    const held = await place("https://ig.com/held");
    expect(typeof held).toBe("number"); // held: answered like an accepted order (issue #11)
    const [order] = await cli.json<Array<{ id: number; submission: string }>>(["orders", "list", "--limit", "1"]);
    expect(order?.submission).toBe("unknown");
    const before = await balance();
    const refused = await cli.run(["orders", "reroute", String(order?.id), "--provider", "mtp"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `error: order ${order?.id} is unknown: confirm on jap's panel that it does not exist there, then pass --not-on-upstream\n`,
    );
    const result = await cli.json<Record<string, unknown>>([
      "orders",
      "reroute",
      String(order?.id),
      "--provider",
      "mtp",
      "--not-on-upstream",
    ]);
    expect(result).toMatchObject({ providerId: "mtp", submission: "submitted", chargedNow: "0.00000", placed: true });
    expect(await balance()).toBe(before);
    const usage = await cli.run(["orders", "reroute", String(order?.id)]);
    expect(usage.code).toBe(2);
  });

  it("refuses a failed order whose Idempotency-Key placed another order since, in one line naming it", async () => {
    jap.injectFaults("add", 1, { kind: "error", message: "no" });
    mtp.injectFaults("add", 1, { kind: "error", message: "no" });
    expect((await addWithKey("https://ig.com/keyed", "intent-cli")).status).toBe(502);
    const [failed] = await cli.json<Array<{ id: number; submission: string }>>(["orders", "list", "--limit", "1"]);
    expect(failed?.submission).toBe("failed");
    const retry = await addWithKey("https://ig.com/keyed", "intent-cli");
    expect(retry).toEqual({ status: 200, body: { order: (failed?.id ?? 0) + 1 } });
    const before = await balance();
    const refused = await cli.run(["orders", "reroute", String(failed?.id), "--route", "1"]);
    expect(refused).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: order ${failed?.id} is not placed again: its Idempotency-Key placed order ${(failed?.id ?? 0) + 1} since (the customer's retry); rerouting it would charge customer ${customer} twice\n`,
    });
    expect(await balance()).toBe(before);
    const shown = await cli.json<{ submission: string; refunded: string }>(["orders", "show", String(failed?.id)]);
    expect(shown).toMatchObject({ submission: "failed", refunded: "1.12500" });
  });
});
