/**
 * `postForm` over the provider's undici Agent (`Agent.request`), the path taken in production
 * and whenever msw is not intercepting `fetch` (issue #14): real loopback sockets, no msw.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { Agent } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { postForm } from "../../src/upstream/http.js";
import { freePort } from "../helpers/net.js";

const agent = new Agent();
const servers: http.Server[] = [];
afterAll(async () => {
  await agent.close();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2`;
}

const post = (
  url: string,
  extra: { timeoutMs?: number; maxBodyBytes?: number; headers?: Record<string, string> } = {},
) => postForm({ url, form: { key: "k", action: "balance" }, dispatcher: agent, timeoutMs: 2000, ...extra });

describe("postForm over the Agent", () => {
  it("sends the form as fetch did and reads a gzip answer decoded, with its headers", async () => {
    const seen: Array<{ type?: string; body: string; encoding?: string; key?: string }> = [];
    const url = await serve((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        seen.push({
          type: req.headers["content-type"],
          body,
          encoding: req.headers["accept-encoding"],
          key: req.headers["idempotency-key"] as string | undefined,
        });
        res.writeHead(429, { "content-encoding": "gzip", "retry-after": "3", "content-type": "application/json" });
        res.end(gzipSync('{"error":"slow down"}'));
      });
    });
    const result = await post(url, { headers: { "idempotency-key": "smm-order-7" } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.answer.status).toBe(429);
    expect(result.answer.body).toBe('{"error":"slow down"}');
    expect(result.answer.headers.get("Retry-After")).toBe("3");
    expect(result.answer.headers.get("location")).toBeNull();
    expect(seen).toEqual([
      {
        type: "application/x-www-form-urlencoded;charset=UTF-8",
        body: "key=k&action=balance",
        encoding: "gzip, deflate, br",
        key: "smm-order-7",
      },
    ]);
  });

  it("classifies an answer over the size limit, plain or once decoded, as ambiguous", async () => {
    const big = "x".repeat(5000);
    const plainUrl = await serve((_req, res) => res.end(big));
    const zipUrl = await serve((_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip" });
      res.end(gzipSync(big));
    });
    for (const url of [plainUrl, zipUrl]) {
      const result = await post(url, { maxBodyBytes: 1000 });
      expect(result).toMatchObject({
        ok: false,
        failure: { kind: "ambiguous", message: "answer body too large", httpStatus: 200 },
      });
    }
  });

  it("classifies a refused connection as not_sent, a silent server past the deadline and a cut answer as ambiguous", async () => {
    const closed = `http://127.0.0.1:${await freePort()}/api/v2`;
    expect(await post(closed)).toMatchObject({ ok: false, failure: { kind: "not_sent", code: "ECONNREFUSED" } });

    const silent = await serve(() => undefined);
    expect(await post(silent, { timeoutMs: 200 })).toMatchObject({
      ok: false,
      failure: { kind: "ambiguous", code: "TIMEOUT", message: "no answer within 200 ms" },
    });

    const cut = await serve((req) => req.socket.destroy());
    expect(await post(cut)).toMatchObject({ ok: false, failure: { kind: "ambiguous" } });

    const halfBody = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(await post(halfBody)).toMatchObject({ ok: false, failure: { kind: "ambiguous", httpStatus: 200 } });
  });
});
