/**
 * `npm run soak` (issue #8): the chaos soak. 3 simulated providers (jap, morethanpanel in EUR,
 * panel) inject a random fault into ~20 % of calls (hang, reset, 5xx/HTML, truncated JSON,
 * errors, 429, lost answers) while their orders move on their own (Partial and Canceled
 * included); a 4th provider, `chain`, is another smm-proxy (`panel` dialect, `idempotencyKeys`)
 * in front of its own faulty simulated jap panel (issue #11: held orders, Idempotency-Key
 * re-asks); besides one service per provider and upstream service, service 100 has three
 * routes across the three faulty simulated providers (issue #12: failover on definite failures
 * only, never a doubled order); 20 customers place, refill, cancel and poll over HTTP; upstream prices change
 * every 30 s; one provider is killed and restarted midway; the operator tops up through the
 * CLI. At the end, after a final sync through the CLI, the verdict is computed from the ledger
 * and the simulators' logs (and, for the chain, from both stores), printed, and written to
 * `bench/soak.json`. Exit 0 on PASS, 1 on FAIL.
 *
 *   npm run soak [-- --duration 5m] [--seed 1]     (SOAK_DURATION / SOAK_SEED work too)
 *
 * Bounded: the whole run is aborted (exit 2) at duration + 3 minutes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { pino } from "pino";
import { parseAmount } from "../src/billing/money.js";
import { runCli } from "../src/cli/program.js";
import { loadEnv } from "../src/config/env.js";
import { loadProvidersFile } from "../src/config/providers-file.js";
import { createCustomer } from "../src/customers/customers.js";
import { createLogger } from "../src/observability/logger.js";
import { type Runtime, start } from "../src/runtime/start.js";
import { mulberry32 } from "../src/simulator/random.js";
import type { SimService } from "../src/simulator/types.js";
import { runStatusSyncTick } from "../src/sync/order-status.js";
import { ChaosSim } from "./soak-chaos-sim.js";
import { type CustomerStats, runCustomer, type SoakService } from "./soak-customers.js";
import { computeVerdict } from "./soak-verdict.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CUSTOMERS = 20;
const FAULT_RATE = 0.2;
const PRICE_CHANGE_MS = 30_000;
const TIMEOUT_MS = 2_500;
const KILL_DOWN_MS = 5_000;

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (match === null) throw new Error(`--duration: expected e.g. 300s, 5m or 90000ms, got "${text}"`);
  const n = Number(match[1]);
  return Math.round(match[2] === "ms" ? n : match[2] === "m" ? n * 60_000 : n * 1000);
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { duration: { type: "string" }, seed: { type: "string" } },
});
const durationMs = parseDuration(values.duration ?? process.env.SOAK_DURATION ?? "5m");
const seed = Number(values.seed ?? process.env.SOAK_SEED ?? "1");
const random = mulberry32(seed);
const say = (line: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

const CATALOGUE: SimService[] = [
  {
    service: 1,
    name: "Followers",
    type: "Default",
    category: "Instagram",
    rate: "0.90",
    min: 10,
    max: 10000,
    refill: true,
    cancel: true,
    dripfeed: false,
  },
  {
    service: 2,
    name: "Likes",
    type: "Default",
    category: "Instagram",
    rate: "0.25",
    min: 10,
    max: 50000,
    refill: false,
    cancel: true,
    dripfeed: false,
  },
  {
    service: 3,
    name: "Views Package",
    type: "Package",
    category: "YouTube",
    rate: "1.50",
    min: 1,
    max: 1,
    refill: false,
    cancel: false,
    dripfeed: false,
  },
  {
    service: 4,
    name: "Comments",
    type: "Custom Comments",
    category: "Instagram",
    rate: "8",
    min: 1,
    max: 100,
    refill: true,
    cancel: true,
    dripfeed: false,
  },
];

// Bounded: never outlive duration + 3 minutes.
const guard = setTimeout(() => {
  say(`FAIL: aborted after ${durationMs + 180_000} ms`);
  process.exit(2);
}, durationMs + 180_000);
guard.unref();

let unhandled = 0;
process.on("unhandledRejection", (reason) => {
  unhandled++;
  say(`unhandled rejection: ${String(reason)}`);
});
process.on("uncaughtException", (error) => {
  unhandled++;
  say(`uncaught exception: ${error.stack ?? error.message}`);
});

/** The chained smm-proxy (provider `chain`): its own store, its faulty jap panel, A's key at it. */
interface Chain {
  runtime: Runtime;
  sim: ChaosSim;
  dbPath: string;
  apiKey: string;
}

