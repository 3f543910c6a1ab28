/**
 * The soak's verdict (issue #8), computed from the store (ledger, orders) and the simulators'
 * logs and stores after the final sync. Each check lists its violations (capped); the soak
 * passes when every list is empty.
 */
import Database from "better-sqlite3";
import { refundDue } from "../src/sync/refunds.js";
import { AMBIGUOUS_FAULTS, type ChaosSim } from "./soak-chaos-sim.js";

interface OrderRow {
  id: number;
  customer_id: number;
  provider_id: string;
  upstream_order_id: string | null;
  params: string;
  quantity: number;
  charge: number;
  refunded: number;
  status: string;
  remains: number | null;
  submission: string;
  submit_started_at: number | null;
}

export interface VerdictInput {
  dbPath: string;
  sims: readonly ChaosSim[];
  /** Provider timeout, ms: a call sent this long before an outage may have been lost in it. */
  timeoutMs: number;
  /**
   * Providers that are another smm-proxy (`idempotencyKeys`), with that proxy's store: their
   * order ids are its local ids, and a held order of ours must have been linked by the re-ask
   * whenever that proxy holds a live order for it.
   */
  chains?: ReadonlyArray<{ id: string; dbPath: string }>;
}

export interface Verdict {
  pass: boolean;
  checks: Record<string, { ok: boolean; violations: string[] }>;
  counts: Record<string, unknown>;
}

const MAX_LISTED = 20;

function linkOf(params: string): string {
  return (JSON.parse(params) as { link?: string }).link ?? "";
}

