/**
 * `orders reroute` and the customer's `Idempotency-Key`: a failed order's key is released so the
 * customer's retry can place the order; rerouting the failed order after such a retry would
 * charge the customer twice for one intent, and rerouting it without a retry must bind the key
 * to it again, so a later retry replays it instead of placing another order.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { idempotencyKeys, orders } from "../../src/db/schema.js";
import { claimIdempotencyKey, hashRequest, IDEMPOTENCY_TTL_MS, STALE_CLAIM_MS } from "../../src/orders/idempotency.js";
import { rerouteOrder } from "../../src/orders/reroute.js";
import { applyCatalogue } from "../../src/sync/catalogue.js";
import { addCustomer, balanceOf, makeContext, postApi, TWO_ROUTE_SERVICE, testConfig } from "../helpers/context.js";
import { FakeProvider, upstreamService } from "../helpers/fake-provider.js";

const START = 1_000_000;
/** Service 10: 1000 at 1.00 per 1000 + 30 % → charged 1.30000. */
const CHARGE = 130_000;
const FIELDS = { action: "add", service: "10", link: "https://ig.com/a", quantity: "1000" };
const refused = { kind: "rejected", failure: { message: "no", upstreamError: "no" } } as const;

/** Service 10 routed p1/101 then p2/201, a customer with 10.00000, and `add` over the real app. */
function setup() {
  const p1 = new FakeProvider("p1");
  const p2 = new FakeProvider("p2");
  const config = testConfig({
    currency: "USD",
    markup: { percent: 30 },
    providers: ["p1", "p2"].map((id) => ({ id, dialect: "panel", url: `https://${id}.example/api/v2`, key: "k" })),
    services: [TWO_ROUTE_SERVICE],
  });
  const ctx = makeContext(config, [p1, p2]);
  applyCatalogue(ctx, "p1", [upstreamService({ service: "101", rate: "1.00" })]);
  applyCatalogue(ctx, "p2", [upstreamService({ service: "201", rate: "1.00" })]);
  const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
  const customer = addCustomer(ctx, "10.00000");
  const add = (idempotencyKey?: string) =>
    postApi(
      app,
      { key: customer.apiKey, ...FIELDS },
      idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey },
    );
  const row = (id: number) => ctx.db.select().from(orders).where(eq(orders.id, id)).get();
  const adds = () => p1.calls.length + p2.calls.length;
  const balance = () => balanceOf(ctx, customer.id);
  /** Both routes refuse the next `add`: the order fails, refunded, answered 502. */
  const refuseNextAdd = () => {
    p1.will("add", refused);
    p2.will("add", refused);
  };
  return { ctx, app, p1, p2, customer, add, row, adds, balance, refuseNextAdd };
}

