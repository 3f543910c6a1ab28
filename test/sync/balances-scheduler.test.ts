/**
 * Provider balances (stored, warned below the threshold, checked on demand) and the scheduler
 * (no overlapping runs, errors logged, stop waits for the running tick), against simulators.
 */
import { eq } from "drizzle-orm";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../../src/db/schema.js";
import type { Simulator } from "../../src/simulator/index.js";
import { checkProviders, isBelow, refreshProviderBalances } from "../../src/sync/balances.js";
import { scheduleJob, startSchedulers } from "../../src/sync/scheduler.js";
import { freePort } from "../helpers/net.js";
import { customerWith, orderRow, placeSubmitted, type SyncHarness, startHarness } from "./harness.js";

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (text: string) => lines.push(JSON.parse(text) as LogLine) });
  return { logger, lines };
}

/** Waits until `check()` is true (polling), failing after `limitMs`. */
async function until(check: () => boolean, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("provider balances", () => {
  let h: SyncHarness;
  const captured = capturingLogger();

  beforeAll(async () => {
    const port = await freePort();
    h = await startHarness(
      [
        { id: "jap", dialect: "jap", balanceWarning: "100.84292" },
        { id: "panel", dialect: "panel", balanceWarning: "5" },
      ],
      { dead: { id: "dead", url: `http://127.0.0.1:${port}/api/v2` } },
    );
    h.ctx.logger = captured.logger;
  });
  afterAll(async () => {
    await h.close();
  });

  it("compares balances exactly", () => {
    expect(isBelow("4.99999", "5")).toBe(true);
    expect(isBelow("5.00000", "5")).toBe(false);
    expect(isBelow("100.84292", "100.84292")).toBe(false);
    expect(isBelow("not a number", "5")).toBe(false);
    expect(isBelow("1", undefined)).toBe(false);
  });

  it("stores each balance, records failures, and warns only below the threshold", async () => {
    (h.sims.panel as Simulator).setBalance("4.99999");
    const results = await refreshProviderBalances(h.ctx);
    expect(results.map((r) => [r.providerId, r.ok, r.balance, r.currency, r.low])).toEqual([
      ["jap", true, "100.84292", "USD", false],
      ["panel", true, "4.99999", "USD", true],
      ["dead", false, undefined, undefined, undefined],
    ]);
    const rows = h.ctx.db.select().from(providers).orderBy(providers.id).all();
    expect(rows.map((r) => [r.id, r.dialect, r.balance, r.balanceCheckedAt !== null])).toEqual([
      ["dead", "jap", null, false],
      ["jap", "jap", "100.84292", true],
      ["panel", "panel", "4.99999", true],
    ]);
    expect(rows[0]?.lastError).toMatch(/^not_sent: /);
    const warnings = captured.lines.filter((l) => l.msg === "provider balance below warning threshold");
    expect(warnings.map((w) => [w.providerId, w.balance, w.balanceWarning])).toEqual([["panel", "4.99999", "5"]]);
    expect(JSON.stringify(captured.lines)).not.toContain("-key");
  });

  it("checks every provider now: reachability, balance, error", async () => {
    (h.sims.panel as Simulator).setBalance("12.50000");
    const checks = await checkProviders(h.ctx);
    expect(checks.map(({ latencyMs, ...c }) => ({ ...c, latency: Number.isInteger(latencyMs) }))).toEqual([
      { id: "jap", reachable: true, balance: "100.84292", currency: "USD", error: null, latency: true },
      { id: "panel", reachable: true, balance: "12.50000", currency: "USD", error: null, latency: true },
      {
        id: "dead",
        reachable: false,
        balance: null,
        currency: null,
        error: expect.stringMatching(/^not_sent: /),
        latency: true,
      },
    ]);
    const panel = h.ctx.db.select().from(providers).where(eq(providers.id, "panel")).get();
    expect(panel?.balance).toBe("12.50000");
  });
});

describe("scheduleJob", () => {
  it("never overlaps runs, logs errors and keeps going, and stop() waits for the running tick", async () => {
    const { logger, lines } = capturingLogger();
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    let release: (() => void) | undefined;
    const job = scheduleJob(logger, "test-job", 1, async () => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (calls === 2) throw new Error("boom");
        if (calls === 4) await new Promise<void>((resolve) => (release = resolve));
        else await new Promise((resolve) => setTimeout(resolve, 10));
      } finally {
        inFlight--;
      }
    });
    await until(() => calls === 4 && release !== undefined);
    expect(job.running).toBe(true);
    let stopped = false;
    const stopping = job.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    release?.();
    await stopping;
    expect({ calls, maxInFlight, runs: job.runs, running: job.running }).toEqual({
      calls: 4,
      maxInFlight: 1,
      runs: 4,
      running: false,
    });
    const failed = lines.filter((l) => l.msg === "scheduled job failed; next run as scheduled");
    expect(failed.map((l) => [l.job, (l.err as { message: string }).message])).toEqual([["test-job", "boom"]]);
  });
});

describe("startSchedulers", () => {
  it("runs status sync and balances on their intervals until stopped", async () => {
    const h = await startHarness([{ id: "jap", dialect: "jap" }]);
    try {
      const sim = h.sims.jap as Simulator;
      const customer = customerWith(h.ctx, "1.00000");
      sim.setOrder(23501, { status: "Canceled" });
      const id = placeSubmitted(h.ctx, {
        customerId: customer,
        providerId: "jap",
        upstreamOrderId: 23501,
        charge: "0.50000",
      });
      const schedule = startSchedulers(h.ctx, { statusIntervalMs: 10, priceIntervalMs: 10 });
      await until(() => {
        const row = h.ctx.db.select().from(providers).where(eq(providers.id, "jap")).get();
        return (
          orderRow(h.ctx, id).status === "Canceled" && row?.balance === "100.84292" && row.catalogueSyncedAt !== null
        );
      });
      await schedule.stop();
      expect(orderRow(h.ctx, id).refunded).toBe(50_000);
      const after = sim.log.length;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(sim.log.length).toBe(after);
    } finally {
      await h.close();
    }
  });
});
