/** Request log, rate limit, latency, the HTTP control API, generated catalogues and the CLI. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js";
import { addFollowers, call, control } from "./helpers.js";

const sims: Simulator[] = [];
async function start(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const sim = await startSimulator({ dialect: "jap", apiKey: "secret-key", progress: false, ...options });
  sims.push(sim);
  return sim;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

describe("request log", () => {
  it("records every request with the key redacted, its action, params and status", async () => {
    const sim = await start({ dialect: "panel" });
    const before = Date.now();
    await call(sim, { action: "balance" });
    await call(sim, { key: "wrong", action: "status", order: "5" });
    expect(sim.log).toEqual([
      { at: expect.any(Number), action: "balance", params: { key: "***", action: "balance" }, status: 200 },
      { at: expect.any(Number), action: "status", params: { key: "***", action: "status", order: "5" }, status: 401 },
    ]);
    expect(sim.log[0]?.at).toBeGreaterThanOrEqual(before);
    expect(JSON.stringify(sim.log)).not.toContain("secret-key");
    sim.clearLog();
    expect(sim.log).toEqual([]);
  });
});

describe("rate limit", () => {
  it.each(["jap", "panel"] as const)(
    "%s: over the limit answers 429 with Retry-After, then recovers",
    async (dialect) => {
      const sim = await start({ dialect, rateLimit: { requests: 3, intervalMs: 600 } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await call(sim, { action: "balance" })).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const limited = await call(sim, { action: "balance" });
      expect(limited.body).toEqual({ error: "Rate limit exceeded" });
      expect(limited.headers.get("retry-after")).toBe("1");
      expect((await control(sim, "GET", "/state")).status).toBe(200); // control API is never limited
      await new Promise((resolve) => setTimeout(resolve, 620));
      expect((await call(sim, { action: "balance" })).status).toBe(200);
    },
  );
});

describe("latency", () => {
  it("delays each API answer by latencyMs", async () => {
    const sim = await start({ latencyMs: 80 });
    const started = performance.now();
    await call(sim, { action: "balance" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });
});

describe("HTTP control API", () => {
  it("drives the same hooks as the in-process API", async () => {
    const sim = await start({ dialect: "morethanpanel" });
    const id = await addFollowers(sim, 200);

    const forced = await control(sim, "POST", `/orders/${id}`, { status: "Refunded", remains: 200, charge: "0" });
    expect(forced.body).toMatchObject({ id, status: "Refunded", remains: "200", charge: "0" });
    expect((await call(sim, { action: "status", order: String(id) })).body).toMatchObject({
      status: "Refunded",
      remains: "200",
    });
    expect((await control(sim, "GET", `/orders/${id}`)).body).toMatchObject({ id, service: 1, quantity: 200 });
    expect((await control(sim, "GET", "/orders/1")).status).toBe(404);

    await control(sim, "POST", "/refills/77", { status: "Done", order: id });
    expect((await call(sim, { action: "refill_status", refill: "77" })).body).toEqual({ status: "Done" });

    await control(sim, "POST", "/faults", { action: "balance", count: 1, fault: "http502" });
    expect((await call(sim, { action: "balance" })).status).toBe(502);
    await control(sim, "POST", "/faults", { action: "*", count: 5, fault: { kind: "error", message: "nope" } });
    await control(sim, "DELETE", "/faults");
    expect((await call(sim, { action: "balance" })).status).toBe(200);

    await control(sim, "POST", "/balance", { balance: "5.5" });
    expect((await call(sim, { action: "balance" })).body).toEqual({ balance: "5.50000", currency: "USD" });

    await control(sim, "POST", "/services/1", { rate: "1.25", max: 300 });
    expect(await control(sim, "DELETE", "/services/2")).toMatchObject({ status: 200 });
    expect((await control(sim, "DELETE", "/services/2")).status).toBe(404);
    const list = (await call(sim, { action: "services" })).body as Record<string, unknown>[];
    expect(list[0]).toMatchObject({ service: 1, rate: "1.25", max: "300" });
    expect(list.some((s) => s.service === 2)).toBe(false);
    await control(sim, "POST", "/services", [
      {
        service: 9,
        name: "Only",
        type: "Default",
        category: "C",
        rate: "2",
        min: 1,
        max: 10,
        refill: false,
        cancel: false,
        dripfeed: false,
      },
    ]);
    expect((await call(sim, { action: "services" })).body).toEqual([
      {
        service: 9,
        name: "Only",
        type: "Default",
        category: "C",
        rate: "2",
        min: "1",
        max: "10",
        refill: false,
        cancel: false,
        dripfeed: false,
      },
    ]);

    sim.setOrder(id, { status: "Pending", remains: 200 });
    await control(sim, "POST", "/advance", { ticks: 40 });
    expect(["Completed", "Partial", "Canceled"]).toContain(sim.orders.get(id)?.status);

    const log = (await control(sim, "GET", "/log")).body as { action: string; params: Record<string, string> }[];
    expect(log.length).toBe(sim.log.length);
    expect(log.every((e) => e.params.key === "***")).toBe(true);
    await control(sim, "DELETE", "/log");
    expect(sim.log).toEqual([]);

    const state = (await control(sim, "GET", "/state")).body as Record<string, unknown>;
    expect(state).toMatchObject({ dialect: "morethanpanel", balance: "5.50000", currency: "USD" });
    expect((state.orders as unknown[]).length).toBe(1);
    expect((state.refills as unknown[]).length).toBe(1);
  });

  it("answers 400 with the problem for bad bodies", async () => {
    const sim = await start();
    const reply = await control(sim, "POST", "/faults", { action: "add", count: 1, fault: "explode" });
    expect(reply.status).toBe(400);
    expect((reply.body as { error: string }).error).toMatch(/^fault/);
    expect((await control(sim, "POST", "/balance", { balance: "lots" })).status).toBe(400);
  });

  it("in-process service hooks change what services and add answer", async () => {
    const sim = await start();
    sim.updateService(1, { rate: "2", min: 500 });
    expect((await call(sim, { action: "add", service: "1", link: "l", quantity: "100" })).body).toEqual({
      error: "Quantity less than minimal 500",
    });
    expect(sim.removeService(1)).toBe(true);
    expect((await call(sim, { action: "add", service: "1", link: "l", quantity: "600" })).body).toEqual({
      error: "Incorrect service ID",
    });
    expect(() => sim.updateService(1, { rate: "3" })).toThrow(/unknown service 1/);
  });
});

describe("startSimulator", () => {
  it("listens on the given port and rejects when it is taken", async () => {
    const sim = await start();
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}/api/v2`);
    expect(sim.controlUrl).toBe(`http://127.0.0.1:${sim.port}/__sim`);
    await expect(startSimulator({ dialect: "jap", port: sim.port, progress: false })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe("generated catalogue", () => {
  it("offers catalogueSize services, the same for the same seed", async () => {
    const a = await start({ catalogueSize: 2000, seed: 3 });
    const b = await start({ catalogueSize: 2000, seed: 3 });
    const listA = (await call(a, { action: "services" })).body as { service: number }[];
    expect(listA).toHaveLength(2000);
    expect(listA.map((s) => s.service)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect((await call(b, { action: "services" })).body).toEqual(listA);
  });
});

describe("CLI", () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  });

  it("starts a panel from flags and prints its URL", async () => {
    child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/simulator/main.ts",
        "--dialect",
        "panel",
        "--port",
        "0",
        "--key",
        "demo",
        "--balance",
        "7",
      ],
      {
        cwd: new URL("../../", import.meta.url),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
    const url = /(http:\/\/127\.0\.0\.1:\d+\/api\/v2)/.exec(chunk.toString())?.[1];
    expect(url).toBeDefined();
    const response = await fetch(String(url), {
      method: "POST",
      body: new URLSearchParams({ key: "demo", action: "balance" }),
    });
    expect(await response.json()).toEqual({ balance: "7.00000", currency: "USD" });
    const bad = await fetch(String(url), {
      method: "POST",
      body: new URLSearchParams({ key: "x", action: "balance" }),
    });
    expect(bad.status).toBe(401);
  });
});
