/**
 * A held order's re-ask claims the order before its request leaves (`orders/reask-claim.ts`):
 * while that request is out, the operator's `orders resolve`, `orders settle` and `orders
 * reroute` (run here through the CLI, its own connection to the same database file) refuse the
 * order and change nothing, so the operator can never refund an order the re-ask then finds
 * upstream, nor place it on a second upstream. Upstreams p1 and p2 are other smm-proxies
 * (`panel` dialect with `idempotencyKeys`), answered by msw; p1's re-ask answer is held open
 * until the test releases it.
 */
import { writeFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { openDb } from "../../src/db/client.js";
import { ledgerEntries, orderAttempts, orders } from "../../src/db/schema.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { AppContext } from "../../src/runtime/context.js";
import { applyCatalogue } from "../../src/sync/catalogue.js";
import { reaskHeldOrders } from "../../src/sync/held-orders.js";
import { createProviderClient } from "../../src/upstream/client.js";
import type { ProviderClient } from "../../src/upstream/types.js";
import { cliSandbox } from "../cli/helpers.js";
import { addCustomer, balanceOf, postApi, TWO_ROUTE_SERVICE } from "../helpers/context.js";
import { upstreamService } from "../helpers/fake-provider.js";
import { deferred, formOf, jsonResponse, useMsw } from "../upstream/helpers.js";

const server = useMsw();
const START = 1_000_000;
/** 1000 × 1.00 per 1000 + 30 % = 1.30000 charged per order. */
const CHARGE = 130_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Answer = () => Response | unknown | Promise<Response | unknown>;

/** Proxy A over a database file the CLI also opens; service 10 routed p1/101 then p2/201. */
function proxy() {
  const sandbox = cliSandbox("smm-reask-claim-");
  const file = {
    currency: "USD",
    markup: { percent: 30 },
    providers: (["p1", "p2"] as const).map((id) => ({
      id,
      dialect: "panel",
      url: `https://${id}.test/api/v2`,
      key: `key-at-${id}`,
      timeoutMs: 2000,
      idempotencyKeys: true,
    })),
    services: [TWO_ROUTE_SERVICE],
  };
  writeFileSync(sandbox.env.PROVIDERS_FILE ?? "", JSON.stringify(file));
  const config = parseProvidersConfig(file, {});
  const adds = { p1: [] as Array<string | null>, p2: [] as Array<string | null> };
  const answers: Record<"p1" | "p2", Answer> = {
    p1: () => HttpResponse.html("<h1>Bad gateway</h1>", { status: 502 }),
    p2: () => ({ order: 9001 }),
  };
  for (const id of ["p1", "p2"] as const) {
    server.use(
      http.post(`https://${id}.test/api/v2`, async ({ request }) => {
        const form = await formOf(request);
        if (form.action !== "add") return jsonResponse({ error: "not scripted" });
        adds[id].push(request.headers.get("idempotency-key"));
        const result = await answers[id]();
        return result instanceof Response ? result : jsonResponse(result);
      }),
    );
  }
  const clients = config.providers.map((p) => createProviderClient(p, { retry: { maxAttempts: 1 } }));
  const db = openDb(sandbox.env.DATABASE_PATH ?? "");
  const ctx: AppContext = {
    db,
    config,
    providers: { get: (id) => clients.find((c) => c.id === id) },
    logger: silentLogger(),
    now: () => Date.now(),
    catalogueVersion: 0,
  };
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.close(100)));
    db.$client.close();
    sandbox.cleanup();
  });
  applyCatalogue(ctx, "p1", [upstreamService({ service: "101", rate: "1.00" })]);
  applyCatalogue(ctx, "p2", [upstreamService({ service: "201", rate: "1.00" })]);
  const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
  const customer = addCustomer(ctx, "10.00000");
  const add = () =>
    postApi(app, { key: customer.apiKey, action: "add", service: "10", link: "https://ig.com/a", quantity: "1000" });
  const row = (id: number) => ctx.db.select().from(orders).where(eq(orders.id, id)).get();
  const p1 = clients.find((c) => c.id === "p1") as ProviderClient;
  /** Runs p1's re-asks with its answer held open; resolves `reached` once the request is at p1. */
  const reaskHeldOpen = (answer: unknown) => {
    const reached = deferred();
    const release = deferred();
    answers.p1 = async () => {
      reached.resolve();
      await release.promise;
      return answer;
    };
    const tick = reaskHeldOrders(ctx, "p1", p1);
    return { reached: reached.promise, release: () => release.resolve(), tick };
  };
  return { ctx, cli: sandbox, customer, add, row, adds, answers, p1, reaskHeldOpen };
}

