/**
 * Business figures per UTC day for the operator's overview (issue #13), read from the
 * `daily_totals` rows the store's triggers maintain (migration 0007): at most `days` rows per
 * call, never a scan of the orders. Amounts are minor units (exact integers).
 *
 * - orders: orders created that day;
 * - charges / refunds: `charge` / `refund` ledger rows written that day;
 * - revenue = charges − refunds; cost = upstream cost of that day's orders as last synced;
 *   profit = revenue − cost.
 */
import { gte } from "drizzle-orm";
import type { Minor } from "../billing/money.js";
import type { Db } from "../db/client.js";
import { dailyTotals } from "../db/schema.js";

export const DAY_MS = 86_400_000;

export interface DayFigures {
  /** UTC day number (epoch ms / 86 400 000, floored). */
  day: number;
  /** `YYYY-MM-DD` of the UTC day. */
  date: string;
  orders: number;
  charges: Minor;
  refunds: Minor;
  revenue: Minor;
  cost: Minor;
  profit: Minor;
}

export interface PeriodFigures {
  orders: number;
  charges: Minor;
  refunds: Minor;
  revenue: Minor;
  cost: Minor;
  profit: Minor;
}

export interface DailyReport {
  today: DayFigures;
  /** Sums over `days` (today included). */
  period: PeriodFigures;
  /** One entry per day, oldest first, today last; days without activity are zeros. */
  days: DayFigures[];
}

function figures(day: number, row?: { orders: number; charges: number; refunds: number; cost: number }): DayFigures {
  const orders = row?.orders ?? 0;
  const charges = row?.charges ?? 0;
  const refunds = row?.refunds ?? 0;
  const cost = row?.cost ?? 0;
  const revenue = charges - refunds;
  return {
    day,
    date: new Date(day * DAY_MS).toISOString().slice(0, 10),
    orders,
    charges,
    refunds,
    revenue,
    cost,
    profit: revenue - cost,
  };
}

/**
 * Figures for today and the last `days` UTC days (today included) as of `now` (epoch ms).
 * @param days at least 1 (default 30).
 */
export function dailyReport(db: Db, now: number, days = 30): DailyReport {
  const today = Math.floor(now / DAY_MS);
  const first = today - Math.max(1, Math.floor(days)) + 1;
  const rows = new Map(
    db
      .select()
      .from(dailyTotals)
      .where(gte(dailyTotals.day, first))
      .all()
      .map((r) => [r.day, r]),
  );
  const list: DayFigures[] = [];
  for (let day = first; day <= today; day++) list.push(figures(day, rows.get(day)));
  const period: PeriodFigures = { orders: 0, charges: 0, refunds: 0, revenue: 0, cost: 0, profit: 0 };
  for (const d of list) {
    period.orders += d.orders;
    period.charges += d.charges;
    period.refunds += d.refunds;
    period.revenue += d.revenue;
    period.cost += d.cost;
    period.profit += d.profit;
  }
  return { today: list[list.length - 1] ?? figures(today), period, days: list };
}
