import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { chooseCoding } from "../../src/api/precompressed.js";
import { addCustomer } from "../helpers/context.js";
import { harness } from "./app-harness.js";

async function bytes(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

describe("services answer forms", () => {
  it("sends gzip, brotli or plain bytes by Accept-Encoding, each decoding to the same JSON", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "1.00000");
    const form = { key: customer.apiKey, action: "services" };
    const plain = await h.post(form);
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(plain.headers.get("vary")).toBe("Accept-Encoding");
    const plainBytes = await bytes(plain);
    const list = JSON.parse(plainBytes.toString("utf8")) as Array<{ service: number; rate: string }>;
    expect(list.map((s) => [s.service, s.rate])).toEqual([
      [1, "1.25"],
      [2, "2.50"],
      [3, "10.00"],
      [4, "3.75"],
      [5, "1.10"],
      [6, "0.75"],
    ]);

    const gz = await h.post(form, { "accept-encoding": "gzip, deflate" });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gz.headers.get("vary")).toBe("Accept-Encoding");
    expect(gunzipSync(await bytes(gz)).equals(plainBytes)).toBe(true);

    const br = await h.post(form, { "accept-encoding": "gzip, deflate, br" });
    expect(br.headers.get("content-encoding")).toBe("br");
    const brBytes = await bytes(br);
    expect(brotliDecompressSync(brBytes).equals(plainBytes)).toBe(true);

    // one strong tag per form: the three differ
    const tags = [plain, gz, br].map((r) => r.headers.get("etag"));
    expect(tags.every((t) => /^"[A-Za-z0-9_-]+"$/.test(t ?? ""))).toBe(true);
    expect(new Set(tags).size).toBe(3);

    // the same bytes every time until the catalogue changes
    const again = await h.post(form, { "accept-encoding": "br" });
    expect((await bytes(again)).equals(brBytes)).toBe(true);
    expect(again.headers.get("etag")).toBe(br.headers.get("etag"));
  });

  it("answers 304 with no body to If-None-Match naming the current bytes, 200 otherwise", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "1.00000");
    const form = { key: customer.apiKey, action: "services" };
    const first = await h.post(form, { "accept-encoding": "gzip" });
    const etag = first.headers.get("etag") ?? "";

    const same = await h.post(form, { "accept-encoding": "gzip", "if-none-match": etag });
    expect(same.status).toBe(304);
    expect(same.headers.get("etag")).toBe(etag);
    expect(same.headers.get("vary")).toBe("Accept-Encoding");
    expect(await same.text()).toBe("");

    // weak comparison (RFC 9110 §13.1.2), a list, and `*`
    expect((await h.post(form, { "accept-encoding": "gzip", "if-none-match": `W/${etag}` })).status).toBe(304);
    expect((await h.post(form, { "if-none-match": `"nope", ${etag}` })).status).toBe(304);
    expect((await h.post(form, { "if-none-match": "*" })).status).toBe(304);

    const other = await h.post(form, { "accept-encoding": "gzip", "if-none-match": '"not-this-one"' });
    expect(other.status).toBe(200);
    expect(JSON.parse(gunzipSync(await bytes(other)).toString("utf8"))).toHaveLength(6);

    // a wrong key is still refused before any cache answer
    const refused = await h.post({ key: "wrong", action: "services" }, { "if-none-match": etag });
    expect(refused.status).toBe(401);
  });
});

describe("services answer cache", () => {
  const ratesOf = async (res: Response) =>
    (JSON.parse(await res.text()) as Array<{ service: number; rate: string }>).map((s) => [s.service, s.rate]);

  it("is rebuilt after a change to what it shows, written straight to the store, and only then", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "1.00000");
    const form = { key: customer.apiKey, action: "services" };
    const first = await h.post(form);
    const etag = first.headers.get("etag");

    // Bookkeeping the answer does not show (the upstream cost) keeps the cached bytes.
    h.ctx.db.$client.prepare("UPDATE services SET cost = '9.99' WHERE id = 1").run();
    expect((await h.post(form, { "if-none-match": etag ?? "" })).status).toBe(304);

    // A rate written by any connection (here, plain SQL: no code of ours tells the cache).
    h.ctx.db.$client.prepare("UPDATE services SET rate = 200000 WHERE id = 1").run();
    const changed = await h.post(form, { "if-none-match": etag ?? "" });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect((await ratesOf(changed))[0]).toEqual([1, "2.00"]);

    h.ctx.db.$client.prepare("UPDATE services SET enabled = 0 WHERE id = 2").run();
    expect((await ratesOf(await h.post(form))).map(([id]) => id)).toEqual([1, 3, 4, 5, 6]);
  });

  it("without its counter row (a hand-edited store), still shows this process's catalogue changes on the next request", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "1.00000");
    const form = { key: customer.apiKey, action: "services" };
    h.ctx.db.$client.prepare("DELETE FROM cache_generations WHERE name = 'catalogue'").run();
    expect((await ratesOf(await h.post(form)))[0]).toEqual([1, "1.25"]);
    h.ctx.db.$client.prepare("UPDATE services SET rate = 300000 WHERE id = 1").run();
    h.ctx.catalogueVersion++; // what a catalogue sync in this process does after writing
    expect((await ratesOf(await h.post(form)))[0]).toEqual([1, "3.00"]);
  });
});

describe("chooseCoding", () => {
  it.each([
    [undefined, "identity"],
    ["", "identity"],
    ["identity", "identity"],
    ["deflate", "identity"],
    ["gzip", "gzip"],
    ["x-gzip", "gzip"],
    ["GZIP;q=0.5", "gzip"],
    ["gzip, br", "br"],
    ["br;q=0.5, gzip", "gzip"],
    ["gzip;q=0, br", "br"],
    ["br;q=0, gzip;q=0", "identity"],
    ["*", "br"],
    ["*;q=0.1, br;q=0", "gzip"],
    ["gzip;q=abc", "identity"],
  ])("Accept-Encoding %j → %s", (header, coding) => {
    expect(chooseCoding(header)).toBe(coding);
  });
});
