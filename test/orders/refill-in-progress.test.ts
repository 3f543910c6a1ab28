/** `refill` never sends a second refill for an order whose refill is open or on its way upstream. */
import { eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { orders, refills } from "../../src/db/schema.js";
import { harness, json } from "../api/app-harness.js";
import { addCustomer } from "../helpers/context.js";

const IN_PROGRESS = "A refill for this order is already in progress";

/** Places `count` orders of service 1 and marks them all Completed; returns their ids. */
async function completedOrders(h: ReturnType<typeof harness>, apiKey: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await h.post({ key: apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 });
    ids.push(((await res.json()) as { order: number }).order);
  }
  h.ctx.db.update(orders).set({ status: "Completed", remains: 0 }).run();
  return ids;
}

/** Makes the provider's refill calls wait until `release()` (requests on their way upstream). */
function holdRefills(h: ReturnType<typeof harness>) {
  let release = () => {};
  let waiting = 0;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const refill = h.provider.refill.bind(h.provider);
  const multiRefill = h.provider.multiRefill.bind(h.provider);
  h.provider.refill = async (...args) => {
    waiting++;
    await gate;
    return refill(...args);
  };
  h.provider.multiRefill = async (...args) => {
    waiting++;
    await gate;
    return multiRefill(...args);
  };
  return {
    release: () => release(),
    /** Resolves once `count` calls wait at the gate. */
    held: (count: number) => vi.waitFor(() => expect(waiting).toBe(count), { interval: 1 }),
  };
}

const upstreamRefillCalls = (h: ReturnType<typeof harness>) =>
  h.provider.calls.filter((c) => c.method === "refill" || c.method === "multiRefill");

describe("refill while a refill of the order is open", () => {
  it("answers 400 for the single form while the stored refill is not final, and forwards again once it is", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const [id = 0] = await completedOrders(h, alice.apiKey, 1);
    expect(await json(await h.post({ key: alice.apiKey, action: "refill", order: id }))).toEqual({ refill: "1" });
    for (const status of ["Pending", "In progress"]) {
      h.ctx.db.update(refills).set({ status }).where(eq(refills.id, 1)).run();
      const again = await h.post({ key: alice.apiKey, action: "refill", order: id });
      expect(again.status).toBe(400);
      expect(await json(again)).toEqual({ error: IN_PROGRESS });
    }
    expect(upstreamRefillCalls(h)).toHaveLength(1);
    h.ctx.db.update(refills).set({ status: "Completed" }).where(eq(refills.id, 1)).run();
    const after = await h.post({ key: alice.apiKey, action: "refill", order: id });
    expect(after.status).toBe(200);
    expect(await json(after)).toEqual({ refill: "2" });
    expect(upstreamRefillCalls(h)).toHaveLength(2);
  });

  it("sends one of two concurrent single refills; the other answers 400 in progress", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const [id = 0] = await completedOrders(h, alice.apiKey, 1);
    const gate = holdRefills(h);
    const first = h.post({ key: alice.apiKey, action: "refill", order: id });
    await gate.held(1);
    const secondRes = await h.post({ key: alice.apiKey, action: "refill", order: id });
    expect(secondRes.status).toBe(400);
    expect(await json(secondRes)).toEqual({ error: IN_PROGRESS });
    gate.release();
    const firstRes = await first;
    expect(firstRes.status).toBe(200);
    expect(await json(firstRes)).toEqual({ refill: "1" });
    expect(upstreamRefillCalls(h)).toMatchObject([{ method: "refill", args: ["900001"] }]);
    expect(h.ctx.db.select().from(refills).all()).toHaveLength(1);
  });

  it("answers the batch form per order: open ones in progress, the others forwarded once", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const [a = 0, b = 0, c = 0] = await completedOrders(h, alice.apiKey, 3);
    expect(await json(await h.post({ key: alice.apiKey, action: "refill", order: a }))).toEqual({ refill: "1" });
    const gate = holdRefills(h);
    const first = h.post({ key: alice.apiKey, action: "refill", orders: `${a},${b}` });
    await gate.held(1);
    const second = h.post({ key: alice.apiKey, action: "refill", orders: `${a},${b},${c},99` });
    await gate.held(2);
    gate.release();
    const [firstRes, secondRes] = await Promise.all([first, second]);
    expect(secondRes.status).toBe(200);
    expect(await json(secondRes)).toEqual([
      { order: a, refill: { error: IN_PROGRESS } },
      { order: b, refill: { error: IN_PROGRESS } },
      { order: c, refill: 3 },
      { order: 99, refill: { error: "Incorrect order ID" } },
    ]);
    expect(await json(firstRes)).toEqual([
      { order: a, refill: { error: IN_PROGRESS } },
      { order: b, refill: 2 },
    ]);
    expect(upstreamRefillCalls(h).map((x) => [x.method, x.args[0]])).toEqual([
      ["refill", "900001"],
      ["refill", "900002"],
      ["refill", "900003"],
    ]);
  });

  it("lets the order be refilled again when the upstream call failed (nothing stays in flight)", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const [id = 0] = await completedOrders(h, alice.apiKey, 1);
    h.provider.will("refill", { kind: "rejected", failure: { message: "down", upstreamError: "down" } });
    const failed = await h.post({ key: alice.apiKey, action: "refill", order: id });
    expect([failed.status, await json(failed)]).toEqual([502, { error: "Upstream provider error" }]);
    const retried = await h.post({ key: alice.apiKey, action: "refill", order: id });
    expect([retried.status, await json(retried)]).toEqual([200, { refill: "1" }]);
  });
});
