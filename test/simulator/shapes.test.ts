/** Every action's answer per dialect, against the seed shapes (000/002/004 JAP family, 003 panel). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dialect } from "../../src/config/providers-file.js";
import { SERVICE_TYPES } from "../../src/panel/service-types.js";
import { DIALECT_SPECS, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { addFollowers, call } from "./helpers.js";

const SEED_ORDER = { charge: "0.27819", start_count: "3572", status: "Partial", remains: "157", currency: "USD" };
const SEED_ORDER_2 = { charge: "1.44219", start_count: "234", status: "In progress", remains: "10", currency: "USD" };

describe.each(["jap", "morethanpanel", "justprovider", "panel"] as const)("%s answers", (dialect: Dialect) => {
  const isPanel = dialect === "panel";
  const first = DIALECT_SPECS[dialect].firstOrderId;
  const firstRefill = DIALECT_SPECS[dialect].firstRefillId;
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ dialect, apiKey: `key-${dialect}`, progress: false, cancelDelayMs: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("services: the seed's entry shape and raw types, every service type offered", async () => {
    const reply = await call(sim, { action: "services" });
    expect(reply.status).toBe(200);
    const list = reply.body as Record<string, unknown>[];
    const seedLike = isPanel
      ? [
          {
            service: "1",
            name: "Followers",
            type: "Default",
            rate: "0.90",
            min: "50",
            max: "10000",
            category: "Instagram Followers",
          },
          {
            service: "2",
            name: "Comments",
            type: "Custom Comments",
            rate: "8",
            min: "10",
            max: "1500",
            category: "Instagram Comments",
          },
        ]
      : [
          {
            service: 1,
            name: "Followers",
            type: "Default",
            category: "Instagram Followers",
            rate: "0.90",
            min: "50",
            max: "10000",
            refill: true,
            cancel: true,
            dripfeed: true,
          },
          {
            service: 2,
            name: "Comments",
            type: "Custom Comments",
            category: "Instagram Comments",
            rate: "8",
            min: "10",
            max: "1500",
            refill: false,
            cancel: true,
            dripfeed: false,
          },
        ];
    expect(list.slice(0, 2)).toEqual(seedLike);
    expect(new Set(list.map((s) => s.type))).toEqual(new Set(SERVICE_TYPES));
    for (const s of list) expect(typeof s.service).toBe(isPanel ? "string" : "number");
    if (!isPanel) {
      expect(list.some((s) => s.refill === true)).toBe(true);
      expect(list.some((s) => s.cancel === false)).toBe(true);
    }
  });

  it("add answers {order: N} as a number from the dialect's offset", async () => {
    const reply = await call(sim, { action: "add", service: "1", link: "https://instagram.com/a", quantity: "100" });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ order: first });
    expect(reply.text).toBe(`{"order":${first}}`);
    expect(await addFollowers(sim)).toBe(first + 1);
  });

  it("status of one order: the seed's strings", async () => {
    sim.setOrder(first, { charge: "0.27819", start_count: 3572, status: "Partial", remains: 157 });
    const reply = await call(sim, { action: "status", order: String(first) });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(SEED_ORDER);
  });

  it("multi-status: keyed by id, unknown ids as per-item errors, through the dialect's action", async () => {
    sim.setOrder(first + 1, { charge: "1.44219", start_count: "234", status: "In progress", remains: "10" });
    const ids = `${first},999,${first + 1}`;
    const reply = await call(sim, isPanel ? { action: "multiStatus", orders: ids } : { action: "status", orders: ids });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      [String(first)]: SEED_ORDER,
      "999": { error: "Incorrect order ID" },
      [String(first + 1)]: SEED_ORDER_2,
    });
    // The other dialect's spelling is refused.
    const other = await call(sim, isPanel ? { action: "status", orders: ids } : { action: "multiStatus", orders: ids });
    expect(other.status).toBe(isPanel ? 400 : 200);
    expect(other.body).toEqual(isPanel ? { error: "Incorrect order ID" } : { error: "Incorrect request" });
  });

  it('refill one order: {refill: "id"} as a string', async () => {
    sim.setOrder(first, { status: "Completed", remains: 0 });
    const reply = await call(sim, { action: "refill", order: String(first) });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ refill: String(firstRefill) });
    expect(sim.refills.get(firstRefill)).toMatchObject({ order: first, status: "Pending" });
  });

  it("refill many orders: numbers, per-order errors", async () => {
    sim.setOrder(first + 1, { status: "Partial", remains: 10 });
    const reply = await call(sim, { action: "refill", orders: `${first + 1},999` });
    expect(reply.body).toEqual([
      { order: first + 1, refill: firstRefill + 1 },
      { order: 999, refill: { error: "Incorrect order ID" } },
    ]);
  });

  it("refill status, one and many", async () => {
    sim.setRefill(firstRefill + 1, { status: "Rejected" });
    const one = await call(sim, { action: "refill_status", refill: String(firstRefill) });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ status: "Pending" });
    const many = await call(sim, { action: "refill_status", refills: `${firstRefill},${firstRefill + 1},3` });
    expect(many.body).toEqual([
      { refill: firstRefill, status: "Pending" },
      { refill: firstRefill + 1, status: "Rejected" },
      { refill: 3, status: { error: "Refill not found" } },
    ]);
  });

  it("cancel: the dialect's item forms; the order turns Canceled and is refunded", async () => {
    const before = sim.balance;
    const id = await addFollowers(sim, 1000); // 0.90 per 1000
    expect(sim.balance).toBe((Number(before) - 0.9).toFixed(5));
    const reply = await call(sim, { action: "cancel", orders: `9,${id}` });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(
      isPanel
        ? [
            { order: 9, error: "Incorrect order ID" },
            { order: id, cancel: { status: "success" } },
          ]
        : [
            { order: 9, cancel: { error: "Incorrect order ID" } },
            { order: id, cancel: 1 },
          ],
    );
    expect(sim.orders.get(id)).toMatchObject({ status: "Canceled", remains: "1000", charge: "0.00000" });
    expect(sim.balance).toBe(before);
  });

  it("balance: strings", async () => {
    sim.setBalance("100.84292");
    const reply = await call(sim, { action: "balance" });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ balance: "100.84292", currency: "USD" });
  });

  it("also answers on /api/v2/", async () => {
    const reply = await call(sim, { action: "balance" }, { path: "/api/v2/" });
    expect(reply.body).toEqual({ balance: "100.84292", currency: "USD" });
  });
});
