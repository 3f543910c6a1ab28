import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orders, refills, services as servicesTable } from "../../src/db/schema.js";
import { addCustomer, balanceOf } from "../helpers/context.js";
import { harness, json } from "./app-harness.js";

async function placed(h: ReturnType<typeof harness>, apiKey: string, service = 1, quantity = 100) {
  const res = await h.post({ key: apiKey, action: "add", service, link: "https://x.com/a", quantity });
  return ((await res.json()) as { order: number }).order;
}

describe("services", () => {
  it("lists enabled services with sell rates as strings and flags as booleans", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "1.00000");
    const res = await h.post({ key: customer.apiKey, action: "services" });
    expect(res.status).toBe(200);
    const body = (await json(res)) as Array<Record<string, unknown>>;
    expect(body[0]).toEqual({
      service: 1,
      name: "Followers",
      type: "Default",
      category: "Instagram",
      rate: "1.25",
      min: "10",
      max: "10000",
      refill: true,
      cancel: true,
      dripfeed: true,
    });
    expect(body.map((s) => [s.service, s.rate])).toEqual([
      [1, "1.25"],
      [2, "2.50"],
      [3, "10.00"],
      [4, "3.75"],
      [5, "1.10"],
      [6, "0.75"],
    ]);
  });
});

describe("services cache", () => {
  it("sees a catalogue change committed by another process (another connection to the store file)", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { openDb } = await import("../../src/db/client.js");
    const { createApp } = await import("../../src/api/app.js");
    const { applyCatalogue } = await import("../../src/sync/catalogue.js");
    const { CATALOGUE } = await import("./app-harness.js");
    const path = join(mkdtempSync(join(tmpdir(), "smm-services-")), "store.db");
    const h = harness();
    const ctx = { ...h.ctx, db: openDb(path) };
    applyCatalogue(ctx, "p1", CATALOGUE);
    const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
    const customer = addCustomer(ctx, "1.00000");
    const rates = async () => {
      const res = await app.request("/api/v2", {
        method: "POST",
        body: new URLSearchParams({ key: customer.apiKey, action: "services" }),
      });
      return ((await res.json()) as Array<{ rate: string }>).map((s) => s.rate);
    };
    expect((await rates())[0]).toBe("1.25");
    // as `npm run cli -- sync prices` would, from its own process: no in-process version bump
    const other = openDb(path, { migrate: false });
    other
      .update(servicesTable)
      .set({ rate: 150_000, updatedAt: Date.now() + 1 })
      .where(eq(servicesTable.id, 1))
      .run();
    other.$client.close();
    expect((await rates())[0]).toBe("1.50");
    // a commit elsewhere that leaves the catalogue alone keeps the cached answer
    addCustomer(ctx, "0.00000");
    expect((await rates())[0]).toBe("1.50");
    ctx.db.$client.close();
  });
});

