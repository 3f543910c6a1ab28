/**
 * Money-safety review of issues #11 and #12: each case is a path that sent an order to a second
 * upstream, or refunded an order an upstream may still hold, before its fix.
 */
import { eq } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { orders } from "../../src/db/schema.js";
import { failAndRefund, placeOrder } from "../../src/orders/place-order.js";
import { recoverQueuedOrders } from "../../src/orders/recover.js";
import { RerouteError, rerouteOrder } from "../../src/orders/reroute.js";
import { applyCatalogue } from "../../src/sync/catalogue.js";
import { reaskHeldOrders } from "../../src/sync/held-orders.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { ResolveOrderError, settleUnknownOrder } from "../../src/sync/resolve.js";
import { createProviderClient } from "../../src/upstream/client.js";
import type { CallOptions, CallOutcome, ProviderClient, UpstreamAddRequest } from "../../src/upstream/types.js";
import { addCustomer, balanceOf, makeContext, postApi, testConfig } from "../helpers/context.js";
import { FakeProvider, upstreamService } from "../helpers/fake-provider.js";
import { deferred, formOf, jsonResponse, useMsw } from "../upstream/helpers.js";

const START = 1_000_000;

/** Service 10 routed p1/101 then p2/201 (both 1.00 per 1000, +30 % → 1.30): 1000 charged 1.30000. */
function routed(providers: { p1: FakeProvider; p2: FakeProvider }, keyed: { p1?: boolean; p2?: boolean } = {}) {
  const config = (keys: { p1?: boolean; p2?: boolean }) =>
    testConfig({
      currency: "USD",
      markup: { percent: 30 },
      providers: (["p1", "p2"] as const).map((id) => ({
        id,
        dialect: "panel",
        url: `https://${id}.example/api/v2`,
        key: "k",
        ...(keys[id] ? { idempotencyKeys: true } : {}),
      })),
      services: [
        {
          id: 10,
          name: "Followers",
          routes: [
            { provider: "p1", upstreamService: 101 },
            { provider: "p2", upstreamService: 201 },
          ],
        },
      ],
    });
  const ctx = makeContext(config(keyed), [providers.p1, providers.p2]);
  applyCatalogue(ctx, "p1", [upstreamService({ service: "101", rate: "1.00" })]);
  applyCatalogue(ctx, "p2", [upstreamService({ service: "201", rate: "1.00" })]);
  const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
  const customer = addCustomer(ctx, "10.00000");
  const add = () =>
    postApi(app, { key: customer.apiKey, action: "add", service: "10", link: "https://ig.com/a", quantity: "1000" });
  const row = (id: number) => ctx.db.select().from(orders).where(eq(orders.id, id)).get();
  const reconfigure = (keys: { p1?: boolean; p2?: boolean }) => {
    ctx.config = config(keys);
  };
  return { ctx, customer, add, row, reconfigure };
}

const adds = (p: FakeProvider) => p.calls.filter((c) => c.method === "add");

