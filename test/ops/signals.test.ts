/**
 * The real server as a child process (`src/main.ts`), against a simulated panel answering in
 * ~1 s (issue #7): SIGHUP with a good and a bad providers file; SIGTERM during an in-flight
 * `add` loses nothing (the order ends `submitted`, the balance equals the ledger); a second
 * signal exits at once, and the order it cut off is recovered as `unknown` at the next start.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAmount } from "../../src/billing/money.js";
import { createCustomer } from "../../src/customers/customers.js";
import { type Db, openDb } from "../../src/db/client.js";
import { orders } from "../../src/db/schema.js";
import type { AppContext } from "../../src/runtime/context.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { balanceOf } from "../helpers/context.js";
import { apiCall } from "./helpers.js";
import { spawnServer as spawnProcess } from "./server-process.js";

const SIM_KEY = "sim-upstream-key-93ab";

let sim: Simulator;

const spawnServer = (env: Record<string, string>) => spawnProcess(["--import", "tsx", "src/main.ts"], env);
let dir: string;

function config(services: Array<Record<string, unknown>>): string {
  return JSON.stringify({
    currency: "USD",
    markup: { percent: 10 },
    providers: [{ id: "sim", dialect: "jap", url: sim.url, key: SIM_KEY, timeoutMs: 5000 }],
    services,
  });
}

/** A fresh store file with one customer holding 10.00000; returns its paths and key. */
function prepareStore(name: string): { dbPath: string; providersPath: string; apiKey: string; customerId: number } {
  const dbPath = join(dir, `${name}.db`);
  const providersPath = join(dir, `${name}.json`);
  writeFileSync(providersPath, config([{ id: 1, provider: "sim", upstreamService: 1 }]));
  const db = openDb(dbPath);
  const { customer, apiKey } = createCustomer(db, { name: "c", balance: parseAmount("10"), currency: "USD" });
  db.$client.close();
  return { dbPath, providersPath, apiKey, customerId: customer.id };
}

function readStore(dbPath: string): Db {
  return openDb(dbPath, { migrate: false });
}

async function waitForSend(dbPath: string, orderId: number): Promise<void> {
  const db = readStore(dbPath);
  try {
    for (;;) {
      const row = db.select().from(orders).where(eq(orders.id, orderId)).get();
      if (row?.submitStartedAt != null) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    db.$client.close();
  }
}

const asCtx = (db: Db) => ({ db }) as AppContext;

beforeAll(async () => {
  sim = await startSimulator({ dialect: "jap", apiKey: SIM_KEY, progress: false, latencyMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), "smm-signals-"));
});

afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("signals", () => {
  it("SIGHUP applies a valid file and ignores an invalid one; SIGTERM finishes the add in flight", async () => {
    const store = prepareStore("graceful");
    const server = await spawnServer({ DATABASE_PATH: store.dbPath, PROVIDERS_FILE: store.providersPath });
    try {
      const services = async () =>
        ((await apiCall(server.url, { key: store.apiKey, action: "services" })).body as Array<{ service: number }>).map(
          (s) => s.service,
        );
      expect(await services()).toEqual([1]);

      writeFileSync(
        store.providersPath,
        config([
          { id: 1, provider: "sim", upstreamService: 1 },
          { id: 2, provider: "sim", upstreamService: 3 },
        ]),
      );
      server.process.kill("SIGHUP");
      await server.waitFor((l) => l.event === "config_reloaded");
      expect(await services()).toEqual([1, 2]);

      writeFileSync(store.providersPath, "{ broken");
      server.process.kill("SIGHUP");
      const failed = await server.waitFor((l) => l.event === "config_reload_failed");
      expect(failed.level).toBe(50);
      expect(await services()).toEqual([1, 2]);

      const add = apiCall(server.url, {
        key: store.apiKey,
        action: "add",
        service: 1,
        link: "https://ig.com/a",
        quantity: 1000,
      });
      await waitForSend(store.dbPath, 1);
      server.process.kill("SIGTERM");
      expect(await add).toEqual({ status: 200, body: { order: 1 } });
      expect(await server.exited).toBe(0);
      // buffered log lines are written out on shutdown: the add's request line, then the last line
      await new Promise((done) =>
        server.process.stdout?.readableEnded ? done(null) : server.process.stdout?.once("end", done),
      );
      expect(server.lines).toContainEqual(expect.objectContaining({ msg: "request", action: "add", status: 200 }));
      expect(server.lines.at(-1)).toMatchObject({ msg: "smm-proxy stopped" });
    } finally {
      server.process.kill("SIGKILL");
    }

    const db = readStore(store.dbPath);
    expect(db.select().from(orders).where(eq(orders.id, 1)).get()).toMatchObject({
      submission: "submitted",
      upstreamOrderId: "23501",
      charge: 99_000,
    });
    // 10 − 0.99
    expect(balanceOf(asCtx(db), store.customerId)).toEqual({ balance: 901_000, ledger: 901_000 });
    db.$client.close();
  });

  it("a second signal exits at once; the cut-off order is recovered as unknown, never half-written", async () => {
    const store = prepareStore("abrupt");
    const env = { DATABASE_PATH: store.dbPath, PROVIDERS_FILE: store.providersPath };
    const server = await spawnServer(env);
    try {
      const add = apiCall(server.url, {
        key: store.apiKey,
        action: "add",
        service: 1,
        link: "https://ig.com/a",
        quantity: 1000,
      }).catch((error: unknown) => error);
      await waitForSend(store.dbPath, 1);
      server.process.kill("SIGTERM");
      await server.waitFor((l) => l.msg === "shutting down");
      server.process.kill("SIGTERM");
      expect(await server.exited).toBe(1);
      expect(await add).toBeInstanceOf(Error);
    } finally {
      server.process.kill("SIGKILL");
    }

    let db = readStore(store.dbPath);
    expect(db.select().from(orders).where(eq(orders.id, 1)).get()).toMatchObject({
      submission: "queued",
      charge: 99_000,
    });
    expect(balanceOf(asCtx(db), store.customerId)).toEqual({ balance: 901_000, ledger: 901_000 });
    db.$client.close();

    const restarted = await spawnServer(env);
    restarted.process.kill("SIGTERM");
    expect(await restarted.exited).toBe(0);
    db = readStore(store.dbPath);
    expect(db.select().from(orders).where(eq(orders.id, 1)).get()).toMatchObject({
      submission: "unknown",
      charge: 99_000,
    });
    expect(balanceOf(asCtx(db), store.customerId)).toEqual({ balance: 901_000, ledger: 901_000 });
    db.$client.close();
  });
});
