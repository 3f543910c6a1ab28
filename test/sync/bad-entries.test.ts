/**
 * One bad status entry blocks no one else (issue #11, item 5): entries of a multi-status answer
 * are read one by one; an unreadable one is a miss on its own order (flagged after
 * `flagAfterMisses`), the others apply. A failed batch moves to the back of the next tick.
 */
import { HttpResponse, http } from "msw";
import { afterEach, describe, expect, it } from "vitest";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { createProviderClient } from "../../src/upstream/client.js";
import type { ProviderClient } from "../../src/upstream/types.js";
import { balanceOf, makeContext, testConfig } from "../helpers/context.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { useMsw } from "../upstream/helpers.js";
import { customerWith, orderRow, placeSubmitted } from "./harness.js";

const server = useMsw();
const URL = "https://jap.test/api/v2";
const open: ProviderClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close(100)));
});

const config = testConfig({
  currency: "USD",
  flagAfterMisses: 3,
  providers: [{ id: "p", dialect: "jap", url: URL, key: "k", timeoutMs: 2000 }],
  services: [],
});

describe("a multi-status answer with a bad entry", () => {
  it.each([
    ["remains", { remains: "12.5" }],
    ["start_count", { start_count: 1e20 }],
    ["charge", { charge: "0,52" }],
  ])("%s: the bad order misses alone; the Canceled one in the same batch is refunded", async (_field, bad) => {
    const providerConfig = config.providers[0];
    if (providerConfig === undefined) throw new Error("no provider");
    const client = createProviderClient(providerConfig, { retry: { maxAttempts: 1 } });
    open.push(client);
    const ctx = makeContext(config, [client]);
    const customer = customerWith(ctx, "10.00000");
    const ids = Array.from({ length: 100 }, (_, i) =>
      placeSubmitted(ctx, { customerId: customer, providerId: "p", upstreamOrderId: 7000 + i, charge: "0.01000" }),
    );
    server.use(
      http.post(URL, () => {
        const body: Record<string, unknown> = {};
        for (let i = 0; i < 100; i++) {
          body[String(7000 + i)] = { status: "In progress", start_count: "10", remains: "500", charge: "0.01" };
        }
        body["7000"] = { status: "In progress", start_count: "10", remains: "500", charge: "0.01", ...bad };
        body["7001"] = { status: "Canceled", start_count: "0", remains: "1000", charge: "0" };
        return HttpResponse.json(body);
      }),
    );
    const first = await runStatusSyncTick(ctx);
    expect(first).toMatchObject({ upstreamCalls: 1, synced: 99, errors: 1, failedBatches: 0 });
    expect(first.refunded).toEqual({ count: 1, total: 1000 });
    expect(orderRow(ctx, ids[1] ?? 0)).toMatchObject({ status: "Canceled", refunded: 1000 });
    expect(orderRow(ctx, ids[2] ?? 0)).toMatchObject({ status: "In progress", remains: 500 });
    const badRow = orderRow(ctx, ids[0] ?? 0);
    expect(badRow).toMatchObject({ status: "Pending", missCount: 1, flag: null });
    expect(badRow.lastError).toMatch(/^unreadable status entry \(/);
    await runStatusSyncTick(ctx);
    await runStatusSyncTick(ctx);
    expect(orderRow(ctx, ids[0] ?? 0)).toMatchObject({
      missCount: 3,
      flag: "not found upstream: 3 consecutive status syncs without the order",
    });
    expect(balanceOf(ctx, customer)).toEqual({ balance: 1_000_000 - 99_000, ledger: 1_000_000 - 99_000 });
  });
});

describe("a failed batch", () => {
  it("moves behind a batch our queue never sent, which is asked first next tick", async () => {
    const provider = new FakeProvider("p");
    const ctx = makeContext(config, [provider]);
    let now = 1_000;
    ctx.now = () => now;
    const customer = customerWith(ctx, "10.00000");
    for (let i = 0; i < 250; i++) {
      placeSubmitted(ctx, { customerId: customer, providerId: "p", upstreamOrderId: 9000 + i, charge: "0" });
    }
    const upstreamIds = (from: number, count: number) => Array.from({ length: count }, (_, i) => String(from + i));
    // Tick 1: the first batch reaches the upstream and fails; the second is never sent (our queue).
    provider.will(
      "multiStatus",
      { kind: "ambiguous", failure: { message: "HTTP 500" } },
      { kind: "not_sent", reason: "queue_timeout", failure: { message: "budget ran out" } },
    );
    now = 2_000;
    expect(await runStatusSyncTick(ctx, { batchConcurrency: 1 })).toMatchObject({ failedBatches: 2, synced: 0 });
    now = 3_000;
    await runStatusSyncTick(ctx, { batchConcurrency: 1 });
    const asked = provider.calls.filter((c) => c.method === "multiStatus").map((c) => c.args[0]);
    expect(asked.slice(0, 3)).toEqual([upstreamIds(9000, 100), upstreamIds(9100, 100), upstreamIds(9200, 50)]);
    // Tick 2: the never-sent batch first (it starved behind the failing one), then the others by
    // when they were last asked (the failed batch and the answered one, asked at the same time, by id).
    expect(asked.slice(3)).toEqual([upstreamIds(9100, 100), upstreamIds(9000, 100), upstreamIds(9200, 50)]);
  });
});
