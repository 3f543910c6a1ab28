/**
 * Alert conditions read from the store (issue #15), checked on a schedule and at start:
 * - `orders_unknown`: orders held `unknown` (placement unconfirmed; `orders resolve`/`settle`);
 * - `orders_flagged`: open `submitted` orders flagged for the operator (lost upstream, unknown
 *   status spelling, Partial without remains);
 * - `refund_burst`: more than `refundBurst` refunds written within the last 10 minutes;
 * - `ledger_mismatch`: the sum of customer balances differs from the sum of the ledger.
 * Each is raised once while true and cleared (with a message) when it no longer holds.
 */
import { FINAL_ORDER_STATUSES } from "../panel/statuses.js";
import type { AppContext } from "../runtime/context.js";
import type { Alerts } from "./alerter.js";

/** Window of the refund burst, ms. */
export const REFUND_BURST_WINDOW_MS = 10 * 60_000;
/** Order ids named in an alert at most. */
const MAX_IDS = 10;

const FINAL = [...FINAL_ORDER_STATUSES].map((s) => `'${s}'`).join(", ");

export interface StoreCheckOptions {
  /** More refunds than this within 10 minutes is a burst (`ALERT_REFUND_BURST`). */
  refundBurst: number;
}

const idsText = (ids: readonly number[], total: number) =>
  `${ids.join(", ")}${total > ids.length ? ` and ${total - ids.length} more` : ""}`;

/** Checks the held/flagged orders and the refund rate; raises or clears their alerts. */
export function checkOrderAlerts(
  ctx: Pick<AppContext, "db" | "now">,
  alerts: Alerts,
  options: StoreCheckOptions,
): void {
  const sqlite = ctx.db.$client;
  const unknownIds = sqlite
    .prepare(`SELECT id FROM orders WHERE submission = 'unknown' ORDER BY id LIMIT ${MAX_IDS}`)
    .pluck()
    .all() as number[];
  const unknownCount =
    unknownIds.length < MAX_IDS
      ? unknownIds.length
      : (sqlite.prepare("SELECT count(*) FROM orders WHERE submission = 'unknown'").pluck().get() as number);
  if (unknownCount > 0) {
    alerts.raise("orders_unknown", {
      type: "orders_unknown",
      text: `${unknownCount} order(s) held as unknown, their charge held (${idsText(unknownIds, unknownCount)}): check the upstream, then orders resolve or orders settle`,
      details: { count: unknownCount, orders: unknownIds },
    });
  } else {
    alerts.clear("orders_unknown", { type: "orders_unknown", text: "no order is held as unknown any more" });
  }

  const flagged = sqlite
    .prepare(
      `SELECT id FROM orders INDEXED BY orders_flag_idx WHERE flag IS NOT NULL AND submission = 'submitted' AND status NOT IN (${FINAL}) ORDER BY id`,
    )
    .pluck()
    .all() as number[];
  if (flagged.length > 0) {
    const shown = flagged.slice(0, MAX_IDS);
    alerts.raise("orders_flagged", {
      type: "orders_flagged",
      text: `${flagged.length} open order(s) flagged for the operator (${idsText(shown, flagged.length)}): see orders list --flagged`,
      details: { count: flagged.length, orders: shown },
    });
  } else {
    alerts.clear("orders_flagged", { type: "orders_flagged", text: "no open order is flagged any more" });
  }

  const since = ctx.now() - REFUND_BURST_WINDOW_MS;
  let refunds = 0;
  // Newest first, stopping at the first row older than the window: only the window is read.
  for (const row of sqlite
    .prepare("SELECT kind, created_at FROM ledger_entries ORDER BY id DESC")
    .iterate() as IterableIterator<{ kind: string; created_at: number }>) {
    if (row.created_at < since) break;
    if (row.kind === "refund") refunds++;
  }
  if (refunds > options.refundBurst) {
    alerts.raise("refund_burst", {
      type: "refund_burst",
      text: `${refunds} refunds in the last 10 minutes (more than ${options.refundBurst}): an upstream may be failing orders`,
      details: { refunds, threshold: options.refundBurst },
    });
  } else {
    alerts.clear("refund_burst", {
      type: "refund_burst",
      text: `refunds back to ${refunds} in the last 10 minutes`,
      details: { refunds, threshold: options.refundBurst },
    });
  }
}

/** The ledger check: sum of balances = sum of ledger amounts; raises or clears `ledger_mismatch`. */
export function checkLedgerAlert(ctx: Pick<AppContext, "db">, alerts: Alerts): void {
  const sqlite = ctx.db.$client;
  const balances = sqlite.prepare("SELECT coalesce(sum(balance), 0) FROM customers").pluck().get() as number;
  const ledger = sqlite.prepare("SELECT coalesce(sum(amount), 0) FROM ledger_entries").pluck().get() as number;
  if (balances !== ledger) {
    alerts.raise("ledger_mismatch", {
      type: "ledger_mismatch",
      text: `ledger check failed: customer balances total ${balances} minor units, ledger total ${ledger} (difference ${balances - ledger}); stop and investigate`,
      details: { balancesTotal: balances, ledgerTotal: ledger },
    });
  } else {
    alerts.clear("ledger_mismatch", { type: "ledger_mismatch", text: "ledger check passes again" });
  }
}