describe("status", () => {
  it("answers one order with strings, and many keyed by id with errors for unknown and foreign ids", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const bob = addCustomer(h.ctx, "10.00000");
    const mine = await placed(h, alice.apiKey);
    const theirs = await placed(h, bob.apiKey);
    h.ctx.db
      .update(orders)
      .set({ status: "Partial", startCount: 3572, remains: 40, refunded: 5_000 })
      .where(eq(orders.id, mine))
      .run();
    const one = await h.post({ key: alice.apiKey, action: "status", order: mine });
    expect(await json(one)).toEqual({
      charge: "0.07500",
      start_count: "3572",
      status: "Partial",
      remains: "40",
      currency: "USD",
    });
    const foreign = await h.post({ key: alice.apiKey, action: "status", order: theirs });
    expect(foreign.status).toBe(404);
    expect(await json(foreign)).toEqual({ error: "Incorrect order ID" });
    const many = await h.post({
      key: alice.apiKey,
      action: "status",
      orders: `${mine},${theirs},999999999999999999999`,
    });
    expect(await json(many)).toEqual({
      [String(mine)]: { charge: "0.07500", start_count: "3572", status: "Partial", remains: "40", currency: "USD" },
      [String(theirs)]: { error: "Incorrect order ID" },
      "999999999999999999999": { error: "Incorrect order ID" },
    });
    const multi = await h.post({ key: alice.apiKey, action: "multiStatus", orders: `${mine}` });
    expect(Object.keys((await json(multi)) as object)).toEqual([String(mine)]);
  });

  it("answers one order from its stored columns: held shows Pending, unset counts show 0 and the quantity, failed is unknown", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const held = await placed(h, alice.apiKey);
    const failed = await placed(h, alice.apiKey);
    h.ctx.db
      .update(orders)
      .set({
        submission: "unknown",
        status: "In progress",
        startCount: null,
        remains: null,
        charge: 12_345,
        refunded: 2_345,
      })
      .where(eq(orders.id, held))
      .run();
    h.ctx.db.update(orders).set({ submission: "failed" }).where(eq(orders.id, failed)).run();
    const one = await h.post({ key: alice.apiKey, action: "status", order: held });
    expect(one.status).toBe(200);
    expect(await json(one)).toEqual({
      charge: "0.10000",
      start_count: "0",
      status: "Pending",
      remains: "100",
      currency: "USD",
    });
    const gone = await h.post({ key: alice.apiKey, action: "status", order: failed });
    expect(gone.status).toBe(404);
    expect(await json(gone)).toEqual({ error: "Incorrect order ID" });
  });

  it("refuses more than 100 ids and empty lists with 400, and answers malformed ids per id", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "1.00000");
    const ids = Array.from({ length: 101 }, (_, i) => i + 1).join(",");
    const res = await h.post({ key: alice.apiKey, action: "status", orders: ids });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ error: "Too many IDs: at most 100" });
    const bad = await h.post({ key: alice.apiKey, action: "status", orders: "abc, 7" });
    expect(bad.status).toBe(200);
    expect(await json(bad)).toEqual({ abc: { error: "Incorrect order ID" }, "7": { error: "Incorrect order ID" } });
    const one = await h.post({ key: alice.apiKey, action: "status", order: "abc" });
    expect(one.status).toBe(404);
    expect(await json(one)).toEqual({ error: "Incorrect order ID" });
    const empty = await h.post({ key: alice.apiKey, action: "status", orders: " , " });
    expect(empty.status).toBe(400);
    expect(await json(empty)).toEqual({ error: "Incorrect request" });
  });
});

describe("refill", () => {
  it("forwards a refill for a Completed order and answers the local refill id; refill_status reads the store", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const id = await placed(h, alice.apiKey);
    const notYet = await h.post({ key: alice.apiKey, action: "refill", order: id });
    expect(notYet.status).toBe(400);
    expect(await json(notYet)).toEqual({ error: "Refill is not available for this order" });
    h.ctx.db.update(orders).set({ status: "Completed", remains: 0 }).where(eq(orders.id, id)).run();
    const res = await h.post({ key: alice.apiKey, action: "refill", order: id });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ refill: "1" });
    expect(h.provider.calls.at(-1)).toMatchObject({ method: "refill", args: ["900001"] });
    const status = await h.post({ key: alice.apiKey, action: "refill_status", refill: 1 });
    expect(await json(status)).toEqual({ status: "Pending" });
    h.ctx.db.update(refills).set({ status: "Completed" }).run();
    const many = await h.post({ key: alice.apiKey, action: "refill_status", refills: "1,7" });
    expect(await json(many)).toEqual([
      { refill: 1, status: "Completed" },
      { refill: 7, status: { error: "Refill not found" } },
    ]);
    const missing = await h.post({ key: alice.apiKey, action: "refill_status", refill: 7 });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ error: "Refill not found" });
  });

  it("answers the batch form per order with one upstream multi-refill call", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const a = await placed(h, alice.apiKey);
    const b = await placed(h, alice.apiKey);
    const c = await placed(h, alice.apiKey, 5);
    h.ctx.db.update(orders).set({ status: "Completed" }).run();
    const res = await h.post({ key: alice.apiKey, action: "refill", orders: `${a},${b},${c},77` });
    expect(await json(res)).toEqual([
      { order: a, refill: 1 },
      { order: b, refill: 2 },
      { order: c, refill: { error: "Refill is not available for this order" } },
      { order: 77, refill: { error: "Incorrect order ID" } },
    ]);
    expect(h.provider.calls.filter((x) => x.method.includes("efill"))).toMatchObject([
      { method: "multiRefill", args: [["900001", "900002"]] },
    ]);
  });

  it("answers 502 for the single form when the upstream fails", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const id = await placed(h, alice.apiKey);
    h.ctx.db.update(orders).set({ status: "Completed" }).run();
    h.provider.will("refill", { kind: "ambiguous", failure: { message: "reset" } });
    const res = await h.post({ key: alice.apiKey, action: "refill", order: id });
    expect(res.status).toBe(502);
    expect(await json(res)).toEqual({ error: "Upstream provider error" });
  });

  it("infers refill and refill_status when an old client sends no action", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const id = await placed(h, alice.apiKey);
    h.ctx.db.update(orders).set({ status: "Completed" }).run();
    expect(await json(await h.post({ key: alice.apiKey, order: id }))).toEqual({ refill: "1" });
    expect(await json(await h.post({ key: alice.apiKey, refill: 1 }))).toEqual({ status: "Pending" });
  });
});

