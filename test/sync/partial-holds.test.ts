/**
 * Partial answers sync must not settle automatically: a Partial on a package order (stored
 * quantity 1, upstream remains in units of an unknown package size) is kept Partial, refunds
 * nothing and is flagged for the operator; a Partial without `remains` keeps the order as it
 * was, flagged, and is asked again until remains arrive. Real loopback HTTP to the simulator.
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAmount } from "../../src/billing/money.js";
import { orders, services } from "../../src/db/schema.js";
import type { Simulator } from "../../src/simulator/index.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { isPackageOrder } from "../../src/sync/packages.js";
import { balanceOf } from "../helpers/context.js";
import {
  customerWith,
  orderRow,
  outboxOf,
  placeSubmitted,
  type SyncHarness,
  startHarness,
  statusCalls,
} from "./harness.js";

const HOOK = "https://hooks.example.com/orders";

let h: SyncHarness;
let sim: Simulator;

beforeEach(async () => {
  h = await startHarness([{ id: "p", dialect: "jap" }], { flagAfterMisses: 3 });
  sim = h.sims.p as Simulator;
});
afterEach(async () => {
  await h.close();
});

/** A local service row of `type` with id `id`. */
function addService(id: number, type: string): void {
  const now = Date.now();
  h.ctx.db
    .insert(services)
    .values({
      id,
      providerId: "p",
      upstreamService: String(id),
      name: `${type} service`,
      type,
      category: "Test",
      rate: parseAmount("2.50000"),
      cost: "2",
      min: 1,
      max: 1000,
      refill: false,
      cancel: false,
      dripfeed: false,
      enabled: true,
      createdAt: now,
      updatedAt: now,
    })
    .run();
}

/** A submitted order of `serviceId` with quantity `quantity` and upstream id `upstream`. */
function place(customerId: number, serviceId: number, quantity: number, upstream: number, charge: string): number {
  const id = placeSubmitted(h.ctx, { customerId, providerId: "p", upstreamOrderId: upstream, quantity, charge });
  h.ctx.db.update(orders).set({ serviceId, status: "In progress", remains: quantity }).where(eq(orders.id, id)).run();
  return id;
}

describe("isPackageOrder", () => {
  it("is true for quantity 1 of a package type, an unknown type or a missing service; else false", () => {
    expect(isPackageOrder(1, "Package")).toBe(true);
    expect(isPackageOrder(1, "Custom Comments Package")).toBe(true);
    expect(isPackageOrder(1, "Some New Type")).toBe(true);
    expect(isPackageOrder(1, null)).toBe(true);
    expect(isPackageOrder(1, "Default")).toBe(false);
    expect(isPackageOrder(1, "Custom Comments")).toBe(false);
    expect(isPackageOrder(2, "Package")).toBe(false);
    expect(isPackageOrder(1000, null)).toBe(false);
  });
});