describe("orders reroute never sends an order an upstream took", () => {
  it("refuses a failed order whose attempt the upstream answered with an order id", async () => {
    // Another process settled the order as not placed (refunded) while its request was out;
    // the upstream then answered with its order id: it holds the order.
    class SettledMeanwhile extends FakeProvider {
      onAdd: () => void = () => undefined;
      override add(request: UpstreamAddRequest, options?: CallOptions) {
        const wrapped: CallOptions = {
          ...options,
          onSend: () => {
            options?.onSend?.();
            this.onAdd();
          },
        };
        return super.add(request, wrapped);
      }
    }
    const p1 = new SettledMeanwhile("p1");
    const p2 = new FakeProvider("p2");
    const h = routed({ p1, p2 });
    p1.onAdd = () => failAndRefund(h.ctx, 1, "settled by another process", "Canceled");
    p1.will("add", { kind: "ok", value: { order: "555" } });
    await h.add();
    expect(h.row(1)).toMatchObject({ submission: "failed", refunded: 130_000 });
    expect(h.row(1)?.flag).toBe("upstream holds an order settled as not placed");

    await expect(rerouteOrder(h.ctx, 1, { route: 1 })).rejects.toBeInstanceOf(RerouteError);
    expect(adds(p2)).toHaveLength(0);
    expect(h.row(1)).toMatchObject({ submission: "failed", refunded: 130_000 });
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START, ledger: START });
  });

  it("refuses a failed order that carries an upstream order id even with no attempt recorded", async () => {
    // Orders failed before attempts were recorded (routing, issue #12) have no attempt rows; the
    // upstream order id on the order itself is enough to know an upstream holds it.
    const p1 = new FakeProvider("p1");
    const p2 = new FakeProvider("p2");
    const h = routed({ p1, p2 });
    p1.will("add", {
      kind: "rejected",
      failure: { message: "Incorrect service ID", upstreamError: "Incorrect service ID" },
    });
    p2.will("add", {
      kind: "rejected",
      failure: { message: "Incorrect service ID", upstreamError: "Incorrect service ID" },
    });
    expect(await h.add()).toEqual({ status: 502, body: { error: "Upstream provider error" } });
    expect(h.row(1)).toMatchObject({ submission: "failed", refunded: 130_000 });
    h.ctx.db.$client.prepare("DELETE FROM order_attempts WHERE order_id = 1").run();
    h.ctx.db.update(orders).set({ upstreamOrderId: "777" }).where(eq(orders.id, 1)).run();

    await expect(rerouteOrder(h.ctx, 1, { route: 1 })).rejects.toMatchObject({
      reason: "wrong_state",
      message: "order 1 carries upstream order 777 on p2: the upstream has it, it is not placed again",
    });
    expect(adds(p2)).toHaveLength(1);
    expect(h.row(1)).toMatchObject({ submission: "failed", refunded: 130_000 });
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START, ledger: START });
  });
});

describe("orders reroute never sends a held order a re-ask found meanwhile", () => {
  it("refuses when another process stored the upstream order id between the reroute's read and its write", async () => {
    const p1 = new FakeProvider("p1");
    const p2 = new FakeProvider("p2");
    const h = routed({ p1, p2 });
    p1.will("add", { kind: "ambiguous", failure: { message: "socket hang up" } });
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.row(1)).toMatchObject({ submission: "unknown", upstreamOrderId: null });
    // The server's re-ask commits the id p1 answered right after the reroute (the CLI) read the
    // order: the reroute's first clock read comes after that read.
    const clock = h.ctx.now;
    let raced = false;
    h.ctx.now = () => {
      if (!raced) {
        raced = true;
        h.ctx.db.$client.prepare("UPDATE orders SET upstream_order_id = 'U-77' WHERE id = 1").run();
      }
      return clock();
    };

    await expect(rerouteOrder(h.ctx, 1, { route: 1 }, { confirmedAbsent: true })).rejects.toMatchObject({
      reason: "wrong_state",
      message: expect.stringContaining("carries upstream order U-77 on p1 since it was read"),
    });
    expect(adds(p2)).toHaveLength(0);
    expect(h.row(1)).toMatchObject({ submission: "unknown", upstreamOrderId: "U-77", providerId: "p1" });
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START - 130_000, ledger: START - 130_000 });
  });
});

/** A provider whose next `add` leaves (onSend) and stays out until the test answers it. */
class OutProvider extends FakeProvider {
  readonly answer = deferred<CallOutcome<{ order: string }>>();
  holding = false;
  override add(request: UpstreamAddRequest, options?: CallOptions) {
    if (!this.holding) return super.add(request, options);
    this.calls.push({ method: "add", args: [request], ...(options ? { options } : {}) });
    options?.onSend?.();
    return this.answer.promise as Promise<CallOutcome<never>>;
  }
}

