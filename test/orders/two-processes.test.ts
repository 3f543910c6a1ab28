/**
 * Two processes on one database never settle each other's orders (issue #11, item 3): every
 * state change of an order is conditional on the state it expects, recovery leaves alone a
 * `queued` order whose call may still be running, and a send whose `submit_started_at` write
 * changed no row is aborted before anything leaves.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { openDb } from "../../src/db/client.js";
import { orders } from "../../src/db/schema.js";
import { placeOrder } from "../../src/orders/place-order.js";
import { longestPlacementMs, recoverQueuedOrders } from "../../src/orders/recover.js";
import type { AppContext } from "../../src/runtime/context.js";
import { applyCatalogue } from "../../src/sync/catalogue.js";
import { ResolveOrderError, settleUnknownOrder } from "../../src/sync/resolve.js";
import type { CallOptions, CallOutcome, UpstreamAddRequest } from "../../src/upstream/types.js";
import { CATALOGUE } from "../api/app-harness.js";
import { addCustomer, balanceOf, makeContext, testConfig } from "../helpers/context.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { deferred } from "../upstream/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "smm-two-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/**
 * An upstream whose `add` waits for `release()` before the request leaves (and `onSend` runs),
 * and, once sent, for `answer()` when `holdAnswer` is set.
 */
class GatedProvider extends FakeProvider {
  private gate = deferred();
  private answerGate = deferred();
  private sentGate = deferred();
  holdAnswer = false;
  sent = 0;
  release(): void {
    this.gate.resolve();
  }
  answer(): void {
    this.answerGate.resolve();
  }
  /** Resolves once the request has left. */
  get wasSent(): Promise<void> {
    return this.sentGate.promise;
  }
  override async add(_request: UpstreamAddRequest, options?: CallOptions): Promise<CallOutcome<{ order: string }>> {
    await this.gate.promise;
    options?.onSend?.();
    this.sent++;
    this.sentGate.resolve();
    if (this.holdAnswer) await this.answerGate.promise;
    return { kind: "ok", value: { order: "5001" } };
  }
}

const config = testConfig({
  currency: "USD",
  markup: { percent: 25 },
  providers: [{ id: "p1", dialect: "jap", url: "https://p1.example/api/v2", key: "k", timeoutMs: 10_000 }],
  services: [{ id: 1, provider: "p1", upstreamService: 101 }],
});
const CHARGE = 125_000;

/** Two contexts (two "processes") on one database file; A places through a gated upstream. */
function twoContexts(): { a: AppContext; b: AppContext; upstream: GatedProvider; customerId: number } {
  const path = join(dir, `store-${++files}.db`);
  const upstream = new GatedProvider("p1", CATALOGUE);
  const a = { ...makeContext(config, [upstream]), db: openDb(path) };
  const b = { ...makeContext(config, [new FakeProvider("p1", CATALOGUE)]), db: openDb(path) };
  applyCatalogue(a, "p1", CATALOGUE);
  const { id } = addCustomer(a, "10.00000");
  return { a, b, upstream, customerId: id };
}

const ADD = { service: "1", link: "https://ig.com/x", quantity: "1000" };
/** The charge's transaction is a group commit (issue #14): it commits at the end of the current turn. */
const chargeCommitted = () => new Promise((resolve) => setImmediate(resolve));
const row = (ctx: AppContext, id: number) => ctx.db.select().from(orders).where(eq(orders.id, id)).get();

