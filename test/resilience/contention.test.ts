/**
 * Store contention (issue #8): the admin CLI, in another process with its own connections,
 * tops up a balance and resolves held orders while the API answers hundreds of concurrent
 * requests on the same database file. Every CLI write lands (exit 0, one ledger row each),
 * no request is answered 500, and the balance still equals its ledger.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAmount } from "../../src/billing/money.js";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { createCustomer } from "../../src/customers/customers.js";
import { silentLogger } from "../../src/observability/logger.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { apiCall, ROOT, readStore, tempDir, writeJson } from "./harness.js";

const TOPUPS = 40;
const HELD = 5;
const WAVE = 200;

const dir = tempDir("smm-contention-");
const dbPath = dir.file("store.db");
const providersPath = dir.file("providers.json");
let sim: Simulator;
let proxy: Runtime;

beforeAll(async () => {
  sim = await startSimulator({ dialect: "jap", apiKey: "sim-key", progress: false, balance: "100000" });
  const raw = {
    currency: "USD",
    markup: { percent: 10 },
    providers: [
      {
        id: "sim",
        dialect: "jap",
        url: sim.url,
        key: "sim-key",
        rateLimit: { requests: 100_000, intervalMs: 1000 },
        concurrency: 16,
      },
    ],
    services: [{ id: 1, provider: "sim", upstreamService: 1 }],
  };
  writeJson(providersPath, raw);
  proxy = await start(loadEnv({ PORT: "0", HOST: "127.0.0.1", DATABASE_PATH: dbPath, RATE_LIMIT_IP_PER_MIN: "0" }), {
    config: parseProvidersConfig(raw, {}),
    logger: silentLogger(),
    upstream: { circuit: { failureThreshold: 1000 } },
  });
});

afterAll(async () => {
  await proxy?.close(2000);
  await sim?.close();
  dir.remove();
});

/**
 * Runs the CLI writer process. Halfway it says `half` and waits: `release` lets it go on once
 * the caller has seen API charges commit after that point (the interleaving the test needs,
 * driven rather than hoped for). Resolves with its exit codes once it ends.
 */
function cliWriter(
  customerId: number,
  orderIds: number[],
): { halfway: Promise<void>; release: () => void; done: Promise<{ codes: number[]; stderr: string }> } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/resilience/cli-writer.ts", String(customerId), String(TOPUPS), ...orderIds.map(String)],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", DATABASE_PATH: dbPath, PROVIDERS_FILE: providersPath },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  let reachedHalf: () => void = () => undefined;
  const halfway = new Promise<void>((resolve) => {
    reachedHalf = resolve;
  });
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
    if (out.startsWith("half\n")) {
      out = out.slice("half\n".length);
      reachedHalf();
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  const done = new Promise<{ codes: number[]; stderr: string }>((resolve, fail) => {
    child.once("exit", (code) => {
      if (code !== 0) return fail(new Error(`cli writer exited ${code}: ${err}`));
      resolve(JSON.parse(out) as { codes: number[]; stderr: string });
    });
  });
  return { halfway, release: () => child.stdin.write("go\n"), done };
}

describe("CLI writes while the API is under load", () => {
  it("every top-up and resolve lands, no 500, balance = ledger", async () => {
    const { customer, apiKey } = createCustomer(proxy.ctx.db, {
      name: "busy",
      balance: parseAmount("1000"),
      currency: "USD",
    });
    // Orders held as unknown (the upstream took them, the answer was lost): the CLI resolves them.
    sim.injectFaults("add", HELD, "drop_answer");
    const held: number[] = [];
    for (let i = 0; i < HELD; i++) {
      const answer = await apiCall(proxy.url, {
        key: apiKey,
        action: "add",
        service: 1,
        link: `held${i}`,
        quantity: 100,
      });
      // Held (the answer was lost): answered like an accepted order, the charge kept.
      expect(answer.status).toBe(200);
      held.push((answer.body as { order: number }).order);
    }

    const statuses = new Map<number, number>();
    let done = false;
    let halfway = false;
    const writer = cliWriter(customer.id, held);
    void writer.halfway.then(() => {
      halfway = true;
    });
    void writer.done.finally(() => {
      done = true;
    });
    let waves = 0;
    let wavesAfterHalf = 0;
    let n = 0;
    while (!done || waves < 2) {
      const wave = Array.from({ length: WAVE }, () => {
        n++;
        const kind = n % 3;
        const fields: Record<string, string | number> =
          kind === 0
            ? { key: apiKey, action: "add", service: 1, link: `load${n}`, quantity: 100 }
            : kind === 1
              ? { key: apiKey, action: "balance" }
              : { key: apiKey, action: "status", orders: held.join(",") };
        return apiCall(proxy.url, fields).then((r) => r.status);
      });
      const wasHalfway = halfway;
      for (const status of await Promise.all(wave)) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      waves++;
      // A whole wave (with its adds) started and ended after the writer paused: release it.
      if (wasHalfway && ++wavesAfterHalf === 1) writer.release();
    }
    const result = await writer.done;

    expect(result).toEqual({ codes: Array.from({ length: TOPUPS + HELD }, () => 0), stderr: "" });
    expect([...statuses.keys()]).toEqual([200]);
    const store = readStore(dbPath);
    const topups = store.ledger.filter((l) => l.customer_id === customer.id && l.kind === "topup");
    expect(topups.map((l) => l.amount)).toEqual([parseAmount("1000"), ...Array.from({ length: TOPUPS }, () => 1)]);
    // The writes interleaved (driven by the halfway gate): charges between the CLI's top-ups.
    const kinds = store.ledger.filter((l) => l.customer_id === customer.id).map((l) => l.kind);
    const between = kinds.slice(kinds.indexOf("topup", 1), kinds.lastIndexOf("topup"));
    expect(between.filter((k) => k === "charge").length).toBeGreaterThan(0);
    for (const id of held) {
      expect(store.orders.find((o) => o.id === id)).toMatchObject({
        submission: "submitted",
        status: "Canceled",
        refunded: 9_900,
      });
    }
    const placed = store.orders.filter((o) => o.submission === "submitted" && o.upstream_order_id !== null);
    expect(placed.length).toBe(Math.floor(n / 3));
    const row = store.customers.find((c) => c.id === customer.id);
    expect(row?.balance).toBe(row?.ledger);
    expect(row?.balance).toBe(parseAmount("1000") + TOPUPS - placed.length * 9_900);
  }, 60_000);
});
