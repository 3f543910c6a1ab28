/**
 * `services list` and `providers list` show each provider's circuit as the running server
 * reports it on `http://127.0.0.1:$PORT/readyz`: a real server over the CLI's store whose `mtp`
 * circuit was opened by two failed adds (threshold 2, cool-down 60 s: open for the whole test,
 * no timing involved), and no server at all on the port. Never a secret in the output.
 */

import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { askServerCircuits, circuitJson, circuitText } from "../../src/cli/server-circuits.js";
import { loadEnv } from "../../src/config/env.js";
import { silentLogger } from "../../src/observability/logger.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { addCustomer } from "../helpers/context.js";
import { type CliSandbox, cliSandbox } from "./helpers.js";

let cli: CliSandbox;
let jap: Simulator;
let mtp: Simulator;
let proxy: Runtime;
let serverEnv: Record<string, string>;
let openedBefore = 0;
let openedAfter = 0;

const COOL_DOWN_MS = 60_000;

beforeAll(async () => {
  cli = cliSandbox("smm-cli-circuits-");
  jap = await startSimulator({ dialect: "jap", apiKey: "secret-jap-key", progress: false });
  mtp = await startSimulator({ dialect: "morethanpanel", apiKey: "secret-mtp-key", progress: false });
  const limits = { rateLimit: { requests: 1000, intervalMs: 1000 } };
  writeFileSync(
    cli.env.PROVIDERS_FILE ?? "",
    JSON.stringify({
      currency: "USD",
      markup: { percent: "25" },
      providers: [
        { id: "jap", dialect: "jap", url: jap.url, key: "secret-jap-key", ...limits },
        { id: "mtp", dialect: "morethanpanel", url: mtp.url, key: "secret-mtp-key", ...limits },
      ],
      services: [
        {
          id: 1,
          routes: [
            { provider: "mtp", upstreamService: 1 },
            { provider: "jap", upstreamService: 1 },
          ],
        },
        { id: 2, provider: "jap", upstreamService: 1 },
      ],
    }),
  );
  proxy = await start(
    loadEnv({
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_PATH: cli.env.DATABASE_PATH,
      PROVIDERS_FILE: cli.env.PROVIDERS_FILE,
    }),
    { logger: silentLogger(), upstream: { circuit: { failureThreshold: 2, coolDownMs: COOL_DOWN_MS } } },
  );
  await proxy.initialBalances;
  serverEnv = { PORT: String(proxy.port) };

  // Two ambiguous answers (HTTP 502) from mtp on route 0 open its circuit; jap's stays closed.
  const customer = addCustomer(proxy.ctx, "10.00000");
  mtp.injectFaults("add", 2, "http502");
  openedBefore = Date.now();
  for (const link of ["https://ig.com/a", "https://ig.com/b"]) {
    const res = await fetch(`${proxy.url}/api/v2`, {
      method: "POST",
      body: new URLSearchParams({ key: customer.apiKey, action: "add", service: "1", link, quantity: "1000" }),
    });
    expect(res.status).toBe(200);
  }
  openedAfter = Date.now();
});

afterAll(async () => {
  await proxy?.close(2000);
  await Promise.all([jap?.close(), mtp?.close()]);
  cli?.cleanup();
});

/** The server's own `openUntil` for mtp, as `/readyz` gives it. */
async function mtpOpenUntil(): Promise<string> {
  const body = (await (await fetch(`${proxy.url}/readyz`)).json()) as {
    providers: Record<string, { circuit: string; openUntil?: string }>;
  };
  expect(body.providers.mtp?.circuit).toBe("open");
  expect(body.providers.jap).toEqual({ queued: 0, inFlight: 0, circuit: "closed" });
  const until = body.providers.mtp?.openUntil ?? "";
  const ms = Date.parse(until);
  expect(ms).toBeGreaterThanOrEqual(openedBefore + COOL_DOWN_MS);
  expect(ms).toBeLessThanOrEqual(openedAfter + COOL_DOWN_MS);
  return until;
}

