/**
 * The request body read straight from the Node stream (src/api/body.ts) over real HTTP: form
 * fields, UTF-8, the 413 limit by content-length and while streaming a chunked body,
 * multipart still parsed.
 */
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { addCustomer, makeContext, testConfig } from "../helpers/context.js";

const ctx = makeContext(
  testConfig({ providers: [{ id: "p1", dialect: "jap", url: "https://p1.example/api/v2", key: "k" }] }),
  [],
);
const { apiKey } = addCustomer(ctx, "12.50000");
const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false, maxBodyBytes: 1000 });
let server: ReturnType<typeof serve>;
let port: number;

beforeAll(async () => {
  server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** POSTs `chunks` (chunked transfer when `chunked`, else with content-length). */
function post(
  chunks: Buffer[],
  headers: Record<string, string>,
  chunked = false,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const total = Buffer.concat(chunks);
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/api/v2",
        method: "POST",
        headers: chunked ? headers : { ...headers, "content-length": String(total.length) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString()) }),
        );
      },
    );
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const form = { "content-type": "application/x-www-form-urlencoded" };

describe("request body over HTTP", () => {
  it("reads form fields from a content-length body and a chunked one", async () => {
    const body = Buffer.from(`key=${apiKey}&action=balance`);
    expect(await post([body], form)).toEqual({ status: 200, body: { balance: "12.50000", currency: "USD" } });
    expect(await post([body.subarray(0, 10), body.subarray(10)], form, true)).toEqual({
      status: 200,
      body: { balance: "12.50000", currency: "USD" },
    });
  });

  it("decodes UTF-8 like Request.text(): a leading BOM is dropped", async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`key=${apiKey}&action=balance`)]);
    expect((await post([body], form)).status).toBe(200);
  });

  it("answers 413 over the limit, by content-length or counted while streaming", async () => {
    const big = Buffer.from(`key=${apiKey}&action=balance&pad=${"x".repeat(1200)}`);
    const expected = { status: 413, body: { error: "Request body too large (limit 1000 bytes)" } };
    expect(await post([big], form)).toEqual(expected);
    expect(await post([big.subarray(0, 600), big.subarray(600)], form, true)).toEqual(expected);
  });

  it("still parses multipart bodies", async () => {
    const boundary = "----bench";
    const part = (name: string, value: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const body = Buffer.from(`${part("key", apiKey)}${part("action", "balance")}--${boundary}--\r\n`);
    expect(await post([body], { "content-type": `multipart/form-data; boundary=${boundary}` })).toEqual({
      status: 200,
      body: { balance: "12.50000", currency: "USD" },
    });
  });
});

describe("an upload the client abandons", () => {
  it("is dropped quietly: nothing logged as unexpected, and the server keeps serving", async () => {
    const { connect } = await import("node:net");
    const { pino } = await import("pino");
    const lines: string[] = [];
    const previous = ctx.logger;
    ctx.logger = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    try {
      const socket = connect(port, "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.write(
        "POST /api/v2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nkey=abc&act",
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = await post([Buffer.from(`key=${apiKey}&action=balance`)], form);
      expect(after).toEqual({ status: 200, body: { balance: "12.50000", currency: "USD" } });
      expect(lines.filter((l) => l.includes("unexpected error"))).toEqual([]);
    } finally {
      ctx.logger = previous;
    }
  });
});
