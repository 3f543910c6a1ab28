/** Errors per dialect (JAP family: 200 + {"error"}; panel: seed 003's HTTP codes) and add validation. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Dialect } from "../../src/config/providers-file.js";
import { DIALECT_SPECS, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { call } from "./helpers.js";

const ADD = { action: "add", link: "https://instagram.com/x" };
const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(",");

/** [case, params, panel HTTP status, error message] */
const CASES: [string, Record<string, string>, number, string][] = [
  ["wrong key", { key: "nope", action: "balance" }, 401, "Invalid API key"],
  ["missing key", { key: "", action: "services" }, 401, "Invalid API key"],
  ["unknown action", { action: "explode" }, 400, "Incorrect request"],
  ["missing action", {}, 400, "Incorrect request"],
  ["unknown service", { ...ADD, service: "999", quantity: "100" }, 404, "Incorrect service ID"],
  ["missing service", { ...ADD, quantity: "100" }, 400, "Incorrect service ID"],
  ["quantity below min", { ...ADD, service: "1", quantity: "49" }, 400, "Quantity less than minimal 50"],
  ["quantity above max", { ...ADD, service: "1", quantity: "10001" }, 400, "Quantity more than maximal 10000"],
  ["missing link", { action: "add", service: "1", quantity: "100" }, 400, "Incorrect link"],
  ["missing quantity", { ...ADD, service: "1" }, 400, "Incorrect quantity"],
  ["not enough funds", { ...ADD, service: "18", quantity: "5000" }, 402, "Not enough funds on balance"],
  ["missing comments", { ...ADD, service: "2" }, 400, "Incorrect comments"],
  ["poll without answer", { ...ADD, service: "14", quantity: "100" }, 400, "Incorrect answer_number"],
  [
    "drip-feed on a service without it",
    { ...ADD, service: "3", quantity: "100", runs: "2", interval: "5" },
    400,
    "Drip-feed is not available for this service",
  ],
  [
    "drip-feed runs not a number",
    { ...ADD, service: "1", quantity: "100", runs: "x", interval: "5" },
    400,
    "Incorrect runs",
  ],
  ["status of an unknown order", { action: "status", order: "42" }, 404, "Incorrect order ID"],
  ["status without order", { action: "status" }, 400, "Incorrect order ID"],
  ["refill of an unknown order", { action: "refill", order: "42" }, 404, "Incorrect order ID"],
  ["refill status unknown", { action: "refill_status", refill: "42" }, 404, "Refill not found"],
  ["more than 100 ids", { action: "cancel", orders: ids(101) }, 400, "Too many IDs, up to 100 allowed"],
];

describe.each(["jap", "morethanpanel", "justprovider", "panel"] as const)("%s errors", (dialect: Dialect) => {
  const isPanel = dialect === "panel";
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dialect, apiKey: "k", progress: false, balance: "10" });
  });
  afterAll(async () => {
    await sim.close();
  });

  it.each(CASES)("%s", async (_name, params, panelStatus, message) => {
    const reply = await call(sim, params);
    expect(reply.status).toBe(isPanel ? panelStatus : 200);
    expect(reply.body).toEqual({ error: message });
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("Subscriptions cannot be added through the API (panel: HTTP 400)", async () => {
    const reply = await call(sim, { action: "add", service: "17", username: "me", min: "1", max: "2", delay: "0" });
    expect(reply.status).toBe(isPanel ? 400 : 200);
    expect(reply.body).toEqual({ error: "Subscriptions cannot be created through the API; order them on the website" });
    expect(sim.orders.size).toBe(0);
  });

  it("no order is created and no money taken by a refused add", () => {
    expect(sim.orders.size).toBe(0);
    expect(sim.balance).toBe("10.00000");
  });

  it("multi-status answers over 100 ids with an error", async () => {
    const reply = await call(sim, { action: DIALECT_SPECS[dialect].multiStatusAction, orders: ids(101) });
    expect(reply.status).toBe(isPanel ? 400 : 200);
    expect(reply.body).toEqual({ error: "Too many IDs, up to 100 allowed" });
  });
});

describe("add validation and charges (jap)", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dialect: "jap", apiKey: "k", progress: false, balance: "1000" });
  });
  afterEach(() => sim.setBalance("1000"));
  afterAll(async () => {
    await sim.close();
  });

  const add = async (params: Record<string, string>) => {
    const reply = await call(sim, { action: "add", link: "https://x.test/p", ...params });
    const id = (reply.body as { order?: number }).order;
    if (id === undefined) throw new Error(reply.text);
    return sim.orders.get(id);
  };

  it("charge = rate × quantity / 1000, rounded up to 5 decimals, debited from the balance", async () => {
    const order = await add({ service: "19", quantity: "1234" }); // rate 0.012
    expect(order).toMatchObject({ quantity: 1234, charge: "0.01481", status: "Pending", remains: "1234" });
    expect(sim.balance).toBe("999.98519");
  });

  it("custom comments: quantity is the number of non-empty lines", async () => {
    const comments = ["nice", "", "great\r", ...Array.from({ length: 9 }, (_, i) => `c${i}`)].join("\n");
    const order = await add({ service: "2", comments });
    expect(order).toMatchObject({ quantity: 11, charge: "0.08800", remains: "11" });
    expect(order?.params.comments).toBe(comments);
    expect(order?.params.key).toBeUndefined();
  });

  it("custom comments under the minimum are refused", async () => {
    const reply = await call(sim, { action: "add", service: "2", link: "l", comments: "a\nb" });
    expect(reply.body).toEqual({ error: "Quantity less than minimal 10" });
  });

  it("packages charge the rate once", async () => {
    expect(await add({ service: "4" })).toMatchObject({ quantity: 1, charge: "1.50000" });
  });

  it("drip-feed: quantity per run × runs", async () => {
    const order = await add({ service: "1", quantity: "100", runs: "3", interval: "10" });
    expect(order).toMatchObject({ quantity: 300, charge: "0.27000", remains: "300" });
  });

  it("every other type with its parameters is accepted", async () => {
    const lists = {
      usernames: "a\nb\nc",
      hashtags: "#x",
      hashtag: "x",
      username: "u",
      media: "m",
      keywords: "k",
      groups: "g",
    };
    for (const service of ["6", "7", "8", "9", "10", "11", "12", "13", "15", "16"]) {
      const order = await add({ service, quantity: "500", comments: "one", ...lists });
      expect(order?.service).toBe(Number(service));
    }
    expect(await add({ service: "14", quantity: "100", answer_number: "2" })).toMatchObject({ quantity: 100 });
  });

  it("refill and cancel refusals per order", async () => {
    const likes = await add({ service: "3", quantity: "100" }); // no refill, no cancel
    const followers = await add({ service: "1", quantity: "100" });
    if (likes === undefined || followers === undefined) throw new Error("orders missing");
    const refill = await call(sim, { action: "refill", orders: `${likes.id},${followers.id}` });
    expect(refill.body).toEqual([
      { order: likes.id, refill: { error: "Refill is not available for this service" } },
      { order: followers.id, refill: { error: "Order is not eligible for refill" } },
    ]);
    const single = await call(sim, { action: "refill", order: String(followers.id) });
    expect(single.body).toEqual({ error: "Order is not eligible for refill" });
    sim.setOrder(followers.id, { status: "Completed" });
    const cancel = await call(sim, { action: "cancel", orders: `${likes.id},${followers.id}` });
    expect(cancel.body).toEqual([
      { order: likes.id, cancel: { error: "Cancel is not available for this service" } },
      { order: followers.id, cancel: { error: "Order cannot be canceled in its current status" } },
    ]);
  });
});
