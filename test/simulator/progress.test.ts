/** Orders and refills moving on their own: timer ticks, seeded determinism, refunds. */
import { Decimal } from "decimal.js";
import { afterEach, describe, expect, it } from "vitest";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js";
import { addFollowers, call, waitFor } from "./helpers.js";

const FINAL = new Set(["Completed", "Partial", "Canceled"]);
const sims: Simulator[] = [];

async function start(options: Partial<SimulatorOptions>): Promise<Simulator> {
  const sim = await startSimulator({ dialect: "jap", apiKey: "k", balance: "1000", ...options });
  sims.push(sim);
  return sim;
}

afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

/** balance + Σ current charges stays equal to the starting balance (every refund is exact). */
function conserved(sim: Simulator, initial: string): boolean {
  let total = new Decimal(sim.balance);
  for (const order of sim.orders.values()) total = total.plus(order.charge);
  return total.equals(initial);
}

describe("automatic progress", () => {
  it("with a fast tick, orders end Completed, Partial or Canceled, some of each", async () => {
    const sim = await start({
      seed: 7,
      progress: { tickMs: 5, cancelProbability: 0.2, partialProbability: 0.3, deliverFraction: 0.3 },
    });
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(await addFollowers(sim, 1000));
    await waitFor(() => ids.every((id) => FINAL.has(sim.orders.get(id)?.status ?? "")));
    const statuses = ids.map((id) => sim.orders.get(id)?.status);
    expect(new Set(statuses)).toEqual(FINAL);
    for (const id of ids) {
      const order = sim.orders.get(id);
      if (order?.status === "Completed") expect(order).toMatchObject({ remains: "0", charge: "0.90000" });
      if (order?.status === "Canceled") expect(order).toMatchObject({ remains: "1000", charge: "0.00000" });
      if (order?.status === "Partial") {
        const remains = Number(order.remains);
        expect(remains).toBeGreaterThan(0);
        expect(remains).toBeLessThan(1000);
        // refund = 0.9 × remains / 1000 rounded down, so the charge keeps the delivered share, rounded up
        expect(order.charge).toBe(
          new Decimal("0.9")
            .minus(new Decimal("0.9").times(remains).div(1000).toDecimalPlaces(5, Decimal.ROUND_DOWN))
            .toFixed(5),
        );
      }
    }
    expect(conserved(sim, "1000")).toBe(true);
  });

  it("an order goes Pending → In progress → Completed over HTTP, one tick at a time", async () => {
    const sim = await start({
      progress: {
        tickMs: 60_000,
        startProbability: 1,
        cancelProbability: 0,
        partialProbability: 0,
        deliverFraction: 0.5,
      },
    });
    const id = await addFollowers(sim, 100);
    const status = async () =>
      (await call(sim, { action: "status", order: String(id) })).body as Record<string, string>;
    expect(await status()).toMatchObject({ status: "Pending", remains: "100", start_count: "0" });
    sim.advance();
    const started = await status();
    expect(started).toMatchObject({ status: "In progress", remains: "100" });
    expect(Number(started.start_count)).toBeGreaterThanOrEqual(0);
    sim.advance();
    expect(await status()).toMatchObject({ status: "In progress", remains: "50" });
    sim.advance();
    expect(await status()).toEqual({ ...started, status: "Completed", remains: "0", charge: "0.09000" });
  });

  it("is deterministic given the seed, whatever the interleaving", async () => {
    const options = { progress: false as const, seed: 42 };
    const a = await start(options);
    const b = await start(options);
    const c = await start({ ...options, seed: 43 });
    for (const sim of [a, b, c]) for (let i = 0; i < 20; i++) await addFollowers(sim, 500);
    a.advance(30);
    for (let i = 0; i < 30; i++) b.advance(); // same number of ticks, one by one
    c.advance(30);
    const snapshot = (sim: Simulator) =>
      [...sim.orders.values()].map((o) => [o.status, o.remains, o.start_count, o.charge].join("|"));
    expect(snapshot(a)).toEqual(snapshot(b));
    expect(snapshot(a)).not.toEqual(snapshot(c));
    expect(a.balance).toBe(b.balance);
    expect(conserved(a, "1000")).toBe(true);
  });

  it("progress: false leaves orders alone until advance()", async () => {
    const sim = await start({ progress: false });
    const id = await addFollowers(sim);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sim.orders.get(id)?.status).toBe("Pending");
    sim.advance(50);
    expect(FINAL.has(sim.orders.get(id)?.status ?? "")).toBe(true);
  });

  it("forced unknown spellings are answered as-is and never moved", async () => {
    const sim = await start({ progress: false });
    const id = await addFollowers(sim);
    for (const raw of ["Cancelled", "Refunded", "Done", "weird"]) {
      sim.setOrder(id, { status: raw });
      sim.advance(5);
      expect(((await call(sim, { action: "status", order: String(id) })).body as { status: string }).status).toBe(raw);
    }
  });

  it("refills go Pending → In progress → Completed or Rejected", async () => {
    const sim = await start({ progress: { tickMs: 5, refillStartProbability: 1, refillRejectProbability: 0 } });
    const rejecting = await start({ progress: { tickMs: 5, refillStartProbability: 1, refillRejectProbability: 1 } });
    for (const s of [sim, rejecting]) {
      s.setOrder(100, { service: 1, status: "Completed", remains: 0 });
      const reply = await call(s, { action: "refill", order: "100" });
      expect(reply.status).toBe(200);
    }
    const refillOf = (s: Simulator) => [...s.refills.values()][0];
    await waitFor(() => refillOf(sim)?.status === "Completed" && refillOf(rejecting)?.status === "Rejected");
    const reply = await call(rejecting, { action: "refill_status", refill: String(refillOf(rejecting)?.id) });
    expect(reply.body).toEqual({ status: "Rejected" });
  });

  it("a cancel turns the order Canceled shortly after, with a full refund", async () => {
    const sim = await start({ progress: false, cancelDelayMs: 30 });
    const id = await addFollowers(sim, 1000);
    expect(sim.balance).toBe("999.10000");
    const reply = await call(sim, { action: "cancel", orders: String(id) });
    expect(reply.body).toEqual([{ order: id, cancel: 1 }]);
    expect(sim.orders.get(id)?.status).toBe("Pending");
    await waitFor(() => sim.orders.get(id)?.status === "Canceled");
    expect(sim.orders.get(id)).toMatchObject({ remains: "1000", charge: "0.00000" });
    expect(sim.balance).toBe("1000.00000");
    const again = await call(sim, { action: "cancel", orders: String(id) });
    expect(again.body).toEqual([{ order: id, cancel: { error: "Order cannot be canceled in its current status" } }]);
  });
});
