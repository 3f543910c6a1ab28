/** Per-provider queue: priorities, bounded waiting, sliding-window rate limit, full use of concurrency. */
import { delay, HttpResponse, http } from "msw";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CallOutcome } from "../../src/upstream/types.js";
import { deferred, formOf, jsonResponse, providerConfig, URLS, useClients, useMsw } from "./helpers.js";

const server = useMsw();
const makeClient = useClients();
afterEach(() => vi.restoreAllMocks());
const ADD = { service: "1", link: "https://x.example/p", quantity: "100" };

/** Largest number of timestamps inside any window of `windowMs` (sorted input). */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] ?? 0) - (sorted[lo] ?? 0) >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe("priorities", () => {
  it("customer calls go before sync calls, sync before catalogue", async () => {
    const gate = deferred();
    const order: string[] = [];
    server.use(
      http.post(URLS.jap, async ({ request }) => {
        const form = await formOf(request);
        order.push(form.orders === undefined ? (form.action ?? "?") : `${form.action}:many`);
        if (order.length === 1) await gate.promise;
        switch (form.action) {
          case "services":
            return HttpResponse.json([]);
          case "balance":
            return HttpResponse.json({ balance: "1", currency: "USD" });
          case "add":
            return HttpResponse.json({ order: 1 });
          case "cancel":
            return HttpResponse.json([]);
          case "status":
            return HttpResponse.json(form.orders === undefined ? { status: "Pending" } : {});
          default:
            return HttpResponse.json({ refill: 1 });
        }
      }),
    );
    const { client } = makeClient(providerConfig("jap", { concurrency: 1 }));
    const first = client.balance();
    await delay(20);
    const calls = [
      client.services(),
      client.status("1"),
      client.add(ADD),
      client.multiStatus(["1", "2"]),
      client.balance(),
      client.cancel(["1"]),
      client.refill("1"),
      client.status("2", { priority: "customer" }),
    ];
    await delay(20);
    expect(client.stats()).toEqual({ queued: 8, inFlight: 1, circuit: "closed" });
    gate.resolve();
    const outcomes = await Promise.all([first, ...calls]);
    expect(outcomes.map((o) => o.kind)).toEqual(Array(9).fill("ok"));
    expect(order).toEqual([
      "balance",
      "add",
      "cancel:many",
      "refill",
      "status",
      "status",
      "status:many",
      "services",
      "balance",
    ]);
    expect(client.stats()).toEqual({ queued: 0, inFlight: 0, circuit: "closed" });
  });
});

