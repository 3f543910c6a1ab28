/**
 * Crash safety of `add` (issue #8): the real server, as a child process, is killed with SIGKILL
 * at each point of an order's placement and restarted on the same store. After every restart:
 * each customer's balance equals its ledger sum; every charged order is `submitted` (with its
 * upstream id), `failed` (refunded in full) or `unknown` (charge held, flagged); the upstream got
 * each order at most once; and the restart sent nothing.
 *
 * Points: (1) before the transaction (request body still arriving), (2) after the transaction,
 * before the upstream call (the add waits in the provider's rate-limited queue), (3) during the
 * upstream call (the simulator hangs), (4) after the upstream answered, before the store
 * recorded it (failpoint `after_upstream_answer`, see src/runtime/failpoints.ts).
 */
import { connect } from "node:net";
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

const dir = tempDir("smm-crash-");
const dbPath = dir.file("store.db");
const providersPath = dir.file("providers.json");
let fast: Simulator;
let slow: Simulator;
let port: number;
let server: ServerProcess | undefined;
let apiKey = "";
let env: Record<string, string> = {};

/** Followers (simulator service 1, 0.90 per 1000) + 10 %: 1000 → 0.99000 charged. */
const CHARGE = 99_000;
const START_BALANCE = parseAmount("100.00000");

const linkOf = (order: OrderRow) => (JSON.parse(order.params) as { link?: string }).link;
const addsFor = (sim: Simulator, link: string) =>
  sim.log.filter((entry) => entry.action === "add" && entry.params.link === link).length;
const allAdds = () => [...fast.log, ...slow.log].filter((entry) => entry.action === "add").length;

function orderByLink(link: string): OrderRow | undefined {
  return readStore(dbPath).orders.find((o) => linkOf(o) === link);
}

/** Starts a server (optionally with a failpoint armed), replacing the previous one. */
async function restart(failpoint?: string): Promise<void> {
  await server?.kill();
  server = await spawnServer(failpoint === undefined ? env : { ...env, SMM_PROXY_FAILPOINT: failpoint }, port);
}

/** Sends an `add` that the test will interrupt: the promise never rejects. */
function addInFlight(service: number, link: string): Promise<unknown> {
  if (server === undefined) throw new Error("no server");
  return apiCall(server.url, { key: apiKey, action: "add", service, link, quantity: 1000 }).catch((e: unknown) => e);
}

/** The invariants that must hold on the store and the simulators after any crash. */
function checkInvariants(): void {
  const store = readStore(dbPath);
  for (const customer of store.customers) expect(customer.balance).toBe(customer.ledger);
  for (const order of store.orders) {
    expect(["submitted", "failed", "unknown"]).toContain(order.submission);
    const charges = store.ledger.filter((l) => l.order_id === order.id && l.kind === "charge");
    const refunds = store.ledger.filter((l) => l.order_id === order.id && l.kind === "refund");
    expect(charges.map((l) => l.amount)).toEqual([-order.charge]);
    expect(refunds.reduce((sum, l) => sum + l.amount, 0)).toBe(order.refunded);
    if (order.submission === "submitted") {
      expect(order.upstream_order_id).not.toBeNull();
      expect(order.refunded).toBe(0);
    }
    if (order.submission === "failed") expect(order.refunded).toBe(order.charge);
    if (order.submission === "unknown") {
      expect(order.refunded).toBe(0);
      expect(order.flag).not.toBeNull();
      expect(order.submit_started_at).not.toBeNull();
    }
    const link = linkOf(order) ?? "";
    expect(addsFor(fast, link) + addsFor(slow, link)).toBeLessThanOrEqual(1);
  }
  const sumCharges = store.orders.reduce((sum, o) => sum + o.charge - o.refunded, 0);
  expect(store.customers[0]?.balance).toBe(START_BALANCE - sumCharges);
}

beforeAll(async () => {
  fast = await startSimulator({ dialect: "jap", apiKey: "fast-key", progress: false, balance: "1000" });
  slow = await startSimulator({ dialect: "jap", apiKey: "slow-key", progress: false, balance: "1000" });
  port = await freePort();
  writeJson(providersPath, {
    currency: "USD",
    markup: { percent: 10 },
    providers: [
      {
        id: "fast",
        dialect: "jap",
        url: fast.url,
        key: "fast-key",
        rateLimit: { requests: 1000, intervalMs: 1000 },
        timeoutMs: 30_000,
      },
      // One call per minute: the start's catalogue sync takes the slot, so an `add` waits in the
      // queue (its budget, timeoutMs, outlasts the wait, so the queue takes it rather than refusing).
      {
        id: "slow",
        dialect: "jap",
        url: slow.url,
        key: "slow-key",
        rateLimit: { requests: 1, intervalMs: 60_000 },
        timeoutMs: 180_000,
      },
    ],
    services: [
      { id: 1, provider: "fast", upstreamService: 1 },
      { id: 2, provider: "slow", upstreamService: 1 },
    ],
  });
  const db = openDb(dbPath);
  apiKey = createCustomer(db, { name: "reseller", balance: START_BALANCE, currency: "USD" }).apiKey;
  db.$client.close();
  env = {
    DATABASE_PATH: dbPath,
    PROVIDERS_FILE: providersPath,
    LOG_LEVEL: "silent",
    RATE_LIMIT_IP_PER_MIN: "0",
  };
  await restart();
}, 30_000);

