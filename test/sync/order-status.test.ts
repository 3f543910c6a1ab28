/**
 * Order status sync over real loopback HTTP against the simulator, for every dialect:
 * every status spelling, exact refunds and balances, unknown spellings, misses and flags,
 * idempotence, refunds capped at the charge, call counts, failed batches, webhook outbox.
 */
import { count, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Dialect } from "../../src/config/providers-file.js";
import { ledgerEntries, orders, webhookDeliveries } from "../../src/db/schema.js";
import type { Simulator } from "../../src/simulator/index.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
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

const DIALECTS: Dialect[] = ["jap", "morethanpanel", "justprovider", "panel"];
const HOOK = "https://hooks.example.com/orders";

function refundRows(h: SyncHarness, orderId: number): number[] {
  return h.ctx.db
    .select({ amount: ledgerEntries.amount })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.orderId, orderId))
    .all()
    .map((r) => r.amount)
    .filter((a) => a > 0);
}

describe.each(DIALECTS)("status sync against a %s panel", (dialect) => {
  let h: SyncHarness;
  let sim: Simulator;

  beforeEach(async () => {
    h = await startHarness([{ id: "p", dialect }], { flagAfterMisses: 3 });
    sim = h.sims.p as Simulator;
  });
  afterEach(async () => {
    await h.close();
  });

  it("maps every spelling, refunds exactly once, keeps unknown spellings raw and counts misses", async () => {
    const customer = customerWith(h.ctx, "100.00000", HOOK);
    // [upstream spelling, canonical status, remains upstream]
    const cases: Array<[string, string, number]> = [
      ["Pending", "Pending", 1000],
      ["In progress", "In progress", 400],
      ["Processing", "Processing", 1000],
      ["Completed", "Completed", 0],
      ["Done", "Completed", 0],
      ["Partial", "Partial", 157],
      ["Canceled", "Canceled", 1000],
      ["Cancelled", "Canceled", 1000],
      ["Refunded", "Canceled", 1000],
      ["Fail", "Failed", 1000],
      ["Error", "Failed", 1000],
      ["Failed", "Failed", 1000],
      ["On hold", "Pending", 1000],
    ];
    const ids = cases.map(([spelling, , remains], i) => {
      const upstream = 90_001 + i;
      sim.setOrder(upstream, {
        status: spelling,
        remains,
        start_count: spelling === "Pending" ? 0 : 3572,
        charge: "0.27819",
      });
      return placeSubmitted(h.ctx, {
        customerId: customer,
        providerId: "p",
        upstreamOrderId: upstream,
        charge: "1.23457",
      });
    });
    const missing = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "p",
      upstreamOrderId: 99_999,
      charge: "1.23457",
    });
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 8_271_602, ledger: 8_271_602 });

    const first = await runStatusSyncTick(h.ctx);
    expect(first).toEqual({
      providers: 1,
      upstreamCalls: 1,
      synced: 12,
      refunded: { count: 7, total: 760_124 },
      errors: 1,
      flagged: 1,
      failedBatches: 0,
      webhooks: 11,
      heldReasked: 0,
      heldLinked: 0,
      heldRefunded: 0,
    });
    cases.forEach(([spelling, canonical, remains], i) => {
      const row = orderRow(h.ctx, ids[i] as number);
      expect([spelling, row.status]).toEqual([spelling, canonical]);
      if (spelling === "On hold") {
        expect(row).toMatchObject({ rawStatus: "On hold", flag: 'unknown upstream status "On hold"', remains: null });
        expect(row.startCount).toBeNull();
      } else {
        expect(row).toMatchObject({ rawStatus: null, flag: null, remains, cost: 27_819, missCount: 0 });
      }
    });
    // Partial: 1.23457 × 157 / 1000 = 0.19382749 → 0.19382; Canceled/Failed: the whole 1.23457.
    expect(orderRow(h.ctx, ids[5] as number).refunded).toBe(19_382);
    for (const i of [6, 7, 8, 9, 10, 11]) expect(orderRow(h.ctx, ids[i] as number).refunded).toBe(123_457);
    for (const i of [0, 1, 2, 3, 4, 12]) expect(orderRow(h.ctx, ids[i] as number).refunded).toBe(0);
    expect(orderRow(h.ctx, missing)).toMatchObject({
      status: "Pending",
      missCount: 1,
      lastError: "Incorrect order ID",
      flag: null,
    });
    // 100 − 14 × 1.23457 + 0.19382 + 6 × 1.23457 = 90.31726
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 9_031_726, ledger: 9_031_726 });
    expect(outboxOf(h.ctx, ids[0] as number)).toEqual([]);
    expect(outboxOf(h.ctx, ids[5] as number)).toEqual([
      `{"order_id":${ids[5]},"status":"Partial","remains":157,"start_count":3572,"charge":1.04075}`,
    ]);
    expect(outboxOf(h.ctx, ids[8] as number)).toEqual([
      `{"order_id":${ids[8]},"status":"Canceled","remains":1000,"start_count":3572,"charge":0}`,
    ]);
    expect(outboxOf(h.ctx, ids[1] as number)).toEqual([
      `{"order_id":${ids[1]},"status":"In progress","remains":400,"start_count":3572,"charge":1.23457}`,
    ]);

    // Twice more: nothing refunded again, the unknown spelling is not flagged again, the missing
    // order reaches 3 misses and is flagged (never refunded).
    const second = await runStatusSyncTick(h.ctx);
    expect(second).toMatchObject({
      upstreamCalls: 1,
      synced: 3,
      refunded: { count: 0, total: 0 },
      errors: 1,
      flagged: 0,
    });
    const third = await runStatusSyncTick(h.ctx);
    expect(third).toMatchObject({
      upstreamCalls: 1,
      synced: 3,
      refunded: { count: 0, total: 0 },
      errors: 1,
      flagged: 1,
    });
    expect(orderRow(h.ctx, missing)).toMatchObject({
      status: "Pending",
      missCount: 3,
      refunded: 0,
      flag: "not found upstream: 3 consecutive status syncs without the order",
    });
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 9_031_726, ledger: 9_031_726 });
    for (const id of ids) expect(refundRows(h, id).length).toBeLessThanOrEqual(1);
    const outbox = h.ctx.db.select({ n: count() }).from(webhookDeliveries).get();
    expect(outbox?.n).toBe(11);
    // Every multi-status call went out in the dialect's own form.
    expect(statusCalls(sim).length).toBe(3);
  });

  it("follows Pending → In progress → Completed with one outbox row per visible change", async () => {
    const customer = customerWith(h.ctx, "10.00000", HOOK);
    sim.setOrder(1487, { status: "Pending", charge: "4.50000", quantity: 1000 });
    const id = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "p",
      upstreamOrderId: 1487,
      charge: "4.50000",
    });
    await runStatusSyncTick(h.ctx);
    expect(orderRow(h.ctx, id).status).toBe("Pending");
    sim.setOrder(1487, { status: "In progress", start_count: 8421, remains: 600 });
    await runStatusSyncTick(h.ctx);
    sim.setOrder(1487, { status: "Completed", remains: 0 });
    await runStatusSyncTick(h.ctx);
    await runStatusSyncTick(h.ctx);
    expect(orderRow(h.ctx, id)).toMatchObject({ status: "Completed", startCount: 8421, remains: 0, refunded: 0 });
    expect(outboxOf(h.ctx, id)).toEqual([
      `{"order_id":${id},"status":"In progress","remains":600,"start_count":8421,"charge":4.5}`,
      `{"order_id":${id},"status":"Completed","remains":0,"start_count":8421,"charge":4.5}`,
    ]);
    const row = h.ctx.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.orderId, id)).get();
    expect(row).toMatchObject({ customerId: customer, url: HOOK, state: "pending", attempts: 0 });
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 550_000, ledger: 550_000 });
    // Only the first tick asked for it while open; once Completed it is no longer asked.
    expect(statusCalls(sim)).toEqual([["1487"], ["1487"], ["1487"]]);
  });

  it("asks 250 open orders in exactly 3 calls per cycle, each order once", async () => {
    const customer = customerWith(h.ctx, "1000.00000");
    const upstream: string[] = [];
    for (let i = 0; i < 250; i++) {
      sim.setOrder(200_000 + i, { status: "In progress", remains: 10 });
      placeSubmitted(h.ctx, { customerId: customer, providerId: "p", upstreamOrderId: 200_000 + i, charge: "0.01000" });
      upstream.push(String(200_000 + i));
    }
    for (let cycle = 1; cycle <= 2; cycle++) {
      sim.clearLog();
      const result = await runStatusSyncTick(h.ctx);
      expect(result).toMatchObject({ upstreamCalls: 3, synced: 250, failedBatches: 0 });
      const calls = statusCalls(sim);
      expect(sim.log.length).toBe(3);
      expect(calls.map((c) => c.length).sort((a, b) => a - b)).toEqual([50, 100, 100]);
      expect(calls.flat().sort()).toEqual([...upstream].sort());
    }
  });

  it("changes nothing but synced_at when a batch fails, and applies it next cycle", async () => {
    const customer = customerWith(h.ctx, "10.00000", HOOK);
    sim.setOrder(5001, { status: "Canceled", charge: "0.00000" });
    sim.setOrder(5002, { status: "Partial", remains: 500 });
    const a = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "p",
      upstreamOrderId: 5001,
      charge: "2.00000",
    });
    const b = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "p",
      upstreamOrderId: 5002,
      charge: "2.00000",
    });
    const before = [orderRow(h.ctx, a), orderRow(h.ctx, b)];
    sim.injectFaults(dialect === "panel" ? "multiStatus" : "status", 1, "http500_html");
    const failed = await runStatusSyncTick(h.ctx);
    expect(failed).toMatchObject({ upstreamCalls: 1, synced: 0, errors: 0, failedBatches: 1, refunded: { count: 0 } });
    // Nothing changed but synced_at (rotation: asked after the others next tick).
    const after = [orderRow(h.ctx, a), orderRow(h.ctx, b)];
    expect(after.map((o) => ({ ...o, syncedAt: null }))).toEqual(before.map((o) => ({ ...o, syncedAt: null })));
    for (const o of after) expect(o.syncedAt).toBeTypeOf("number");
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 600_000, ledger: 600_000 });
    expect(outboxOf(h.ctx, a)).toEqual([]);

    const retried = await runStatusSyncTick(h.ctx);
    expect(retried).toMatchObject({
      upstreamCalls: 1,
      synced: 2,
      failedBatches: 0,
      refunded: { count: 2, total: 300_000 },
    });
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 900_000, ledger: 900_000 });
  });
});

