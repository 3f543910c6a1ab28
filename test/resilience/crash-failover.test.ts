/**
 * Crash safety of a failover (issue #12): the real server, as a child process, is killed with
 * SIGKILL (1) between route 1's definite answer and route 2's send (failpoint
 * `before_next_attempt`), and (2) while route 2's request is out. After each restart: the
 * upstreams hold at most one order for it, the ledger is exact, and nothing is resent.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAmount } from "../../src/billing/money.js";
import { createCustomer } from "../../src/customers/customers.js";
import { openDb } from "../../src/db/client.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import {
  apiCall,
  freePort,
  type OrderRow,
  readStore,
  type ServerProcess,
  spawnServer,
  tempDir,
  waitFor,
  writeJson,
} from "./harness.js";

const dir = tempDir("smm-crash-failover-");
const dbPath = dir.file("store.db");
const providersPath = dir.file("providers.json");
let one: Simulator;
let two: Simulator;
let port: number;
let server: ServerProcess | undefined;
let apiKey = "";
let env: Record<string, string> = {};

/** Followers (0.90 per 1000 at both) + 10 %: 1000 → 0.99000 charged, whichever route. */
const CHARGE = 99_000;
const START_BALANCE = parseAmount("100.00000");

const linkOf = (order: OrderRow) => (JSON.parse(order.params) as { link?: string }).link;
const addsFor = (sim: Simulator, link: string) =>
  sim.log.filter((entry) => entry.action === "add" && entry.params.link === link).length;
const createdFor = (sim: Simulator, link: string) =>
  [...sim.orders.values()].filter((o) => o.params.link === link).length;
const orderByLink = (link: string) => readStore(dbPath).orders.find((o) => linkOf(o) === link);

function attemptsOf(orderId: number): Array<[string, string]> {
  const db = new Database(dbPath, { readonly: true, timeout: 5000 });
  try {
    const rows = db
      .prepare("SELECT provider_id, outcome FROM order_attempts WHERE order_id = ? ORDER BY id")
      .all(orderId) as Array<{ provider_id: string; outcome: string }>;
    return rows.map((r) => [r.provider_id, r.outcome]);
  } finally {
    db.close();
  }
}

async function restart(failpoint?: string): Promise<void> {
  await server?.kill();
  server = await spawnServer(failpoint === undefined ? env : { ...env, SMM_PROXY_FAILPOINT: failpoint }, port);
}

function addInFlight(link: string): Promise<unknown> {
  if (server === undefined) throw new Error("no server");
  return apiCall(server.url, { key: apiKey, action: "add", service: 1, link, quantity: 1000 }).catch((e: unknown) => e);
}

function checkLedger(): void {
  const store = readStore(dbPath);
  for (const customer of store.customers) expect(customer.balance).toBe(customer.ledger);
  const held = store.orders.reduce((sum, o) => sum + o.charge - o.refunded, 0);
  expect(store.customers[0]?.balance).toBe(START_BALANCE - held);
  for (const order of store.orders) {
    const link = linkOf(order) ?? "";
    expect(createdFor(one, link) + createdFor(two, link)).toBeLessThanOrEqual(1);
  }
}

beforeAll(async () => {
  one = await startSimulator({ dialect: "jap", apiKey: "k1", progress: false, balance: "1000" });
  two = await startSimulator({ dialect: "jap", apiKey: "k2", progress: false, balance: "1000" });
  port = await freePort();
  const limits = { rateLimit: { requests: 1000, intervalMs: 1000 }, timeoutMs: 30_000 };
  writeJson(providersPath, {
    currency: "USD",
    markup: { percent: 10 },
    providers: [
      { id: "one", dialect: "jap", url: one.url, key: "k1", ...limits },
      { id: "two", dialect: "jap", url: two.url, key: "k2", ...limits },
    ],
    services: [
      {
        id: 1,
        routes: [
          { provider: "one", upstreamService: 1 },
          { provider: "two", upstreamService: 1 },
        ],
      },
    ],
  });
  const db = openDb(dbPath);
  apiKey = createCustomer(db, { name: "reseller", balance: START_BALANCE, currency: "USD" }).apiKey;
  db.$client.close();
  env = { DATABASE_PATH: dbPath, PROVIDERS_FILE: providersPath, LOG_LEVEL: "silent", RATE_LIMIT_IP_PER_MIN: "0" };
}, 30_000);

afterAll(async () => {
  await server?.kill();
  await Promise.all([one?.close(), two?.close()]);
  dir.remove();
});

describe("SIGKILL during a failover, then restart", () => {
  it("between route 1's definite answer and route 2's send: refunded at start, no upstream order anywhere", async () => {
    await restart("before_next_attempt");
    const crashed = server;
    if (crashed === undefined) throw new Error("no server");
    one.injectFaults("add", 1, { kind: "error", message: "Not enough funds on balance" });
    expect(await addInFlight("F1")).toBeInstanceOf(Error);
    expect(await crashed.exited).toBe("SIGKILL");
    expect(orderByLink("F1")).toMatchObject({ submission: "queued", submit_started_at: null });
    await restart();
    expect(orderByLink("F1")).toMatchObject({ submission: "failed", charge: CHARGE, refunded: CHARGE });
    expect(addsFor(one, "F1")).toBe(1);
    expect(addsFor(two, "F1")).toBe(0);
    expect(createdFor(one, "F1") + createdFor(two, "F1")).toBe(0);
    const id = orderByLink("F1")?.id ?? 0;
    expect(attemptsOf(id)).toEqual([["one", "rejected"]]);
    checkLedger();
  });

  it("after route 2's send: held on route 2 at start, sent once there, never resent", async () => {
    one.injectFaults("add", 1, { kind: "error", message: "Not enough funds on balance" });
    two.injectFaults("add", 1, "hang");
    const pending = addInFlight("F2");
    await waitFor("route 2 to receive the add", () => addsFor(two, "F2") === 1);
    expect(orderByLink("F2")).toMatchObject({ submission: "queued", provider_id: "two" });
    expect(orderByLink("F2")?.submit_started_at).not.toBeNull();
    await restart();
    await pending;
    expect(orderByLink("F2")).toMatchObject({
      submission: "unknown",
      provider_id: "two",
      charge: CHARGE,
      refunded: 0,
      flag: "upstream call was in flight during a restart",
    });
    const id = orderByLink("F2")?.id ?? 0;
    expect(attemptsOf(id)).toEqual([
      ["one", "rejected"],
      ["two", "ambiguous"],
    ]);
    expect(addsFor(one, "F2")).toBe(1);
    expect(addsFor(two, "F2")).toBe(1);
    checkLedger();
  });
});