afterAll(async () => {
  await server?.kill();
  await Promise.all([fast?.close(), slow?.close()]);
  dir.remove();
});

describe("SIGKILL at each point of an add, then restart", () => {
  it("control: an order placed normally is submitted with its upstream id", async () => {
    if (server === undefined) throw new Error("no server");
    const answer = await apiCall(server.url, { key: apiKey, action: "add", service: 1, link: "L0", quantity: 1000 });
    expect(answer).toEqual({ status: 200, body: { order: 1 } });
    expect(orderByLink("L0")).toMatchObject({ submission: "submitted", upstream_order_id: "23501", charge: CHARGE });
    checkInvariants();
  });

  it("before the transaction (body still arriving): nothing charged, nothing sent", async () => {
    if (server === undefined) throw new Error("no server");
    const body = `key=${apiKey}&action=add&service=1&link=L1&quantity=1000`;
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((done) => socket.once("connect", () => done()));
    socket.on("error", () => undefined);
    socket.write(
      `POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${body.length + 10}\r\n\r\n${body}`,
    );
    // The server has the headers and most of the body; the rest never comes.
    await waitFor("the request to reach the server", () => socket.bytesWritten > body.length);
    const addsBefore = allAdds();
    await restart();
    socket.destroy();
    expect(orderByLink("L1")).toBeUndefined();
    expect(addsFor(fast, "L1")).toBe(0);
    expect(allAdds()).toBe(addsBefore);
    checkInvariants();
  });

  it("after the transaction, before the upstream call: failed and refunded at start, never sent", async () => {
    const pending = addInFlight(2, "L2");
    const queued = await waitFor("the order to wait in the queue", () => orderByLink("L2"));
    expect(queued).toMatchObject({ submission: "queued", submit_started_at: null, charge: CHARGE });
    const addsBefore = allAdds();
    await restart();
    await pending;
    expect(orderByLink("L2")).toMatchObject({
      submission: "failed",
      status: "Canceled",
      charge: CHARGE,
      refunded: CHARGE,
      upstream_order_id: null,
    });
    expect(addsFor(slow, "L2")).toBe(0);
    expect(allAdds()).toBe(addsBefore);
    checkInvariants();
  });

  it("during the upstream call: unknown at start, charge held, sent once, not resent", async () => {
    fast.injectFaults("add", 1, "hang");
    const pending = addInFlight(1, "L3");
    await waitFor("the simulator to receive the add", () => addsFor(fast, "L3") === 1);
    expect(orderByLink("L3")).toMatchObject({ submission: "queued" });
    expect(orderByLink("L3")?.submit_started_at).not.toBeNull();
    const addsBefore = allAdds();
    await restart();
    await pending;
    expect(orderByLink("L3")).toMatchObject({
      submission: "unknown",
      status: "Pending",
      charge: CHARGE,
      refunded: 0,
      upstream_order_id: null,
      flag: "upstream call was in flight during a restart",
    });
    expect(addsFor(fast, "L3")).toBe(1);
    expect(allAdds()).toBe(addsBefore);
    checkInvariants();
  });

  it("after the upstream answered, before the store recorded it: unknown at start, upstream has it once", async () => {
    await restart("after_upstream_answer");
    const crashed = server;
    if (crashed === undefined) throw new Error("no server");
    const answer = await addInFlight(1, "L4");
    expect(answer).toBeInstanceOf(Error);
    expect(await crashed.exited).toBe("SIGKILL");
    expect([...fast.orders.values()].filter((o) => o.params.link === "L4")).toHaveLength(1);
    expect(orderByLink("L4")).toMatchObject({ submission: "queued", upstream_order_id: null });
    const addsBefore = allAdds();
    await restart();
    expect(orderByLink("L4")).toMatchObject({ submission: "unknown", charge: CHARGE, refunded: 0 });
    expect(addsFor(fast, "L4")).toBe(1);
    expect(allAdds()).toBe(addsBefore);
    checkInvariants();
  });

  it("after every crash: balance = start − held charges, every order accounted for", () => {
    const store = readStore(dbPath);
    expect(store.orders.map((o) => [linkOf(o), o.submission])).toEqual([
      ["L0", "submitted"],
      ["L2", "failed"],
      ["L3", "unknown"],
      ["L4", "unknown"],
    ]);
    // L0 placed, L3 and L4 held for the operator, L2 refunded.
    expect(store.customers).toEqual([
      { id: 1, balance: START_BALANCE - 3 * CHARGE, ledger: START_BALANCE - 3 * CHARGE },
    ]);
    checkInvariants();
  });
});