describe("with a running server on PORT", () => {
  it("services list shows each service's and each route's circuit: open until HH:MM:SS, closed", async () => {
    const until = await mtpOpenUntil();
    const clock = `${until.slice(11, 19)} UTC`;
    const result = await cli.run(["services", "list"], serverEnv);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID +NAME +PROVIDER +CIRCUIT +UPSTREAM +TYPE +COST /);
    expect(lines[2]).toMatch(new RegExp(`^ 1 +Followers +mtp +open until ${clock} +1 +Default +0\\.9 `));
    expect(lines[3]).toMatch(/^ 2 +Followers +jap +closed +1 +Default +0\.9 /);
    expect(lines.slice(4, 6)).toEqual(["", "Routes of services with several:"]);
    expect(lines[6]).toMatch(/^SERVICE +ROUTE +PROVIDER +CIRCUIT +UPSTREAM +COST /);
    expect(lines[8]).toMatch(new RegExp(`^ +1 +0 \\(reference\\) +mtp +open until ${clock} +1 +0\\.9 `));
    expect(lines[9]).toMatch(/^ +1 +1 +jap +closed +1 +0\.9 /);
    expect(lines).toHaveLength(10); // no "unknown" line: every circuit is known
    expect(result.stdout).not.toContain("secret-");
  });

  it("services list --json gives each circuit with its end as ISO time", async () => {
    const until = await mtpOpenUntil();
    const list = await cli.json<Array<{ id: number; circuit: unknown; routes: Array<{ circuit: unknown }> }>>(
      ["services", "list"],
      serverEnv,
    );
    expect(list.map((s) => [s.id, s.circuit, s.routes.map((r) => r.circuit)])).toEqual([
      [
        1,
        { state: "open", openUntil: until },
        [
          { state: "open", openUntil: until },
          { state: "closed", openUntil: null },
        ],
      ],
      [2, { state: "closed", openUntil: null }, [{ state: "closed", openUntil: null }]],
    ]);
  });

  it("providers list shows each provider's circuit, never its key", async () => {
    const until = await mtpOpenUntil();
    const result = await cli.run(["providers", "list"], serverEnv);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/ +CATALOGUE AT +CIRCUIT +LAST ERROR$/);
    expect(lines[2]).toMatch(/^jap .* closed +-$/);
    expect(lines[3]).toMatch(new RegExp(`^mtp .* open until ${until.slice(11, 19)} UTC +-$`));
    expect(lines).toHaveLength(4);
    const list = await cli.json<Array<{ id: string; circuit: unknown }>>(["providers", "list"], serverEnv);
    expect(list.map((p) => [p.id, p.circuit])).toEqual([
      ["jap", { state: "closed", openUntil: null }],
      ["mtp", { state: "open", openUntil: until }],
    ]);
    for (const out of [result.stdout, JSON.stringify(list)]) expect(out).not.toContain("secret-");
  });
});