describe("refund totals and ordering", () => {
  let h: SyncHarness;
  let sim: Simulator;

  beforeEach(async () => {
    h = await startHarness([{ id: "jap", dialect: "jap", currency: "EUR" }], { exchangeRates: { EUR: "1.08" } });
    sim = h.sims.jap as Simulator;
  });
  afterEach(async () => {
    await h.close();
  });

  it("never refunds more than the charge: Partial, then Canceled after a manual resync", async () => {
    const customer = customerWith(h.ctx, "5.00000");
    sim.setOrder(23501, { status: "Partial", remains: 1, quantity: 3 });
    const id = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "jap",
      upstreamOrderId: 23501,
      quantity: 3,
      charge: "1.00001",
    });
    await runStatusSyncTick(h.ctx);
    // 1.00001 × 1 / 3 = 0.33333667 → 0.33333
    expect(orderRow(h.ctx, id)).toMatchObject({ status: "Partial", refunded: 33_333 });
    for (let i = 0; i < 3; i++) await runStatusSyncTick(h.ctx);
    expect(refundRows(h, id)).toEqual([33_333]);

    // The operator reopens it; upstream now says Canceled: only the rest of the charge comes back.
    h.ctx.db.update(orders).set({ status: "In progress" }).where(eq(orders.id, id)).run();
    sim.setOrder(23501, { status: "Canceled", remains: 3 });
    await runStatusSyncTick(h.ctx);
    expect(orderRow(h.ctx, id)).toMatchObject({ status: "Canceled", refunded: 100_001 });
    expect(refundRows(h, id)).toEqual([33_333, 66_668]);

    // Reopened again and Partial upstream: already refunded more than due, nothing written.
    h.ctx.db.update(orders).set({ status: "In progress" }).where(eq(orders.id, id)).run();
    sim.setOrder(23501, { status: "Partial", remains: 1 });
    const result = await runStatusSyncTick(h.ctx);
    expect(result.refunded).toEqual({ count: 0, total: 0 });
    expect(orderRow(h.ctx, id)).toMatchObject({ status: "Partial", refunded: 100_001 });
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 500_000, ledger: 500_000 });
  });

  it("converts the upstream charge with the order's exchange rate into the cost", async () => {
    const customer = customerWith(h.ctx, "5.00000");
    sim.setOrder(23600, { status: "In progress", charge: "0.27819" });
    const id = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "jap",
      upstreamOrderId: 23600,
      charge: "0.40000",
      exchangeRate: "1.08",
    });
    await runStatusSyncTick(h.ctx);
    // 0.27819 EUR × 1.08 = 0.3004452 USD → 0.30045
    expect(orderRow(h.ctx, id).cost).toBe(30_045);
  });

  it("asks the never-synced orders first, then the oldest-synced, and skips final ones", async () => {
    const customer = customerWith(h.ctx, "100.00000");
    const ids: number[] = [];
    for (let i = 0; i < 130; i++) {
      sim.setOrder(30_000 + i, { status: "Pending" });
      ids.push(
        placeSubmitted(h.ctx, {
          customerId: customer,
          providerId: "jap",
          upstreamOrderId: 30_000 + i,
          charge: "0.01000",
        }),
      );
    }
    // The first 40 were synced before, the older the higher the index.
    for (let i = 0; i < 40; i++) {
      h.ctx.db
        .update(orders)
        .set({ syncedAt: 1_000_000 - i })
        .where(eq(orders.id, ids[i] as number))
        .run();
    }
    h.ctx.db
      .update(orders)
      .set({ status: "Completed" })
      .where(eq(orders.id, ids[129] as number))
      .run();
    await runStatusSyncTick(h.ctx, { batchConcurrency: 1 });
    const [firstCall, secondCall] = statusCalls(sim);
    const never = Array.from({ length: 89 }, (_, i) => String(30_040 + i));
    const oldest = Array.from({ length: 11 }, (_, i) => String(30_039 - i));
    expect(firstCall).toEqual([...never, ...oldest]);
    expect(secondCall).toEqual(Array.from({ length: 29 }, (_, i) => String(30_028 - i)));
  });
});
