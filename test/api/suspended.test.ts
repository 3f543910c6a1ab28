/** A suspended account (`customers suspend`): 403 on every key, open orders still sync and refund (issue #15). */
import { expect, it } from "vitest";
import { setSuspended } from "../../src/customers/customers.js";
import { runStatusSyncTick } from "../../src/sync/order-status.js";
import { addCustomer, balanceOf } from "../helpers/context.js";
import { harness, json } from "./app-harness.js";

it("answers 403 Account suspended on every action, then works again after resume", async () => {
  const { ctx, post, provider } = harness();
  const customer = addCustomer(ctx, "10.00000");
  const quiet = addCustomer(ctx, "1.00000", { httpErrors: false });
  provider.will("add", { kind: "ok", value: { order: "9001" } });
  // 1000 × 1.25 → 1.25000 charged
  expect(
    await json(await post({ key: customer.apiKey, action: "add", service: 1, link: "https://x.y/a", quantity: 1000 })),
  ).toEqual({ order: 1 });

  setSuspended(ctx.db, customer.id, true);
  setSuspended(ctx.db, quiet.id, true);
  const requests: Array<Record<string, string | number>> = [
    { action: "balance" },
    { action: "services" },
    { action: "status", order: 1 },
    { action: "add", service: 1, link: "https://x.y/b", quantity: 1000 },
  ];
  for (const fields of requests) {
    const res = await post({ key: customer.apiKey, ...fields });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ error: "Account suspended" });
  }
  // A customer answered with HTTP 200 on errors gets the same body with 200.
  const quietAnswer = await post({ key: quiet.apiKey, action: "balance" });
  expect(quietAnswer.status).toBe(200);
  expect(await json(quietAnswer)).toEqual({ error: "Account suspended" });
  // An unknown key is still 401, not 403.
  expect((await post({ key: "not-a-key", action: "balance" })).status).toBe(401);

  // Its open order still syncs and refunds while suspended: Canceled → 1.25000 back.
  provider.will("multiStatus", {
    kind: "ok",
    value: new Map([
      [
        "9001",
        { status: "Canceled", rawStatus: "Canceled", charge: null, startCount: null, remains: 1000, currency: null },
      ],
    ]),
  });
  expect(await runStatusSyncTick(ctx)).toMatchObject({ synced: 1, refunded: { count: 1, total: 125_000 } });
  expect(balanceOf(ctx, customer.id)).toEqual({ balance: 1_000_000, ledger: 1_000_000 });

  setSuspended(ctx.db, customer.id, false);
  expect(await json(await post({ key: customer.apiKey, action: "balance" }))).toEqual({
    balance: "10.00000",
    currency: "USD",
  });
});