describe("no settlement of a queued order whose request may be out", () => {
  it("resolve refuses a rerouted order while its new request is out, though the order is old", async () => {
    const p1 = new FakeProvider("p1").will("add", {
      kind: "rejected",
      failure: { message: "upstream refused the request (HTTP 402)", httpStatus: 402 },
    });
    const p2 = new OutProvider("p2").will("add", {
      kind: "rejected",
      failure: { message: "upstream refused the request (HTTP 402)", httpStatus: 402 },
    });
    const h = routed({ p1, p2 });
    let clock = 1_700_000_000_000;
    h.ctx.now = () => clock;
    expect((await h.add()).status).toBe(502);
    expect(h.row(1)).toMatchObject({ submission: "failed", refunded: 130_000 });
    clock += 60 * 60 * 1000;
    p2.holding = true;
    const rerouted = rerouteOrder(h.ctx, 1, { route: 1 });
    for (let i = 0; i < 20 && adds(p2).length < 2; i++) await Promise.resolve();
    expect(h.row(1)).toMatchObject({ submission: "queued" });
    expect(h.row(1)?.submitStartedAt).toBe(clock);

    expect(() => settleUnknownOrder(h.ctx, 1, { refund: true })).toThrow(ResolveOrderError);
    expect(recoverQueuedOrders(h.ctx)).toEqual({ refunded: 0, markedUnknown: 0 });
    p2.answer.resolve({ kind: "ok", value: { order: "77" } });
    expect((await rerouted).error).toBeUndefined();
    expect(h.row(1)).toMatchObject({ submission: "submitted", upstreamOrderId: "77", refunded: 0, flag: null });
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START - 130_000, ledger: START - 130_000 });
  });

  it("recovery never refunds an order whose send started after it read the order", async () => {
    const p1 = new OutProvider("p1");
    const p2 = new FakeProvider("p2");
    const h = routed({ p1, p2 });
    let clock = 1_700_000_000_000;
    h.ctx.now = () => clock;
    // A queued order whose request has not left yet (this process waits in the provider's queue).
    p1.holding = true;
    const gate = deferred();
    const realAdd = p1.add.bind(p1);
    p1.add = async (request, options) => {
      await gate.promise;
      return realAdd(request, options);
    };
    const placing = h.add();
    // The charge is a group commit (issue #14): it commits at the end of an event-loop turn.
    for (let turn = 0; turn < 100 && h.row(1) === undefined; turn++) await new Promise((r) => setImmediate(r));
    expect(h.row(1)).toMatchObject({ submission: "queued", submitStartedAt: null });
    clock += 60 * 60 * 1000;
    // Recovery (another process) reads the order, then the placing process sends it before
    // recovery settles it: simulated by letting the send start when recovery first reads the config.
    const config = h.ctx.config;
    let sent = false;
    Object.defineProperty(h.ctx, "config", {
      configurable: true,
      get() {
        if (!sent) {
          sent = true;
          h.ctx.db.$client.prepare("UPDATE orders SET submit_started_at = ? WHERE id = 1").run(clock);
        }
        return config;
      },
    });
    const recovered = recoverQueuedOrders(h.ctx);
    expect(sent).toBe(true);
    expect(recovered).toEqual({ refunded: 0, markedUnknown: 1 });
    expect(h.row(1)).toMatchObject({ submission: "unknown", refunded: 0 });
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START - 130_000, ledger: START - 130_000 });
    Object.defineProperty(h.ctx, "config", { configurable: true, writable: true, value: config });
    gate.resolve();
    p1.answer.resolve({ kind: "ok", value: { order: "88" } });
    await placing;
  });
});

describe("held orders are re-asked only with the key their add carried", () => {
  it("never re-asks an order held on a route sent without a key, even once its provider is keyed", async () => {
    const p1 = new FakeProvider("p1").will("add", {
      kind: "rejected",
      failure: { message: "upstream refused the request (HTTP 402): Not enough funds", httpStatus: 402 },
    });
    const p2 = new FakeProvider("p2").will("add", {
      kind: "ambiguous",
      failure: { message: "no answer within 2000 ms" },
    });
    const h = routed({ p1, p2 }, { p1: true });
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.row(1)).toMatchObject({ submission: "unknown", providerId: "p2" });
    // p2's add left without an Idempotency-Key: a re-ask with one would be a new order there.
    expect(adds(p2)[0]?.options?.idempotencyKey).toBeUndefined();
    expect(h.row(1)?.upstreamIdempotencyKey).toBeNull();

    h.reconfigure({ p1: true, p2: true });
    const result = await reaskHeldOrders(h.ctx, "p2", p2);
    expect(result.asked).toBe(0);
    expect(adds(p2)).toHaveLength(1);
    expect(h.row(1)).toMatchObject({ submission: "unknown", refunded: 0 });
  });
});

