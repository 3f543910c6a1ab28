/**
 * Exactly-once refunds (`settleRefund`), the operator's resolve of `unknown` orders, and the
 * webhook outbox payload text.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { inTransaction } from "../../src/db/client.js";
import { ledgerEntries, orders } from "../../src/db/schema.js";
import type { AppContext } from "../../src/runtime/context.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { refundDue, settleRefund } from "../../src/sync/refunds.js";
import { ResolveOrderError, resolveUnknownOrder } from "../../src/sync/resolve.js";
import { amountJsonToken, enqueueOrderWebhook, orderWebhookPayload } from "../../src/webhooks/outbox.js";
import { balanceOf, makeContext, testConfig } from "../helpers/context.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { customerWith, orderRow, outboxOf, placeSubmitted } from "./harness.js";

const HOOK = "https://hooks.example.com/x";

function context(): { ctx: AppContext; provider: FakeProvider } {
  const provider = new FakeProvider("jap");
  const config = testConfig({ providers: [{ id: "jap", dialect: "jap", url: "http://127.0.0.1:9/api/v2", key: "k" }] });
  return { ctx: makeContext(config, [provider]), provider };
}

function unknownOrder(ctx: AppContext, customerId: number, charge = "2.50000"): number {
  const id = placeSubmitted(ctx, { customerId, providerId: "jap", upstreamOrderId: "x", charge });
  ctx.db
    .update(orders)
    .set({ submission: "unknown", upstreamOrderId: null, flag: "upstream did not confirm the order" })
    .where(eq(orders.id, id))
    .run();
  return id;
}

function refundsOf(ctx: AppContext, orderId: number): number[] {
  return ctx.db
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.orderId, orderId))
    .all()
    .filter((e) => e.kind === "refund")
    .map((e) => e.amount);
}

describe("refundDue", () => {
  it("is the rounded-down share for Partial, the whole charge for Canceled and Failed, else nothing", () => {
    expect(refundDue("Partial", 123_457, 157, 1000)).toBe(19_382);
    expect(refundDue("Partial", 100_001, 1, 3)).toBe(33_333);
    expect(refundDue("Partial", 100_000, 5000, 1000)).toBe(100_000);
    expect(refundDue("Partial", 100_000, -5, 1000)).toBe(0);
    expect(refundDue("Canceled", 123_457, 0, 1000)).toBe(123_457);
    expect(refundDue("Failed", 123_457, 0, 1000)).toBe(123_457);
    expect(refundDue("Completed", 123_457, 500, 1000)).toBe(0);
    expect(refundDue("In progress", 123_457, 500, 1000)).toBe(0);
  });
});

describe("settleRefund", () => {
  it("writes what is due beyond what was refunded, never more than the charge in total", () => {
    const { ctx } = context();
    const customer = customerWith(ctx, "3.00000");
    const id = placeSubmitted(ctx, {
      customerId: customer,
      providerId: "jap",
      upstreamOrderId: 1,
      charge: "1.00001",
      quantity: 3,
    });
    const stale = orderRow(ctx, id);
    expect(inTransaction(ctx.db, () => settleRefund(ctx, stale, "Partial", 1))).toBe(33_333);
    expect(inTransaction(ctx.db, () => settleRefund(ctx, stale, "Partial", 1))).toBe(0);
    // A stale row (refunded still 0) cannot refund twice: the store's figure is used.
    expect(inTransaction(ctx.db, () => settleRefund(ctx, stale, "Canceled", 3))).toBe(66_668);
    expect(inTransaction(ctx.db, () => settleRefund(ctx, stale, "Failed", 3))).toBe(0);
    expect(inTransaction(ctx.db, () => settleRefund(ctx, stale, "Completed", 0))).toBe(0);
    expect(orderRow(ctx, id).refunded).toBe(100_001);
    expect(refundsOf(ctx, id)).toEqual([33_333, 66_668]);
    expect(balanceOf(ctx, customer)).toEqual({ balance: 300_000, ledger: 300_000 });
  });
});

describe("resolveUnknownOrder", () => {
  it("hands an unknown order to sync with the upstream id the operator found", async () => {
    const { ctx, provider } = context();
    const customer = customerWith(ctx, "5.00000", HOOK);
    const id = unknownOrder(ctx, customer);
    provider.will("status", {
      kind: "ok",
      value: {
        status: "In progress",
        rawStatus: "In progress",
        charge: null,
        startCount: 10,
        remains: 5,
        currency: null,
      },
    });
    const after = await resolveUnknownOrder(ctx, id, { upstreamOrder: " 23501 " });
    // The upstream was asked first, at once (the operator waits).
    expect(provider.calls[0]).toMatchObject({ method: "status", args: ["23501"] });
    expect(after).toMatchObject({ submission: "submitted", upstreamOrderId: "23501", flag: null, syncedAt: null });
    provider.will("multiStatus", {
      kind: "ok",
      value: new Map([
        [
          "23501",
          { status: "Completed", rawStatus: "Completed", charge: "1.9", startCount: 10, remains: 0, currency: "USD" },
        ],
      ]),
    });
    const result = await runStatusSyncTick(ctx);
    expect(provider.calls.filter((c) => c.method === "multiStatus").map((c) => c.args)).toEqual([[["23501"]]]);
    expect(provider.calls[1]?.options?.priority).toBe("sync");
    expect(result).toMatchObject({ synced: 1, refunded: { count: 0, total: 0 } });
    expect(orderRow(ctx, id)).toMatchObject({ status: "Completed", remains: 0, startCount: 10, cost: 190_000 });
    expect(outboxOf(ctx, id)).toEqual([
      `{"order_id":${id},"status":"Completed","remains":0,"start_count":10,"charge":2.5}`,
    ]);
  });

  it("cancels with a full refund exactly once, and refuses orders that are not unknown", async () => {
    const { ctx } = context();
    const customer = customerWith(ctx, "5.00000", HOOK);
    const id = unknownOrder(ctx, customer);
    expect(balanceOf(ctx, customer).balance).toBe(250_000);
    const after = await resolveUnknownOrder(ctx, id, { refund: true });
    expect(after).toMatchObject({
      submission: "submitted",
      status: "Canceled",
      refunded: 250_000,
      remains: 1000,
      flag: null,
    });
    expect(balanceOf(ctx, customer)).toEqual({ balance: 500_000, ledger: 500_000 });
    expect(refundsOf(ctx, id)).toEqual([250_000]);
    expect(outboxOf(ctx, id)).toEqual([
      `{"order_id":${id},"status":"Canceled","remains":1000,"start_count":0,"charge":0}`,
    ]);
    const refusal = async (action: Parameters<typeof resolveUnknownOrder>[2], orderId = id) => {
      try {
        await resolveUnknownOrder(ctx, orderId, action);
        return "resolved";
      } catch (error) {
        return error instanceof ResolveOrderError ? error.reason : String(error);
      }
    };
    expect(await refusal({ refund: true })).toBe("not_unknown");
    expect(await refusal({ upstreamOrder: "1" })).toBe("not_unknown");
    expect(await refusal({ refund: true }, 999)).toBe("unknown_order");
    const other = unknownOrder(ctx, customer);
    expect(await refusal({ upstreamOrder: "1,2" }, other)).toBe("bad_upstream_id");
    expect(await refusal({ upstreamOrder: "" }, other)).toBe("bad_upstream_id");
    placeSubmitted(ctx, { customerId: customer, providerId: "jap", upstreamOrderId: "555", charge: "0.10000" });
    expect(await refusal({ upstreamOrder: "555" }, other)).toBe("duplicate_upstream_id");
    expect(orderRow(ctx, other)).toMatchObject({ submission: "unknown", refunded: 0 });
    expect(balanceOf(ctx, customer)).toEqual({ balance: 240_000, ledger: 240_000 });
  });

  it("refuses to refund a held order that follows an upstream order id (the upstream holds it)", async () => {
    const { ctx } = context();
    const customer = customerWith(ctx, "5.00000", HOOK);
    const id = unknownOrder(ctx, customer);
    ctx.db.update(orders).set({ upstreamOrderId: "777" }).where(eq(orders.id, id)).run();
    await expect(resolveUnknownOrder(ctx, id, { refund: true })).rejects.toMatchObject({
      reason: "upstream_holds",
      message: `order ${id} follows upstream order 777 of jap: the upstream holds it, so it is not refunded here; status sync settles it, or 'orders settle ${id} --status ...' once you know its final status`,
    });
    expect(orderRow(ctx, id)).toMatchObject({ submission: "unknown", upstreamOrderId: "777", refunded: 0 });
    expect(refundsOf(ctx, id)).toEqual([]);
    expect(balanceOf(ctx, customer)).toEqual({ balance: 250_000, ledger: 250_000 });
  });
});

describe("webhook outbox", () => {
  it("writes charge as an exact decimal token with trailing zeros trimmed", () => {
    expect(amountJsonToken(450_000)).toBe("4.5");
    expect(amountJsonToken(400_000)).toBe("4");
    expect(amountJsonToken(0)).toBe("0");
    expect(amountJsonToken(27_819)).toBe("0.27819");
    expect(amountJsonToken(100)).toBe("0.001");
    expect(amountJsonToken(123_456_789_012_345)).toBe("1234567890.12345");
  });

  it("shows queued/unknown orders as Pending and nets refunds out of the charge", () => {
    const base = {
      id: 7,
      customerId: 1,
      status: "Partial",
      submission: "submitted" as const,
      remains: 157,
      startCount: 3572,
      quantity: 1000,
      charge: 123_457,
      refunded: 19_382,
    };
    expect(orderWebhookPayload(base)).toBe(
      '{"order_id":7,"status":"Partial","remains":157,"start_count":3572,"charge":1.04075}',
    );
    expect(orderWebhookPayload({ ...base, submission: "unknown", remains: null, startCount: null, refunded: 0 })).toBe(
      '{"order_id":7,"status":"Pending","remains":1000,"start_count":0,"charge":1.23457}',
    );
  });

  it("writes nothing for a customer without a webhook URL", () => {
    const { ctx } = context();
    const customer = customerWith(ctx, "1.00000");
    const id = placeSubmitted(ctx, { customerId: customer, providerId: "jap", upstreamOrderId: 1, charge: "0.50000" });
    expect(enqueueOrderWebhook(ctx, orderRow(ctx, id), 1)).toBeNull();
    expect(outboxOf(ctx, id)).toEqual([]);
  });
});
