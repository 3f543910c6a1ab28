/** Circuit breaker: opens after N consecutive failures, fails fast, lets one probe through, closes on success. */
import { delay, HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import { CircuitBreaker, type CircuitState } from "../../src/upstream/circuit.js";
import type { UpstreamEvent } from "../../src/upstream/events.js";
import { providerConfig, URLS, useClients, useMsw } from "./helpers.js";

const server = useMsw();
const makeClient = useClients();

const circuitEvents = (events: UpstreamEvent[]) =>
  events.flatMap((e) => (e.type === "circuit" ? [[e.state, e.consecutiveFailures]] : []));

describe("CircuitBreaker", () => {
  function breaker(threshold = 3, coolDownMs = 1000) {
    let now = 0;
    const changes: [CircuitState, number][] = [];
    const cb = new CircuitBreaker({
      failureThreshold: threshold,
      coolDownMs,
      now: () => now,
      onChange: (s, n) => changes.push([s, n]),
    });
    return { cb, changes, advance: (ms: number) => (now += ms) };
  }

  it("opens after N consecutive failures; successes and neutral outcomes in between reset or keep the count", () => {
    const { cb, changes } = breaker(3);
    const fail = () => cb.record(cb.admit(), "failure");
    fail();
    fail();
    cb.record(cb.admit(), "success");
    fail();
    fail();
    cb.record(cb.admit(), "neutral");
    expect(cb.state).toBe("closed");
    fail();
    expect(cb.state).toBe("open");
    expect(changes).toEqual([["open", 3]]);
    expect(cb.admit()).toEqual({ allowed: false, retryAfterMs: 1000 });
  });

  it("tells when an open circuit's cool-down ends (openUntil), and nothing once it no longer is open", () => {
    const { cb, advance } = breaker(1, 1000);
    advance(5000);
    expect(cb.openUntil).toBeUndefined();
    cb.record(cb.admit(), "failure");
    expect(cb.openUntil).toBe(6000);
    advance(400);
    expect(cb.openUntil).toBe(6000);
    advance(600);
    cb.record(cb.admit(), "success"); // the probe closes it
    expect(cb.openUntil).toBeUndefined();
  });

  it("after the cool-down lets exactly one probe through; its success closes", () => {
    const { cb, changes, advance } = breaker(1, 1000);
    cb.record(cb.admit(), "failure");
    advance(400);
    expect(cb.admit()).toEqual({ allowed: false, retryAfterMs: 600 });
    advance(600);
    expect(cb.state).toBe("half_open");
    const probe = cb.admit();
    expect(probe).toEqual({ allowed: true, probe: true });
    expect(cb.admit()).toEqual({ allowed: false, retryAfterMs: 1000 });
    cb.record(probe, "success");
    expect(cb.state).toBe("closed");
    expect(cb.admit()).toEqual({ allowed: true, probe: false });
    expect(changes).toEqual([
      ["open", 1],
      ["half_open", 1],
      ["closed", 0],
    ]);
  });

  it("a failed probe reopens for another cool-down; a neutral probe frees the probe slot", () => {
    const { cb, advance } = breaker(1, 1000);
    cb.record(cb.admit(), "failure");
    advance(1000);
    const neutral = cb.admit();
    cb.record(neutral, "neutral");
    expect(cb.state).toBe("half_open");
    const probe = cb.admit();
    expect(probe).toEqual({ allowed: true, probe: true });
    cb.record(probe, "failure");
    expect(cb.state).toBe("open");
    expect(cb.admit()).toEqual({ allowed: false, retryAfterMs: 1000 });
  });
});

describe("client circuit", () => {
  it("opens after N failures, fails fast without sending, then probes and closes", async () => {
    let calls = 0;
    let healthy = false;
    server.use(
      http.post(URLS.jap, async () => {
        calls++;
        if (!healthy) return new HttpResponse("down", { status: 503 });
        await delay(150);
        return HttpResponse.json({ status: "Completed" });
      }),
    );
    const { client, events } = makeClient(providerConfig("jap"), { circuit: { failureThreshold: 3, coolDownMs: 200 } });
    for (let i = 0; i < 3; i++) expect((await client.status("1")).kind).toBe("ambiguous");
    expect(client.stats().circuit).toBe("open");

    const t0 = performance.now();
    const fast = await client.add({ service: "1", link: "l", quantity: "10" });
    expect(performance.now() - t0).toBeLessThan(100);
    expect(fast).toMatchObject({
      kind: "not_sent",
      reason: "circuit_open",
      failure: { message: "provider circuit is open after repeated failures" },
    });
    const retryAfterMs = fast.kind === "not_sent" ? (fast.retryAfterMs ?? 0) : 0;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(200);
    expect(calls).toBe(3);

    await delay(210);
    expect(client.stats().circuit).toBe("half_open");
    healthy = true;
    const probe = client.status("1");
    await delay(10);
    // While the probe is out, other calls still fail fast.
    expect(await client.status("2")).toMatchObject({ kind: "not_sent", reason: "circuit_open" });
    expect((await probe).kind).toBe("ok");
    expect(client.stats().circuit).toBe("closed");
    expect((await client.status("3")).kind).toBe("ok");
    expect(calls).toBe(5);
    expect(circuitEvents(events)).toEqual([
      ["open", 3],
      ["half_open", 3],
      ["closed", 0],
    ]);
    expect(events.filter((e) => e.type === "call").map((e) => (e.type === "call" ? e.httpStatus : 0))).toEqual([
      503,
      503,
      503,
      undefined,
      undefined,
      200,
      200,
    ]);
  });

  it("rejected answers and 429 show a live upstream and do not open it", async () => {
    server.use(http.post(URLS.jap, () => HttpResponse.json({ error: "Incorrect order ID" })));
    const { client } = makeClient(providerConfig("jap"), { circuit: { failureThreshold: 2 } });
    for (let i = 0; i < 4; i++) expect((await client.status("1")).kind).toBe("rejected");
    expect(client.stats().circuit).toBe("closed");
  });

  it("opening fails the calls waiting in the queue at once", async () => {
    let calls = 0;
    server.use(
      http.post(URLS.jap, async () => {
        calls++;
        await delay("infinite");
        return HttpResponse.json({});
      }),
    );
    const { client } = makeClient(providerConfig("jap", { concurrency: 1, timeoutMs: 150 }), {
      circuit: { failureThreshold: 1, coolDownMs: 10_000 },
    });
    const first = client.status("1");
    const second = client.status("2", { budgetMs: 5000 });
    const t0 = performance.now();
    expect((await first).kind).toBe("ambiguous");
    expect(await second).toMatchObject({ kind: "not_sent", reason: "circuit_open" });
    expect(performance.now() - t0).toBeLessThan(600);
    expect(calls).toBe(1);
  });
});
