/**
 * Daily totals for the overview (issue #13): kept by triggers in the transaction of each order,
 * ledger row and cost change, they always equal a full recount of the orders and the ledger.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { describe, expect, it } from "vitest";
import { applyBalanceChange } from "../../src/billing/ledger.js";
import { inTransaction, MIGRATIONS_FOLDER } from "../../src/db/client.js";
import { orders } from "../../src/db/schema.js";
import { DAY_MS, dailyReport } from "../../src/reports/daily-totals.js";
import type { AppContext } from "../../src/runtime/context.js";
import { settleRefund } from "../../src/sync/refunds.js";
import { addCustomer, makeContext, testConfig } from "../helpers/context.js";
import { storeMigratedUpTo } from "../helpers/migrations.js";

const TODAY = Date.UTC(2026, 11, 2, 10, 30);

function context(): { ctx: AppContext; at: (ms: number) => void } {
  const config = testConfig({ providers: [{ id: "jap", dialect: "jap", url: "http://127.0.0.1:9/api/v2", key: "k" }] });
  const ctx = makeContext(config, []);
  let now = TODAY;
  ctx.now = () => now;
  return { ctx, at: (ms) => (now = ms) };
}

/**
 * An order charged at `ctx.now()` (the way `add` writes it: row and charge in one transaction).
 * The row is written with the columns every schema version since 0000 has, so the same helper
 * fills a store migrated only up to an older version.
 */
function charged(ctx: AppContext, customerId: number, charge: number): number {
  return inTransaction(ctx.db, () => {
    const at = ctx.now();
    const { id } = ctx.db.$client
      .prepare(
        `INSERT INTO orders (customer_id, service_id, provider_id, upstream_service, params, quantity, rate,
           exchange_rate, charge, status, submission, created_at, updated_at)
         VALUES (?, 1, 'jap', '1', '{}', 1000, ?, '1', ?, 'Pending', 'submitted', ?, ?) RETURNING id`,
      )
      .get(customerId, charge, charge, at, at) as { id: number };
    applyBalanceChange(ctx.db, { customerId, amount: -charge, kind: "charge", orderId: id, at });
    return id;
  });
}

/** The same figures recounted from every order and ledger row (what the triggers save us from). */
function recount(ctx: AppContext) {
  const rows = ctx.db.$client
    .prepare(
      `SELECT day, sum(orders) AS orders, sum(charges) AS charges, sum(refunds) AS refunds, sum(cost) AS cost FROM (
         SELECT created_at / 86400000 AS day, 1 AS orders, 0 AS charges, 0 AS refunds, coalesce(cost, 0) AS cost FROM orders
         UNION ALL
         SELECT created_at / 86400000, 0, CASE kind WHEN 'charge' THEN -amount ELSE 0 END,
                CASE kind WHEN 'refund' THEN amount ELSE 0 END, 0
         FROM ledger_entries WHERE kind IN ('charge', 'refund'))
       GROUP BY day ORDER BY day`,
    )
    .all() as Array<{ day: number; orders: number; charges: number; refunds: number; cost: number }>;
  return new Map(rows.map((r) => [r.day, r]));
}

describe("dailyReport", () => {
  it("counts orders, charges, refunds and cost per UTC day, equal to a full recount", () => {
    const { ctx, at } = context();
    const { id: customer } = addCustomer(ctx, "100.00000");
    at(TODAY - 3 * DAY_MS);
    const first = charged(ctx, customer, 250_000);
    const second = charged(ctx, customer, 100_000);
    at(TODAY - 2 * DAY_MS);
    inTransaction(ctx.db, () => {
      ctx.db.update(orders).set({ status: "Canceled" }).where(eq(orders.id, second)).run();
      settleRefund(ctx, { id: second, customerId: customer, charge: 100_000, quantity: 1000 }, "Canceled", 1000);
    });
    ctx.db.update(orders).set({ cost: 200_000 }).where(eq(orders.id, first)).run();
    ctx.db.update(orders).set({ cost: 210_000, status: "Completed" }).where(eq(orders.id, first)).run();
    at(TODAY);
    charged(ctx, customer, 75_000);
    inTransaction(ctx.db, () => applyBalanceChange(ctx.db, { customerId: customer, amount: 500_000, kind: "topup" }));

    const report = dailyReport(ctx.db, TODAY, 30);
    const day = (offset: number) => report.days[report.days.length - 1 - offset];
    expect(report.days).toHaveLength(30);
    expect(day(3)).toMatchObject({ date: "2026-11-29", orders: 2, charges: 350_000, refunds: 0, cost: 210_000 });
    expect(day(2)).toMatchObject({ date: "2026-11-30", orders: 0, charges: 0, refunds: 100_000, revenue: -100_000 });
    expect(report.today).toMatchObject({
      date: "2026-12-02",
      orders: 1,
      charges: 75_000,
      revenue: 75_000,
      profit: 75_000,
    });
    expect(report.period).toEqual({
      orders: 3,
      charges: 425_000,
      refunds: 100_000,
      revenue: 325_000,
      cost: 210_000,
      profit: 115_000,
    });

    const full = recount(ctx);
    for (const d of report.days) {
      const r = full.get(d.day);
      expect([d.orders, d.charges, d.refunds, d.cost]).toEqual([
        r?.orders ?? 0,
        r?.charges ?? 0,
        r?.refunds ?? 0,
        r?.cost ?? 0,
      ]);
    }
  });

  it("reads at most the asked days: older days stay out of the period", () => {
    const { ctx, at } = context();
    const { id: customer } = addCustomer(ctx, "10.00000");
    at(TODAY - 40 * DAY_MS);
    charged(ctx, customer, 10_000);
    at(TODAY);
    const report = dailyReport(ctx.db, TODAY, 30);
    expect(report.period.orders).toBe(0);
    expect(ctx.db.$client.prepare("SELECT count(*) AS n FROM daily_totals").get()).toEqual({ n: 1 });
  });
});

describe("migration 0007 on a store with orders already", () => {
  it("fills the daily totals from the orders and the ledger it finds", () => {
    const dir = mkdtempSync(join(tmpdir(), "smm-migrate-"));
    try {
      // Migrations up to 0006 only, as a store created before this change was.
      const db = storeMigratedUpTo(dir, 6);
      const { ctx, at } = context();
      const old = { ...ctx, db };
      const { id: customer } = addCustomer(old, "50.00000");
      at(TODAY - DAY_MS);
      const a = charged(old, customer, 120_000);
      db.update(orders).set({ cost: 90_000 }).where(eq(orders.id, a)).run();
      at(TODAY);
      const b = charged(old, customer, 30_000);
      inTransaction(db, () =>
        settleRefund(old, { id: b, customerId: customer, charge: 30_000, quantity: 1000 }, "Canceled", 1000),
      );

      migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });

      const report = dailyReport(db, TODAY, 2);
      expect(report.days.map(({ orders: n, charges, refunds, cost }) => ({ n, charges, refunds, cost }))).toEqual([
        { n: 1, charges: 120_000, refunds: 0, cost: 90_000 },
        { n: 1, charges: 30_000, refunds: 30_000, cost: 0 },
      ]);
      db.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
