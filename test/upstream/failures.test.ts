/** Failure classification: every HTTP and transport failure class ends in exactly one outcome. */
import net from "node:net";
import { delay, HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import { classifyTransportError } from "../../src/upstream/http.js";
import { jsonResponse, KEY, providerConfig, URLS, useClients, useMsw } from "./helpers.js";

const server = useMsw();
const makeClient = useClients();
const JAP = URLS.jap;
const once = { retry: { maxAttempts: 1 } };

function answer(response: () => Response | Promise<Response>, url = JAP) {
  server.use(http.post(url, response));
}

describe("HTTP answers", () => {
  it("msw network error → ambiguous (nothing proves it was not sent)", async () => {
    answer(() => HttpResponse.error());
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "ambiguous",
      failure: { message: "Failed to fetch" },
    });
  });

  it("a hang → ambiguous at the provider's timeoutMs exactly", async () => {
    answer(async () => {
      await delay("infinite");
      return HttpResponse.json({});
    });
    const { client } = makeClient(providerConfig("jap", { timeoutMs: 200 }));
    const t0 = performance.now();
    const outcome = await client.status("1", { budgetMs: 1000 });
    const elapsed = performance.now() - t0;
    expect(outcome).toEqual({ kind: "ambiguous", failure: { message: "no answer within 200 ms" } });
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(600);
  });

  it("200 with an HTML body → ambiguous, excerpt kept", async () => {
    answer(() => HttpResponse.html("<html>\n  <body>Maintenance</body>\n</html>"));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.status("1")).toEqual({
      kind: "ambiguous",
      failure: {
        message: "answer is not valid JSON",
        httpStatus: 200,
        bodyExcerpt: "<html> <body>Maintenance</body> </html>",
      },
    });
  });

  it("403 with an HTML body → rejected", async () => {
    answer(() => HttpResponse.html("<h1>Forbidden</h1>", { status: 403 }));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "rejected",
      failure: {
        message: "upstream refused the request (HTTP 403)",
        httpStatus: 403,
        bodyExcerpt: "<h1>Forbidden</h1>",
      },
    });
  });

  it.each([500, 502, 503, 504, 408])("HTTP %i → ambiguous", async (status) => {
    answer(() => new HttpResponse("oops", { status }));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" }, {})).toEqual({
      kind: "ambiguous",
      failure: { message: `upstream answered HTTP ${status}`, httpStatus: status, bodyExcerpt: "oops" },
    });
  });

  it("429 with Retry-After in seconds → rate_limited with retryAfterMs", async () => {
    answer(() => jsonResponse({ error: "Too many requests" }, { status: 429, headers: { "retry-after": "3" } }));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.status("1", { budgetMs: 500 })).toEqual({
      kind: "rate_limited",
      retryAfterMs: 3000,
      failure: {
        message: "rate limited by upstream (HTTP 429): Too many requests",
        httpStatus: 429,
        bodyExcerpt: '{"error":"Too many requests"}',
        upstreamError: "Too many requests",
      },
    });
  });

  it("429 with Retry-After as an HTTP date", async () => {
    const at = new Date(Math.ceil((Date.now() + 6000) / 1000) * 1000);
    answer(() => new HttpResponse("slow down", { status: 429, headers: { "retry-after": at.toUTCString() } }));
    const { client } = makeClient(providerConfig("jap"));
    const outcome = await client.status("1", { budgetMs: 500 });
    expect(outcome.kind).toBe("rate_limited");
    const retryAfterMs = outcome.kind === "rate_limited" ? (outcome.retryAfterMs ?? 0) : 0;
    expect(retryAfterMs).toBeGreaterThan(5000);
    expect(retryAfterMs).toBeLessThanOrEqual(7000);
  });

  it("truncated JSON → ambiguous", async () => {
    answer(() => new HttpResponse('{"order": 235', { headers: { "content-type": "application/json" } }));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "ambiguous",
      failure: { message: "answer is not valid JSON", httpStatus: 200, bodyExcerpt: '{"order": 235' },
    });
  });

  it("empty 200 → ambiguous", async () => {
    answer(() => new HttpResponse(null, { status: 200 }));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.balance()).toEqual({
      kind: "ambiguous",
      failure: { message: "answer is not valid JSON", httpStatus: 200, bodyExcerpt: "" },
    });
  });

  it("a 200 JSON of another shape → ambiguous", async () => {
    answer(() => HttpResponse.json({ success: true, id: 5 }));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "ambiguous",
      failure: {
        message: "unrecognised answer at order: Invalid input",
        httpStatus: 200,
        bodyExcerpt: '{"success":true,"id":5}',
      },
    });
  });

  it('200 {"error": ..} → rejected with upstreamError', async () => {
    answer(() => HttpResponse.json({ error: "Insufficient funds" }));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "rejected",
      failure: {
        message: "upstream error: Insufficient funds",
        httpStatus: 200,
        bodyExcerpt: '{"error":"Insufficient funds"}',
        upstreamError: "Insufficient funds",
        // our balance at the panel is too low (issue #15: logged at error, counted, alerted)
        outOfFunds: true,
      },
    });
  });

  it.each([400, 401, 402, 404])("panel HTTP %i with {error} → rejected with upstreamError", async (status) => {
    answer(() => jsonResponse({ error: "Not enough funds" }, { status }), URLS.panel);
    const { client } = makeClient(providerConfig("panel"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "rejected",
      failure: {
        message: `upstream refused the request (HTTP ${status}): Not enough funds`,
        httpStatus: status,
        bodyExcerpt: '{"error":"Not enough funds"}',
        upstreamError: "Not enough funds",
        outOfFunds: true,
      },
    });
  });

  it("panel 429 → rate_limited", async () => {
    answer(
      () => jsonResponse({ error: "Rate limit exceeded" }, { status: 429, headers: { "retry-after": "60" } }),
      URLS.panel,
    );
    const { client } = makeClient(providerConfig("panel"));
    expect(await client.status("1", { budgetMs: 500 })).toMatchObject({
      kind: "rate_limited",
      retryAfterMs: 60_000,
      failure: { httpStatus: 429, upstreamError: "Rate limit exceeded" },
    });
  });

  it("panel 502 with {error} is a defined error (seed 003) → rejected with upstreamError", async () => {
    answer(() => jsonResponse({ error: "Upstream provider returned an error" }, { status: 502 }), URLS.panel);
    const { client, events } = makeClient(providerConfig("panel"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "rejected",
      failure: {
        message: "upstream refused the request (HTTP 502): Upstream provider returned an error",
        httpStatus: 502,
        bodyExcerpt: '{"error":"Upstream provider returned an error"}',
        upstreamError: "Upstream provider returned an error",
      },
    });
    expect(events).toMatchObject([{ type: "call", outcome: "rejected", httpStatus: 502, willRetry: false }]);
  });

  it("panel 502 with an HTML body (a proxy in front) → ambiguous", async () => {
    answer(() => HttpResponse.html("<h1>502 Bad Gateway</h1>", { status: 502 }), URLS.panel);
    const { client } = makeClient(providerConfig("panel"));
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "ambiguous",
      failure: { message: "upstream answered HTTP 502", httpStatus: 502, bodyExcerpt: "<h1>502 Bad Gateway</h1>" },
    });
  });

  it.each([
    ["panel 502 with JSON but no error field", "panel", 502, { message: "bad gateway" }],
    ["panel 502 with an empty body", "panel", 502, undefined],
    ["panel 500 with {error} (not in its table)", "panel", 500, { error: "Internal" }],
    ["panel 503 with {error}", "panel", 503, { error: "Maintenance" }],
    ["jap 502 with {error} (no defined 5xx errors)", "jap", 502, { error: "Upstream provider returned an error" }],
  ] as const)("%s → ambiguous", async (_name, dialect, status, body) => {
    answer(
      () => (body === undefined ? new HttpResponse(null, { status }) : jsonResponse(body, { status })),
      URLS[dialect],
    );
    const { client } = makeClient(providerConfig(dialect));
    const outcome = await client.add({ service: "1", link: "l", quantity: "10" });
    expect(outcome).toMatchObject({ kind: "ambiguous", failure: { httpStatus: status } });
  });

  it("a redirect is not followed → ambiguous", async () => {
    answer(() => new HttpResponse(null, { status: 301, headers: { location: "https://elsewhere.test/api/v2" } }));
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.status("1")).toEqual({
      kind: "ambiguous",
      failure: { message: "unexpected HTTP 301 to https://elsewhere.test/api/v2", httpStatus: 301, bodyExcerpt: "" },
    });
  });

  it("the key never appears in outcomes or events; excerpts are truncated to 200 characters", async () => {
    answer(() =>
      jsonResponse({ error: `Invalid API key ${KEY}`, echo: `key=${encodeURIComponent(KEY)}`, pad: "x".repeat(400) }),
    );
    const { client, events } = makeClient(providerConfig("jap"));
    const outcome = await client.balance();
    expect(outcome.kind).toBe("rejected");
    if (outcome.kind !== "rejected") return;
    expect(outcome.failure.upstreamError).toBe("Invalid API key [redacted]");
    expect(outcome.failure.bodyExcerpt).toHaveLength(200);
    expect(
      outcome.failure.bodyExcerpt?.startsWith('{"error":"Invalid API key [redacted]","echo":"key=[redacted]"'),
    ).toBe(true);
    expect(JSON.stringify(outcome)).not.toContain(KEY);
    expect(JSON.stringify(events)).not.toContain(KEY);
  });
});