describe("orders reroute of a failed order placed with an Idempotency-Key", () => {
  it("refuses it once the customer's retry with the key placed another order: nothing charged, the message names it", async () => {
    const h = setup();
    h.refuseNextAdd();
    expect(await h.add("intent-1")).toEqual({ status: 502, body: { error: "Upstream provider error" } });
    expect(h.row(1)).toMatchObject({ submission: "failed", refunded: CHARGE, idempotencyKey: "intent-1" });
    expect(await h.add("intent-1")).toEqual({ status: 200, body: { order: 2 } });
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
    const sent = h.adds();

    await expect(rerouteOrder(h.ctx, 1, { route: 1 })).rejects.toMatchObject({
      name: "RerouteError",
      reason: "key_claimed",
      message:
        "order 1 is not placed again: its Idempotency-Key placed order 2 since (the customer's retry); rerouting it would charge customer 1 twice",
    });
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
    expect(h.adds()).toBe(sent);
    expect(h.row(1)).toMatchObject({ submission: "failed", status: "Canceled", refunded: CHARGE, providerId: "p2" });
    // The key still answers with the order the retry placed.
    expect(await h.add("intent-1")).toEqual({ status: 200, body: { order: 2 } });
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
  });

  it("refuses it while the customer's retry with the key is still being placed", async () => {
    const h = setup();
    h.refuseNextAdd();
    expect((await h.add("intent-1")).status).toBe(502);
    // A retry claimed the key and has not charged its order yet.
    expect(claimIdempotencyKey(h.ctx, h.customer.id, "intent-1", hashRequest(FIELDS))).toEqual({ kind: "claimed" });

    await expect(rerouteOrder(h.ctx, 1, { route: 1 })).rejects.toMatchObject({
      reason: "key_claimed",
      message:
        "order 1 is not placed again: its Idempotency-Key is claimed by another request of customer 1 still being processed; look again once it is answered",
    });
    expect(h.balance()).toEqual({ balance: START, ledger: START });
    expect(h.row(1)).toMatchObject({ submission: "failed", refunded: CHARGE });
  });

  it("is not blocked by a claim its process left behind: the key is free again for the reroute and for the customer", async () => {
    const h = setup();
    let now = Date.UTC(2026, 11, 1, 12);
    h.ctx.now = () => now;
    h.refuseNextAdd();
    expect((await h.add("intent-1")).status).toBe(502);
    // A retry claimed the key, then its process stopped before charging: nothing was placed.
    expect(claimIdempotencyKey(h.ctx, h.customer.id, "intent-1", hashRequest(FIELDS))).toEqual({ kind: "claimed" });
    expect(await h.add("intent-1")).toEqual({
      status: 409,
      body: { error: "A request with this Idempotency-Key is still being processed" },
    });
    now += STALE_CLAIM_MS;

    const r = await rerouteOrder(h.ctx, 1, { route: 1 });
    expect(r.error).toBeUndefined();
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
    expect(await h.add("intent-1")).toEqual({ status: 200, body: { order: 1 } });
    expect(h.ctx.db.select().from(orders).all()).toHaveLength(1);
  });

  it("places it when no retry came, and a later retry with the key replays it with no new charge", async () => {
    const h = setup();
    h.refuseNextAdd();
    expect((await h.add("intent-1")).status).toBe(502);
    expect(h.balance()).toEqual({ balance: START, ledger: START });

    const rerouted = await rerouteOrder(h.ctx, 1, { route: 1 });
    expect(rerouted.error).toBeUndefined();
    expect(rerouted.chargedNow).toBe(CHARGE);
    expect(h.row(1)).toMatchObject({ submission: "submitted", providerId: "p2", refunded: 0 });
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
    const sent = h.adds();

    expect(await h.add("intent-1")).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds()).toBe(sent);
    expect(h.ctx.db.select().from(orders).all()).toHaveLength(1);
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
  });

  it("past the key's 24 h, still refuses it after a retry with the key placed another order", async () => {
    const h = setup();
    let now = Date.UTC(2026, 11, 1, 12);
    h.ctx.now = () => now;
    h.refuseNextAdd();
    expect((await h.add("intent-1")).status).toBe(502);
    expect(await h.add("intent-1")).toEqual({ status: 200, body: { order: 2 } });
    now += IDEMPOTENCY_TTL_MS + 60_000;

    await expect(rerouteOrder(h.ctx, 1, { route: 1 })).rejects.toMatchObject({
      reason: "key_claimed",
      message: expect.stringContaining("its Idempotency-Key placed order 2 since"),
    });
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
    expect(h.row(1)).toMatchObject({ submission: "failed", refunded: CHARGE });
  });

  it("past the key's 24 h with no retry, places it and the key replays it for 24 h from the reroute", async () => {
    const h = setup();
    let now = Date.UTC(2026, 11, 1, 12);
    h.ctx.now = () => now;
    h.refuseNextAdd();
    expect((await h.add("intent-1")).status).toBe(502);
    now += 2 * IDEMPOTENCY_TTL_MS;

    expect((await rerouteOrder(h.ctx, 1, { route: 1 })).error).toBeUndefined();
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
    expect(h.ctx.db.select().from(idempotencyKeys).all()).toMatchObject([
      { customerId: h.customer.id, key: "intent-1", orderId: 1, createdAt: now },
    ]);
    now += IDEMPOTENCY_TTL_MS - 60_000;
    const sent = h.adds();
    expect(await h.add("intent-1")).toEqual({ status: 200, body: { order: 1 } });
    expect(h.adds()).toBe(sent);
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
  });

  it("past the key's 24 h, a reuse of the key for another request does not block it, and the key stays with that order", async () => {
    const h = setup();
    let now = Date.UTC(2026, 11, 1, 12);
    h.ctx.now = () => now;
    h.refuseNextAdd();
    expect((await h.add("intent-1")).status).toBe(502);
    now += IDEMPOTENCY_TTL_MS + 60_000;
    const other = { key: h.customer.apiKey, ...FIELDS, link: "https://ig.com/another-post" };
    expect(await postApi(h.app, other, { "Idempotency-Key": "intent-1" })).toEqual({ status: 200, body: { order: 2 } });

    const r = await rerouteOrder(h.ctx, 1, { route: 1 });
    expect(r.error).toBeUndefined();
    expect(h.row(1)).toMatchObject({ submission: "submitted", refunded: 0 });
    expect(h.balance()).toEqual({ balance: START - 2 * CHARGE, ledger: START - 2 * CHARGE });
    // The key still answers for order 2's request, and refuses order 1's: no third order.
    expect(await postApi(h.app, other, { "Idempotency-Key": "intent-1" })).toEqual({ status: 200, body: { order: 2 } });
    expect((await h.add("intent-1")).status).toBe(400);
    expect(h.ctx.db.select().from(orders).all()).toHaveLength(2);
  });

  it("refuses a failed order from before orders remembered their key until the operator checked (--key-checked)", async () => {
    const h = setup();
    h.refuseNextAdd();
    expect((await h.add()).status).toBe(502);
    // As migration 0011 leaves a failed order whose key row was already released.
    h.ctx.db.update(orders).set({ idempotencyKeyUnknown: true }).where(eq(orders.id, 1)).run();

    await expect(rerouteOrder(h.ctx, 1, { route: 1 })).rejects.toMatchObject({
      reason: "key_claimed",
      message:
        "order 1 is not placed again: it failed before orders remembered their Idempotency-Key, so a retry of it may have placed another order; check customer 1's orders since, then run orders reroute 1 again with --key-checked",
    });
    expect(h.balance()).toEqual({ balance: START, ledger: START });
    const r = await rerouteOrder(h.ctx, 1, { route: 1 }, { keyChecked: true });
    expect(r.error).toBeUndefined();
    expect(h.balance()).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
  });

  it("an order placed without a key reroutes as before, charged once", async () => {
    const h = setup();
    h.refuseNextAdd();
    expect((await h.add()).status).toBe(502);
    expect(h.row(1)).toMatchObject({ submission: "failed", idempotencyKey: null });
    expect(await h.add("intent-1")).toEqual({ status: 200, body: { order: 2 } });

    const rerouted = await rerouteOrder(h.ctx, 1, { route: 1 });
    expect(rerouted.error).toBeUndefined();
    expect(rerouted.chargedNow).toBe(CHARGE);
    expect(h.row(1)).toMatchObject({ submission: "submitted", providerId: "p2", refunded: 0 });
    expect(h.balance()).toEqual({ balance: START - 2 * CHARGE, ledger: START - 2 * CHARGE });
    expect(h.ctx.db.select().from(idempotencyKeys).all()).toMatchObject([{ key: "intent-1", orderId: 2 }]);
  });
});