describe("bounded waiting", () => {
  it("a call whose wait for the rate limit exceeds its budget fails fast with queue_timeout", async () => {
    let calls = 0;
    server.use(
      http.post(URLS.jap, () => {
        calls++;
        return HttpResponse.json({ status: "Pending" });
      }),
    );
    const { client, events } = makeClient(
      providerConfig("jap", { rateLimit: { requests: 1, intervalMs: 2000 }, timeoutMs: 5000 }),
    );
    expect((await client.status("1")).kind).toBe("ok");
    const t0 = performance.now();
    const outcome = await client.status("2", { budgetMs: 300 });
    expect(performance.now() - t0).toBeLessThan(150);
    expect(outcome).toMatchObject({ kind: "not_sent", reason: "queue_timeout" });
    const retryAfterMs = outcome.kind === "not_sent" ? (outcome.retryAfterMs ?? 0) : 0;
    expect(retryAfterMs).toBeGreaterThan(1800);
    expect(retryAfterMs).toBeLessThanOrEqual(2040);
    expect(calls).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: "call", outcome: "not_sent", reason: "queue_timeout", attempt: 1 });
  });

  it("a call still waiting for a busy slot at its budget is removed with queue_timeout", async () => {
    const gate = deferred();
    let calls = 0;
    server.use(
      http.post(URLS.jap, async () => {
        calls++;
        await gate.promise;
        return HttpResponse.json({ status: "Pending" });
      }),
    );
    const { client } = makeClient(providerConfig("jap", { concurrency: 1, timeoutMs: 5000 }));
    const blocking = client.status("1");
    await delay(10);
    const t0 = performance.now();
    const outcome = await client.status("2", { budgetMs: 300 });
    const elapsed = performance.now() - t0;
    // Removed when less than minSendMs (100 ms) of its budget is left.
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(400);
    expect(outcome).toMatchObject({ kind: "not_sent", reason: "queue_timeout" });
    expect(client.stats()).toEqual({ queued: 0, inFlight: 1, circuit: "closed" });
    gate.resolve();
    expect((await blocking).kind).toBe("ok");
    expect(calls).toBe(1);
  });

  it("an add whose turn comes with less than half of timeoutMs left is not sent (queue_timeout)", async () => {
    const gate = deferred();
    const actions: string[] = [];
    server.use(
      http.post(URLS.jap, async ({ request }) => {
        const form = await formOf(request);
        actions.push(form.action ?? "?");
        await gate.promise;
        return HttpResponse.json({ status: "Pending" });
      }),
    );
    const { client, events } = makeClient(providerConfig("jap", { concurrency: 1, timeoutMs: 1000 }));
    // Two calls ahead of the add, each holding the only slot until its 1000 ms timeout.
    const first = client.status("1", { budgetMs: 5000 });
    await delay(10);
    const second = client.status("2", { priority: "customer", budgetMs: 5000 });
    // Default budget 1500 ms, to be sent with at least 500 ms: its turn (~2000 ms) comes too late.
    const add = client.add(ADD);
    expect(await add).toEqual({
      kind: "not_sent",
      reason: "queue_timeout",
      retryAfterMs: expect.any(Number),
      failure: { message: "the call's time budget ran out before its turn" },
    });
    gate.resolve();
    await Promise.all([first, second]);
    expect(actions).toEqual(["status", "status"]);
    expect(events.filter((e) => e.type === "call" && e.action === "add")).toMatchObject([
      { outcome: "not_sent", reason: "queue_timeout", attempt: 1, willRetry: false },
    ]);
  });

  it("an add behind a slow call still goes with at least half of timeoutMs, not a doomed short send", async () => {
    server.use(
      http.post(URLS.jap, async ({ request }) => {
        const form = await formOf(request);
        // The call ahead takes 850 ms; the add, like a real panel's, 300 ms.
        await delay(form.action === "add" ? 300 : 850);
        return form.action === "add" ? HttpResponse.json({ order: 7 }) : HttpResponse.json({ status: "Pending" });
      }),
    );
    const { client } = makeClient(providerConfig("jap", { concurrency: 1, timeoutMs: 1000 }));
    const ahead = client.status("1");
    await delay(10);
    // Sent at ~850 ms with 650 ms left of its 1500 ms default budget (it used to go with 150 ms and time out).
    expect(await client.add(ADD)).toEqual({ kind: "ok", value: { order: "7" } });
    expect((await ahead).kind).toBe("ok");
  });

  it.each(["add", "refill", "multiRefill", "cancel"] as const)(
    "%s with a budget under half of timeoutMs is never sent; status with the same budget is",
    async (action) => {
      let calls = 0;
      server.use(
        http.post(URLS.jap, () => {
          calls++;
          return HttpResponse.json({ status: "Pending" });
        }),
      );
      const { client } = makeClient(providerConfig("jap", { timeoutMs: 2000 }));
      const budget = { budgetMs: 900 };
      const creating: Record<typeof action, () => Promise<CallOutcome<unknown>>> = {
        add: () => client.add(ADD, budget),
        refill: () => client.refill("1", budget),
        multiRefill: () => client.multiRefill(["1", "2"], budget),
        cancel: () => client.cancel(["1"], budget),
      };
      expect(await creating[action]()).toMatchObject({
        kind: "not_sent",
        reason: "queue_timeout",
        failure: { message: "the call's time budget ran out before its turn" },
      });
      expect(calls).toBe(0);
      expect((await client.status("1", budget)).kind).toBe("ok");
      expect(calls).toBe(1);
    },
  );

  it("beyond maxQueued waiting calls new ones fail at once with queue_full", async () => {
    const gate = deferred();
    server.use(
      http.post(URLS.jap, async () => {
        await gate.promise;
        return HttpResponse.json({ status: "Pending" });
      }),
    );
    const { client } = makeClient(providerConfig("jap", { concurrency: 1, timeoutMs: 5000 }), {
      queue: { maxQueued: 2 },
    });
    const pending = [client.status("1"), client.status("2"), client.status("3")];
    await delay(10);
    expect(client.stats()).toEqual({ queued: 2, inFlight: 1, circuit: "closed" });
    const outcome = await client.add(ADD);
    expect(outcome).toEqual({
      kind: "not_sent",
      reason: "queue_full",
      retryAfterMs: 1000,
      failure: { message: "too many calls waiting for this provider" },
    });
    gate.resolve();
    expect((await Promise.all(pending)).map((o) => o.kind)).toEqual(["ok", "ok", "ok"]);
  });

  it("a closed client refuses calls without sending", async () => {
    const { client } = makeClient(providerConfig("jap"));
    await client.close();
    expect(await client.balance()).toMatchObject({
      kind: "not_sent",
      reason: "queue_full",
      failure: { message: "provider client is closed" },
    });
  });
});