describe("Partial on a package order", () => {
  it("stays Partial with remains 1, refunds nothing and is flagged for a manual refund", async () => {
    const customer = customerWith(h.ctx, "10.00000", HOOK);
    addService(7, "Package");
    addService(8, "Custom Comments Package");
    addService(9, "Default");
    const pkg = place(customer, 7, 1, 23501, "2.50000");
    const comments = place(customer, 8, 1, 23502, "1.00000");
    const orphan = place(customer, 99, 1, 23503, "0.50000"); // no services row
    const single = place(customer, 9, 1, 23504, "0.10000"); // a unit-counted order of 1
    for (const upstream of [23501, 23502, 23503, 23504]) {
      sim.setOrder(upstream, { status: "Partial", remains: 300, start_count: 40, charge: "1.00000" });
    }
    sim.setOrder(23503, { remains: 0 });
    sim.setOrder(23504, { remains: 1 });
    // Charged 2.5 + 1 + 0.5 + 0.1 = 4.1 of 10.
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 590_000, ledger: 590_000 });

    const result = await runStatusSyncTick(h.ctx);
    expect(result).toEqual({
      providers: 1,
      upstreamCalls: 1,
      synced: 4,
      refunded: { count: 1, total: 10_000 },
      errors: 0,
      flagged: 3,
      failedBatches: 0,
      webhooks: 4,
      heldReasked: 0,
      heldLinked: 0,
      heldRefunded: 0,
    });
    expect(orderRow(h.ctx, pkg)).toMatchObject({
      status: "Partial",
      remains: 1,
      startCount: 40,
      refunded: 0,
      flag: "Partial on a package (upstream remains 300): refund by hand",
    });
    expect(orderRow(h.ctx, comments)).toMatchObject({
      status: "Partial",
      remains: 1,
      refunded: 0,
      flag: "Partial on a package (upstream remains 300): refund by hand",
    });
    expect(orderRow(h.ctx, orphan)).toMatchObject({
      status: "Partial",
      remains: 0,
      refunded: 0,
      flag: "Partial on a package (upstream remains 0): refund by hand",
    });
    // The quantity-1 order of a Default service keeps the pro-rata refund: 0.1 × 1/1.
    expect(orderRow(h.ctx, single)).toMatchObject({ status: "Partial", remains: 1, refunded: 10_000, flag: null });
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 600_000, ledger: 600_000 });
    expect(outboxOf(h.ctx, pkg)).toEqual([
      `{"order_id":${pkg},"status":"Partial","remains":1,"start_count":40,"charge":2.5}`,
    ]);
    expect(outboxOf(h.ctx, single)).toEqual([
      `{"order_id":${single},"status":"Partial","remains":1,"start_count":40,"charge":0}`,
    ]);

    // Final: never asked again, never refunded by a later tick.
    sim.clearLog();
    expect(await runStatusSyncTick(h.ctx)).toMatchObject({ upstreamCalls: 0, refunded: { count: 0, total: 0 } });
    expect(statusCalls(sim)).toEqual([]);
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 600_000, ledger: 600_000 });
  });

  it("keeps an operator's flag and appends the package note", async () => {
    const customer = customerWith(h.ctx, "10.00000");
    addService(7, "Package");
    const pkg = place(customer, 7, 1, 23501, "2.50000");
    h.ctx.db.update(orders).set({ flag: "watch this one" }).where(eq(orders.id, pkg)).run();
    sim.setOrder(23501, { status: "Partial", remains: 12 });
    await runStatusSyncTick(h.ctx);
    expect(orderRow(h.ctx, pkg)).toMatchObject({
      status: "Partial",
      refunded: 0,
      flag: "watch this one; Partial on a package (upstream remains 12): refund by hand",
    });
  });

  it("refunds a Canceled package in full as before", async () => {
    const customer = customerWith(h.ctx, "10.00000");
    addService(7, "Package");
    const pkg = place(customer, 7, 1, 23501, "2.50000");
    sim.setOrder(23501, { status: "Canceled", remains: 1 });
    await runStatusSyncTick(h.ctx);
    expect(orderRow(h.ctx, pkg)).toMatchObject({ status: "Canceled", remains: 1, refunded: 250_000, flag: null });
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
  });
});

describe("Partial without remains", () => {
  it("keeps the order as it was, flags it, asks again, and settles once remains arrive", async () => {
    const customer = customerWith(h.ctx, "10.00000", HOOK);
    const id = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "p",
      upstreamOrderId: 23501,
      charge: "1.23457",
    });
    sim.setOrder(23501, { status: "In progress", remains: 600, start_count: 5, charge: "1.00000" });
    await runStatusSyncTick(h.ctx);
    expect(outboxOf(h.ctx, id)).toHaveLength(1);

    sim.setOrder(23501, { status: "Partial", remains: "" });
    for (const flagged of [1, 0]) {
      sim.clearLog();
      const result = await runStatusSyncTick(h.ctx);
      expect(result).toMatchObject({
        upstreamCalls: 1,
        synced: 0,
        errors: 0,
        flagged,
        refunded: { count: 0, total: 0 },
      });
      expect(statusCalls(sim)).toEqual([["23501"]]);
      expect(orderRow(h.ctx, id)).toMatchObject({
        status: "In progress",
        remains: 600,
        startCount: 5,
        refunded: 0,
        missCount: 0,
        lastError: "upstream answered Partial without remains",
        flag: "Partial without remains: status kept, asked again next cycle",
      });
    }
    expect(outboxOf(h.ctx, id)).toHaveLength(1);
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 876_543, ledger: 876_543 });

    sim.setOrder(23501, { status: "Partial", remains: 250 });
    const result = await runStatusSyncTick(h.ctx);
    // 1.23457 × 250 / 1000 = 0.3086425 → 0.30864
    expect(result).toMatchObject({ synced: 1, flagged: 0, refunded: { count: 1, total: 30_864 } });
    expect(orderRow(h.ctx, id)).toMatchObject({
      status: "Partial",
      remains: 250,
      refunded: 30_864,
      lastError: null,
      flag: null,
    });
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 907_407, ledger: 907_407 });
    expect(outboxOf(h.ctx, id)[1]).toBe(
      `{"order_id":${id},"status":"Partial","remains":250,"start_count":5,"charge":0.92593}`,
    );
  });
});
