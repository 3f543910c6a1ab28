/**
 * Alerts (issue #15): one per condition until it clears, a one-line `text`, queued in the webhook
 * outbox and delivered signed with ALERT_WEBHOOK_SECRET, with the outbox's retries.
 */
import { eq } from "drizzle-orm";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AlertEvent, type Alerts, createAlerter } from "../../src/alerts/alerter.js";
import { checkLedgerAlert, checkOrderAlerts, REFUND_BURST_WINDOW_MS } from "../../src/alerts/monitor.js";
import { alertOnUpstreamEvents, clearAlertsAfterReload } from "../../src/alerts/upstream.js";
import { applyBalanceChange } from "../../src/billing/ledger.js";
import { customers, orders, webhookDeliveries } from "../../src/db/schema.js";
import type { AppContext } from "../../src/runtime/context.js";
import { classifyAnswer, isOutOfFundsError } from "../../src/upstream/classify.js";
import { OPERATOR_CHANNEL } from "../../src/webhooks/outbox.js";
import { verifyWebhook } from "../../src/webhooks/signature.js";
import { createWebhookWorker } from "../../src/webhooks/worker.js";
import { addCustomer, makeContext, testConfig } from "../helpers/context.js";
import { placeSubmitted } from "../sync/harness.js";
import { type Receiver, startReceiver } from "../webhooks/receiver.js";

const T0 = 1_800_000_000_000;
const SECRET = "alert-secret-0123456789";
let clock: number;
let ctx: AppContext;
let logs: Array<Record<string, unknown>>;
let alerts: Alerts;
let receiver: Receiver;

beforeEach(async () => {
  clock = T0;
  logs = [];
  ctx = makeContext(
    testConfig({ providers: [{ id: "jap", dialect: "jap", url: "http://127.0.0.1:9/api/v2", key: "k" }] }),
    [],
  );
  ctx.now = () => clock;
  ctx.logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  receiver = await startReceiver();
  alerts = createAlerter(ctx, { url: `${receiver.url}/alerts` });
});

afterEach(async () => {
  await receiver.close();
  ctx.db.$client.close();
});

/** The alert events queued so far, oldest first. */
function queued(): AlertEvent[] {
  return ctx.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.customerId, OPERATOR_CHANNEL))
    .all()
    .map((d) => JSON.parse(d.payload) as AlertEvent);
}