/** Starts proxy B in front of a faulty jap simulator; A reaches it as provider `chain`. */
async function startChain(dir: string): Promise<Chain> {
  const sim = await ChaosSim.start({
    id: "chain-jap",
    dialect: "jap",
    apiKey: "chain-jap-key",
    currency: "USD",
    catalogue: CATALOGUE.map((c) => ({ ...c })),
    seed: seed * 10 + 9,
    faultRate: FAULT_RATE,
    tickMs: 700,
    random,
  });
  const dbPath = join(dir, "chain.db");
  const providersPath = join(dir, "chain-providers.json");
  writeFileSync(
    providersPath,
    JSON.stringify({
      currency: "USD",
      markup: { percent: 10 },
      providers: [
        {
          id: "chain-jap",
          dialect: "jap",
          url: sim.url,
          key: "chain-jap-key",
          rateLimit: { requests: 100, intervalMs: 1000 },
          concurrency: 8,
          timeoutMs: TIMEOUT_MS,
        },
      ],
      services: CATALOGUE.map((c) => ({ id: c.service, provider: "chain-jap", upstreamService: c.service })),
    }),
  );
  const logger = createLogger("warn", {
    destination: pino.destination({ dest: join(dir, "chain.log"), sync: true }),
  });
  const runtime = await start(
    loadEnv({
      DATABASE_PATH: dbPath,
      PROVIDERS_FILE: providersPath,
      PORT: "0",
      HOST: "127.0.0.1",
      STATUS_SYNC_INTERVAL_MS: "2000",
      PRICE_SYNC_INTERVAL_MS: String(PRICE_CHANGE_MS),
      RATE_LIMIT_IP_PER_MIN: "0",
    }),
    { config: loadProvidersFile(providersPath, {}), logger },
  );
  const { apiKey } = createCustomer(runtime.ctx.db, {
    name: "proxy A",
    balance: parseAmount("1000000"),
    currency: "USD",
  });
  return { runtime, sim, dbPath, apiKey };
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "smm-soak-"));
  const dbPath = join(dir, "store.db");
  const providersPath = join(dir, "providers.json");
  const logPath = join(dir, "server.log");
  say(`duration ${durationMs} ms, seed ${seed}, ${CUSTOMERS} customers, fault rate ${FAULT_RATE}, work dir ${dir}`);

  const specs = [
    { id: "jap", dialect: "jap", currency: "USD" },
    { id: "mtp", dialect: "morethanpanel", currency: "EUR" },
    { id: "panel", dialect: "panel", currency: "USD" },
  ] as const;
  const sims = await Promise.all(
    specs.map((s, i) =>
      ChaosSim.start({
        id: s.id,
        dialect: s.dialect,
        apiKey: `${s.id}-key`,
        currency: s.currency,
        catalogue: CATALOGUE.map((c) => ({ ...c })),
        seed: seed * 10 + i,
        faultRate: FAULT_RATE,
        tickMs: 700,
        random,
      }),
    ),
  );
  const chain = await startChain(dir);
  say(`chained smm-proxy on ${chain.runtime.url}`);
  const services: SoakService[] = [];
  const serviceConfig = [...specs, { id: "chain" }].flatMap((s, i) =>
    CATALOGUE.map((c) => {
      const id = i * 10 + c.service;
      services.push({ id, type: c.type as SoakService["type"], min: c.min, max: c.max });
      return { id, provider: s.id, upstreamService: c.service };
    }),
  );
  // Issue #12: one service routed across the three faulty providers.
  const routed = CATALOGUE[0];
  if (routed !== undefined) {
    services.push({ id: 100, type: routed.type as SoakService["type"], min: routed.min, max: routed.max });
  }
  const routedService = {
    id: 100,
    name: "Followers (three routes)",
    routes: specs.map((s) => ({ provider: s.id, upstreamService: routed?.service ?? 1 })),
  };
  writeFileSync(
    providersPath,
    JSON.stringify({
      currency: "USD",
      markup: { percent: 30 },
      exchangeRates: { EUR: "1.08" },
      providers: specs
        .map(
          (s, i): Record<string, unknown> => ({
            id: s.id,
            dialect: s.dialect,
            url: sims[i]?.url,
            key: `${s.id}-key`,
            currency: s.currency,
            rateLimit: { requests: 100, intervalMs: 1000 },
            concurrency: 8,
            timeoutMs: TIMEOUT_MS,
          }),
        )
        .concat([
          {
            id: "chain",
            dialect: "panel",
            url: `${chain.runtime.url}/api/v2`,
            key: chain.apiKey,
            currency: "USD",
            rateLimit: { requests: 100, intervalMs: 1000 },
            concurrency: 8,
            // B's own add may take its budget (timeoutMs × 1.5) and more: A sometimes gives up
            // first and holds the order, which the re-ask with the same key then links.
            timeoutMs: TIMEOUT_MS,
            idempotencyKeys: true,
          },
        ]),
      services: [...serviceConfig, routedService],
    }),
  );

  const logger = createLogger("warn", { destination: pino.destination({ dest: logPath, sync: true }) });
  const env = { DATABASE_PATH: dbPath, PROVIDERS_FILE: providersPath };
  const runtime = await start(
    loadEnv({
      ...env,
      PORT: "0",
      HOST: "127.0.0.1",
      STATUS_SYNC_INTERVAL_MS: "2000",
      PRICE_SYNC_INTERVAL_MS: String(PRICE_CHANGE_MS),
      RATE_LIMIT_IP_PER_MIN: "0",
    }),
    { config: loadProvidersFile(providersPath, {}), logger },
  );
  say(`proxy on ${runtime.url}`);

  const customers = Array.from({ length: CUSTOMERS }, (_, i) =>
    createCustomer(runtime.ctx.db, { name: `customer ${i + 1}`, balance: parseAmount("300"), currency: "USD" }),
  );
  const stats: CustomerStats = { answers: new Map(), transportErrors: 0, internalErrors: [] };
  const cliFailures: string[] = [];
  const cli = async (argv: string[]) => {
    let err = "";
    let out = "";
    const code = await runCli(argv, {
      env,
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
    });
    if (code !== 0) cliFailures.push(`${argv.join(" ")}: exit ${code}: ${err.trim()}`);
    return out;
  };

  const rss: Array<{ atMs: number; mb: number }> = [];
  const started = Date.now();
  const sample = () => rss.push({ atMs: Date.now() - started, mb: Math.round(process.memoryUsage().rss / 1048576) });
  sample();
  const timers = [
    setInterval(sample, 5_000),
    // Upstream price changes, between the proxy's price syncs.
    setInterval(() => {
      for (const sim of sims) {
        const service = CATALOGUE[Math.floor(random() * CATALOGUE.length)];
        if (service === undefined) continue;
        const factor = 0.7 + random() * 0.6;
        const rate = (Number(service.rate) * factor).toFixed(4);
        sim.current.updateService(service.service, { rate });
      }
      say("upstream prices changed");
    }, PRICE_CHANGE_MS),
    // The operator tops up a random customer through the CLI.
    setInterval(() => {
      const customer = customers[Math.floor(random() * customers.length)];
      if (customer !== undefined) void cli(["customers", "topup", String(customer.customer.id), "30"]);
    }, 7_000),
  ];

  for (const sim of [...sims, chain.sim]) sim.startFaults();
  let stopped = false;
  const loops = customers.map((c, index) =>
    runCustomer({
      baseUrl: runtime.url,
      apiKey: c.apiKey,
      index,
      services,
      random,
      stats,
      stopped: () => stopped,
    }),
  );

  const victim = sims[1];
  await sleep(durationMs / 2);
  if (victim !== undefined) {
    say(`killing provider ${victim.id} for ${KILL_DOWN_MS} ms`);
    await victim.killAndRestart(KILL_DOWN_MS);
    say(`provider ${victim.id} restarted`);
  }
  await sleep(durationMs / 2);

  say("stopping customers");
  stopped = true;
  await Promise.all(loops);
  for (const t of timers) clearInterval(t);
  sample();
  for (const sim of [...sims, chain.sim]) sim.stopFaults();
  await runtime.close(10_000);

  // Let every upstream order reach a final state, then the final sync, as the operator would
  // (the chained proxy syncs its own panel first, then A's CLI sync re-asks and syncs it).
  for (const sim of [...sims, chain.sim]) sim.current.advance(300);
  for (let round = 0; round < 3; round++) await runStatusSyncTick(chain.runtime.ctx);
  for (let round = 0; round < 3; round++) {
    const out = await cli(["sync", "status", "--json"]);
    await cli(["sync", "refills", "--json"]);
    const r = JSON.parse(out || "{}") as { synced?: number; refunded?: { count: number; total: string } };
    say(
      `final sync ${round + 1}: ${r.synced ?? 0} synced, ${r.refunded?.count ?? 0} refunds (${r.refunded?.total ?? "0"})`,
    );
  }
  // Orders the chained proxy itself holds for its operator stay Pending for us: open by design.
  const heldAtChain = new Set(
    (
      new Database(chain.dbPath, { readonly: true })
        .prepare("SELECT id FROM orders WHERE submission = 'unknown'")
        .all() as Array<{ id: number }>
    ).map((r) => String(r.id)),
  );
  const openRows = new Database(dbPath, { readonly: true })
    .prepare(
      "SELECT provider_id, upstream_order_id FROM orders WHERE submission = 'submitted' AND upstream_order_id IS NOT NULL AND status NOT IN ('Completed','Partial','Canceled','Failed')",
    )
    .all() as Array<{ provider_id: string; upstream_order_id: string }>;
  const open = {
    n: openRows.filter((r) => !(r.provider_id === "chain" && heldAtChain.has(r.upstream_order_id))).length,
  };
  const openHeldAtChain = openRows.length - open.n;

  const half = rss.filter((s) => s.atMs >= durationMs / 4);
  const firstQuarter = half.slice(0, Math.max(1, Math.floor(half.length / 3)));
  const lastQuarter = half.slice(-Math.max(1, Math.floor(half.length / 3)));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const rssEarly = median(firstQuarter.map((s) => s.mb));
  const rssLate = median(lastQuarter.map((s) => s.mb));
  const rssStable = rssLate <= rssEarly * 1.5 + 32;

  const chainOpen = new Database(chain.dbPath, { readonly: true })
    .prepare(
      "SELECT count(*) AS n FROM orders WHERE submission = 'submitted' AND upstream_order_id IS NOT NULL AND status NOT IN ('Completed','Partial','Canceled','Failed')",
    )
    .get() as { n: number };
  await chain.runtime.close(10_000);
  const chainVerdict = computeVerdict(
    { dbPath: chain.dbPath, sims: [chain.sim], timeoutMs: TIMEOUT_MS },
    {
      "final sync settled every open order": chainOpen.n === 0 ? [] : [`${chainOpen.n} submitted orders still open`],
    },
  );
  const verdict = computeVerdict(
    { dbPath, sims: [...sims, chain.sim], timeoutMs: TIMEOUT_MS, chains: [{ id: "chain", dbPath: chain.dbPath }] },
    {
      ...Object.fromEntries(
        Object.entries(chainVerdict.checks).map(([name, c]) => [`chained proxy: ${name}`, c.violations]),
      ),
      "no unhandled rejection": unhandled === 0 ? [] : [`${unhandled} unhandled rejections/exceptions`],
      "no 500": stats.internalErrors,
      "proxy always answered": stats.transportErrors === 0 ? [] : [`${stats.transportErrors} requests got no answer`],
      "operator CLI succeeded": cliFailures,
      "final sync settled every open order": open.n === 0 ? [] : [`${open.n} submitted orders still open`],
      "RSS stable": rssStable ? [] : [`RSS grew from ${rssEarly} MB to ${rssLate} MB`],
    },
  );
  await Promise.all([...sims, chain.sim].map((s) => s.close()));

  // Error-level lines the server logged (unexpected errors answering requests, failed jobs).
  const serverErrors = readFileSync(logPath, "utf8")
    .split("\n")
    .filter((line) => /"level":(50|60)/.test(line)).length;
  const answers = Object.fromEntries([...stats.answers.entries()].sort());
  const report = {
    verdict: verdict.pass ? "PASS" : "FAIL",
    seed,
    durationMs,
    ranMs: Date.now() - started,
    customers: CUSTOMERS,
    faultRate: FAULT_RATE,
    checks: verdict.checks,
    counts: {
      ...verdict.counts,
      chainedProxy: { ...chainVerdict.counts, ordersHeldThereOpenHere: openHeldAtChain },
      serverErrors,
      answers,
      rssMb: { early: rssEarly, late: rssLate, samples: rss },
    },
    serverLog: logPath,
  };
  for (const [name, c] of Object.entries(verdict.checks)) {
    say(`${c.ok ? "ok  " : "FAIL"} ${name}${c.ok ? "" : `: ${c.violations.slice(0, 5).join("; ")}`}`);
  }
  say(
    `counts: ${JSON.stringify({ ...verdict.counts, serverErrors, answers, rssMb: { early: rssEarly, late: rssLate } })}`,
  );
  say(`verdict: ${report.verdict}`);
  mkdirSync(join(ROOT, "bench"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "soak.json"), `${JSON.stringify(report, null, 2)}\n`);
  say("written bench/soak.json");
  if (verdict.pass) rmSync(dir, { recursive: true, force: true });
  return verdict.pass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`FAIL: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
