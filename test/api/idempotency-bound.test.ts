/**
 * Idempotency-Key never lets a second order through (issue #11, item 4): the key is bound to
 * the order in the transaction of its charge, so a failure afterwards (here: the write of the
 * stored answer fails once, as a trigger makes it) never frees the key for a second order.
 */
import { describe, expect, it } from "vitest";
import { orders } from "../../src/db/schema.js";
import { claimIdempotencyKey, hashRequest, STALE_CLAIM_MS } from "../../src/orders/idempotency.js";
import { addCustomer, balanceOf } from "../helpers/context.js";
import { harness, json } from "./app-harness.js";

const FIELDS = { action: "add", service: 1, link: "https://x.com/a", quantity: 100 };
const stringFields = { action: "add", service: "1", link: "https://x.com/a", quantity: "100" };

describe("Idempotency-Key bound to its order", () => {
  it("a failed answer write after a successful placement: 200 with the order, and the retry replays it", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    ctx.db.$client.exec(
      `CREATE TRIGGER fail_answer BEFORE UPDATE OF status_code ON idempotency_keys WHEN NEW.status_code IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`,
    );
    const first = await post({ key: customer.apiKey, ...FIELDS }, { "Idempotency-Key": "k-1" });
    ctx.db.$client.exec("DROP TRIGGER fail_answer");
    expect(first.status).toBe(200);
    expect(await json(first)).toEqual({ order: 1 });
    const retry = await post({ key: customer.apiKey, ...FIELDS }, { "Idempotency-Key": "k-1" });
    expect(retry.status).toBe(200);
    expect(await json(retry)).toEqual({ order: 1 });
    expect(provider.calls.filter((c) => c.method === "add")).toHaveLength(1);
    expect(ctx.db.select().from(orders).all()).toHaveLength(1);
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 1_000_000 - 12_500, ledger: 1_000_000 - 12_500 });
  });

  it("a retry while the first request is still placing answers 409, never a second order", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const add = provider.add.bind(provider);
    provider.add = async (request, options) => {
      await gate;
      return add(request, options);
    };
    const first = post({ key: customer.apiKey, ...FIELDS }, { "Idempotency-Key": "k-2" });
    // The first request has charged its order and waits for the upstream.
    while (ctx.db.select().from(orders).all().length === 0) await new Promise((resolve) => setImmediate(resolve));
    const retry = await post({ key: customer.apiKey, ...FIELDS }, { "Idempotency-Key": "k-2" });
    expect(retry.status).toBe(409);
    release();
    expect(await json(await first)).toEqual({ order: 1 });
    expect(ctx.db.select().from(orders).all()).toHaveLength(1);
  });

  it("a key whose order was refused (refunded) is free again", async () => {
    const { ctx, post, provider } = harness();
    const customer = addCustomer(ctx, "10.00000");
    provider.will("add", { kind: "rejected", failure: { message: "no" } });
    const first = await post({ key: customer.apiKey, ...FIELDS }, { "Idempotency-Key": "k-3" });
    expect(first.status).toBe(502);
    const retry = await post({ key: customer.apiKey, ...FIELDS }, { "Idempotency-Key": "k-3" });
    expect(await json(retry)).toEqual({ order: 2 });
    expect(balanceOf(ctx, customer.id).balance).toBe(1_000_000 - 12_500);
  });
});

describe("Idempotency-Key claim left behind", () => {
  it("answers 409 while it may still be placing, then frees the key once a claim without an order is stale", async () => {
    const { ctx, post, provider } = harness();
    let now = Date.UTC(2026, 11, 1, 12);
    ctx.now = () => now;
    const customer = addCustomer(ctx, "10.00000");
    // A process claimed the key, then stopped before charging the order: no order, no answer.
    expect(
      claimIdempotencyKey(ctx, customer.id, "k-9", hashRequest({ key: customer.apiKey, ...stringFields })),
    ).toEqual({ kind: "claimed" });
    const early = await post({ key: customer.apiKey, ...FIELDS }, { "Idempotency-Key": "k-9" });
    expect(early.status).toBe(409);
    now += STALE_CLAIM_MS;
    const retry = await post({ key: customer.apiKey, ...FIELDS }, { "Idempotency-Key": "k-9" });
    expect(retry.status).toBe(200);
    expect(await json(retry)).toEqual({ order: 1 });
    expect(provider.calls.filter((c) => c.method === "add")).toHaveLength(1);
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 1_000_000 - 12_500, ledger: 1_000_000 - 12_500 });
  });
});