describe("a re-ask answered after the operator settled the order", () => {
  it("flags the order the upstream now holds instead of counting it linked", async () => {
    const p1 = new OutProvider("p1").will("add", {
      kind: "ambiguous",
      failure: { message: "no answer within 2000 ms" },
    });
    const p2 = new FakeProvider("p2");
    const h = routed({ p1, p2 }, { p1: true });
    let clock = 1_700_000_000_000;
    h.ctx.now = () => clock;
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.row(1)).toMatchObject({ submission: "unknown", providerId: "p1" });
    p1.holding = true;
    const reask = reaskHeldOrders(h.ctx, "p1", p1);
    for (let i = 0; i < 20 && adds(p1).length < 2; i++) await Promise.resolve();
    expect(adds(p1)).toHaveLength(2);
    // The re-ask's claim holds the order: the operator is refused while it lives.
    expect(() => settleUnknownOrder(h.ctx, 1, { refund: true })).toThrow(
      "order 1 is being re-asked at p1 right now; try again in a few seconds",
    );
    // The re-ask outlives its claim (a stalled process): once it expired, the operator gives up
    // on the order; then the upstream answers its order to the stale re-ask.
    clock = (h.row(1)?.reaskLeaseUntil ?? 0) + 1;
    settleUnknownOrder(h.ctx, 1, { refund: true });
    p1.answer.resolve({ kind: "ok", value: { order: "4242" } });
    expect(await reask).toMatchObject({ asked: 1, linked: 0 });
    expect(h.row(1)).toMatchObject({
      submission: "submitted",
      status: "Canceled",
      refunded: 130_000,
      flag: "upstream holds an order settled meanwhile",
    });
    expect(h.row(1)?.lastError).toContain("4242");
  });
});

const server = useMsw();
const URL = "https://proxy-b.test/api/v2";
const open: ProviderClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close(100)));
});

/** Proxy A with one keyed `panel` provider at B (another smm-proxy); B's add answers come from `answer`. */
function chain(answer: () => Response) {
  const requests: Array<Record<string, string>> = [];
  server.use(
    http.post(URL, async ({ request }) => {
      requests.push(await formOf(request));
      return answer();
    }),
  );
  const config = testConfig({
    currency: "USD",
    markup: { percent: 25 },
    providers: [{ id: "b", dialect: "panel", url: URL, key: "key-at-b", timeoutMs: 2000, idempotencyKeys: true }],
    services: [{ id: 1, provider: "b", upstreamService: 7 }],
  });
  const providerConfig = config.providers[0];
  if (providerConfig === undefined) throw new Error("no provider");
  const client = createProviderClient(providerConfig, { retry: { maxAttempts: 1 } });
  open.push(client);
  const ctx = makeContext(config, [client]);
  applyCatalogue(ctx, "b", [upstreamService({ service: "7", rate: "1.00", min: 10, max: 10000 })]);
  const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
  const customer = addCustomer(ctx, "10.00000");
  const add = () =>
    postApi(app, { key: customer.apiKey, action: "add", service: "1", link: "https://ig.com/x", quantity: "1000" });
  const row = (id: number) => ctx.db.select().from(orders).where(eq(orders.id, id)).get();
  return { ctx, customer, add, row, requests };
}

/** 1000 × 1.25 per 1000. */
const CHARGE = 125_000;

