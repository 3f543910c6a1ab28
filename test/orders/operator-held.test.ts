/**
 * The operator's held orders (issue #13 Held orders, Overview counts): every `unknown` order and
 * every `queued` order stuck by the rule `orders resolve` uses (`isStuckQueued`), oldest first.
 */
import { describe, expect, it } from "vitest";
import { type NewOrder, orders } from "../../src/db/schema.js";
import { attentionCounts, listHeldOrders } from "../../src/orders/operator-orders.js";
import { isStuckQueued, longestPlacementMs } from "../../src/orders/recover.js";
import { addCustomer, makeContext, testConfig } from "../helpers/context.js";

const NOW = Date.UTC(2026, 11, 2, 12);

function context() {
  const config = testConfig({
    providers: [{ id: "p1", dialect: "jap", url: "http://127.0.0.1:9/api/v2", key: "k", timeoutMs: 10_000 }],
  });
  const ctx = makeContext(config, []);
  ctx.now = () => NOW;
  return ctx;
}

function order(
  customerId: number,
  submission: NewOrder["submission"],
  at: number,
  flag: string | null = null,
): NewOrder {
  return {
    customerId,
    serviceId: 1,
    providerId: "p1",
    upstreamService: "1",
    params: "{}",
    quantity: 100,
    rate: 100_000,
    exchangeRate: "1",
    charge: 10_000,
    status: "Pending",
    submission,
    flag,
    createdAt: at,
    updatedAt: at,
  };
}

describe("held orders", () => {
  it("lists unknown orders and queued orders past the longest placement, oldest first, and counts them", () => {
    const ctx = context();
    const { id: customer } = addCustomer(ctx, "1.00000", { name: "Ann" });
    const longest = longestPlacementMs(ctx, "p1");
    const rows = ctx.db
      .insert(orders)
      .values([
        order(customer, "unknown", NOW - 1000, "upstream did not confirm the order"),
        order(customer, "queued", NOW - longest - 1),
        order(customer, "queued", NOW - longest + 1000),
        order(customer, "submitted", NOW - 5000, "status not understood"),
        order(customer, "failed", NOW - 5000),
      ])
      .returning({ id: orders.id })
      .all()
      .map((r) => r.id);
    const isStuck = (o: { providerId: string; createdAt: number; updatedAt: number }) => isStuckQueued(ctx, o);

    const held = listHeldOrders(ctx.db, { isStuck });
    expect(held.map((h) => [h.order.id, h.reason, h.customerName])).toEqual([
      [rows[0], "unknown", "Ann"],
      [rows[1], "queued", "Ann"],
    ]);
    expect(attentionCounts(ctx.db, { isStuck })).toEqual({ held: 2, flagged: 2 });
  });
});
