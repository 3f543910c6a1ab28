/**
 * `add` after the charge (review findings): an unexpected error never leaves a charged order
 * `queued` nor answers 500, and a reused upstream order id never settles two orders.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orders } from "../../src/db/schema.js";
import { harness, json } from "../api/app-harness.js";
import { addCustomer, balanceOf } from "../helpers/context.js";

const ADD = { action: "add", service: 1, link: "https://instagram.com/x", quantity: 1000 };

/** An error as better-sqlite3 raises it for a busy store. */
function busyError(): Error {
  return Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
}

function orderRow(h: ReturnType<typeof harness>, id: number) {
  return h.ctx.db.select().from(orders).where(eq(orders.id, id)).get();
}

/** Makes every store write of `column` on `orders` fail from now on (a trigger, as a failing disk would). */
function failWritesOf(h: ReturnType<typeof harness>, column: string): void {
  h.ctx.db.$client.exec(
    `CREATE TRIGGER fail_${column} BEFORE UPDATE OF ${column} ON orders BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`,
  );
}

describe("add: an error after the charge", () => {
  it("refunds and answers 502 when the onSend write fails (nothing was sent)", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    failWritesOf(h, "submit_started_at");
    const res = await h.post({ key: customer.apiKey, ...ADD });
    expect(res.status).toBe(502);
    expect(await json(res)).toEqual({ error: "Upstream provider error" });
    expect(balanceOf(h.ctx, customer.id)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
    expect(orderRow(h, 1)).toMatchObject({
      submission: "failed",
      status: "Canceled",
      charge: 125_000,
      refunded: 125_000,
      remains: 1000,
      submitStartedAt: null,
      lastError: "not placed: disk I/O error",
      flag: null,
    });
  });

  it("refunds and answers 503 with Retry-After 1 when the store is busy before the request leaves", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    h.provider.willThrow("add", busyError(), { beforeSend: true });
    const res = await h.post({ key: customer.apiKey, ...ADD });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await json(res)).toEqual({ error: "Provider is busy, try again later" });
    expect(balanceOf(h.ctx, customer.id)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
    expect(orderRow(h, 1)).toMatchObject({ submission: "failed", status: "Canceled", refunded: 125_000 });
  });

  it("holds the order as unknown with its upstream id when recording an ok answer fails", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    failWritesOf(h, "upstream_order_id");
    const res = await h.post({ key: customer.apiKey, ...ADD });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ order: 1 });
    expect(balanceOf(h.ctx, customer.id)).toEqual({ balance: 875_000, ledger: 875_000 });
    const order = orderRow(h, 1);
    expect(order).toMatchObject({
      submission: "unknown",
      status: "Pending",
      upstreamOrderId: null,
      refunded: 0,
      flag: "placement failed after the upstream call started",
      lastError: "upstream order id 900001 not recorded: disk I/O error",
    });
    expect(order?.submitStartedAt).toBeTypeOf("number");
    const status = await h.post({ key: customer.apiKey, action: "status", order: 1 });
    expect(await json(status)).toEqual({
      charge: "1.25000",
      start_count: "0",
      status: "Pending",
      remains: "1000",
      currency: "USD",
    });
  });

  it("holds the order as unknown when the client fails after the request left", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    h.provider.willThrow("add", new TypeError("cannot read the answer"));
    const res = await h.post({ key: customer.apiKey, ...ADD });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ order: 1 });
    expect(balanceOf(h.ctx, customer.id)).toEqual({ balance: 875_000, ledger: 875_000 });
    expect(orderRow(h, 1)).toMatchObject({
      submission: "unknown",
      flag: "placement failed after the upstream call started",
      lastError: "error after the upstream call started: cannot read the answer",
    });
    expect(h.provider.calls.filter((c) => c.method === "add")).toHaveLength(1);
  });

  it("still refunds a rejected order when its first refund write fails, once the store answers", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    h.provider.will("add", {
      kind: "rejected",
      failure: { message: "Incorrect link", upstreamError: "Incorrect link" },
    });
    // The first write of `refunded` fails; the retry in the error path succeeds.
    let writes = 0;
    h.ctx.db.$client.function("first_write", () => (++writes === 1 ? 1 : 0));
    h.ctx.db.$client.exec(
      "CREATE TRIGGER fail_once BEFORE UPDATE OF refunded ON orders WHEN first_write() = 1 BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    );
    const res = await h.post({ key: customer.apiKey, ...ADD });
    expect(res.status).toBe(502);
    expect(await json(res)).toEqual({ error: "Upstream provider error" });
    expect(balanceOf(h.ctx, customer.id)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
    expect(orderRow(h, 1)).toMatchObject({
      submission: "failed",
      refunded: 125_000,
      flag: null,
      lastError: "Incorrect link",
    });
    expect(writes).toBe(2);
  });

  it("answers the held order id, never 500, when even settling the error fails (restart recovery settles it)", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    h.provider.willThrow("add", new TypeError("cannot read the answer"));
    h.ctx.db.$client.exec(
      "CREATE TRIGGER fail_all BEFORE UPDATE ON orders WHEN NEW.submission <> 'queued' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    );
    const res = await h.post({ key: customer.apiKey, ...ADD });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ order: 1 });
    expect(orderRow(h, 1)).toMatchObject({ submission: "queued", refunded: 0 });
    expect(balanceOf(h.ctx, customer.id)).toEqual({ balance: 875_000, ledger: 875_000 });
  });
});

describe("add: an upstream order id already used", () => {
  it("holds the second order for the operator, charge kept, and answers its id with 200", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "10.00000");
    expect(await json(await h.post({ key: customer.apiKey, ...ADD }))).toEqual({ order: 1 });
    h.provider.will("add", { kind: "ok", value: { order: "900001" } });
    const res = await h.post({ key: customer.apiKey, ...ADD, quantity: 100 });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ order: 2 });
    expect(balanceOf(h.ctx, customer.id)).toEqual({ balance: 862_500, ledger: 862_500 });
    expect(orderRow(h, 1)).toMatchObject({ submission: "submitted", upstreamOrderId: "900001", flag: null });
    expect(orderRow(h, 2)).toMatchObject({
      submission: "unknown",
      upstreamOrderId: null,
      charge: 12_500,
      refunded: 0,
      flag: "upstream returned an order id already used",
      lastError: "upstream order id 900001 is already recorded on another order",
    });
  });
});
