/**
 * Status spellings that are names of `Object.prototype` members are unknown spellings (kept
 * raw by sync), never a prototype value that would break a whole batch.
 */
import { afterEach, describe, expect, it } from "vitest";
import { normalizeOrderStatus, normalizeRefillStatus } from "../../src/panel/statuses.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { customerWith, orderRow, placeSubmitted, type SyncHarness, startHarness } from "./harness.js";

const PROTOTYPE_NAMES = ["constructor", "Constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];

describe("normalizeOrderStatus / normalizeRefillStatus", () => {
  it.each(PROTOTYPE_NAMES)("%s is an unknown spelling", (raw) => {
    expect(normalizeOrderStatus(raw)).toBeUndefined();
    expect(normalizeRefillStatus(raw)).toBeUndefined();
  });

  it("still maps the known spellings", () => {
    expect(normalizeOrderStatus(" in_progress ")).toBe("In progress");
    expect(normalizeOrderStatus("CANCELLED")).toBe("Canceled");
    expect(normalizeRefillStatus("Cancelled")).toBe("Rejected");
    expect(normalizeRefillStatus("processing")).toBe("In progress");
  });
});

describe("a batch with a prototype-named status", () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it("flags that order as unknown and applies the rest of the batch", async () => {
    h = await startHarness([{ id: "p", dialect: "jap" }]);
    const sim = h.sims.p;
    if (sim === undefined) throw new Error("no simulator");
    const customer = customerWith(h.ctx, "10.00000");
    const ids = ["constructor", "__proto__", "toString", "Completed"].map((status, i) => {
      sim.setOrder(23501 + i, { status, remains: 0 });
      return placeSubmitted(h.ctx, {
        customerId: customer,
        providerId: "p",
        upstreamOrderId: 23501 + i,
        charge: "1.00000",
      });
    });
    const result = await runStatusSyncTick(h.ctx);
    expect(result).toMatchObject({ upstreamCalls: 1, synced: 1, flagged: 3, failedBatches: 0 });
    expect(
      ids.map((id) => [orderRow(h.ctx, id).status, orderRow(h.ctx, id).rawStatus, orderRow(h.ctx, id).flag]),
    ).toEqual([
      ["Pending", "constructor", 'unknown upstream status "constructor"'],
      ["Pending", "__proto__", 'unknown upstream status "__proto__"'],
      ["Pending", "toString", 'unknown upstream status "toString"'],
      ["Completed", null, null],
    ]);
  });
});
