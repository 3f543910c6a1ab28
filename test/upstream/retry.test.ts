/** Retries: only not_sent (connect) and rate_limited, bounded by the budget; add never after ambiguous. */
import { HttpResponse, http } from "msw";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CallEvent } from "../../src/upstream/events.js";
import { jsonResponse, providerConfig, URLS, useClients, useMsw } from "./helpers.js";

const server = useMsw();
const makeClient = useClients();
afterEach(() => vi.restoreAllMocks());

const refused = () =>
  new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
const ADD = { service: "1", link: "https://x.example/p", quantity: "100" };
const noJitter = { retry: { random: () => 1, baseDelayMs: 20 } };

function counting(respond: (n: number) => Response) {
  let calls = 0;
  server.use(http.post(URLS.jap, () => respond(++calls)));
  return () => calls;
}

const callEvents = (events: unknown[]) =>
  (events as CallEvent[])
    .filter((e) => e.type === "call")
    .map((e) => [e.attempt, e.outcome, e.reason ?? null, e.willRetry]);

describe("no retry after ambiguous or rejected", () => {
  it("an add answered 500 is sent exactly once", async () => {
    const calls = counting(() => new HttpResponse("boom", { status: 500 }));
    const { client, events } = makeClient(providerConfig("jap"), noJitter);
    const onSend = vi.fn();
    expect((await client.add(ADD, { onSend, budgetMs: 2000 })).kind).toBe("ambiguous");
    expect(calls()).toBe(1);
    expect(onSend).toHaveBeenCalledTimes(1);
    expect(callEvents(events)).toEqual([[1, "ambiguous", null, false]]);
  });

  it("an add lost to a network error is sent exactly once", async () => {
    const calls = counting(() => HttpResponse.error());
    const { client } = makeClient(providerConfig("jap"), noJitter);
    expect((await client.add(ADD)).kind).toBe("ambiguous");
    expect(calls()).toBe(1);
  });

  it("an onSend that throws stops the add before anything is sent; the call rejects with that error", async () => {
    const calls = counting(() => HttpResponse.json({ order: 1 }));
    const { client } = makeClient(providerConfig("jap"), noJitter);
    const failing = () => {
      throw new Error("db is read-only");
    };
    await expect(client.add(ADD, { onSend: failing })).rejects.toThrow("db is read-only");
    expect(calls()).toBe(0);
    expect(client.stats()).toEqual({ queued: 0, inFlight: 0, circuit: "closed" });
  });

  it("a rejected call is not retried", async () => {
    const calls = counting(() => HttpResponse.json({ error: "Incorrect order ID" }));
    const { client } = makeClient(providerConfig("jap"), noJitter);
    expect((await client.status("5")).kind).toBe("rejected");
    expect(calls()).toBe(1);
  });
});

describe("retries within the budget", () => {
  it("a status call whose connect failed is retried, each retry queued again", async () => {
    const calls = counting(() => HttpResponse.json({ status: "Completed" }));
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockRejectedValueOnce(refused()).mockRejectedValueOnce(refused());
    const { client, events } = makeClient(providerConfig("jap"), noJitter);
    const outcome = await client.status("5");
    expect(outcome).toMatchObject({ kind: "ok", value: { status: "Completed" } });
    expect(fetchSpy).toHaveBeenCalledTimes(3);
    expect(calls()).toBe(1);
    expect(callEvents(events)).toEqual([
      [1, "not_sent", "connect_failed", true],
      [2, "not_sent", "connect_failed", true],
      [3, "ok", null, false],
    ]);
  });

  it("an add whose connect failed is retried (never sent), onSend called once", async () => {
    const calls = counting(() => HttpResponse.json({ order: 77 }));
    vi.spyOn(globalThis, "fetch").mockRejectedValueOnce(refused());
    const { client } = makeClient(providerConfig("jap"), noJitter);
    const onSend = vi.fn();
    expect(await client.add(ADD, { onSend })).toEqual({ kind: "ok", value: { order: "77" } });
    expect(calls()).toBe(1);
    expect(onSend).toHaveBeenCalledTimes(1);
  });

  it("429 is retried after Retry-After", async () => {
    const calls = counting((n) =>
      n === 1
        ? jsonResponse({ error: "slow down" }, { status: 429, headers: { "retry-after": "0.3" } })
        : HttpResponse.json({ order: 78 }),
    );
    const { client, events } = makeClient(providerConfig("jap"), noJitter);
    const t0 = performance.now();
    expect(await client.add(ADD, { budgetMs: 2000 })).toEqual({ kind: "ok", value: { order: "78" } });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(295);
    expect(calls()).toBe(2);
    expect(callEvents(events)).toEqual([
      [1, "rate_limited", null, true],
      [2, "ok", null, false],
    ]);
  });

  it("a Retry-After beyond the budget ends the call at once", async () => {
    const calls = counting(() => new HttpResponse(null, { status: 429, headers: { "retry-after": "10" } }));
    const { client } = makeClient(providerConfig("jap"), noJitter);
    const t0 = performance.now();
    const outcome = await client.status("5", { budgetMs: 500 });
    expect(performance.now() - t0).toBeLessThan(400);
    expect(outcome).toMatchObject({ kind: "rate_limited", retryAfterMs: 10_000 });
    expect(calls()).toBe(1);
  });

  it("connect failures stop at maxAttempts", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockRejectedValue(refused());
    const { client } = makeClient(providerConfig("jap"), { retry: { maxAttempts: 3, baseDelayMs: 10 } });
    expect(await client.status("5", { budgetMs: 2000 })).toMatchObject({ kind: "not_sent", reason: "connect_failed" });
    expect(fetchSpy).toHaveBeenCalledTimes(3);
  });

  it("connect failures stop when the next backoff would not fit in the budget", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockRejectedValue(refused());
    const { client } = makeClient(providerConfig("jap", { timeoutMs: 1000 }), {
      retry: { maxAttempts: 10, baseDelayMs: 100, random: () => 1 },
    });
    const t0 = performance.now();
    // Backoffs 100, 200, 400 ms; minSendMs 100: attempts at ~0, 100, 300; the 400 ms wait would pass 700 ms.
    expect(await client.status("5", { budgetMs: 700 })).toMatchObject({ kind: "not_sent", reason: "connect_failed" });
    expect(fetchSpy).toHaveBeenCalledTimes(3);
    expect(performance.now() - t0).toBeLessThan(700);
  });
});