describe("cancel", () => {
  it("forwards cancels grouped per provider and answers per order in seed 003's form, refunding nothing yet", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "10.00000");
    const a = await placed(h, alice.apiKey);
    const b = await placed(h, alice.apiKey, 5);
    const before = balanceOf(h.ctx, alice.id);
    const res = await h.post({ key: alice.apiKey, action: "cancel", orders: `${a},${b},404` });
    expect(await json(res)).toEqual([
      { order: a, cancel: { status: "success" } },
      { order: b, error: "Cancel is not available for this order" },
      { order: 404, error: "Incorrect order ID" },
    ]);
    expect(h.provider.calls.at(-1)).toMatchObject({ method: "cancel", args: [["900001"]] });
    expect(balanceOf(h.ctx, alice.id)).toEqual(before);
    const single = await h.post({ key: alice.apiKey, action: "cancel", order: a });
    expect(await json(single)).toEqual([{ order: a, cancel: { status: "success" } }]);
  });
});

describe("balance and keys", () => {
  it("answers the balance as a 5-decimal string", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "100.84292");
    expect(await json(await h.post({ key: alice.apiKey, action: "balance" }))).toEqual({
      balance: "100.84292",
      currency: "USD",
    });
  });

  it("answers 401 for a missing or wrong key", async () => {
    const h = harness();
    const attempts: Array<Record<string, string>> = [{ action: "balance" }, { key: "nope", action: "balance" }];
    for (const fields of attempts) {
      const res = await h.post(fields);
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ error: "Invalid API key" });
    }
  });

  it("answers errors with HTTP 200 for a customer whose httpErrors flag is off", async () => {
    const h = harness();
    const quiet = addCustomer(h.ctx, "0.00000", { httpErrors: false });
    const res = await h.post({ key: quiet.apiKey, action: "add", service: 1, link: "https://x.com/a", quantity: 100 });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ error: "Not enough funds on balance" });
  });
});

describe("request shapes", () => {
  it("accepts JSON, multipart, GET query and the trailing-slash path", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "1.00000");
    const viaJson = await h.app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: alice.apiKey, action: "balance" }),
    });
    expect(await json(viaJson)).toEqual({ balance: "1.00000", currency: "USD" });
    const form = new FormData();
    form.set("key", alice.apiKey);
    form.set("action", "balance");
    expect((await h.app.request("/api/v2/", { method: "POST", body: form })).status).toBe(200);
    const viaGet = await h.app.request(`/api/v2?key=${alice.apiKey}&action=balance`);
    expect(await json(viaGet)).toEqual({ balance: "1.00000", currency: "USD" });
  });

  it("decodes a body exactly as the PHP client builds it (+ for spaces, %0A newlines)", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "1.00000");
    const body = `key=${alice.apiKey}&action=add&service=3&link=https%3A%2F%2Fx.com%2Fp%3Fa%3D1&comments=great+post%0Asuper+nice`;
    const res = await h.app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    expect(res.status).toBe(200);
    expect(h.provider.calls[0]?.args[0]).toEqual({
      service: "103",
      link: "https://x.com/p?a=1",
      comments: "great post\nsuper nice",
    });
  });

  it("answers 400 for an unknown action, 404 JSON for unknown paths, 413 for bodies over 1 MB", async () => {
    const h = harness();
    const alice = addCustomer(h.ctx, "1.00000");
    const unknown = await h.post({ key: alice.apiKey, action: "explode" });
    expect(unknown.status).toBe(400);
    expect(await json(unknown)).toEqual({ error: "Incorrect request" });
    const proto = await h.post({ key: alice.apiKey, action: "__proto__" });
    expect(proto.status).toBe(400);
    const path = await h.app.request("/nope");
    expect(path.status).toBe(404);
    expect(await json(path)).toEqual({ error: "Not found" });
    const put = await h.app.request("/api/v2", {
      method: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `key=${alice.apiKey}&action=balance`,
    });
    expect(put.status).toBe(404);
    expect(put.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(await json(put)).toEqual({ error: "Not found" });
    const big = await h.app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `key=${alice.apiKey}&action=balance&pad=${"x".repeat(1024 * 1024)}`,
    });
    expect(big.status).toBe(413);
    expect(await json(big)).toEqual({ error: "Request body too large (limit 1048576 bytes)" });
    const badJson = await h.app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(badJson.status).toBe(400);
  });
});
