/**
 * Refill status sync over real loopback HTTP against the simulator (jap and panel forms):
 * canonical statuses, unknown spellings kept raw and flagged, misses and flags, batching,
 * failed batches.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Dialect } from "../../src/config/providers-file.js";
import { refills } from "../../src/db/schema.js";
import type { Simulator } from "../../src/simulator/index.js";
import { runRefillSyncTick } from "../../src/sync/refill-status.js";
import { customerWith, placeSubmitted, refillRow, type SyncHarness, startHarness } from "./harness.js";

function refillCalls(sim: Simulator): string[][] {
  return sim.log
    .filter((e) => e.action === "refill_status" && e.params.refills !== undefined)
    .map((e) => (e.params.refills ?? "").split(","));
}

describe.each<Dialect>(["jap", "panel"])("refill status sync against a %s panel", (dialect) => {
  let h: SyncHarness;
  let sim: Simulator;
  let customer: number;
  let order: number;

  beforeEach(async () => {
    h = await startHarness([{ id: "p", dialect }], { flagAfterMisses: 2 });
    sim = h.sims.p as Simulator;
    customer = customerWith(h.ctx, "10.00000");
    sim.setOrder(777, { status: "Completed", remains: 0 });
    order = placeSubmitted(h.ctx, { customerId: customer, providerId: "p", upstreamOrderId: 777, charge: "1.00000" });
  });
  afterEach(async () => {
    await h.close();
  });

  function addRefill(upstreamRefillId: string | null, status = "Pending"): number {
    const now = Date.now();
    return h.ctx.db
      .insert(refills)
      .values({
        orderId: order,
        customerId: customer,
        providerId: "p",
        upstreamRefillId,
        status,
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: refills.id })
      .get().id;
  }

  it("maps statuses, keeps unknown spellings raw and flags misses after N", async () => {
    const cases: Array<[string, string]> = [
      ["Pending", "Pending"],
      ["In progress", "In progress"],
      ["Completed", "Completed"],
      ["Rejected", "Rejected"],
      ["Cancelled", "Rejected"],
      ["Error", "Failed"],
      ["Queued for review", "Pending"],
    ];
    const ids = cases.map(([spelling], i) => {
      sim.setRefill(9001 + i, { status: spelling, order: 777 });
      return addRefill(String(9001 + i));
    });
    const missing = addRefill("9999");
    const noUpstream = addRefill(null);

    const first = await runRefillSyncTick(h.ctx);
    expect(first).toEqual({ providers: 1, upstreamCalls: 1, synced: 6, errors: 1, flagged: 1, failedBatches: 0 });
    cases.forEach(([spelling, canonical], i) => {
      expect([spelling, refillRow(h.ctx, ids[i] as number).status]).toEqual([spelling, canonical]);
    });
    expect(refillRow(h.ctx, ids[6] as number)).toMatchObject({
      status: "Pending",
      rawStatus: "Queued for review",
      flag: 'unknown upstream status "Queued for review"',
    });
    expect(refillRow(h.ctx, missing)).toMatchObject({ missCount: 1, lastError: "Refill not found", flag: null });
    expect(refillRow(h.ctx, noUpstream)).toMatchObject({ status: "Pending", syncedAt: null });

    sim.setRefill(9002, { status: "Completed" });
    const second = await runRefillSyncTick(h.ctx);
    // Asked again: Pending, In progress (now Completed), the unknown one and the missing one.
    expect(refillCalls(sim)[1]).toEqual(["9001", "9002", "9007", "9999"]);
    expect(second).toMatchObject({ synced: 2, errors: 1, flagged: 1 });
    expect(refillRow(h.ctx, ids[1] as number).status).toBe("Completed");
    expect(refillRow(h.ctx, missing)).toMatchObject({
      status: "Pending",
      missCount: 2,
      flag: "not found upstream: 2 consecutive refill status syncs without the refill",
    });
  });

  it("batches 150 open refills into 2 calls, and a failed call changes nothing", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 150; i++) {
      sim.setRefill(20_000 + i, { status: "Completed", order: 777 });
      ids.push(addRefill(String(20_000 + i)));
    }
    sim.injectFaults("refill_status", 2, "http500_html");
    const failed = await runRefillSyncTick(h.ctx);
    expect(failed).toMatchObject({ upstreamCalls: 2, synced: 0, failedBatches: 2 });
    expect(refillRow(h.ctx, ids[0] as number)).toMatchObject({ status: "Pending", syncedAt: null, missCount: 0 });

    sim.clearLog();
    const result = await runRefillSyncTick(h.ctx);
    expect(result).toMatchObject({ upstreamCalls: 2, synced: 150, failedBatches: 0 });
    expect(
      refillCalls(sim)
        .map((c) => c.length)
        .sort((a, b) => a - b),
    ).toEqual([50, 100]);
    expect(await runRefillSyncTick(h.ctx)).toMatchObject({ upstreamCalls: 0, synced: 0 });
  });
});
