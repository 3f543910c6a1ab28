/**
 * Grouped application of status answers (`applyOrderBatches`): one transaction for the group,
 * a batch that throws is rolled back alone (its savepoint), the others are written.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyOrderBatches } from "../../src/sync/order-batch.js";
import type { ItemError, UpstreamOrderState } from "../../src/upstream/types.js";
import { balanceOf } from "../helpers/context.js";
import { customerWith, orderRow, placeSubmitted, type SyncHarness, startHarness } from "./harness.js";

type Answer = ReadonlyMap<string, UpstreamOrderState | ItemError>;

const state = (status: "In progress" | "Canceled", remains: number): UpstreamOrderState => ({
  status,
  rawStatus: status,
  charge: "0.50000",
  startCount: 10,
  remains,
  currency: null,
});

let h: SyncHarness;
beforeEach(async () => {
  h = await startHarness([{ id: "p", dialect: "jap" }]);
});
afterEach(async () => {
  await h.close();
});

describe("applyOrderBatches", () => {
  it("writes every batch but the one that threw, which leaves no trace", async () => {
    const customer = customerWith(h.ctx, "10.00000");
    const place = (upstream: number) =>
      placeSubmitted(h.ctx, { customerId: customer, providerId: "p", upstreamOrderId: upstream, charge: "1.00000" });
    const [a, b, c, d] = [1, 2, 3, 4].map(place) as [number, number, number, number];
    const good: Answer = new Map([
      ["1", state("In progress", 600)],
      ["2", state("Canceled", 1000)],
    ]);
    // Answers order 3 (a refund), then throws on order 4: the whole batch must roll back.
    let reads = 0;
    const failing = {
      get(key: string) {
        reads++;
        if (reads > 1) throw new Error("boom");
        return key === "3" ? state("Canceled", 1000) : undefined;
      },
    } as unknown as Answer;
    const outcomes = applyOrderBatches(
      h.ctx,
      [
        { orderIds: [a, b], answer: good },
        { orderIds: [c, d], answer: failing },
      ],
      3,
    );
    expect(outcomes.map((o) => (o.ok ? o.stats.refundTotal : String(o.error)))).toEqual([100_000, "Error: boom"]);
    expect(orderRow(h.ctx, a)).toMatchObject({ status: "In progress", remains: 600, cost: 50_000 });
    expect(orderRow(h.ctx, b)).toMatchObject({ status: "Canceled", refunded: 100_000 });
    for (const id of [c, d]) {
      expect(orderRow(h.ctx, id)).toMatchObject({ status: "Pending", refunded: 0, syncedAt: null, cost: null });
    }
    // 10 − 4 charged + 1 refunded.
    expect(balanceOf(h.ctx, customer)).toEqual({ balance: 700_000, ledger: 700_000 });
  });
});