describe("two contexts on one database", () => {
  it("recovery in the second leaves a queued order of the first alone; it is placed once, charged once", async () => {
    const { a, b, upstream, customerId } = twoContexts();
    const placing = placeOrder(a, { customerId, fields: ADD });
    await chargeCommitted();
    expect(row(b, 1)).toMatchObject({ submission: "queued", submitStartedAt: null });
    expect(recoverQueuedOrders(b)).toEqual({ refunded: 0, markedUnknown: 0 });
    upstream.release();
    expect(await placing).toEqual({ order: 1 });
    expect(row(b, 1)).toMatchObject({
      submission: "submitted",
      upstreamOrderId: "5001",
      status: "Pending",
      refunded: 0,
    });
    expect(balanceOf(b, customerId)).toEqual({ balance: 1_000_000 - CHARGE, ledger: 1_000_000 - CHARGE });
  });

  it("a send whose order another process settled is aborted: nothing leaves, refunded exactly once", async () => {
    const { a, b, upstream, customerId } = twoContexts();
    const placing = placeOrder(a, { customerId, fields: ADD }).catch((error: unknown) => error);
    await chargeCommitted();
    // Past the longest possible placement, the second process settles it as never sent.
    const created = row(b, 1)?.createdAt ?? 0;
    b.now = () => created + longestPlacementMs(b, "p1") + 1;
    expect(recoverQueuedOrders(b)).toEqual({ refunded: 1, markedUnknown: 0 });
    upstream.release();
    expect(await placing).toMatchObject({ code: "upstream_failed" });
    expect(upstream.sent).toBe(0);
    expect(row(a, 1)).toMatchObject({
      submission: "failed",
      status: "Canceled",
      refunded: CHARGE,
      upstreamOrderId: null,
    });
    expect(balanceOf(a, customerId)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
  });

  it("an answer arriving after another process held the order links it (the charge was kept)", async () => {
    const { a, b, upstream, customerId } = twoContexts();
    upstream.holdAnswer = true;
    const placing = placeOrder(a, { customerId, fields: ADD });
    upstream.release();
    await upstream.wasSent;
    // The request left (submit_started_at set); the other process holds it as unknown.
    expect(recoverQueuedOrders(b, { createdBefore: Date.now() + 1 })).toEqual({ refunded: 0, markedUnknown: 1 });
    upstream.answer();
    expect(await placing).toEqual({ order: 1 });
    expect(row(b, 1)).toMatchObject({ submission: "submitted", upstreamOrderId: "5001", refunded: 0, flag: null });
    // Recovery finds nothing queued: a settled order is never touched again.
    b.now = () => Date.now() + 3_600_000;
    expect(recoverQueuedOrders(b)).toEqual({ refunded: 0, markedUnknown: 0 });
    expect(balanceOf(b, customerId).balance).toBe(1_000_000 - CHARGE);
  });
});

describe("recovery and resolve of queued orders", () => {
  function queuedOrder(startedAt: number | null) {
    const ctx = makeContext(config, []);
    const { id: customerId } = addCustomer(ctx, "10.00000");
    const now = Date.now();
    ctx.db
      .insert(orders)
      .values({
        customerId,
        serviceId: 1,
        providerId: "p1",
        upstreamService: "101",
        params: "{}",
        quantity: 1000,
        rate: 125_000,
        exchangeRate: "1",
        charge: 0,
        status: "Pending",
        submission: "queued",
        submitStartedAt: startedAt,
        createdAt: now,
        updatedAt: now,
      })
      .run();
    return { ctx, now };
  }

  it("settles only queued orders older than the provider's budget plus the margin", () => {
    const { ctx, now } = queuedOrder(null);
    // timeoutMs 10 000: budget 15 000 + margin 30 000.
    expect(longestPlacementMs(ctx, "p1")).toBe(45_000);
    ctx.now = () => now + 45_000;
    expect(recoverQueuedOrders(ctx)).toEqual({ refunded: 0, markedUnknown: 0 });
    ctx.now = () => now + 45_001;
    expect(recoverQueuedOrders(ctx)).toEqual({ refunded: 1, markedUnknown: 0 });
    expect(row(ctx, 1)).toMatchObject({ submission: "failed" });
  });

  it("the server's start settles every order from before its lock", () => {
    const { ctx, now } = queuedOrder(Date.now());
    expect(recoverQueuedOrders(ctx, { createdBefore: now + 1 })).toEqual({ refunded: 0, markedUnknown: 1 });
    expect(row(ctx, 1)).toMatchObject({ submission: "unknown", flag: "upstream call was in flight during a restart" });
  });

  it("orders resolve refuses a queued order that may still be in flight, and settles a stuck one", () => {
    const { ctx, now } = queuedOrder(Date.now());
    expect(() => settleUnknownOrder(ctx, 1, { refund: true })).toThrow(
      new ResolveOrderError(
        "not_unknown",
        "order 1 is queued and its upstream call may still be running: nothing to resolve yet",
      ),
    );
    ctx.now = () => now + 45_001;
    expect(settleUnknownOrder(ctx, 1, { upstreamOrder: "777" })).toMatchObject({
      submission: "submitted",
      upstreamOrderId: "777",
    });
  });
});

describe("resolve of a held order that already follows an upstream id", () => {
  it("links it to that same id (it is not another order's)", () => {
    const ctx = makeContext(config, []);
    const { id: customerId } = addCustomer(ctx, "10.00000");
    const now = Date.now();
    ctx.db
      .insert(orders)
      .values({
        customerId,
        serviceId: 1,
        providerId: "p1",
        upstreamService: "101",
        upstreamOrderId: "17",
        params: "{}",
        quantity: 1000,
        rate: 125_000,
        exchangeRate: "1",
        charge: 0,
        status: "Pending",
        submission: "unknown",
        createdAt: now,
        updatedAt: now,
      })
      .run();
    expect(settleUnknownOrder(ctx, 1, { upstreamOrder: "17" })).toMatchObject({
      submission: "submitted",
      upstreamOrderId: "17",
    });
  });
});
