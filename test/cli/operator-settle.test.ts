/**
 * `orders settle` (the operator's final word on any open order), `orders resolve` checking the
 * upstream first, `orders resolve --refund` ending `failed`, and `orders list --link` (issue #15).
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../../src/db/client.js";
import { customers, ledgerEntries, orders, webhookDeliveries } from "../../src/db/schema.js";
import { placeOrder } from "../../src/orders/place-order.js";
import { addCustomerCli, type OperatorFixture, operatorFixture } from "./operator-fixture.js";

let fx: OperatorFixture;
let alice: number;

async function place(customerId: number, fields: Record<string, string>): Promise<number> {
  return fx.withApp(async (ctx) => {
    try {
      return (await placeOrder(ctx, { customerId, fields })).order;
    } catch (error) {
      const held = (error as { extra?: { order?: number } }).extra?.order;
      if (held !== undefined) return held;
      throw error;
    }
  });
}

function store<T>(fn: (db: ReturnType<typeof openDb>) => T): T {
  const db = openDb(fx.env.DATABASE_PATH ?? "");
  try {
    return fn(db);
  } finally {
    db.$client.close();
  }
}

function money(customerId: number): { balance: number; ledger: number } {
  return store((db) => ({
    balance: db.select().from(customers).where(eq(customers.id, customerId)).get()?.balance ?? Number.NaN,
    ledger:
      db
        .select({ total: sql<number>`coalesce(sum(${ledgerEntries.amount}), 0)` })
        .from(ledgerEntries)
        .where(eq(ledgerEntries.customerId, customerId))
        .get()?.total ?? Number.NaN,
  }));
}

const webhooksOf = (orderId: number) =>
  store((db) =>
    db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.orderId, orderId))
      .all()
      .map((d) => d.payload),
  );

const order = (id: number) => store((db) => db.select().from(orders).where(eq(orders.id, id)).get());

beforeAll(async () => {
  fx = await operatorFixture("smm-cli-settle-");
  await fx.json(["sync", "prices"]);
  alice = await addCustomerCli(fx, "10", "alice");
  await fx.json(["customers", "set-webhook", String(alice), "http://127.0.0.1:9/hook"], { WEBHOOK_ALLOW_PRIVATE: "1" });
});
afterAll(() => fx.close());

describe("orders settle", () => {
  it("cancels an order lost upstream: full refund once, webhook, flag cleared, out of sync", async () => {
    // 1000 × 1.125 → 1.12500; its upstream id then points at nothing the panel knows.
    const id = await place(alice, { service: "1", link: "https://instagram.com/lost", quantity: "1000" });
    store((db) => db.update(orders).set({ upstreamOrderId: "99999" }).where(eq(orders.id, id)).run());
    for (let i = 0; i < 5; i++) await fx.json(["sync", "status"]);
    expect(order(id)?.flag).toMatch(/^not found upstream: 5 consecutive status syncs/);
    expect(money(alice)).toEqual({ balance: 887_500, ledger: 887_500 });

    const settled = await fx.json(["orders", "settle", String(id), "--status", "Canceled"]);
    expect(settled).toMatchObject({
      id,
      status: "Canceled",
      submission: "submitted",
      remains: 1000,
      charge: "1.12500",
      refunded: "1.12500",
      flag: null,
      refundedNow: "1.12500",
      balance: "10.00000",
    });
    expect(money(alice)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
    expect(webhooksOf(id).at(-1)).toBe(
      `{"order_id":${id},"status":"Canceled","remains":1000,"start_count":0,"charge":0}`,
    );
    // Its sync stopped: no open order is left to ask about.
    expect(await fx.json(["sync", "status"])).toMatchObject({ upstreamCalls: 0, synced: 0, errors: 0 });
    const again = await fx.run(["orders", "settle", String(id), "--status", "Canceled"]);
    expect(again).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: order ${id} is already final (Canceled, submitted): nothing to settle\n`,
    });
    expect(money(alice)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
  });

  it("settles Partial with the pro-rata refund rounded down, as sync would", async () => {
    // 333 × 1.125 = 0.374625 → charge 0.37463 (rounded up at placement); 100 undelivered.
    const id = await place(alice, { service: "1", link: "https://instagram.com/partial", quantity: "333" });
    const charge = order(id)?.charge ?? 0;
    const text = await fx.run(["orders", "settle", String(id), "--status", "Partial", "--remains", "100"]);
    // charge × 100 / 333, rounded down
    const refund = Math.floor((charge * 100) / 333);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^order ${id}: Partial \\(remains 100\\), refunded 0\\.\\d{5}; customer`));
    expect(order(id)).toMatchObject({ status: "Partial", remains: 100, refunded: refund });
    expect(money(alice).balance).toBe(1_000_000 - charge + refund);
    expect(money(alice).ledger).toBe(money(alice).balance);
    expect(webhooksOf(id).at(-1)).toContain('"status":"Partial","remains":100');
  });

  it("settles a held unknown order: Completed keeps the charge, Canceled refunds it; both stay visible", async () => {
    fx.jap.injectFaults("add", 2, "drop_answer");
    const done = await place(alice, { service: "1", link: "https://instagram.com/u1", quantity: "100" });
    const gone = await place(alice, { service: "1", link: "https://instagram.com/u2", quantity: "100" });
    expect(order(done)?.submission).toBe("unknown");
    const before = money(alice).balance;
    expect(await fx.json(["orders", "settle", String(done), "--status", "Completed"])).toMatchObject({
      status: "Completed",
      submission: "submitted",
      remains: 0,
      refundedNow: "0.00000",
    });
    expect(await fx.json(["orders", "settle", String(gone), "--status", "Canceled"])).toMatchObject({
      status: "Canceled",
      submission: "submitted",
      refundedNow: "0.11250",
    });
    expect(money(alice)).toEqual({ balance: before + 11_250, ledger: before + 11_250 });
  });

  it.each([
    [["--status", "Partial"], 1, "Partial needs --remains N (units not delivered)"],
    [["--status", "Partial", "--remains", "1001"], 1, "--remains must be 0..1000 (the order's quantity), got 1001"],
    [["--status", "Completed", "--remains", "0"], 1, "--remains is only for Partial (Completed implies it)"],
    [["--status", "Done"], 2, "option '--status <status>' argument 'Done' is invalid"],
  ])("refuses %j with one line and changes nothing", async (args, code, message) => {
    const id = await place(alice, { service: "1", link: "https://instagram.com/r", quantity: "1000" });
    const before = money(alice);
    const result = await fx.run(["orders", "settle", String(id), ...args]);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe("");
    expect(result.stderr.startsWith(`error: ${message}`)).toBe(true);
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(order(id)).toMatchObject({ status: "Pending", refunded: 0 });
    expect(money(alice)).toEqual(before);
  });

  it("refuses an order that does not exist", async () => {
    expect(await fx.run(["orders", "settle", "999", "--status", "Completed"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: order 999 not found\n",
    });
  });
});

describe("orders resolve", () => {
  it("checks the id's form and asks the upstream before linking", async () => {
    fx.jap.injectFaults("add", 1, "drop_answer");
    const id = await place(alice, { service: "1", link: "https://instagram.com/resolve", quantity: "100" });
    const upstreamId = String([...fx.jap.orders.keys()].at(-1));
    expect(await fx.run(["orders", "resolve", String(id), "--upstream-order", "abc"])).toEqual({
      code: 1,
      stdout: "",
      stderr: 'error: invalid upstream order id "abc": jap order ids are a positive integer such as 23501\n',
    });
    const unknown = await fx.run(["orders", "resolve", String(id), "--upstream-order", "88888"]);
    expect(unknown).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: jap does not know order 88888 (upstream error: Incorrect order ID); nothing changed\n",
    });
    expect(order(id)).toMatchObject({ submission: "unknown", upstreamOrderId: null });
    const linked = await fx.json(["orders", "resolve", String(id), "--upstream-order", upstreamId]);
    expect(linked).toMatchObject({ submission: "submitted", upstreamOrderId: upstreamId, action: "linked" });
  });

  it("--refund cancels and refunds the held order, which stays visible to its customer as Canceled", async () => {
    fx.jap.injectFaults("add", 1, "drop_answer");
    const id = await place(alice, { service: "1", link: "https://instagram.com/refund", quantity: "100" });
    const before = money(alice).balance;
    const resolved = await fx.json(["orders", "resolve", String(id), "--refund"]);
    expect(resolved).toMatchObject({ submission: "submitted", status: "Canceled", refundedNow: "0.11250" });
    expect(money(alice)).toEqual({ balance: before + 11_250, ledger: before + 11_250 });
    expect(webhooksOf(id).at(-1)).toBe(
      `{"order_id":${id},"status":"Canceled","remains":100,"start_count":0,"charge":0}`,
    );
  });
});

describe("orders list --link", () => {
  it("finds orders whose link contains the text, case-insensitively", async () => {
    const rows = await fx.json<Array<{ id: number }>>(["orders", "list", "--link", "INSTAGRAM.com/PARTIAL"]);
    expect(rows).toHaveLength(1);
    const all = await fx.json<Array<{ id: number }>>(["orders", "list", "--link", "instagram.com/u"]);
    expect(all.map((o) => o.id)).toHaveLength(2);
    expect(await fx.json(["orders", "list", "--link", "nothing-like-this"])).toEqual([]);
  });
});
