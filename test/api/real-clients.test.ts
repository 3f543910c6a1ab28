/**
 * What real clients send (issue #11, item 7), reproduced from published SMM API clients: drip-feed
 * fields sent empty or as `undefined`, several statuses asked with `order=1,2,3`, a server-wide
 * default for HTTP error codes, and the PerfectPanel answer style of `cancel`.
 */
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { setApiStyle } from "../../src/customers/index.js";
import { addCustomer } from "../helpers/context.js";
import { harness, json } from "./app-harness.js";

const ADD = { action: "add", link: "https://x.com/a", quantity: 100 };

describe("runs and interval meaning no drip-feed", () => {
  it.each([
    ["undefined", "undefined"],
    ["null", "null"],
    ["", ""],
    ["0", "0"],
  ])("runs=%s&interval=%s places a plain order and forwards neither", async (runs, interval) => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    // Service 5 has no drip-feed: a drip-feed request would be refused.
    const res = await post({ key: customer.apiKey, ...ADD, service: 5, runs, interval });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ order: 1 });
    expect(provider.calls.find((c) => c.method === "add")?.args[0]).toEqual({
      service: "105",
      link: "https://x.com/a",
      quantity: "100",
    });
  });

  it("real values still make a drip-feed order", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    const res = await post({ key: customer.apiKey, ...ADD, service: 1, runs: 2, interval: 30 });
    expect(await json(res)).toEqual({ order: 1 });
    expect(provider.calls.find((c) => c.method === "add")?.args[0]).toMatchObject({ runs: "2", interval: "30" });
  });
});

describe("status with order=1,2,3", () => {
  it("answers like orders=1,2,3", async () => {
    const { ctx, post } = harness();
    const customer = addCustomer(ctx, "10.00000");
    await post({ key: customer.apiKey, ...ADD, service: 1 });
    await post({ key: customer.apiKey, ...ADD, service: 1 });
    const asOrder = await post({ key: customer.apiKey, action: "status", order: "1,2,3" });
    const asOrders = await post({ key: customer.apiKey, action: "status", orders: "1,2,3" });
    expect(asOrder.status).toBe(200);
    const body = await json(asOrder);
    expect(body).toEqual(await json(asOrders));
    expect(body).toEqual({
      "1": { charge: "0.12500", start_count: "0", status: "Pending", remains: "100", currency: "USD" },
      "2": { charge: "0.12500", start_count: "0", status: "Pending", remains: "100", currency: "USD" },
      "3": { error: "Incorrect order ID" },
    });
  });
});

describe("HTTP_ERRORS", () => {
  function app(httpErrors: boolean) {
    const h = harness();
    const a = createApp(h.ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false, httpErrors });
    const post = (fields: Record<string, string>) =>
      a.request("/api/v2", { method: "POST", body: new URLSearchParams(fields) });
    return { ...h, post };
  }

  it("0: every error is HTTP 200 with the same body, an unknown key included", async () => {
    const { ctx, post } = app(false);
    const customer = addCustomer(ctx, "0.00000");
    const unknownKey = await post({ key: "nope", action: "balance" });
    expect(unknownKey.status).toBe(200);
    expect(await unknownKey.json()).toEqual({ error: "Invalid API key" });
    const poor = await post({
      key: customer.apiKey,
      action: "add",
      service: "1",
      link: "https://x.com/a",
      quantity: "100",
    });
    expect(poor.status).toBe(200);
    expect(await poor.json()).toEqual({ error: "Not enough funds on balance" });
  });

  it("a customer's own setting overrides the server's, both ways", async () => {
    const off = app(false);
    const strict = addCustomer(off.ctx, "0.00000", { httpErrors: true });
    expect((await off.post({ key: strict.apiKey, action: "status", order: "9" })).status).toBe(404);
    const on = app(true);
    const quiet = addCustomer(on.ctx, "0.00000", { httpErrors: false });
    const byDefault = addCustomer(on.ctx, "0.00000");
    expect((await on.post({ key: quiet.apiKey, action: "status", order: "9" })).status).toBe(200);
    expect((await on.post({ key: byDefault.apiKey, action: "status", order: "9" })).status).toBe(404);
    expect((await on.post({ key: "nope", action: "balance" })).status).toBe(401);
  });
});

describe("cancel answer styles", () => {
  it("perfectpanel: {order, cancel: 1} and {order, cancel: {error}}; panel keeps seed 003's shape", async () => {
    const { ctx, post } = harness();
    const customer = addCustomer(ctx, "10.00000");
    await post({ key: customer.apiKey, ...ADD, service: 1 });
    const panel = await post({ key: customer.apiKey, action: "cancel", orders: "1,9" });
    expect(await json(panel)).toEqual([
      { order: 1, cancel: { status: "success" } },
      { order: 9, error: "Incorrect order ID" },
    ]);
    setApiStyle(ctx.db, customer.id, "perfectpanel");
    const jap = await post({ key: customer.apiKey, action: "cancel", orders: "1,9" });
    expect(await json(jap)).toEqual([
      { order: 1, cancel: 1 },
      { order: 9, cancel: { error: "Incorrect order ID" } },
    ]);
  });
});
