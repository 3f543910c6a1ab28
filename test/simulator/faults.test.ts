/** Injected faults over real loopback HTTP. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Fault, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { call } from "./helpers.js";

const ADD = { action: "add", service: "1", link: "https://instagram.com/x", quantity: "100" };

describe("faults", () => {
  let sim: Simulator;
  let panel: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dialect: "jap", apiKey: "k", progress: false });
    panel = await startSimulator({ dialect: "panel", apiKey: "k", progress: false });
  });
  beforeEach(() => {
    for (const s of [sim, panel]) {
      s.clearFaults();
      s.clearLog();
    }
  });
  afterAll(async () => {
    await Promise.all([sim.close(), panel.close()]);
  });

  const lastLog = (s: Simulator = sim) => s.log[s.log.length - 1];

  it("hang: never answers; the next call is normal", async () => {
    sim.injectFaults("balance", 1, "hang");
    await expect(call(sim, { action: "balance" }, { signal: AbortSignal.timeout(150) })).rejects.toThrow(
      /timeout|abort/i,
    );
    expect(lastLog()).toMatchObject({ action: "balance", status: null, fault: "hang" });
    expect((await call(sim, { action: "balance" })).status).toBe(200);
  });

  it("reset: the socket is destroyed without processing", async () => {
    const before = sim.orders.size;
    sim.injectFaults("add", 1, "reset");
    await expect(call(sim, ADD)).rejects.toThrow(/fetch failed/);
    expect(sim.orders.size).toBe(before);
    expect(lastLog()).toMatchObject({ action: "add", status: null, fault: "reset" });
  });

  it("drop_answer: the order is created, the client sees a socket error", async () => {
    const before = sim.orders.size;
    sim.injectFaults("add", 1, "drop_answer");
    const error = await call(sim, ADD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(String((error as TypeError).cause)).toMatch(/closed|reset|socket/i);
    expect(sim.orders.size).toBe(before + 1);
    expect(lastLog()).toMatchObject({ action: "add", status: null, fault: "drop_answer" });
  });

  it.each([
    ["http500_html", 500, "Internal Server Error"],
    ["http200_html", 200, "Just a moment..."],
    ["http403_html", 403, "Sorry, you have been blocked"],
    ["http502", 502, "502 Bad Gateway"],
  ] as const)("%s: HTML with HTTP %i, nothing processed", async (fault, status, marker) => {
    const before = sim.orders.size;
    sim.injectFaults("add", 1, fault);
    const reply = await call(sim, ADD);
    expect(reply.status).toBe(status);
    expect(reply.headers.get("content-type")).toMatch(/^text\/html/);
    expect(reply.text).toContain(marker);
    expect(reply.body).toBeUndefined();
    expect(sim.orders.size).toBe(before);
    expect(lastLog()).toMatchObject({ action: "add", status, fault });
  });

  it("truncated_json: processed, the answer is cut and does not parse", async () => {
    const before = sim.orders.size;
    sim.injectFaults("add", 1, "truncated_json");
    const reply = await call(sim, ADD);
    expect(reply.status).toBe(200);
    expect(reply.body).toBeUndefined();
    const created = [...sim.orders.keys()].at(-1);
    expect(`{"order":${created}}`.startsWith(reply.text)).toBe(true);
    expect(reply.text.length).toBeGreaterThan(0);
    expect(sim.orders.size).toBe(before + 1);
  });

  it("error: the dialect's error form (jap 200, panel 400), or a given HTTP status", async () => {
    sim.injectFaults("balance", 1, { kind: "error", message: "Service temporarily unavailable" });
    panel.injectFaults("balance", 1, "error");
    panel.injectFaults("services", 1, {
      kind: "error",
      message: "Upstream provider returned an error",
      httpStatus: 502,
    });
    const jap = await call(sim, { action: "balance" });
    expect([jap.status, jap.body]).toEqual([200, { error: "Service temporarily unavailable" }]);
    const p = await call(panel, { action: "balance" });
    expect([p.status, p.body]).toEqual([400, { error: "Simulated error" }]);
    const p2 = await call(panel, { action: "services" });
    expect([p2.status, p2.body]).toEqual([502, { error: "Upstream provider returned an error" }]);
  });

  it("http429: 429 with Retry-After", async () => {
    sim.injectFaults("status", 1, "http429");
    const reply = await call(sim, { action: "status", order: "1" });
    expect(reply.status).toBe(429);
    expect(reply.headers.get("retry-after")).toBe("1");
    expect(reply.body).toEqual({ error: "Rate limit exceeded" });
  });

  it("count and matching: N calls of that action, then normal; '*' for any action, specific first", async () => {
    sim.injectFaults("balance", 2, "http502");
    sim.injectFaults("*", 1, "http500_html");
    expect((await call(sim, { action: "services" })).status).toBe(500);
    expect((await call(sim, { action: "services" })).status).toBe(200);
    expect((await call(sim, { action: "balance" })).status).toBe(502);
    expect((await call(sim, { action: "balance" })).status).toBe(502);
    expect((await call(sim, { action: "balance" })).status).toBe(200);
    expect(sim.log.map((e) => e.fault ?? null)).toEqual(["http500_html", null, "http502", "http502", null]);
  });

  it("refuses unknown faults and bad counts", () => {
    expect(() => sim.injectFaults("add", 1, "explode" as Fault)).toThrow(/unknown fault "explode"/);
    expect(() => sim.injectFaults("add", 0, "reset")).toThrow(/positive integer/);
  });

  it("close() releases a hanging request", async () => {
    const own = await startSimulator({ dialect: "jap", apiKey: "k", progress: false });
    own.injectFaults("*", 1, "hang");
    const pending = call(own, { action: "balance" }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const started = Date.now();
    await own.close();
    expect(await pending).toBeInstanceOf(TypeError);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