describe("the alerter", () => {
  it("raises a condition once until it clears, then tells that it cleared", () => {
    const alert = { type: "circuit_open" as const, text: "provider jap: circuit opened", details: { provider: "jap" } };
    expect(alerts.raise("circuit_open:jap", alert)).toBe(true);
    expect(alerts.raise("circuit_open:jap", alert)).toBe(false);
    expect(alerts.active()).toEqual(["circuit_open:jap"]);
    expect(alerts.clear("circuit_open:jap", { ...alert, text: "provider jap: circuit closed" })).toBe(true);
    expect(alerts.clear("circuit_open:jap", alert)).toBe(false);
    expect(queued()).toEqual([
      {
        type: "circuit_open",
        state: "raised",
        severity: "critical",
        text: "smm-proxy: provider jap: circuit opened",
        at: new Date(T0).toISOString(),
        condition: "circuit_open:jap",
        details: { provider: "jap" },
      },
      {
        type: "circuit_open",
        state: "cleared",
        severity: "info",
        text: "smm-proxy: provider jap: circuit closed",
        at: new Date(T0).toISOString(),
        condition: "circuit_open:jap",
        details: { provider: "jap" },
      },
    ]);
    expect(logs.map((l) => [l.level, l.event, l.msg])).toEqual([
      [50, "alert_raised", "provider jap: circuit opened"],
      [30, "alert_cleared", "provider jap: circuit closed"],
    ]);
  });

  it("lists what is raised now with its raise time and latest text, oldest first, until it clears", () => {
    alerts.raise("orders_unknown", {
      type: "orders_unknown",
      text: "1 order(s) held as unknown",
      details: { count: 1 },
    });
    clock += 5_000;
    alerts.raise("circuit_open:jap", { type: "circuit_open", text: "provider jap: circuit opened" });
    clock += 5_000;
    // Still true with a new count: no second event, the shown text follows; the raise time stays.
    expect(
      alerts.raise("orders_unknown", {
        type: "orders_unknown",
        text: "3 order(s) held as unknown",
        details: { count: 3 },
      }),
    ).toBe(false);
    const current = alerts.current();
    expect(current).toEqual([
      {
        key: "orders_unknown",
        type: "orders_unknown",
        severity: "warning",
        text: "3 order(s) held as unknown",
        since: T0,
        details: { count: 3 },
      },
      {
        key: "circuit_open:jap",
        type: "circuit_open",
        severity: "critical",
        text: "provider jap: circuit opened",
        since: T0 + 5_000,
        details: {},
      },
    ]);
    // A copy: the reader cannot change the alerter's state.
    (current[0] as { text: string }).text = "changed";
    (current[0]?.details as Record<string, unknown>).count = 99;
    expect(alerts.current()[0]).toMatchObject({ text: "3 order(s) held as unknown", details: { count: 3 } });
    expect(queued().map((e) => [e.state, e.text])).toEqual([
      ["raised", "smm-proxy: 1 order(s) held as unknown"],
      ["raised", "smm-proxy: provider jap: circuit opened"],
    ]);
    alerts.clear("orders_unknown", { type: "orders_unknown", text: "no order is held as unknown any more" });
    expect(alerts.current().map((a) => a.key)).toEqual(["circuit_open:jap"]);
    alerts.clear("circuit_open:jap", { type: "circuit_open", text: "provider jap: circuit closed" });
    expect(alerts.current()).toEqual([]);
  });

  it("is delivered by the webhook worker signed with ALERT_WEBHOOK_SECRET, retried after a failure", async () => {
    alerts.raise("ledger_mismatch", { type: "ledger_mismatch", text: "ledger check failed" });
    receiver.respond = (_request, index) => (index === 0 ? 503 : 204);
    const worker = createWebhookWorker(ctx, { operatorSecret: SECRET, timeoutMs: 2000 });
    try {
      expect(await worker.tick()).toEqual({ sent: 0, failed: 0, retried: 1 });
      clock += 10_000;
      expect(await worker.tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    } finally {
      await worker.stop();
    }
    expect(receiver.requests).toHaveLength(2);
    const request = receiver.requests[1];
    const body = request?.body.toString("utf8") ?? "";
    expect(request?.path).toBe("/alerts");
    expect(JSON.parse(body)).toMatchObject({ type: "ledger_mismatch", text: "smm-proxy: ledger check failed" });
    const { "x-timestamp": timestamp, "x-signature": signature } = request?.headers ?? {};
    expect(verifyWebhook(SECRET, String(timestamp), body, String(signature), { now: clock })).toBe(true);
  });

  it("without a URL only logs: nothing is queued", () => {
    const quiet = createAlerter(ctx);
    expect(quiet.raise("refund_burst", { type: "refund_burst", text: "30 refunds" })).toBe(true);
    expect(queued()).toEqual([]);
    expect(logs.at(-1)).toMatchObject({ level: 50, event: "alert_raised", msg: "30 refunds" });
  });
});

describe("upstream conditions", () => {
  it("recognises the panels' out-of-funds answers", () => {
    for (const text of ["Not enough funds on balance", "Insufficient funds", "insufficient balance", "Low balance"]) {
      expect(isOutOfFundsError(text)).toBe(true);
    }
    for (const text of ["Incorrect service ID", "Invalid link", undefined]) expect(isOutOfFundsError(text)).toBe(false);
    const answer = (status: number, error: string) =>
      classifyAnswer(
        { status, headers: new Headers(), body: JSON.stringify({ error }) },
        () => ({ ok: false, problem: "-" }),
        [],
        0,
        { definedErrorStatuses: [402] },
      );
    // Seed 003's HTTP 402 means our balance there, whatever the text; a 200 error needs the words.
    expect(answer(402, "Payment required")).toMatchObject({ kind: "rejected", failure: { outOfFunds: true } });
    expect(answer(200, "Not enough funds on balance")).toMatchObject({
      kind: "rejected",
      failure: { outOfFunds: true },
    });
    expect(answer(200, "Incorrect link")).toEqual({
      kind: "rejected",
      failure: expect.not.objectContaining({ outOfFunds: true }),
    });
  });

  it("alerts on out of funds until an add is accepted, and on a circuit until it closes", () => {
    const listen = alertOnUpstreamEvents(alerts);
    const call = {
      type: "call" as const,
      provider: "jap",
      attempt: 1,
      willRetry: false,
      priority: "customer" as const,
    };
    const refused = { ...call, action: "add" as const, outcome: "rejected" as const, queuedMs: 0, durationMs: 5 };
    listen({ ...refused, outOfFunds: true, upstreamError: "Not enough funds on balance" });
    listen({ ...refused, outOfFunds: true, upstreamError: "Not enough funds on balance" });
    listen({ ...refused, action: "status", outcome: "ok" });
    listen({ type: "circuit", provider: "jap", state: "open", consecutiveFailures: 5 });
    listen({ type: "circuit", provider: "jap", state: "half_open", consecutiveFailures: 5 });
    listen({ type: "circuit", provider: "jap", state: "closed", consecutiveFailures: 0 });
    listen({ ...refused, outcome: "ok" });
    expect(queued().map((e) => [e.state, e.text])).toEqual([
      [
        "raised",
        "smm-proxy: provider jap refused a call for lack of funds on our account (Not enough funds on balance): customers' orders to it fail until it is topped up",
      ],
      [
        "raised",
        "smm-proxy: provider jap: circuit opened after 5 failures in a row; its calls are refused until it answers again",
      ],
      ["cleared", "smm-proxy: provider jap: circuit closed, calls flow again"],
      ["cleared", "smm-proxy: provider jap accepts orders again"],
    ]);
  });

  it("after a reload, clears what only the old client's or a removed provider's events would clear", () => {
    const listen = alertOnUpstreamEvents(alerts);
    for (const provider of ["jap", "mtp"]) {
      listen({ type: "circuit", provider, state: "open", consecutiveFailures: 5 });
      listen({
        type: "call",
        provider,
        attempt: 1,
        willRetry: false,
        priority: "customer",
        action: "add",
        outcome: "rejected",
        queuedMs: 0,
        durationMs: 5,
        outOfFunds: true,
        upstreamError: "Not enough funds on balance",
      });
    }
    alerts.raise("provider_balance_low:mtp", { type: "provider_balance_low", text: "provider mtp: balance low" });
    // jap's key was rotated (its client rebuilt, its circuit closed with no event); mtp left the file.
    clearAlertsAfterReload(alerts, { changed: ["jap"], removed: ["mtp"] });
    expect(alerts.current().map((a) => a.key)).toEqual(["provider_out_of_funds:jap"]);
    expect(
      queued()
        .filter((e) => e.state === "cleared")
        .map((e) => e.text),
    ).toEqual([
      "smm-proxy: provider jap: circuit reset, its client was rebuilt by a reload",
      "smm-proxy: provider mtp: circuit reset, it was removed from the providers file",
      "smm-proxy: provider mtp was removed from the providers file",
      "smm-proxy: provider mtp was removed from the providers file",
    ]);
  });
});

describe("store conditions", () => {
  it("raises held and flagged orders once, names them, and clears when none is left", () => {
    const customer = addCustomer(ctx, "10.00000").id;
    const held = placeSubmitted(ctx, {
      customerId: customer,
      providerId: "jap",
      upstreamOrderId: 1,
      charge: "1.00000",
    });
    const lost = placeSubmitted(ctx, {
      customerId: customer,
      providerId: "jap",
      upstreamOrderId: 2,
      charge: "1.00000",
    });
    ctx.db.update(orders).set({ submission: "unknown", upstreamOrderId: null }).where(eq(orders.id, held)).run();
    ctx.db
      .update(orders)
      .set({ flag: "not found upstream: 5 consecutive status syncs" })
      .where(eq(orders.id, lost))
      .run();
    const check = () => checkOrderAlerts(ctx, alerts, { refundBurst: 20 });
    check();
    check();
    expect(queued().map((e) => [e.type, e.state, e.text, e.details])).toEqual([
      [
        "orders_unknown",
        "raised",
        `smm-proxy: 1 order(s) held as unknown, their charge held (${held}): check the upstream, then orders resolve or orders settle`,
        { count: 1, orders: [held] },
      ],
      [
        "orders_flagged",
        "raised",
        `smm-proxy: 1 open order(s) flagged for the operator (${lost}): see orders list --flagged`,
        { count: 1, orders: [lost] },
      ],
    ]);
    ctx.db.update(orders).set({ submission: "failed", status: "Canceled" }).where(eq(orders.id, held)).run();
    ctx.db.update(orders).set({ status: "Completed" }).where(eq(orders.id, lost)).run();
    check();
    expect(
      queued()
        .slice(2)
        .map((e) => [e.type, e.state]),
    ).toEqual([
      ["orders_unknown", "cleared"],
      ["orders_flagged", "cleared"],
    ]);
  });

  it("raises a refund burst above N refunds in 10 minutes, and clears when the window moves on", () => {
    const customer = addCustomer(ctx, "10.00000").id;
    const refund = (at: number) =>
      applyBalanceChange(ctx.db, { customerId: customer, amount: 1, kind: "refund", note: "r", at });
    refund(T0 - REFUND_BURST_WINDOW_MS - 1); // outside the window
    for (let i = 0; i < 3; i++) refund(T0 - 2000 + 1000 * i);
    const check = () => checkOrderAlerts(ctx, alerts, { refundBurst: 3 });
    check();
    expect(queued()).toEqual([]);
    refund(T0);
    check();
    expect(queued().map((e) => [e.type, e.state, e.text])).toEqual([
      [
        "refund_burst",
        "raised",
        "smm-proxy: 4 refunds in the last 10 minutes (more than 3): an upstream may be failing orders",
      ],
    ]);
    clock = T0 + REFUND_BURST_WINDOW_MS - 1500; // the refund at T0 − 2000 left the window: 3 remain
    check();
    expect(queued().at(-1)).toMatchObject({ type: "refund_burst", state: "cleared" });
  });

  it("raises the ledger check when balances and ledger disagree", () => {
    const customer = addCustomer(ctx, "10.00000").id;
    checkLedgerAlert(ctx, alerts);
    expect(queued()).toEqual([]);
    ctx.db.update(customers).set({ balance: 1_000_001 }).where(eq(customers.id, customer)).run();
    checkLedgerAlert(ctx, alerts);
    checkLedgerAlert(ctx, alerts);
    expect(queued().map((e) => [e.type, e.severity, e.text])).toEqual([
      [
        "ledger_mismatch",
        "critical",
        "smm-proxy: ledger check failed: customer balances total 1000001 minor units, ledger total 1000000 (difference 1); stop and investigate",
      ],
    ]);
  });
});