describe("transport errors", () => {
  const fetchFailed = (cause: unknown) => new TypeError("fetch failed", { cause });
  const coded = (code: string) => Object.assign(new Error(code.toLowerCase()), { code });

  it.each([
    "ECONNREFUSED",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EHOSTUNREACH",
    "UND_ERR_CONNECT_TIMEOUT",
    "CERT_HAS_EXPIRED",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "ERR_TLS_CERT_ALTNAME_INVALID",
    "ERR_SSL_WRONG_VERSION_NUMBER",
  ])("%s → not_sent", (code) => {
    expect(classifyTransportError(fetchFailed(coded(code)), false, 1000)).toEqual({
      kind: "not_sent",
      message: `connect failed: fetch failed: ${code.toLowerCase()}`,
      code,
    });
  });

  it("happy-eyeballs AggregateError of refusals → not_sent", () => {
    const aggregate = Object.assign(new AggregateError([coded("ECONNREFUSED"), coded("ECONNREFUSED")], ""), {
      code: "ECONNREFUSED",
    });
    expect(classifyTransportError(fetchFailed(aggregate), false, 1000).kind).toBe("not_sent");
  });

  it.each(["ECONNRESET", "UND_ERR_SOCKET", "EPIPE", "UND_ERR_HEADERS_TIMEOUT"])("%s → ambiguous", (code) => {
    expect(classifyTransportError(fetchFailed(coded(code)), false, 1000)).toEqual({
      kind: "ambiguous",
      message: `fetch failed: ${code.toLowerCase()}`,
      code,
    });
  });

  it("a mix of connect and post-connect codes, no code, or our deadline → ambiguous", () => {
    const mixed = new AggregateError([coded("ECONNREFUSED"), coded("ECONNRESET")], "");
    expect(classifyTransportError(fetchFailed(mixed), false, 1000).kind).toBe("ambiguous");
    expect(classifyTransportError(new TypeError("fetch failed"), false, 1000)).toEqual({
      kind: "ambiguous",
      message: "fetch failed",
    });
    expect(classifyTransportError(fetchFailed(coded("ECONNREFUSED")), true, 750)).toEqual({
      kind: "ambiguous",
      message: "no answer within 750 ms",
      code: "TIMEOUT",
    });
  });

  async function freePort(): Promise<number> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const address = probe.address();
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  }

  async function tcpServer(onData: (socket: net.Socket) => void): Promise<{ port: number; close: () => void }> {
    const srv = net.createServer((socket) => socket.once("data", () => onData(socket)));
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const address = srv.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return { port: address.port, close: () => srv.close() };
  }

  it("a real refused connection → not_sent connect_failed", async () => {
    const port = await freePort();
    const { client } = makeClient(providerConfig("jap", { url: `http://127.0.0.1:${port}/api/v2` }), once);
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "not_sent",
      reason: "connect_failed",
      failure: { message: `connect failed: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}` },
    });
  });

  it('a real "other side closed" after the request was written → ambiguous', async () => {
    const srv = await tcpServer((socket) => socket.destroy());
    const { client } = makeClient(providerConfig("jap", { url: `http://127.0.0.1:${srv.port}/api/v2` }), once);
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "ambiguous",
      failure: { message: "fetch failed: other side closed" },
    });
    srv.close();
  });

  it("a real reset after the request was written → ambiguous", async () => {
    const srv = await tcpServer((socket) => socket.resetAndDestroy());
    const { client } = makeClient(providerConfig("jap", { url: `http://127.0.0.1:${srv.port}/api/v2` }), once);
    expect(await client.add({ service: "1", link: "l", quantity: "10" })).toEqual({
      kind: "ambiguous",
      failure: { message: "fetch failed: read ECONNRESET" },
    });
    srv.close();
  });
});
