/**
 * A provider removed from the config by a reload keeps its open orders and refills synced
 * (the reloadable registry keeps its client): sync takes provider ids from the store too.
 * A provider with open orders and no client at all is warned about once, not every tick.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { refills } from "../../src/db/schema.js";
import type { AppContext } from "../../src/runtime/context.js";
import type { Simulator } from "../../src/simulator/index.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { syncProviderIds } from "../../src/sync/providers.js";
import { runRefillSyncTick } from "../../src/sync/refill-status.js";
import { customerWith, orderRow, placeSubmitted, refillRow, type SyncHarness, startHarness } from "./harness.js";

let h: SyncHarness;
let gone: Simulator;
/** The context after a reload that removed provider `gone` from the config. */
let reloaded: AppContext;

beforeEach(async () => {
  h = await startHarness([
    { id: "kept", dialect: "jap" },
    { id: "gone", dialect: "panel" },
  ]);
  gone = h.sims.gone as Simulator;
  reloaded = {
    ...h.ctx,
    config: { ...h.ctx.config, providers: h.ctx.config.providers.filter((p) => p.id === "kept") },
  };
});
afterEach(async () => {
  await h.close();
});

describe("sync after the provider left the config", () => {
  it("still syncs its open orders and refunds exactly", async () => {
    const customer = customerWith(h.ctx, "10.00000");
    const id = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "gone",
      upstreamOrderId: 1487,
      charge: "2.00000",
    });
    placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "gone",
      upstreamOrderId: 1488,
      charge: "1.00000",
      status: "Completed",
    });
    gone.setOrder(1487, { status: "Canceled", remains: 1000 });
    expect(syncProviderIds(reloaded, "orders")).toEqual(["kept", "gone"]);

    const result = await runStatusSyncTick(reloaded);
    expect(result).toMatchObject({ providers: 2, upstreamCalls: 1, synced: 1, refunded: { count: 1, total: 200_000 } });
    expect(orderRow(h.ctx, id)).toMatchObject({ status: "Canceled", refunded: 200_000 });
    // Nothing open there any more: only the configured provider is visited.
    expect(syncProviderIds(reloaded, "orders")).toEqual(["kept"]);
    expect(await runStatusSyncTick(reloaded)).toMatchObject({ providers: 1, upstreamCalls: 0 });
  });

  it("still syncs its open refills", async () => {
    const customer = customerWith(h.ctx, "10.00000");
    const order = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "gone",
      upstreamOrderId: 1487,
      charge: "1.00000",
      status: "Completed",
    });
    const now = Date.now();
    const refill = h.ctx.db
      .insert(refills)
      .values({
        orderId: order,
        customerId: customer,
        providerId: "gone",
        upstreamRefillId: "55",
        status: "Pending",
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: refills.id })
      .get().id;
    gone.setRefill(55, { status: "Completed", order: 1487 });
    expect(syncProviderIds(reloaded, "refills")).toEqual(["kept", "gone"]);
    const result = await runRefillSyncTick(reloaded);
    expect(result).toMatchObject({ providers: 2, upstreamCalls: 1, synced: 1, failedBatches: 0 });
    expect(refillRow(h.ctx, refill).status).toBe("Completed");
  });

  it("warns once about a provider with open orders and no client", async () => {
    const lines: Array<{ msg: string; providerId?: string }> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logged: AppContext = { ...reloaded, logger: pino({ level: "warn" }, sink) };
    const customer = customerWith(h.ctx, "10.00000");
    const id = placeSubmitted(h.ctx, {
      customerId: customer,
      providerId: "nowhere",
      upstreamOrderId: 9,
      charge: "1.00000",
    });
    for (let tick = 0; tick < 3; tick++) {
      expect(await runStatusSyncTick(logged)).toMatchObject({ providers: 2, upstreamCalls: 0, failedBatches: 0 });
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.msg, l.providerId])).toEqual([
      ["sync: no client for provider; its open items are not synced", "nowhere"],
    ]);
    expect(orderRow(h.ctx, id)).toMatchObject({ status: "Pending", refunded: 0 });
  });
});
