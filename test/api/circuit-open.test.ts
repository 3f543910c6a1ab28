/** A dead upstream opens its circuit: customers get a fast 503 with Retry-After and their money back (issue #4). */
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { silentLogger } from "../../src/observability/logger.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { addCustomer, balanceOf } from "../helpers/context.js";

let sim: Simulator;
let proxy: Runtime;

beforeAll(async () => {
  sim = await startSimulator({ dialect: "morethanpanel", apiKey: "k", progress: false, balance: "100.00000" });
  const config = parseProvidersConfig(
    {
      providers: [
        { id: "mtp", dialect: "morethanpanel", url: sim.url, key: "k", rateLimit: { requests: 100, intervalMs: 1000 } },
      ],
      services: [{ id: 1, provider: "mtp", upstreamService: 1 }],
      markup: { percent: 10 },
    },
    {},
  );
  proxy = await start(loadEnv({ PORT: "0", HOST: "127.0.0.1", DATABASE_PATH: ":memory:" }), {
    config,
    logger: silentLogger(),
    upstream: { circuit: { failureThreshold: 2, coolDownMs: 60_000 } },
  });
});

afterAll(async () => {
  await proxy?.close(2000);
  await sim?.close();
});

it("answers 503 with Retry-After once the circuit is open, refunding in full and sending nothing", async () => {
  const customer = addCustomer(proxy.ctx, "10.00000");
  const add = () =>
    fetch(`${proxy.url}/api/v2`, {
      method: "POST",
      body: new URLSearchParams({
        key: customer.apiKey,
        action: "add",
        service: "1",
        link: "https://ig.com/a",
        quantity: "1000",
      }),
    });
  sim.injectFaults("add", 2, "http502");
  // two ambiguous answers: held (answered like accepted orders), 2 × 0.99 kept
  expect((await add()).status).toBe(200);
  expect((await add()).status).toBe(200);
  expect(balanceOf(proxy.ctx, customer.id).balance).toBe(1_000_000 - 198_000);
  const sentBefore = sim.log.filter((l) => l.action === "add").length;
  const third = await add();
  expect(third.status).toBe(503);
  expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(50);
  expect(await third.json()).toEqual({ error: "Provider is busy, try again later" });
  expect(sim.log.filter((l) => l.action === "add")).toHaveLength(sentBefore);
  expect(balanceOf(proxy.ctx, customer.id)).toEqual({ balance: 1_000_000 - 198_000, ledger: 1_000_000 - 198_000 });
});