describe("with no server on PORT", () => {
  it("services list still lists, circuits read unknown, and one line says no server runs on the port", async () => {
    const result = await cli.run(["services", "list"]); // the sandbox's PORT 1: nothing listens there
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[2]).toMatch(/^ 1 +Followers +mtp +unknown +1 /);
    expect(lines[3]).toMatch(/^ 2 +Followers +jap +unknown +1 /);
    expect(lines[8]).toMatch(/^ +1 +0 \(reference\) +mtp +unknown +1 /);
    expect(lines.slice(-2)).toEqual([
      "",
      "circuit state unknown: no server is running on port 1 (asked http://127.0.0.1:1/readyz)",
    ]);
    expect(lines.filter((l) => l.startsWith("circuit state unknown"))).toHaveLength(1);
  });

  it("--json keeps stdout JSON (circuit null) and says why on stderr", async () => {
    const result = await cli.run(["providers", "list", "--json"]);
    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as Array<{ id: string; circuit: unknown }>;
    expect(list.map((p) => [p.id, p.circuit])).toEqual([
      ["jap", null],
      ["mtp", null],
    ]);
    expect(result.stderr).toBe(
      "circuit state unknown: no server is running on port 1 (asked http://127.0.0.1:1/readyz)\n",
    );
  });

  it("PORT=0 cannot be found, and a HOST off loopback is not asked", async () => {
    expect(await askServerCircuits({ PORT: 0, HOST: "0.0.0.0" })).toEqual({
      known: false,
      reason: "circuit state unknown: PORT is 0 (the server takes any free port), so the CLI cannot find it",
    });
    expect(await askServerCircuits({ PORT: 8080, HOST: "10.1.2.3" })).toEqual({
      known: false,
      reason: "circuit state unknown: the server listens on HOST=10.1.2.3, and the CLI asks only loopback",
    });
  });
});

describe("what answers on the port", () => {
  let other: Server;
  let answer: { status: number; body: string } = { status: 200, body: "" };
  let port = 0;

  beforeAll(async () => {
    other = createServer((_req, res) => {
      res.writeHead(answer.status, { "Content-Type": "application/json" });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    port = (other.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => other.close(() => resolve())));

  it("reads half-open, and an open circuit without openUntil ends retryAfterMs from now", async () => {
    answer = {
      status: 503,
      body: JSON.stringify({
        status: "not ready",
        providers: {
          a: { queued: 0, inFlight: 0, circuit: "half_open" },
          b: { queued: 0, inFlight: 0, circuit: "open", retryAfterMs: 5000 },
        },
      }),
    };
    const server = await askServerCircuits(
      { PORT: port, HOST: "::" },
      { now: () => Date.parse("2026-12-02T23:59:58.000Z") },
    );
    expect(circuitText(server, "a")).toBe("half-open");
    expect(circuitText(server, "b")).toBe("open until 00:00:03 UTC");
    expect(circuitText(server, "c")).toBe("not on server");
  });

  it("an open circuit whose end no clock can show reads plain open, never a failed listing", async () => {
    answer = {
      status: 200,
      body: JSON.stringify({ providers: { jap: { circuit: "open", retryAfterMs: 1e300 } } }),
    };
    const server = await askServerCircuits({ PORT: port, HOST: "127.0.0.1" });
    expect(circuitText(server, "jap")).toBe("open");
    expect(circuitJson(server, "jap")).toEqual({ state: "open", openUntil: null });
  });

  it("names providers the server does not have in one line", async () => {
    answer = { status: 200, body: JSON.stringify({ providers: { jap: { circuit: "closed" } } }) };
    const result = await cli.run(["providers", "list"], { PORT: String(port) });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[2]).toMatch(/^jap .* closed +-$/);
    expect(lines[3]).toMatch(/^mtp .* not on server +-$/);
    expect(lines.slice(-1)).toEqual([
      `circuit state unknown for mtp: the server on port ${port} has no such provider (its providers file differs; reload it)`,
    ]);
  });

  it("a server that never answers ends as unknown after the timeout", async () => {
    const silent = createServer(() => {
      // holds every request: never answers
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      expect(await askServerCircuits({ PORT: silentPort, HOST: "127.0.0.1" }, { timeoutMs: 50 })).toEqual({
        known: false,
        reason: `circuit state unknown: the server on port ${silentPort} did not answer http://127.0.0.1:${silentPort}/readyz within 50 ms`,
      });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("something else on the port is not taken for the server", async () => {
    answer = { status: 404, body: "<html>not found</html>" };
    const result = await cli.run(["services", "list"], { PORT: String(port) });
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split("\n").slice(-1)).toEqual([
      `circuit state unknown: what answers on port ${port} is not an smm-proxy server (http://127.0.0.1:${port}/readyz: HTTP 404)`,
    ]);
  });
});
