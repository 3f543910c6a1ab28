import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orders } from "../../src/db/schema.js";
import { addCustomer, balanceOf } from "../helpers/context.js";
import { harness, json } from "./app-harness.js";

const failure = { message: "test failure" };

describe("add", () => {
  it("charges rate × quantity / 1000, places the order upstream and answers the local id", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    const res = await post({
      key: customer.apiKey,
      action: "add",
      service: 1,
      link: "https://instagram.com/x",
      quantity: 1000,
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ order: 1 });
    // upstream rate 1.00 + 25% → 1.25 per 1000; 1000 units → 1.25000
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 875_000, ledger: 875_000 });
    expect(provider.calls.filter((c) => c.method === "add").map((c) => c.args[0])).toEqual([
      { service: "101", link: "https://instagram.com/x", quantity: "1000" },
    ]);
    const order = ctx.db.select().from(orders).where(eq(orders.id, 1)).get();
    expect(order).toMatchObject({
      submission: "submitted",
      upstreamOrderId: "900001",
      status: "Pending",
      charge: 125_000,
    });
    expect(order?.submitStartedAt).toBeTypeOf("number");
  });

  it("rounds a charge up to 5 decimals", async () => {
    const { ctx, post } = harness();
    const customer = addCustomer(ctx, "1.00000");
    // rate 1.25 per 1000, quantity 13 → 0.01625 exactly; service 5: 1.00 + 0.10 = 1.10, 17 units → 0.0187
    expect(
      (await post({ key: customer.apiKey, action: "add", service: 5, link: "user_name", quantity: 17 })).status,
    ).toBe(200);
    expect(balanceOf(ctx, customer.id).balance).toBe(100_000 - 1_870);
    expect(
      (await post({ key: customer.apiKey, action: "add", service: 1, link: "https://t.me/x", quantity: 13 })).status,
    ).toBe(200);
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 100_000 - 1_870 - 1_625, ledger: 100_000 - 1_870 - 1_625 });
  });

  it("refunds in full and answers 502 when the upstream rejects the order", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "5.00000");
    provider.will("add", { kind: "rejected", failure: { ...failure, upstreamError: "Incorrect link" } });
    const res = await post({ key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 });
    expect(res.status).toBe(502);
    expect(await json(res)).toEqual({ error: "Upstream provider error" });
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 500_000, ledger: 500_000 });
    expect(ctx.db.select().from(orders).get()).toMatchObject({
      submission: "failed",
      refunded: 12_500,
      charge: 12_500,
    });
    const status = await post({ key: customer.apiKey, action: "status", order: 1 });
    expect(status.status).toBe(404);
  });

  it("holds the charge and answers 200 with the order id, like an accepted order, when the upstream answer is ambiguous", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "5.00000");
    provider.will("add", { kind: "ambiguous", failure: { message: "socket hang up" } });
    const res = await post({ key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ order: 1 });
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 487_500, ledger: 487_500 });
    expect(provider.calls.filter((c) => c.method === "add")).toHaveLength(1);
    const status = await post({ key: customer.apiKey, action: "status", order: 1 });
    expect(await json(status)).toEqual({
      charge: "0.12500",
      start_count: "0",
      status: "Pending",
      remains: "100",
      currency: "USD",
    });
    expect(ctx.db.select().from(orders).get()?.submission).toBe("unknown");
  });

  it("answers 503 with Retry-After and refunds when the provider's queue refuses the call", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "5.00000");
    provider.will("add", { kind: "not_sent", reason: "queue_full", failure, retryAfterMs: 2500 });
    const res = await post({ key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await json(res)).toEqual({ error: "Provider is busy, try again later" });
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 500_000, ledger: 500_000 });
  });

  it("answers 502 and refunds when the upstream could not be reached", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "5.00000");
    provider.will("add", { kind: "not_sent", reason: "connect_failed", failure });
    const res = await post({ key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 });
    expect(res.status).toBe(502);
    expect(balanceOf(ctx, customer.id).balance).toBe(500_000);
  });

  it("answers 402 and places nothing when the balance is short", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "0.12499");
    const res = await post({ key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 });
    expect(res.status).toBe(402);
    expect(await json(res)).toEqual({ error: "Not enough funds on balance" });
    expect(provider.calls).toHaveLength(0);
    expect(ctx.db.select().from(orders).all()).toHaveLength(0);
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 12_499, ledger: 12_499 });
  });

  it.each([
    [{ service: 1, link: "https://x.com/a", quantity: 9 }, 400, "Quantity less than minimal 10"],
    [{ service: 1, link: "https://x.com/a", quantity: 10001 }, 400, "Quantity more than maximal 10000"],
    [{ service: 1, quantity: 100 }, 400, "Incorrect link"],
    [{ service: 1, link: "not a link", quantity: 100 }, 400, "Incorrect link"],
    [{ service: 1, link: "https://x.com/a", quantity: "1.5" }, 400, "Incorrect quantity"],
    [{ service: 1, link: "https://x.com/a", quantity: -5 }, 400, "Incorrect quantity"],
    [{ service: 99, link: "https://x.com/a", quantity: 100 }, 404, "Incorrect service ID"],
    [{ service: "abc", link: "https://x.com/a", quantity: 100 }, 404, "Incorrect service ID"],
    [
      { service: 4, username: "chan", min: 1, max: 2, delay: 5 },
      400,
      "Subscription orders must be created from the customer site; API creation is not supported",
    ],
    [
      { service: 5, link: "https://x.com/a", quantity: 100, runs: 2, interval: 5 },
      400,
      "Drip-feed is not available for this service",
    ],
    [{ service: 6, link: "https://x.com/a", quantity: 100 }, 400, "Missing parameter: answer_number"],
  ])("refuses %j with %i %s", async (fields, code, message) => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "100.00000");
    const res = await post({ key: customer.apiKey, action: "add", ...fields });
    expect(res.status).toBe(code);
    expect(await json(res)).toEqual({ error: message });
    expect(provider.calls).toHaveLength(0);
    expect(balanceOf(ctx, customer.id).balance).toBe(10_000_000);
  });

  it("charges quantity × runs for a drip-feed order and forwards runs and interval", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    const res = await post({
      key: customer.apiKey,
      action: "add",
      service: 1,
      link: "https://x.com/a",
      quantity: 100,
      runs: 5,
      interval: 30,
    });
    expect(res.status).toBe(200);
    expect(balanceOf(ctx, customer.id).balance).toBe(1_000_000 - 62_500);
    expect(provider.calls[0]?.args[0]).toEqual({
      service: "101",
      link: "https://x.com/a",
      quantity: "100",
      runs: "5",
      interval: "30",
    });
  });

  it("charges one package at its rate, and counts custom comments by non-empty lines", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    expect((await post({ key: customer.apiKey, action: "add", service: 2, link: "https://x.com/a" })).status).toBe(200);
    // package rate 2.00 + 25% = 2.50 per package
    expect(balanceOf(ctx, customer.id).balance).toBe(1_000_000 - 250_000);
    const res = await post({
      key: customer.apiKey,
      action: "add",
      service: 3,
      link: "https://x.com/a",
      comments: "nice\r\n\r\ngreat\n wow \n",
    });
    expect(res.status).toBe(200);
    // 3 comments at 8 × 1.25 = 10.00 per 1000 → 0.03
    expect(balanceOf(ctx, customer.id).balance).toBe(1_000_000 - 250_000 - 3_000);
    expect(provider.calls[1]?.args[0]).toEqual({
      service: "103",
      link: "https://x.com/a",
      comments: "nice\ngreat\nwow",
    });
  });

  it("refuses to sell below cost (margin protection) with 502", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    const { services, serviceRoutes } = await import("../../src/db/schema.js");
    ctx.db.update(services).set({ cost: "1.25" }).where(eq(services.id, 1)).run();
    ctx.db.update(serviceRoutes).set({ cost: "1.25" }).where(eq(serviceRoutes.serviceId, 1)).run();
    const res = await post({ key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 });
    expect(res.status).toBe(502);
    expect(await json(res)).toEqual({ error: "Service is temporarily unavailable" });
    expect(provider.calls).toHaveLength(0);
    expect(balanceOf(ctx, customer.id).balance).toBe(1_000_000);
  });

  it("replays the first answer for a repeated Idempotency-Key and refuses it with other parameters", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    const fields = { key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 };
    const first = await post(fields, { "Idempotency-Key": "k-1" });
    const second = await post(fields, { "Idempotency-Key": "k-1" });
    expect(await json(first)).toEqual({ order: 1 });
    expect(second.status).toBe(200);
    expect(await json(second)).toEqual({ order: 1 });
    expect(provider.calls).toHaveLength(1);
    expect(balanceOf(ctx, customer.id).balance).toBe(1_000_000 - 12_500);
    const other = await post({ ...fields, quantity: 200 }, { "Idempotency-Key": "k-1" });
    expect(other.status).toBe(400);
    expect(await json(other)).toEqual({ error: "Idempotency-Key was already used with different parameters" });
  });

  it("releases the Idempotency-Key when nothing was placed, so the retry places the order", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    const fields = { key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 };
    provider.will("add", { kind: "not_sent", reason: "queue_full", failure, retryAfterMs: 1000 });
    const busy = await post(fields, { "Idempotency-Key": "k-2" });
    expect(busy.status).toBe(503);
    const retry = await post(fields, { "Idempotency-Key": "k-2" });
    expect(retry.status).toBe(200);
    expect(await json(retry)).toEqual({ order: 2 });
    expect(provider.calls.filter((c) => c.method === "add")).toHaveLength(2);
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 1_000_000 - 12_500, ledger: 1_000_000 - 12_500 });
  });

  it("replays a held (ambiguous) answer for the same Idempotency-Key instead of placing again", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    const fields = { key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 };
    provider.will("add", { kind: "ambiguous", failure: { message: "reset" } });
    const first = await post(fields, { "Idempotency-Key": "k-3" });
    const second = await post(fields, { "Idempotency-Key": "k-3" });
    expect(first.status).toBe(200);
    expect(await json(first)).toEqual({ order: 1 });
    expect(second.status).toBe(200);
    expect(await json(second)).toEqual({ order: 1 });
    expect(provider.calls.filter((c) => c.method === "add")).toHaveLength(1);
    expect(balanceOf(ctx, customer.id).balance).toBe(1_000_000 - 12_500);
  });

  it("places exactly as many orders as the balance covers under 50 concurrent adds", async () => {
    const { ctx, post } = harness();
    // each order: 100 × 1.25 / 1000 = 0.125; 7 orders = 0.875
    const customer = addCustomer(ctx, "0.87500");
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        post({ key: customer.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 }),
      ),
    );
    const codes = answers.map((a) => a.status);
    expect(codes.filter((c) => c === 200)).toHaveLength(7);
    expect(codes.filter((c) => c === 402)).toHaveLength(43);
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 0, ledger: 0 });
    expect(ctx.db.select().from(orders).all()).toHaveLength(7);
  });
});
