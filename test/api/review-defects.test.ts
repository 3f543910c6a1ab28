/**
 * Smaller defects found in review (issue #11, item 6), each as it was reproduced: upstream keys
 * echoed JSON-escaped, `X-Forwarded-For` written by the client, decimal.js's 20 significant
 * digits, API paths under `/api/v2/`.
 */
import { HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { priceService } from "../../src/billing/pricing.js";
import { providerConfig, URLS, useClients, useMsw } from "../upstream/helpers.js";
import { harness } from "./app-harness.js";

const server = useMsw();
const makeClient = useClients();

describe("upstream keys echoed back", () => {
  it.each([
    [
      "JSON-escaped by PHP (\\/)",
      "pk/live/9xQ",
      (k: string) => `{"error":"Invalid API key ${k.replaceAll("/", "\\/")}"}`,
    ],
    ["URL-encoded", "pk/live+9xQ=", (k: string) => `{"error":"bad request key=${encodeURIComponent(k)}"}`],
    ["JSON-escaped quote", 'pk"9xQ', (k: string) => JSON.stringify({ error: `Invalid API key ${k}` })],
  ])("are redacted when %s, in the excerpt and in the upstream error", async (_how, key, body) => {
    server.use(http.post(URLS.jap, () => new HttpResponse(body(key), { status: 403 })));
    const { client } = makeClient(providerConfig("jap", { key }), { retry: { maxAttempts: 1 } });
    const outcome = await client.add({ service: "1", link: "l", quantity: "10" });
    expect(outcome.kind).toBe("rejected");
    const text = JSON.stringify(outcome);
    expect(text).toContain("[redacted]");
    expect(text).not.toContain("9xQ");
  });
});

describe("TRUST_PROXY=N", () => {
  function limited(trustProxy: number) {
    const { ctx } = harness();
    const app = createApp(ctx, { rateLimitIpPerMin: 1, rateLimitKeyPerMin: 0, trustProxy });
    return (forwardedFor: string) =>
      app.request("/api/v2", {
        method: "POST",
        headers: { "x-forwarded-for": forwardedFor, "content-type": "application/x-www-form-urlencoded" },
        body: "key=nope&action=balance",
      });
  }

  it("1: the address the trusted proxy appended (rightmost), not what the client wrote", async () => {
    const send = limited(1);
    expect((await send("1.1.1.1, 10.0.0.5")).status).toBe(401);
    // The client changes what it writes; the proxy still appends its real address: limited.
    expect((await send("2.2.2.2, 10.0.0.5")).status).toBe(429);
    expect((await send("1.1.1.1, 10.0.0.6")).status).toBe(401);
  });

  it("2: the address the outer of two trusted proxies appended", async () => {
    const send = limited(2);
    expect((await send("9.9.9.9, 10.0.0.5, 172.16.0.1")).status).toBe(401);
    expect((await send("8.8.8.8, 10.0.0.5, 172.16.0.2")).status).toBe(429);
  });
});

describe("the per-IP limit and the body limit", () => {
  it("answers 413 for an oversized body before counting it against the IP's limit", async () => {
    const { ctx } = harness();
    const app = createApp(ctx, { rateLimitIpPerMin: 1, rateLimitKeyPerMin: 0, trustProxy: false, maxBodyBytes: 100 });
    const send = (body: string) =>
      app.request("/api/v2", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    const big = await send(`key=nope&action=balance&pad=${"x".repeat(200)}`);
    expect(big.status).toBe(413);
    expect(big.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(await big.json()).toEqual({ error: "Request body too large (limit 100 bytes)" });
    // The oversized request took no slot: the first request of the minute is still allowed.
    expect((await send("key=nope&action=balance")).status).toBe(401);
    const limited = await send("key=nope&action=balance");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(limited.headers.get("ratelimit-limit")).toBe("1");
  });
});

describe("money precision", () => {
  it("0.9 × 1.111111111111111111112 sells at 1.0001 and costs the exact product", () => {
    expect(priceService("0.9", "1.111111111111111111112", { markup: { percent: "0" } })).toEqual({
      rate: 100_010,
      cost: "1.0000000000000000000008",
    });
  });

  it("never stores a cost in exponent notation", () => {
    expect(priceService("0.00000001", "1", { markup: { percent: "10" } }).cost).toBe("0.00000001");
    expect(priceService("0.0000001", "0.5", { rate: "1.00" }).cost).toBe("0.00000005");
    expect(priceService("123456789012345678901234", "1", { rate: "1.00" }).cost).toBe("123456789012345678901234");
  });
});

describe("paths under /api/v2/", () => {
  it.each(["GET", "POST"])("%s /api/v2/extra/path is a JSON 404, not the API", async (method) => {
    const { app } = harness();
    const res = await app.request("/api/v2/extra/path?key=x&action=balance", { method });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Not found" });
    const api = await app.request("/api/v2/?key=x&action=balance");
    expect(api.status).toBe(401);
  });
});