describe("an upstream refusing the Idempotency-Key itself holds something under it", () => {
  it("a reroute to another service of the same keyed upstream, refused for the key, stays held", async () => {
    let answer: () => Response = () => HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 });
    server.use(http.post(URL, () => answer()));
    const config = testConfig({
      currency: "USD",
      markup: { percent: 25 },
      providers: [{ id: "b", dialect: "panel", url: URL, key: "key-at-b", timeoutMs: 2000, idempotencyKeys: true }],
      services: [
        {
          id: 1,
          name: "Followers",
          routes: [
            { provider: "b", upstreamService: 7 },
            { provider: "b", upstreamService: 8 },
          ],
        },
      ],
    });
    const providerConfig = config.providers[0];
    if (providerConfig === undefined) throw new Error("no provider");
    const client = createProviderClient(providerConfig, { retry: { maxAttempts: 1 } });
    open.push(client);
    const ctx = makeContext(config, [client]);
    applyCatalogue(ctx, "b", [
      upstreamService({ service: "7", rate: "1.00", min: 10, max: 10000 }),
      upstreamService({ service: "8", rate: "1.00", min: 10, max: 10000 }),
    ]);
    const customer = addCustomer(ctx, "10.00000");
    await placeOrder(ctx, {
      customerId: customer.id,
      fields: { service: "1", link: "https://ig.com/x", quantity: "1000" },
    });
    const row = () => ctx.db.select().from(orders).where(eq(orders.id, 1)).get();
    expect(row()).toMatchObject({ submission: "unknown", upstreamService: "7" });
    // The operator believes B does not have it; B does, under the order's key with service 7.
    answer = () =>
      HttpResponse.json({ error: "Idempotency-Key was already used with different parameters" }, { status: 400 });
    const rerouted = await rerouteOrder(ctx, 1, { route: 1 }, { confirmedAbsent: true });
    expect(rerouted.error).toBeUndefined();
    expect(row()).toMatchObject({ submission: "unknown", refunded: 0 });
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
  });
});

describe("a re-ask refused before the upstream looked at the key never refunds the held order", () => {
  const REFUSED_BEFORE_THE_KEY: Array<[string, () => Response]> = [
    [
      "401 Invalid API key (our key at B rotated)",
      () => HttpResponse.json({ error: "Invalid API key" }, { status: 401 }),
    ],
    [
      "200 {error} 'still being processed' (B answers errors with HTTP 200)",
      () => jsonResponse({ error: "A request with this Idempotency-Key is still being processed" }),
    ],
    [
      "200 {error} 'Too many requests' (B's rate limit, errors as HTTP 200)",
      () => jsonResponse({ error: "Too many requests" }),
    ],
    [
      "400 key used with different parameters",
      () => HttpResponse.json({ error: "Idempotency-Key was already used with different parameters" }, { status: 400 }),
    ],
    ["404 Not found (a path B does not serve)", () => HttpResponse.json({ error: "Not found" }, { status: 404 })],
  ];
  for (const [name, refusal] of REFUSED_BEFORE_THE_KEY) {
    it(name, async () => {
      let answer: () => Response = () => HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 });
      const b = chain(() => answer());
      expect(await b.add()).toEqual({ status: 200, body: { order: 1 } });
      answer = refusal;
      expect(await runStatusSyncTick(b.ctx)).toMatchObject({ heldReasked: 1, heldRefunded: 0 });
      expect(b.row(1)).toMatchObject({ submission: "unknown", status: "Pending", refunded: 0 });
      expect(balanceOf(b.ctx, b.customer.id)).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
      // Held, so asked again next tick: B answers its order, which is linked.
      answer = () => jsonResponse({ order: 31 });
      expect(await runStatusSyncTick(b.ctx)).toMatchObject({ heldReasked: 1, heldLinked: 1 });
      expect(b.row(1)).toMatchObject({ submission: "submitted", upstreamOrderId: "31", refunded: 0 });
    });
  }

  it("still refunds a refusal B gives only after its key check (402 funds)", async () => {
    let answer: () => Response = () => HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 });
    const b = chain(() => answer());
    await b.add();
    answer = () => HttpResponse.json({ error: "Not enough funds on balance" }, { status: 402 });
    expect(await runStatusSyncTick(b.ctx)).toMatchObject({ heldReasked: 1, heldRefunded: 1 });
    expect(b.row(1)).toMatchObject({ submission: "submitted", status: "Canceled", refunded: CHARGE });
    expect(balanceOf(b.ctx, b.customer.id)).toEqual({ balance: START, ledger: START });
  });
});
