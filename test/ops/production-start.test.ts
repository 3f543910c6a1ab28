/**
 * The production start as the systemd unit runs it (issue #15): `npm run build` compiles to
 * `dist/`, then ONE process, `node dist/main.js`, receives the signals itself: SIGHUP reloads
 * the providers file in place (same pid, no restart), SIGTERM drains an `add` in flight and exits 0.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseAmount } from "../../src/billing/money.js";
import { createCustomer } from "../../src/customers/customers.js";
import { openDb } from "../../src/db/client.js";
import { orders } from "../../src/db/schema.js";
import type { AppContext } from "../../src/runtime/context.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { balanceOf } from "../helpers/context.js";
import { apiCall } from "./helpers.js";
import { ROOT, spawnServer } from "./server-process.js";

const SIM_KEY = "sim-upstream-key-5c1d";
let sim: Simulator;
let dir: string;

beforeAll(async () => {
  // `npm run build`, without npm in between (dist/ is git-ignored: a fresh clone has none).
  execFileSync(process.execPath, ["-e", "require('node:fs').rmSync('dist',{recursive:true,force:true})"], {
    cwd: ROOT,
  });
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: ROOT,
    stdio: "pipe",
  });
  sim = await startSimulator({ dialect: "jap", apiKey: SIM_KEY, progress: false, latencyMs: 500 });
  dir = mkdtempSync(join(tmpdir(), "smm-production-"));
}, 180_000);

afterAll(async () => {
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function config(services: Array<Record<string, unknown>>): string {
  return JSON.stringify({
    currency: "USD",
    markup: { percent: 10 },
    providers: [{ id: "sim", dialect: "jap", url: sim.url, key: SIM_KEY, timeoutMs: 5000 }],
    services,
  });
}

it("package.json starts the built file, and the unit in docs/operations.md runs it with node", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  expect(pkg.scripts.start).toBe("node dist/main.js");
  expect(pkg.scripts.build).toContain("tsc -p tsconfig.build.json");
  expect(existsSync(join(ROOT, "dist/main.js"))).toBe(true);
  const ops = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
  expect(ops).toContain("ExecStart=/usr/bin/node dist/main.js");
  expect(ops).toContain("ExecReload=/bin/kill -HUP $MAINPID");
});

it("node dist/main.js: SIGHUP reloads in the same process, SIGTERM drains the add in flight", async () => {
  const dbPath = join(dir, "prod.db");
  const providersPath = join(dir, "providers.json");
  writeFileSync(providersPath, config([{ id: 1, provider: "sim", upstreamService: 1 }]));
  const db = openDb(dbPath);
  const { customer, apiKey } = createCustomer(db, { name: "c", balance: parseAmount("10"), currency: "USD" });
  db.$client.close();

  const server = await spawnServer(["dist/main.js"], {
    DATABASE_PATH: dbPath,
    PROVIDERS_FILE: providersPath,
    ADMIN_TOKEN: "production-admin-token-0123456789",
  });
  try {
    const pid = server.process.pid;
    // The dashboard runs from dist/ too, with its stylesheet and script.
    expect((await fetch(`${server.url}/admin/login`)).status).toBe(200);
    for (const name of ["admin.css", "admin.js"]) {
      const res = await fetch(`${server.url}/admin/assets/${name}`);
      expect([res.status, (await res.text()).length > 100]).toEqual([200, true]);
    }
    const services = async () =>
      ((await apiCall(server.url, { key: apiKey, action: "services" })).body as Array<{ service: number }>).map(
        (s) => s.service,
      );
    expect(await services()).toEqual([1]);
    writeFileSync(
      providersPath,
      config([
        { id: 1, provider: "sim", upstreamService: 1 },
        { id: 2, provider: "sim", upstreamService: 3 },
      ]),
    );
    server.process.kill("SIGHUP");
    await server.waitFor((l) => l.event === "config_reloaded");
    expect(await services()).toEqual([1, 2]);
    expect(server.process.pid).toBe(pid);
    expect(server.process.exitCode).toBeNull();
    expect(server.lines.filter((l) => l.msg === "smm-proxy listening")).toHaveLength(1);

    const add = apiCall(server.url, {
      key: apiKey,
      action: "add",
      service: 1,
      link: "https://ig.com/a",
      quantity: 1000,
    });
    // The add is in flight once the upstream call is recorded as started.
    const reader = openDb(dbPath, { migrate: false });
    try {
      while (reader.select().from(orders).where(eq(orders.id, 1)).get()?.submitStartedAt == null) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      reader.$client.close();
    }
    server.process.kill("SIGTERM");
    expect(await add).toEqual({ status: 200, body: { order: 1 } });
    expect(await server.exited).toBe(0);
    expect(server.lines.some((l) => l.msg === "smm-proxy stopped")).toBe(true);
  } finally {
    server.process.kill("SIGKILL");
  }
  const after = openDb(dbPath, { migrate: false });
  expect(after.select().from(orders).where(eq(orders.id, 1)).get()).toMatchObject({ submission: "submitted" });
  // 10 − 0.99
  expect(balanceOf({ db: after } as AppContext, customer.id)).toEqual({ balance: 901_000, ledger: 901_000 });
  after.$client.close();
});
