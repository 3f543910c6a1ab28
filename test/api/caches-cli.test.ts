/**
 * The API's in-memory caches (issue #14) against writes by another process: the admin CLI run
 * in-process on its own connection to the same store file, as `npm run cli -- ...` would.
 */
import { gunzipSync } from "node:zlib";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import type { AppContext } from "../../src/runtime/context.js";
import { type OperatorFixture, operatorFixture } from "../cli/operator-fixture.js";

let fx: OperatorFixture;
beforeAll(async () => {
  fx = await operatorFixture("smm-api-caches-");
  await fx.json(["sync", "prices"]);
});
afterAll(() => fx.close());

function api(ctx: AppContext) {
  const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
  return (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields).toString(),
    });
}

/** The `customers` counter the store's triggers bump, read on a connection of its own. */
function generation(): number {
  const db = new Database(fx.env.DATABASE_PATH ?? "", { readonly: true });
  try {
    return db.prepare("SELECT value FROM cache_generations WHERE name = 'customers'").pluck().get() as number;
  } finally {
    db.close();
  }
}

describe("services cache against `npm run cli -- sync prices`", () => {
  it("serves the new prices, with a new ETag, on the next request after the CLI's price sync", async () => {
    const { apiKey } = await fx.json<{ apiKey: string }>(["customers", "add", "--name", "bot", "--balance", "1"]);
    await fx.withApp(async (ctx) => {
      const post = api(ctx);
      const form = { key: apiKey, action: "services" };
      const rateOf1 = async (res: Response) =>
        (JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString("utf8")) as Array<{ rate: string }>)[0]
          ?.rate;
      const before = await post(form, { "accept-encoding": "gzip" });
      const etag = before.headers.get("etag") ?? "";
      expect(await rateOf1(before)).toBe("1.125");
      expect((await post(form, { "accept-encoding": "gzip", "if-none-match": etag })).status).toBe(304);

      fx.jap.updateService(1, { rate: "1.00" });
      await fx.json(["sync", "prices"]);

      const after = await post(form, { "accept-encoding": "gzip", "if-none-match": etag });
      expect(after.status).toBe(200);
      expect(after.headers.get("etag")).not.toBe(etag);
      expect(await rateOf1(after)).toBe("1.25");
      fx.jap.updateService(1, { rate: "0.90" });
      await fx.json(["sync", "prices"]);
    });
  });
});

describe("API key cache against the CLI", () => {
  it("refuses a key rotated by the CLI on the very next request and accepts the new one", async () => {
    const added = await fx.json<{ id: number; apiKey: string }>(["customers", "add", "--name", "r", "--balance", "5"]);
    await fx.withApp(async (ctx) => {
      const post = api(ctx);
      const balance = (key: string) => post({ key, action: "balance" });
      expect(await (await balance(added.apiKey)).json()).toEqual({ balance: "5.00000", currency: "USD" });
      expect((await balance(added.apiKey)).status).toBe(200); // now from the cache

      const rotated = await fx.json<{ apiKey: string; revoked: number }>(["customers", "rotate-key", String(added.id)]);
      expect(rotated.revoked).toBe(1);
      const old = await balance(added.apiKey);
      expect(old.status).toBe(401);
      expect(await old.json()).toEqual({ error: "Invalid API key" });
      expect((await post({ key: added.apiKey, action: "status", order: "1" })).status).toBe(401);
      expect(await (await balance(rotated.apiKey)).json()).toEqual({ balance: "5.00000", currency: "USD" });

      // a second key, then a rotation revoking both: both refused at once
      const extra = await fx.json<{ apiKey: string }>(["customers", "add-key", String(added.id)]);
      expect((await balance(extra.apiKey)).status).toBe(200);
      const again = await fx.json<{ apiKey: string; revoked: number }>(["customers", "rotate-key", String(added.id)]);
      expect(again.revoked).toBe(2);
      expect((await balance(extra.apiKey)).status).toBe(401);
      expect((await balance(rotated.apiKey)).status).toBe(401);
      expect((await balance(again.apiKey)).status).toBe(200);
    });
  });

  it("reads balances from the store on every request: a CLI top-up shows at once and keeps the cached key", async () => {
    const added = await fx.json<{ id: number; apiKey: string }>(["customers", "add", "--name", "t", "--balance", "1"]);
    await fx.withApp(async (ctx) => {
      const post = api(ctx);
      const balance = async () => (await post({ key: added.apiKey, action: "balance" })).json();
      expect(await balance()).toEqual({ balance: "1.00000", currency: "USD" });
      const before = generation();
      await fx.json(["customers", "topup", String(added.id), "2.50001"]);
      expect(generation()).toBe(before); // a balance change leaves the key cache alone
      expect(await balance()).toEqual({ balance: "3.50001", currency: "USD" });
    });
  });

  it("carries customer flags from the store: a change by another connection applies on the next request", async () => {
    const added = await fx.json<{ id: number; apiKey: string }>(["customers", "add", "--name", "f", "--balance", "1"]);
    await fx.withApp(async (ctx) => {
      const post = api(ctx);
      const unknownOrder = () => post({ key: added.apiKey, action: "status", order: "999999" });
      expect((await unknownOrder()).status).toBe(404);
      const before = generation();
      await fx.json(["customers", "set-http-errors", String(added.id), "off"]);
      expect(generation()).toBe(before + 1);
      const answered = await unknownOrder();
      expect(answered.status).toBe(200); // http_errors off: errors answered with 200
      expect(await answered.json()).toEqual({ error: "Incorrect order ID" });
      // a raw UPDATE by another connection (no verb at all) is seen as well
      const other = new Database(fx.env.DATABASE_PATH ?? "");
      other.prepare("UPDATE customers SET http_errors = 1 WHERE id = ?").run(added.id);
      other.close();
      expect(generation()).toBe(before + 2);
      expect((await unknownOrder()).status).toBe(404);
      // the CLI's set-webhook (a customer update without a balance change) moves the counter too
      await fx.json(["customers", "set-webhook", String(added.id), "--none"]);
      expect(generation()).toBe(before + 3);
    });
  });
});