export function computeVerdict(input: VerdictInput, extra: Record<string, string[]>): Verdict {
  const db = new Database(input.dbPath, { readonly: true });
  const orders = db.prepare("SELECT * FROM orders ORDER BY id").all() as OrderRow[];
  const customers = db.prepare("SELECT id, balance FROM customers ORDER BY id").all() as Array<{
    id: number;
    balance: number;
  }>;
  const ledger = db
    .prepare(
      "SELECT customer_id, order_id, kind, sum(amount) AS total, count(*) AS n FROM ledger_entries GROUP BY 1, 2, 3",
    )
    .all() as Array<{ customer_id: number; order_id: number | null; kind: string; total: number; n: number }>;
  db.close();

  const checks: Verdict["checks"] = {};
  const check = (name: string, violations: string[]) => {
    checks[name] = { ok: violations.length === 0, violations: violations.slice(0, MAX_LISTED) };
  };

  // 1. balance = top-ups − charges + refunds, per customer, exactly.
  const byCustomer = new Map<number, { topup: number; charge: number; refund: number; adjustment: number }>();
  for (const row of ledger) {
    const sums = byCustomer.get(row.customer_id) ?? { topup: 0, charge: 0, refund: 0, adjustment: 0 };
    sums[row.kind as keyof typeof sums] += row.total;
    byCustomer.set(row.customer_id, sums);
  }
  check(
    "balance = top-ups − charges + refunds",
    customers.flatMap((c) => {
      const s = byCustomer.get(c.id) ?? { topup: 0, charge: 0, refund: 0, adjustment: 0 };
      const expected = s.topup + s.adjustment + s.charge + s.refund;
      return c.balance === expected ? [] : [`customer ${c.id}: balance ${c.balance} ≠ ledger ${expected}`];
    }),
  );

  // 2. Charges and refunds per order: one charge of the order's amount; refunds = refunded ≤ charge.
  const perOrder = new Map<number, { charge: number; charges: number; refund: number }>();
  for (const row of ledger) {
    if (row.order_id === null) continue;
    const o = perOrder.get(row.order_id) ?? { charge: 0, charges: 0, refund: 0 };
    if (row.kind === "charge") {
      o.charge += -row.total;
      o.charges += row.n;
    }
    if (row.kind === "refund") o.refund += row.total;
    perOrder.set(row.order_id, o);
  }
  const refundViolations: string[] = [];
  for (const order of orders) {
    const o = perOrder.get(order.id) ?? { charge: 0, charges: 0, refund: 0 };
    if (order.charge > 0 && (o.charges !== 1 || o.charge !== order.charge)) {
      refundViolations.push(
        `order ${order.id}: ${o.charges} charge rows for ${o.charge}, order charge ${order.charge}`,
      );
    }
    if (o.refund !== order.refunded)
      refundViolations.push(`order ${order.id}: refunds ${o.refund} ≠ refunded ${order.refunded}`);
    if (o.refund > order.charge)
      refundViolations.push(`order ${order.id}: refunded ${o.refund} > charge ${order.charge}`);
    const due =
      order.submission === "failed"
        ? order.charge
        : order.submission === "unknown"
          ? 0
          : refundDue(order.status, order.charge, order.remains ?? 0, order.quantity);
    if (order.refunded !== due) {
      refundViolations.push(
        `order ${order.id} (${order.submission} ${order.status}): refunded ${order.refunded}, due ${due}`,
      );
    }
  }
  check("no refund above a charge; refunds exactly as due", refundViolations);

  // 3. Each local order maps to at most one upstream order.
  const simOrdersByLink = new Map<string, Array<{ provider: string; id: number }>>();
  const simOrderLink = new Map<string, string>();
  for (const sim of input.sims) {
    for (const o of sim.orders()) {
      const link = o.params.link ?? "";
      simOrdersByLink.set(link, [...(simOrdersByLink.get(link) ?? []), { provider: sim.id, id: o.id }]);
      simOrderLink.set(`${sim.id}/${o.id}`, link);
    }
  }
  // A chained proxy's orders: its local id → link, and the links it holds a live order for.
  const chainLive = new Map<string, Set<string>>();
  for (const chain of input.chains ?? []) {
    const chainDb = new Database(chain.dbPath, { readonly: true });
    const rows = chainDb.prepare("SELECT id, params, submission FROM orders").all() as Array<{
      id: number;
      params: string;
      submission: string;
    }>;
    chainDb.close();
    const live = new Set<string>();
    for (const row of rows) {
      simOrderLink.set(`${chain.id}/${row.id}`, linkOf(row.params));
      if (row.submission !== "failed") live.add(linkOf(row.params));
    }
    chainLive.set(chain.id, live);
  }
  const mapViolations: string[] = [];
  const seenUpstream = new Set<string>();
  for (const order of orders) {
    const link = linkOf(order.params);
    const upstream = simOrdersByLink.get(link) ?? [];
    if (upstream.length > 1) mapViolations.push(`order ${order.id}: ${upstream.length} upstream orders for ${link}`);
    if (order.upstream_order_id !== null) {
      const key = `${order.provider_id}/${order.upstream_order_id}`;
      if (seenUpstream.has(key)) mapViolations.push(`order ${order.id}: upstream ${key} used twice`);
      seenUpstream.add(key);
      if (simOrderLink.get(key) !== link) mapViolations.push(`order ${order.id}: upstream ${key} is another order`);
    }
  }
  check("each local order maps to at most one upstream order", mapViolations);

  // 4. Every unknown order matches a lost or ambiguous call (or a call in flight when its panel was killed).
  const unknownViolations: string[] = [];
  const addsByLink = new Map<string, Array<{ at: number; status: number | null; fault?: string }>>();
  const outages = input.sims.map((s) => ({ id: s.id, outages: s.outages }));
  for (const sim of input.sims) {
    for (const entry of sim.log()) {
      if (entry.action !== "add") continue;
      const link = entry.params.link ?? "";
      addsByLink.set(link, [...(addsByLink.get(link) ?? []), entry]);
    }
  }
  for (const order of orders.filter((o) => o.submission === "unknown")) {
    const live = chainLive.get(order.provider_id);
    if (live !== undefined) {
      // Re-asked with its key by every sync: held only while the chained proxy has no live order for it.
      if (live.has(linkOf(order.params))) {
        unknownViolations.push(`order ${order.id}: held, but the chained proxy holds a live order for it`);
      }
      continue;
    }
    const calls = addsByLink.get(linkOf(order.params)) ?? [];
    const lost = calls.some(
      (c) =>
        c.status === null ||
        (c.fault !== undefined && AMBIGUOUS_FAULTS.has(c.fault as never)) ||
        (c.status !== null && c.status >= 500),
    );
    const started = order.submit_started_at ?? 0;
    const inOutage = (outages.find((o) => o.id === order.provider_id)?.outages ?? []).some(
      (o) => started >= o.killedAt - input.timeoutMs - 1000 && started <= o.restartedAt,
    );
    if (!lost && !inOutage) {
      unknownViolations.push(`order ${order.id}: unknown, but its calls were ${JSON.stringify(calls)}`);
    }
  }
  check("every unknown order matches a lost or ambiguous call", unknownViolations);

  check(
    "no order left queued",
    orders.filter((o) => o.submission === "queued").map((o) => `order ${o.id} queued`),
  );
  for (const [name, violations] of Object.entries(extra)) check(name, violations);

  const count = (pred: (o: OrderRow) => boolean) => orders.filter(pred).length;
  const statuses: Record<string, number> = {};
  for (const o of orders) statuses[`${o.submission} ${o.status}`] = (statuses[`${o.submission} ${o.status}`] ?? 0) + 1;
  const faults: Record<string, number> = {};
  let calls = 0;
  for (const sim of input.sims) {
    for (const entry of sim.log()) {
      calls++;
      if (entry.fault !== undefined) faults[entry.fault] = (faults[entry.fault] ?? 0) + 1;
    }
  }
  const faulted = Object.values(faults).reduce((a, b) => a + b, 0);
  const sum = (kind: string) => ledger.filter((l) => l.kind === kind).reduce((a, l) => a + l.total, 0);
  return {
    pass: Object.values(checks).every((c) => c.ok),
    checks,
    counts: {
      customers: customers.length,
      orders: orders.length,
      submitted: count((o) => o.submission === "submitted"),
      failed: count((o) => o.submission === "failed"),
      unknown: count((o) => o.submission === "unknown"),
      byState: statuses,
      ledger: { topups: sum("topup"), charges: -sum("charge"), refunds: sum("refund"), adjustments: sum("adjustment") },
      upstreamCalls: calls,
      faultedCalls: faulted,
      faultShare: calls === 0 ? 0 : Math.round((faulted / calls) * 1000) / 1000,
      faults,
      outages: outages.flatMap((o) => o.outages.map((w) => ({ provider: o.id, downMs: w.restartedAt - w.killedAt }))),
    },
  };
}