describe("rate limit and concurrency", () => {
  it("100 calls at 20 per 200 ms never start more than 20 in any sliding 200 ms, even with 429 retries", async () => {
    // Sends are timed where our code releases them (the global fetch, msw's interceptor behind
    // it) and where the upstream sees them (the msw handler, later by msw's own delivery time).
    const sent: number[] = [];
    const arrived: number[] = [];
    const mswFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      sent.push(performance.now());
      return mswFetch(input, init);
    });
    server.use(
      http.post(URLS.jap, () => {
        arrived.push(performance.now());
        if (arrived.length % 25 === 5) {
          return jsonResponse({ error: "slow down" }, { status: 429, headers: { "retry-after": "0" } });
        }
        return HttpResponse.json({ status: "Completed" });
      }),
    );
    // Default margin for a 200 ms window: 25 ms (effective window 225 ms).
    const { client } = makeClient(
      providerConfig("jap", { rateLimit: { requests: 20, intervalMs: 200 }, concurrency: 100, timeoutMs: 10_000 }),
      { retry: { baseDelayMs: 1 } },
    );
    const t0 = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => client.status(String(i + 1))));
    const elapsed = performance.now() - t0;
    expect(outcomes.filter((o) => o.kind === "ok")).toHaveLength(100);
    expect(sent.length).toBe(104);
    expect(arrived.length).toBe(104);
    expect(maxInWindow(sent, 200)).toBeLessThanOrEqual(20);
    // At the handler too, allowing msw's delivery jitter (up to 40 ms on a loaded machine).
    expect(maxInWindow(arrived, 200 - 40)).toBeLessThanOrEqual(20);
    // And exactly: a send is paced on its predecessors' answers, which follow their arrival.
    expect(maxInWindow(arrived, 200)).toBeLessThanOrEqual(20);
    // 104 sends need 6 windows (5 waits of 225 ms): the queue is used to the full, not throttled below the rate.
    expect(elapsed).toBeGreaterThanOrEqual(5 * 225);
    expect(elapsed).toBeLessThan(5 * 225 + 1000);
  });

  it.each([
    ["from the first window on", 0],
    ["after the least latency was learned", 1],
  ])("requests stalled before the upstream counts them never push it over the limit (%s)", async (_name, first) => {
    // Every other window's requests are held 60 ms before the handler counts them (a stall on
    // our side, the network's or the upstream's): paced on send times alone, they bunch with
    // the next window's prompt ones (16 in 200 ms).
    const counted: number[] = [];
    let n = 0;
    server.use(
      http.post(URLS.jap, async () => {
        if (Math.floor(n++ / 8) % 2 === first) await delay(60);
        counted.push(performance.now());
        await delay(5);
        return HttpResponse.json({ status: "Completed" });
      }),
    );
    const { client } = makeClient(
      providerConfig("jap", { rateLimit: { requests: 8, intervalMs: 200 }, concurrency: 8, timeoutMs: 10_000 }),
    );
    const outcomes = await Promise.all(Array.from({ length: 48 }, (_, i) => client.status(String(i + 1))));
    expect(outcomes.filter((o) => o.kind === "ok")).toHaveLength(48);
    expect(counted).toHaveLength(48);
    expect(maxInWindow(counted, 200)).toBeLessThanOrEqual(8);
  });

  it("uses every concurrency slot when there is backlog, and never more", async () => {
    let running = 0;
    let peak = 0;
    server.use(
      http.post(URLS.jap, async () => {
        running++;
        peak = Math.max(peak, running);
        await delay(100);
        running--;
        return HttpResponse.json({ status: "Completed" });
      }),
    );
    const { client } = makeClient(providerConfig("jap", { concurrency: 4, timeoutMs: 5000 }));
    const t0 = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => client.status(String(i + 1))));
    const elapsed = performance.now() - t0;
    expect(outcomes.every((o) => o.kind === "ok")).toBe(true);
    expect(peak).toBe(4);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(800);
  });

  it("multi-id calls take at most 100 ids", () => {
    const { client } = makeClient(providerConfig("jap"));
    const ids = Array.from({ length: 101 }, (_, i) => String(i + 1));
    expect(() => client.multiStatus(ids)).toThrow(RangeError);
    expect(() => client.multiRefill(ids)).toThrow(RangeError);
    expect(() => client.multiRefillStatus(ids)).toThrow(RangeError);
    expect(() => client.cancel(ids)).toThrow(RangeError);
    expect(() => client.status("1,2")).toThrow(RangeError);
  });

  it("an empty id list answers an empty map without a request", async () => {
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.multiStatus([])).toEqual({ kind: "ok", value: new Map() });
    expect(await client.cancel([])).toEqual({ kind: "ok", value: new Map() });
  });
});
