/**
 * Held orders resolve themselves (issue #11, items 1 and 2): proxy A forwards to an upstream
 * that is another smm-proxy (`panel` dialect, here answered by msw). An `add` the upstream did
 * not confirm is answered 200 `{"order": N}` and held; an order id in the upstream's answer is
 * kept so status sync settles the order; with `idempotencyKeys` the held order is re-asked with
 * the same key until the upstream answers for it.
 */
import { eq } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { setWebhook } from "../../src/customers/customers.js";
import { orders, webhookDeliveries } from "../../src/db/schema.js";
import { applyCatalogue } from "../../src/sync/catalogue.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { createProviderClient } from "../../src/upstream/client.js";
import type { ProviderClient } from "../../src/upstream/types.js";
import { addCustomer, balanceOf, makeContext, testConfig } from "../helpers/context.js";
import { upstreamService } from "../helpers/fake-provider.js";
import { formOf, jsonResponse, useMsw } from "../upstream/helpers.js";

const server = useMsw();
const URL = "https://proxy-b.test/api/v2";
const KEY = "key-at-b";
const open: ProviderClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close(100)));
});

/** 1000 × (1.00 + 25 %) / 1000 = 1.25 charged per order. */
const CHARGE = 125_000;

/** Proxy A with one `panel` provider at B; B's answers come from `answer`. */
function chain(
  answer: (form: Record<string, string>, headers: Headers) => Response | unknown,
  provider: Record<string, unknown> = {},
) {
  const requests: Array<{ form: Record<string, string>; idempotencyKey: string | null }> = [];
  server.use(
    http.post(URL, async ({ request }) => {
      const form = await formOf(request);
      requests.push({ form, idempotencyKey: request.headers.get("idempotency-key") });
      const result = answer(form, request.headers);
      return result instanceof Response ? result : jsonResponse(result);
    }),
  );
  const config = testConfig({
    currency: "USD",
    markup: { percent: 25 },
    providers: [{ id: "b", dialect: "panel", url: URL, key: KEY, timeoutMs: 2000, ...provider }],
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
  const post = async (fields: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ key: customer.apiKey, ...fields }).toString(),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const add = (headers: Record<string, string> = {}) =>
    post({ action: "add", service: "1", link: "https://ig.com/x", quantity: "1000" }, headers);
  const row = (id: number) => ctx.db.select().from(orders).where(eq(orders.id, id)).get();
  return { ctx, customer, post, add, row, requests, adds: () => requests.filter((r) => r.form.action === "add") };
}

const B_HELD = { error: "Upstream provider did not confirm the order; it is under review", order: 17 };

describe("an add the upstream did not confirm", () => {
  it("answers 200 {order}, shows Pending, and settles by itself when B's 502 carried an order id", async () => {
    let bStatus = "Pending";
    const b = chain((form) => {
      if (form.action === "add") return HttpResponse.json(B_HELD, { status: 502 });
      return { 17: { charge: "1.00", start_count: "5", status: bStatus, remains: "0", currency: "USD" } };
    });
    const placed = await b.add();
    expect(placed).toEqual({ status: 200, body: { order: 1 } });
    expect(b.row(1)).toMatchObject({
      submission: "unknown",
      upstreamOrderId: "17",
      refunded: 0,
      flag: "upstream did not confirm the order",
    });
    expect(balanceOf(b.ctx, b.customer.id)).toEqual({ balance: 1_000_000 - CHARGE, ledger: 1_000_000 - CHARGE });
    expect((await b.post({ action: "status", order: "1" })).body).toEqual({
      charge: "1.25000",
      start_count: "0",
      status: "Pending",
      remains: "1000",
      currency: "USD",
    });
    // B later completes it: A follows the id it kept, no operator work, nothing refunded.
    bStatus = "Completed";
    const tick = await runStatusSyncTick(b.ctx);
    expect(tick).toMatchObject({ upstreamCalls: 1, synced: 1, refunded: { count: 0, total: 0 } });
    expect(b.row(1)).toMatchObject({ submission: "submitted", status: "Completed", refunded: 0, flag: null });
    expect(balanceOf(b.ctx, b.customer.id).balance).toBe(1_000_000 - CHARGE);
    expect(b.adds()).toHaveLength(1);
  });

  it("refunds in full, once, when B later says Canceled (with a webhook)", async () => {
    const b = chain((form) =>
      form.action === "add"
        ? HttpResponse.json(B_HELD, { status: 502 })
        : { 17: { charge: "0", start_count: "0", status: "Canceled", remains: "1000", currency: "USD" } },
    );
    setWebhook(b.ctx.db, b.customer.id, "https://hooks.example/a", { allowPrivate: true });
    expect((await b.add()).body).toEqual({ order: 1 });
    await runStatusSyncTick(b.ctx);
    await runStatusSyncTick(b.ctx);
    expect(b.row(1)).toMatchObject({ submission: "submitted", status: "Canceled", refunded: CHARGE });
    expect(balanceOf(b.ctx, b.customer.id)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
    expect((await b.post({ action: "status", order: "1" })).body).toMatchObject({
      status: "Canceled",
      charge: "0.00000",
    });
    const hooks = b.ctx.db.select().from(webhookDeliveries).all();
    expect(hooks.map((h) => JSON.parse(h.payload).status)).toEqual(["Canceled"]);
  });

  it("links an order B answered 200 {order, error: ''} (an empty error is no error)", async () => {
    const b = chain(() => ({ order: 17, error: "" }));
    expect(await b.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(b.row(1)).toMatchObject({ submission: "submitted", upstreamOrderId: "17", refunded: 0 });
  });

  it("still refunds a bare seed-003 502 {error} without an order id (B's own upstream refused)", async () => {
    const b = chain(() => HttpResponse.json({ error: "Upstream provider returned an error" }, { status: 502 }));
    expect(await b.add()).toEqual({ status: 502, body: { error: "Upstream provider error" } });
    expect(b.row(1)).toMatchObject({ submission: "failed", status: "Canceled", refunded: CHARGE });
    expect(balanceOf(b.ctx, b.customer.id).balance).toBe(1_000_000);
  });

  it("replays the same 200 for the same Idempotency-Key, one order, one charge", async () => {
    const b = chain(() => HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 }));
    const first = await b.add({ "Idempotency-Key": "k1" });
    const second = await b.add({ "Idempotency-Key": "k1" });
    expect(first).toEqual({ status: 200, body: { order: 1 } });
    expect(second).toEqual({ status: 200, body: { order: 1 } });
    expect(b.adds()).toHaveLength(1);
    expect(balanceOf(b.ctx, b.customer.id).balance).toBe(1_000_000 - CHARGE);
  });
});

describe("idempotencyKeys: held orders are re-asked with the same key", () => {
  it("sends a stable key; 409 waits; the order answer links it; then status sync settles it", async () => {
    let addAnswer: () => Response | unknown = () => HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 });
    const b = chain(
      (form) =>
        form.action === "add"
          ? addAnswer()
          : { 23: { charge: "1.00", start_count: "0", status: "In progress", remains: "400", currency: "USD" } },
      { idempotencyKeys: true },
    );
    expect(await b.add()).toEqual({ status: 200, body: { order: 1 } });
    const key = b.adds()[0]?.idempotencyKey;
    expect(key).toMatch(/^smm-proxy-order-1-[0-9a-z]+$/);
    expect(b.row(1)).toMatchObject({ submission: "unknown", upstreamIdempotencyKey: key, upstreamOrderId: null });

    addAnswer = () =>
      HttpResponse.json({ error: "A request with this Idempotency-Key is still being processed" }, { status: 409 });
    const waiting = await runStatusSyncTick(b.ctx);
    expect(waiting).toMatchObject({ heldReasked: 1, heldLinked: 0, heldRefunded: 0, upstreamCalls: 0 });
    expect(b.row(1)).toMatchObject({ submission: "unknown", upstreamOrderId: null, refunded: 0 });

    addAnswer = () => ({ order: 23 });
    const linked = await runStatusSyncTick(b.ctx);
    expect(linked).toMatchObject({ heldReasked: 1, heldLinked: 1, upstreamCalls: 1, synced: 1 });
    expect(b.row(1)).toMatchObject({
      submission: "submitted",
      upstreamOrderId: "23",
      status: "In progress",
      flag: null,
    });
    // Every add carried the same key and the same parameters.
    expect(b.adds().map((r) => r.idempotencyKey)).toEqual([key, key, key]);
    expect(new Set(b.adds().map((r) => JSON.stringify(r.form))).size).toBe(1);
    // Linked: never asked again.
    await runStatusSyncTick(b.ctx);
    expect(b.adds()).toHaveLength(3);
  });

  it("a definite refusal cancels and refunds the held order, visible to the customer", async () => {
    let refuse = false;
    const b = chain(
      () =>
        refuse
          ? HttpResponse.json({ error: "Not enough funds on balance" }, { status: 402 })
          : HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 }),
      { idempotencyKeys: true },
    );
    expect((await b.add()).body).toEqual({ order: 1 });
    refuse = true;
    expect(await runStatusSyncTick(b.ctx)).toMatchObject({ heldReasked: 1, heldRefunded: 1 });
    expect(b.row(1)).toMatchObject({ submission: "submitted", status: "Canceled", refunded: CHARGE });
    expect(b.row(1)?.lastError).toMatch(/^upstream refused the order when re-asked/);
    expect(balanceOf(b.ctx, b.customer.id)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });
    expect((await b.post({ action: "status", order: "1" })).body).toMatchObject({
      status: "Canceled",
      charge: "0.00000",
    });
    await runStatusSyncTick(b.ctx);
    expect(b.adds()).toHaveLength(2);
  });

  it("re-asks for 24 hours only", async () => {
    const b = chain(() => HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 }), { idempotencyKeys: true });
    await b.add();
    const created = b.row(1)?.createdAt ?? 0;
    b.ctx.now = () => created + 24 * 60 * 60 * 1000 + 1;
    expect(await runStatusSyncTick(b.ctx)).toMatchObject({ heldReasked: 0 });
    expect(b.adds()).toHaveLength(1);
  });

  it("without the option nothing is ever resent and no key is sent", async () => {
    const b = chain(() => HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 }));
    await b.add();
    await runStatusSyncTick(b.ctx);
    await runStatusSyncTick(b.ctx);
    expect(b.adds().map((r) => r.idempotencyKey)).toEqual([null]);
    expect(b.row(1)).toMatchObject({ submission: "unknown", upstreamIdempotencyKey: null });
  });
});