const REFUSED = "error: order 1 is being re-asked at p1 right now; try again in a few seconds\n";

describe("a held order's re-ask claims it", () => {
  it("refuses resolve --refund and settle while the re-ask is out; linked afterwards, charged exactly once", async () => {
    const h = proxy();
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(h.row(1)).toMatchObject({ submission: "unknown", providerId: "p1", upstreamOrderId: null });

    const reask = h.reaskHeldOpen({ order: 4242 });
    await reask.reached;
    const refund = await h.cli.run(["orders", "resolve", "1", "--refund"]);
    expect(refund).toEqual({ code: 1, stdout: "", stderr: REFUSED });
    expect(h.row(1)?.reaskLeaseUntil).toBeGreaterThan(Date.now());
    const link = await h.cli.run(["orders", "resolve", "1", "--upstream-order", "4242"]);
    expect(link).toEqual({ code: 1, stdout: "", stderr: REFUSED });
    const settle = await h.cli.run(["orders", "settle", "1", "--status", "Canceled"]);
    expect(settle).toEqual({ code: 1, stdout: "", stderr: REFUSED });
    expect(h.row(1)).toMatchObject({ submission: "unknown", status: "Pending", refunded: 0 });
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });

    reask.release();
    expect(await reask.tick).toEqual({ asked: 1, linked: 1, refunded: 0 });
    expect(h.row(1)).toMatchObject({
      submission: "submitted",
      upstreamOrderId: "4242",
      status: "Pending",
      refunded: 0,
      flag: null,
      reaskLeaseUntil: null,
    });
    // The upstream holds it: a refund now is refused too, and the customer paid once.
    expect((await h.cli.run(["orders", "resolve", "1", "--refund"])).code).toBe(1);
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: 870_000, ledger: 870_000 });
    const ledger = h.ctx.db.select().from(ledgerEntries).where(eq(ledgerEntries.orderId, 1)).all();
    expect(ledger.map((e) => [e.kind, e.amount])).toEqual([["charge", -130_000]]);
  });

  it("refuses reroute while the re-ask is out: the second route receives no add", async () => {
    const h = proxy();
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    const reask = h.reaskHeldOpen({ order: 4243 });
    await reask.reached;
    const reroute = await h.cli.run(["orders", "reroute", "1", "--provider", "p2", "--not-on-upstream"]);
    expect(reroute).toEqual({ code: 1, stdout: "", stderr: REFUSED });
    expect(h.row(1)).toMatchObject({ submission: "unknown", providerId: "p1", refunded: 0 });

    reask.release();
    expect(await reask.tick).toMatchObject({ asked: 1, linked: 1 });
    expect(h.row(1)).toMatchObject({ submission: "submitted", providerId: "p1", upstreamOrderId: "4243" });
    expect(h.adds.p2).toHaveLength(0);
    expect(h.adds.p1).toHaveLength(2);
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
  });

  it("an expired claim (a crashed re-ask) blocks nothing: resolve refunds, the next tick re-asks", async () => {
    const h = proxy();
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    expect(await h.add()).toEqual({ status: 200, body: { order: 2 } });
    // Both re-asked by a process that crashed with its requests out: claims older than their lease.
    const expired = Date.now() - 1;
    h.ctx.db.update(orders).set({ reaskLeaseUntil: expired }).run();
    const crashed = { routeIndex: 0, providerId: "p1", upstreamService: "101", kind: "reask" as const };
    h.ctx.db
      .insert(orderAttempts)
      .values([1, 2].map((orderId) => ({ ...crashed, orderId, outcome: "sending" as const, sentAt: expired - 60_000 })))
      .run();

    const refund = await h.cli.json<{ status: string; refundedNow: string }>(["orders", "resolve", "1", "--refund"]);
    expect(refund).toMatchObject({ status: "Canceled", refundedNow: "1.30000" });
    expect(h.row(1)).toMatchObject({ submission: "submitted", status: "Canceled", reaskLeaseUntil: null });

    h.answers.p1 = () => ({ order: 56 });
    const tick = await reaskHeldOrders(h.ctx, "p1", h.p1);
    expect(tick).toEqual({ asked: 1, linked: 1, refunded: 0 });
    expect(h.row(2)).toMatchObject({ submission: "submitted", upstreamOrderId: "56", reaskLeaseUntil: null });
    expect(h.adds.p1).toEqual([
      h.row(1)?.upstreamIdempotencyKey,
      h.row(2)?.upstreamIdempotencyKey,
      h.row(2)?.upstreamIdempotencyKey,
    ]);
    expect(balanceOf(h.ctx, h.customer.id)).toEqual({ balance: START - CHARGE, ledger: START - CHARGE });
    // The crashed re-asks are ended, not left in flight.
    const reasks = h.ctx.db.select().from(orderAttempts).where(eq(orderAttempts.kind, "reask")).all();
    expect(reasks.map((a) => [a.orderId, a.outcome, a.error])).toEqual([
      [1, "ambiguous", "re-ask in flight when its claim ended; its answer not applied"],
      [2, "ambiguous", "re-ask in flight when its claim ended; its answer not applied"],
      [2, "ok", "upstream order 56"],
    ]);
  });

  it("keeps the lease of the config its client was made from when a reload lowers the timeout meanwhile", async () => {
    const h = proxy();
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    const lowered = {
      ...h.ctx.config,
      providers: h.ctx.config.providers.map((p) => (p.id === "p1" ? { ...p, timeoutMs: 100 } : p)),
    };
    // The tick runs on the client of the old config (2 s); the file is reloaded with 100 ms just
    // before its request leaves.
    const reloadingMeanwhile: ProviderClient = Object.assign(Object.create(h.p1) as ProviderClient, {
      add: (...args: Parameters<ProviderClient["add"]>) => {
        h.ctx.config = lowered;
        return h.p1.add(...args);
      },
    });
    const reached = deferred();
    const release = deferred();
    h.answers.p1 = async () => {
      reached.resolve();
      await release.promise;
      return { order: 555 };
    };
    const before = Date.now();
    const tick = reaskHeldOrders(h.ctx, "p1", reloadingMeanwhile);
    await reached.promise;
    // The old client may take 2 s + 1 s (its add budget); the lease covers it plus the margin.
    expect((h.row(1)?.reaskLeaseUntil ?? 0) - before).toBeGreaterThanOrEqual(2000 + 1000 + 30_000);
    release.resolve();
    expect(await tick).toEqual({ asked: 1, linked: 1, refunded: 0 });
    expect(h.row(1)).toMatchObject({ submission: "submitted", upstreamOrderId: "555", reaskLeaseUntil: null });
  });

  it("lists every re-ask with its outcome in orders show", async () => {
    const h = proxy();
    expect(await h.add()).toEqual({ status: 200, body: { order: 1 } });
    h.answers.p1 = () =>
      HttpResponse.json({ error: "A request with this Idempotency-Key is still being processed" }, { status: 409 });
    expect(await reaskHeldOrders(h.ctx, "p1", h.p1)).toEqual({ asked: 1, linked: 0, refunded: 0 });
    h.answers.p1 = () => ({ order: 4244 });
    expect(await reaskHeldOrders(h.ctx, "p1", h.p1)).toEqual({ asked: 1, linked: 1, refunded: 0 });

    const shown = await h.cli.json<{ attempts: Array<Record<string, unknown>> }>(["orders", "show", "1"]);
    expect(shown.attempts.map((a) => [a.route, a.providerId, a.kind, a.outcome, a.error])).toEqual([
      [0, "p1", "add", "ambiguous", expect.any(String)],
      [
        0,
        "p1",
        "reask",
        "ambiguous",
        "re-asked, kept held: upstream refused the request (HTTP 409): A request with this Idempotency-Key is still being processed",
      ],
      [0, "p1", "reask", "ok", "upstream order 4244"],
    ]);
    const text = (await h.cli.run(["orders", "show", "1"])).stdout;
    expect(text).toMatch(
      /Upstream attempts:\n.*\n.*\n +0 +p1 +101 +add +ambiguous .*\n +0 +p1 +101 +reask +ambiguous .*\n +0 +p1 +101 +reask +ok +upstream order 4244 /,
    );
  });
});
