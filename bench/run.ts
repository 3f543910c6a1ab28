/**
 * `npm run bench` (issue #6): smm-proxy against the limits of its own stack, every figure a
 * ratio against a baseline started in the same run. Servers run in child processes, baseline and
 * proxy alike, from the compiled build (`lib/build.ts`: what `npm start` runs); load comes from
 * this process (autocannon) over loopback, bounded in time. Prints the table and writes the raw
 * figures to bench/results.json.
 *
 * Flags: `--quick` (short phases, scaled-down counts), `--tsx` (servers run their TypeScript
 * through tsx instead of the build),
 * `--only=status,services,add,failover,memory,sync,sync3,queue,admin`,
 * `--profile` (V8 CPU profile of the proxy during each proxy load phase, in bench/profiles/<phase>.cpuprofile;
 * read them with `npx tsx bench/profile-summary.ts <file>` or Chrome DevTools).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { adminRows, runAdminPagesBench } from "./admin-pages.js";
import { BENCH_BUILD_DIR, buildForBench } from "./lib/build.js";
import { type Child, cpuMsOf, rssOf, runChildrenFrom, startChild } from "./lib/ipc.js";
import { type LoadOptions, type LoadResult, type LoadRun, mergeRuns, rawPost, runLoad } from "./lib/load.js";
import { markdownTable, mb, ms, num, type Row } from "./lib/report.js";
import type { BareSyncAnswer } from "./servers/bare-sync.js";
import type { BacklogAnswer, ProxyServerOptions, SyncTickAnswer } from "./servers/proxy.js";
import type { RoutingProbeAnswer } from "./servers/routing-probe.js";
import type { LogSummary } from "./servers/simulator.js";

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const PROFILE = argv.includes("--profile");
const TSX = argv.includes("--tsx");
const ONLY = argv
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",");
const runs = (phase: string) => ONLY === undefined || ONLY.includes(phase);

const P = QUICK
  ? {
      warmS: 1,
      loadS: 3,
      rounds: 3,
      syncN: [10, 250, 10_000],
      sync3N: [5_001, 2_999, 2_000],
      queueS: 10,
      memFirst: 10_000,
      memTotal: 100_000,
    }
  : {
      warmS: 2,
      loadS: 10,
      rounds: 5,
      syncN: [10, 250, 100_000],
      sync3N: [50_001, 29_999, 20_000],
      queueS: 60,
      memFirst: 100_000,
      memTotal: 1_000_000,
    };

/** Services of the proxy under test (`services` figures). */
const CATALOGUE_SIZE = 10_000;
/** Services of the proxy started for the memory figure. */
const MEMORY_CATALOGUE_SIZE = 20_000;
/** Local id of the bench's three-route service (issue #12): two refusing routes, then `main`. */
const FAILOVER_SERVICE = CATALOGUE_SIZE + 2;
const LIMITED = { requests: 20, intervalMs: 1000 };
const SIM_KEY = "sim-key";

const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[bench +${Math.round((Date.now() - t0) / 1000)}s] ${line}\n`);

export interface Target {
  name: string;
  options: LoadOptions;
  /** The server process, whose CPU time per answer is recorded. */
  pid: number;
}

/** A target's merged load and the server's CPU time per answer (ms). */
export type Measured = LoadResult & { serverCpuMsPerAnswer: number };

/**
 * Loads each target for `P.loadS` seconds in total, interleaved in `P.rounds` slices (A, B, A,
 * B, ...) after a warm-up of each, so a baseline and the proxy see the same noise of a shared
 * machine. `wrap` surrounds the measured rounds (profiling).
 */
async function compare(
  targets: readonly Target[],
  raw: Record<string, unknown>,
  wrap: (run: () => Promise<void>) => Promise<void> = (run) => run(),
): Promise<Measured[]> {
  for (const t of targets) await runLoad({ ...t.options, durationS: P.warmS });
  const slices: LoadRun[][] = targets.map(() => []);
  const cpuMs = targets.map(() => 0);
  await wrap(async () => {
    for (let round = 0; round < P.rounds; round++) {
      for (const [i, t] of targets.entries()) {
        const cpu0 = await cpuMsOf(t.pid);
        slices[i]?.push(await runLoad({ ...t.options, durationS: P.loadS / P.rounds }));
        cpuMs[i] = (cpuMs[i] ?? 0) + (await cpuMsOf(t.pid)) - cpu0;
      }
    }
  });
  return targets.map((t, i) => {
    const { latencies: _, ...merged } = mergeRuns(slices[i] ?? []);
    const result = { ...merged, serverCpuMsPerAnswer: (cpuMs[i] ?? 0) / merged.ok };
    raw[t.name] = result;
    log(
      `${t.name}: ${num(result.rps)} req/s, p50 ${ms(result.latency.p50)}, p99 ${ms(result.latency.p99)}, ` +
        `server CPU ${ms(result.serverCpuMsPerAnswer, 3)}/answer` +
        (result.non2xx + result.errors > 0 ? ` (non-2xx ${result.non2xx}, errors ${result.errors})` : ""),
    );
    return result;
  });
}

/** Samples a process's RSS every 100 ms while `during` runs. */
async function sampleRss<T>(pid: number, during: Promise<T>): Promise<{ value: T; maxRss: number; peakHwm: number }> {
  let maxRss = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      maxRss = Math.max(maxRss, (await rssOf(pid)).rss);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const value = await during;
  done = true;
  await sampler;
  return { value, maxRss, peakHwm: (await rssOf(pid)).peak };
}

const ratio = (measured: number, baseline: number, digits = 2) => num(measured / baseline, digits);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "smm-bench-"));
  const profileDir = join(process.cwd(), "bench", "profiles");
  if (PROFILE) mkdirSync(profileDir, { recursive: true });
  const raw: Record<string, unknown> = {};
  const rows: Row[] = [];
  const children: Child[] = [];
  const child = async <T>(script: string, args: string[] = [], nodeFlags: string[] = []) => {
    const started = await startChild(script, { args, nodeFlags });
    children.push(started.child);
    return { child: started.child, ready: started.ready as T };
  };
  log(`${QUICK ? "quick" : "full"} run on ${cpus().length} cores, Node ${process.version}`);
  if (!TSX) {
    const started = Date.now();
    runChildrenFrom(buildForBench());
    log(`servers run from the compiled build (${BENCH_BUILD_DIR}/, built in ${Date.now() - started} ms)`);
  } else log("servers run their TypeScript through tsx (--tsx)");

  // admin: in this process, before the servers start, over its own seeded store.
  if (runs("admin")) {
    const result = await runAdminPagesBench({ reps: QUICK ? 5 : 30, log });
    raw.admin = result;
    rows.push(...adminRows(result));
  }
  const needsServers = ONLY === undefined || ONLY.some((phase) => phase !== "admin");

  try {
    if (needsServers) {
      const simOptions = { dialect: "jap", apiKey: SIM_KEY, progress: false, balance: "100000000.00000" };
      // Routing (issue #12): two panels that refuse every add (no funds: a definite `rejected`),
      // listing the same service 1 as `main` (generated catalogues agree entry by entry); and two
      // more sync panels for the three-provider cycle.
      const refusing = { ...simOptions, balance: "0.00000", latencyMs: 5, catalogueSize: 10 };
      const [simMain, simLimited, simSync, simFast, baseline, simRefuse1, simRefuse2, simSync2, simSync3] =
        await Promise.all([
          child<{ url: string }>("bench/servers/simulator.ts", [
            JSON.stringify({ ...simOptions, latencyMs: 50, catalogueSize: MEMORY_CATALOGUE_SIZE }),
          ]),
          child<{ url: string }>("bench/servers/simulator.ts", [
            JSON.stringify({ ...simOptions, latencyMs: 50, rateLimit: LIMITED }),
          ]),
          child<{ url: string }>("bench/servers/simulator.ts", [JSON.stringify({ ...simOptions, latencyMs: 0 })]),
          // add figure: one route to a simulator answering at once.
          child<{ url: string }>("bench/servers/simulator.ts", [JSON.stringify({ ...simOptions, latencyMs: 0 })]),
          child<{ url: string }>("bench/servers/baseline.ts"),
          child<{ url: string }>("bench/servers/simulator.ts", [JSON.stringify(refusing)]),
          child<{ url: string }>("bench/servers/simulator.ts", [JSON.stringify(refusing)]),
          child<{ url: string }>("bench/servers/simulator.ts", [JSON.stringify({ ...simOptions, latencyMs: 0 })]),
          child<{ url: string }>("bench/servers/simulator.ts", [JSON.stringify({ ...simOptions, latencyMs: 0 })]),
        ]);
      const syncSims = [
        { id: "sync", sim: simSync },
        { id: "sync2", sim: simSync2 },
        { id: "sync3", sim: simSync3 },
      ];
      const unlimited = { requests: 100_000, intervalMs: 1000 };
      /**
       * Services 1..size on `main`; service size + 1 is the `add` route (upstream service 1 on
       * `fast`); with `routing`, service size + 2 has three routes, the first two refusing.
       */
      const proxyOptions = (file: string, size: number, routing: boolean): ProxyServerOptions => ({
        databasePath: join(dir, file),
        logLevel: "info",
        providersFile: {
          currency: "USD",
          markup: { percent: 20 },
          providers: [
            {
              id: "main",
              dialect: "jap",
              url: simMain.ready.url,
              key: SIM_KEY,
              rateLimit: unlimited,
              concurrency: 500,
            },
            { id: "limited", dialect: "jap", url: simLimited.ready.url, key: SIM_KEY, rateLimit: LIMITED },
            { id: "sync", dialect: "jap", url: simSync.ready.url, key: SIM_KEY, rateLimit: unlimited, concurrency: 8 },
            // add figure: queue never the limit.
            {
              id: "fast",
              dialect: "jap",
              url: simFast.ready.url,
              key: SIM_KEY,
              rateLimit: unlimited,
              concurrency: 500,
            },
            ...(routing
              ? [
                  {
                    id: "sync2",
                    dialect: "jap",
                    url: simSync2.ready.url,
                    key: SIM_KEY,
                    rateLimit: unlimited,
                    concurrency: 8,
                  },
                  {
                    id: "sync3",
                    dialect: "jap",
                    url: simSync3.ready.url,
                    key: SIM_KEY,
                    rateLimit: unlimited,
                    concurrency: 8,
                  },
                  {
                    id: "refuse1",
                    dialect: "jap",
                    url: simRefuse1.ready.url,
                    key: SIM_KEY,
                    rateLimit: unlimited,
                    concurrency: 500,
                  },
                  {
                    id: "refuse2",
                    dialect: "jap",
                    url: simRefuse2.ready.url,
                    key: SIM_KEY,
                    rateLimit: unlimited,
                    concurrency: 500,
                  },
                ]
              : []),
          ],
          services: [
            ...Array.from({ length: size }, (_, i) => ({ id: i + 1, provider: "main", upstreamService: i + 1 })),
            { id: size + 1, provider: "fast", upstreamService: 1 },
            ...(routing
              ? [
                  {
                    id: size + 2,
                    routes: [
                      { provider: "refuse1", upstreamService: 1 },
                      { provider: "refuse2", upstreamService: 1 },
                      { provider: "main", upstreamService: 1 },
                    ],
                  },
                ]
              : []),
          ],
        },
      });
      /** Starts a proxy process; its options go through a file (too long for a command line). */
      const startProxy = (name: string, size: number, routing: boolean) => {
        const file = join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify(proxyOptions(`${name}.db`, size, routing)));
        return child<{ url: string }>("bench/servers/proxy.ts", [`@${file}`]);
      };
      const proxy = await startProxy("proxy", CATALOGUE_SIZE, true);
      /** Runs `during` with the proxy's CPU profiled when `--profile` is given. */
      const profiled = async <T>(phase: string, during: () => Promise<T>): Promise<T> => {
        if (!PROFILE) return during();
        await proxy.child.call("profileStart");
        try {
          return await during();
        } finally {
          log(
            `profile: ${await proxy.child.call<string>("profileStop", { file: join(profileDir, `${phase}.cpuprofile`) })}`,
          );
        }
      };
      const proxyUrl = `${proxy.ready.url}/api/v2`;
      const customer = await proxy.child.call<{ id: number; apiKey: string }>("customer", {
        balance: "10000000.00000",
      });
      const order = await proxy.child.call<{ first: number }>("seedOrders", {
        customerId: customer.id,
        providerId: "main",
        serviceId: 1,
        count: 1,
        firstUpstreamId: 1,
        quantity: 1000,
      });
      const statusForm = { key: customer.apiKey, action: "status", order: order.first };
      const servicesForm = { key: customer.apiKey, action: "services" };
      const baseUrl = `${baseline.ready.url}/api/v2`;
      const small: Target = {
        name: "baseline_constant_json",
        options: { url: baseUrl, form: statusForm, connections: 50 },
        pid: baseline.child.pid,
      };

      // status: one order, 50 connections, with the proxy's RSS sampled during the load.
      if (runs("status")) {
        const sampled = await sampleRss(
          proxy.child.pid,
          compare(
            [
              small,
              {
                name: "proxy_status",
                options: { url: proxyUrl, form: statusForm, connections: 50 },
                pid: proxy.child.pid,
              },
              {
                name: "baseline_constant_json_end_of_turn",
                options: { url: `${baseUrl}-end-of-turn`, form: statusForm, connections: 50 },
                pid: baseline.child.pid,
              },
            ],
            raw,
            (run) => profiled("status", run),
          ),
        );
        const [base, s, turnBase] = sampled.value as [Measured, Measured, Measured];
        raw.status_rss = { maxRss: sampled.maxRss, peakHwm: sampled.peakHwm };
        rows.push({
          figure: "`status` of one order, req/s at 50 connections",
          baseline: `${num(base.rps)} req/s, p99 ${ms(base.latency.p99)} (bare Hono, constant JSON)`,
          measured: `${num(s.rps)} req/s, p99 ${ms(s.latency.p99)}`,
          ratio: ratio(s.rps, base.rps),
          goal: "≥ 0.40; p99 ≤ 3 × baseline p99",
          pass: s.rps / base.rps >= 0.4 && s.latency.p99 <= 3 * base.latency.p99 && s.non2xx === 0,
        });
        rows.push({
          figure: "`status` against a bare route that also answers at the end of the event-loop turn",
          baseline: `${num(turnBase.rps)} req/s, p99 ${ms(turnBase.latency.p99)} (bare Hono, constant JSON, \`endOfTurn\`)`,
          measured: `${num(s.rps)} req/s`,
          ratio: ratio(s.rps, turnBase.rps),
          goal: "(information)",
          pass: null,
        });
        rows.push({
          figure: `memory: peak RSS during the \`status\` load (${num(CATALOGUE_SIZE)} services)`,
          baseline: "—",
          measured: mb(sampled.maxRss),
          ratio: "—",
          goal: "≤ 250 MB",
          pass: sampled.maxRss <= 250 * 1024 * 1024,
        });
      }

      // services: the 10,000-service catalogue as gzip, against the same bytes served as a constant,
      // and 304s to a matching If-None-Match against the small constant.
      if (runs("services")) {
        const plain = await rawPost(proxyUrl, servicesForm);
        const gz = await rawPost(proxyUrl, servicesForm, { "accept-encoding": "gzip" });
        const br = await rawPost(proxyUrl, servicesForm, { "accept-encoding": "br" });
        const count = (JSON.parse(plain.body.toString("utf8")) as unknown[]).length;
        if (count !== CATALOGUE_SIZE + 2)
          throw new Error(`services lists ${count} entries, expected ${CATALOGUE_SIZE + 2}`);
        if (gz.headers["content-encoding"] !== "gzip" || !gunzipSync(gz.body).equals(plain.body)) {
          throw new Error("the gzip answer does not decode to the plain answer");
        }
        const etag = String(gz.headers.etag);
        await baseline.child.call("setCatalogueGzip", gz.body.toString("base64"));
        const gzipHeaders = { "accept-encoding": "gzip" };
        const [base, same, s, notModified] = (await compare(
          [
            { ...small, name: "baseline_constant_json_services" },
            {
              name: "baseline_catalogue_gzip",
              options: {
                url: `${baseline.ready.url}/catalogue-gzip`,
                form: servicesForm,
                connections: 50,
                headers: gzipHeaders,
              },
              pid: baseline.child.pid,
            },
            {
              name: "proxy_services_gzip",
              options: { url: proxyUrl, form: servicesForm, connections: 50, headers: gzipHeaders },
              pid: proxy.child.pid,
            },
            {
              name: "proxy_services_304",
              options: {
                url: proxyUrl,
                form: servicesForm,
                connections: 50,
                headers: { ...gzipHeaders, "if-none-match": etag },
                okStatus: 304,
              },
              pid: proxy.child.pid,
            },
          ],
          raw,
          (run) => profiled("services", run),
        )) as [Measured, Measured, Measured, Measured];
        raw.services_body_bytes = { plain: plain.body.length, gzip: gz.body.length, br: br.body.length };
        rows.push({
          figure: `\`services\` (${num(CATALOGUE_SIZE)} services), \`Accept-Encoding: gzip\`, req/s`,
          baseline: `${num(same.rps)} req/s (bare Hono, the same gzip bytes as a constant)`,
          measured: `${num(s.rps)} req/s`,
          ratio: ratio(s.rps, same.rps),
          goal: "≥ 0.80",
          pass: s.rps / same.rps >= 0.8 && s.non2xx === 0,
        });
        rows.push({
          figure: "`services` with a matching `If-None-Match` (304), req/s",
          baseline: `${num(base.rps)} req/s (bare Hono, constant JSON)`,
          measured: `${num(notModified.rps)} req/s`,
          ratio: ratio(notModified.rps, base.rps),
          goal: "≥ 0.50",
          pass: notModified.rps / base.rps >= 0.5 && notModified.non2xx === 0,
        });
        rows.push({
          figure: `\`services\` answer bytes (${num(CATALOGUE_SIZE)} services)`,
          baseline: `plain ${mb(plain.body.length)}`,
          measured: `gzip ${num(gz.body.length / 1024)} KB, br ${num(br.body.length / 1024)} KB`,
          ratio: `gzip ${ratio(gz.body.length, plain.body.length, 3)}, br ${ratio(br.body.length, plain.body.length, 3)}`,
          goal: "(information)",
          pass: null,
        });
      }

      // add: one route to a simulator answering at once; the proxy's CPU per order.
      if (runs("add")) {
        const catalogue = JSON.parse((await rawPost(proxyUrl, servicesForm)).body.toString("utf8")) as Array<{
          service: number;
          min: string;
        }>;
        const route = CATALOGUE_SIZE + 1; // the `fast` route
        const quantity = catalogue.find((s) => s.service === route)?.min ?? "100";
        const link = "https://instagram.com/p/bench";
        const [direct, proxied] = (await compare(
          [
            {
              name: "simulator_add_direct",
              options: {
                url: simFast.ready.url,
                form: { key: SIM_KEY, action: "add", service: 1, link, quantity },
                connections: 20,
              },
              pid: simFast.child.pid,
            },
            {
              name: "proxy_add",
              options: {
                url: proxyUrl,
                form: { key: customer.apiKey, action: "add", service: route, link, quantity },
                connections: 20,
              },
              pid: proxy.child.pid,
            },
          ],
          raw,
          (run) => profiled("add", run),
        )) as [Measured, Measured];
        rows.push({
          figure: "`add`: proxy CPU per order (one route, simulator answering at once, 20 clients)",
          baseline: `simulator direct: ${ms(direct.serverCpuMsPerAnswer, 3)} CPU per order`,
          measured: `${ms(proxied.serverCpuMsPerAnswer, 3)} CPU per order (${num(proxied.rps)} orders/s, p50 ${ms(proxied.latency.p50)})`,
          ratio: `${ratio(proxied.serverCpuMsPerAnswer, direct.serverCpuMsPerAnswer)}× the simulator`,
          goal: "≤ 0.70 ms",
          pass: proxied.serverCpuMsPerAnswer <= 0.7 && proxied.non2xx === 0 && proxied.ok > 0,
        });
      }

      // failover (issue #12): proxy CPU per `add` with one route vs three routes where the first two refuse.
      if (runs("failover")) {
        const catalogue = JSON.parse((await rawPost(proxyUrl, servicesForm)).body.toString("utf8")) as Array<{
          service: number;
          min: string;
        }>;
        const quantity = catalogue.find((s) => s.service === 1)?.min ?? "100";
        const form = (service: number) => ({
          key: customer.apiKey,
          action: "add",
          service,
          link: "https://instagram.com/p/bench",
          quantity,
        });
        const [one, three] = (await compare(
          [
            {
              name: "proxy_add_1_route",
              options: { url: proxyUrl, form: form(1), connections: 50 },
              pid: proxy.child.pid,
            },
            {
              name: "proxy_add_3_routes_2_refusing",
              options: { url: proxyUrl, form: form(FAILOVER_SERVICE), connections: 50 },
              pid: proxy.child.pid,
            },
          ],
          raw,
          (run) => profiled("failover", run),
        )) as [Measured, Measured];
        const perExtra = (three.serverCpuMsPerAnswer - one.serverCpuMsPerAnswer) / 2;
        // The same placements in process, with upstreams answering at once without HTTP: the
        // proxy's own work per attempt, beyond what an upstream call costs.
        const probe = await child<Record<string, never>>("bench/servers/routing-probe.ts");
        const own = await probe.child.call<RoutingProbeAnswer>("run", {
          databasePath: join(dir, "routing-probe.db"),
          orders: QUICK ? 2_000 : 10_000,
        });
        await probe.child.stop();
        raw.failover = { perExtraAttemptCpuMs: perExtra, probe: own };
        log(
          `routing probe: ${ms(own.oneRouteCpuMs, 3)} vs ${ms(own.threeRoutesCpuMs, 3)} CPU/order over ${num(own.orders)} orders`,
        );
        rows.push({
          figure: "`add` proxy CPU per order over HTTP: 3 routes, first two refusing, vs 1 route",
          baseline: `1 route: ${ms(one.serverCpuMsPerAnswer, 3)} CPU/order`,
          measured: `3 routes: ${ms(three.serverCpuMsPerAnswer, 3)} CPU/order`,
          ratio: `+${ms(perExtra, 3)} per extra attempt (its upstream call included)`,
          goal: "(information)",
          pass: null,
        });
        rows.push({
          figure: "`add` routing CPU per extra attempt, beyond the upstream call (in process, instant upstreams)",
          baseline: `1 route: ${ms(own.oneRouteCpuMs, 3)} CPU/order`,
          measured: `3 routes: ${ms(own.threeRoutesCpuMs, 3)} CPU/order`,
          ratio: `+${ms(own.perExtraAttemptCpuMs, 3)} per extra attempt`,
          goal: "≤ +0.3 ms per extra attempt",
          pass: own.perExtraAttemptCpuMs <= 0.3 && one.non2xx === 0 && three.non2xx === 0 && three.ok > 0,
        });
      }

      // memory: a proxy with 20,000 services; RSS after N and after 10 N `status` requests, peak RSS.
      if (runs("memory")) {
        const mem = await startProxy("memory", MEMORY_CATALOGUE_SIZE, false);
        // Start-up (first catalogue sync) apart from the load: which of the two sets the peak.
        const started = await rssOf(mem.child.pid);
        log(`memory: after start-up and the first catalogue sync RSS ${mb(started.rss)}, peak ${mb(started.peak)}`);
        const memCustomer = await mem.child.call<{ id: number; apiKey: string }>("customer", { balance: "10.00000" });
        const memOrder = await mem.child.call<{ first: number }>("seedOrders", {
          customerId: memCustomer.id,
          providerId: "main",
          serviceId: 1,
          count: 1,
          firstUpstreamId: 1,
          quantity: 1000,
        });
        const memUrl = `${mem.ready.url}/api/v2`;
        const listed = (
          JSON.parse(
            (await rawPost(memUrl, { key: memCustomer.apiKey, action: "services" })).body.toString("utf8"),
          ) as unknown[]
        ).length;
        const form = {
          url: memUrl,
          form: { key: memCustomer.apiKey, action: "status", order: memOrder.first },
          connections: 50,
        };
        const first = await runLoad({ ...form, amount: P.memFirst });
        const rssFirst = (await rssOf(mem.child.pid)).rss;
        log(`memory: RSS ${mb(rssFirst)} after ${num(first.ok)} requests (${num(listed)} services listed)`);
        const rest = await runLoad({ ...form, amount: P.memTotal - P.memFirst });
        const { rss: rssTotal, peak } = await rssOf(mem.child.pid);
        const usage = await mem.child.call<Record<string, number>>("memoryUsage");
        log(
          `memory: V8 heap ${mb(usage.heapUsed ?? 0)} used of ${mb(usage.heapTotal ?? 0)}, external ${mb(usage.external ?? 0)}, array buffers ${mb(usage.arrayBuffers ?? 0)}`,
        );
        log(`memory: RSS ${mb(rssTotal)} after ${num(first.ok + rest.ok)} requests, peak ${mb(peak)}`);
        await mem.child.stop();
        raw.memory = {
          services: listed,
          peak,
          startup: started,
          usage,
          first: { requests: first.ok, rss: rssFirst, rps: first.rps },
          total: { requests: first.ok + rest.ok, rss: rssTotal, rps: rest.rps },
        };
        const growth = rssTotal / rssFirst - 1;
        rows.push({
          figure: `memory: peak RSS, ${num(listed)} services listed, ${num(P.memTotal)} \`status\` requests`,
          baseline: "—",
          measured: mb(peak),
          ratio: "—",
          goal: "≤ 250 MB",
          pass: peak <= 250 * 1024 * 1024 && listed === MEMORY_CATALOGUE_SIZE + 1,
        });
        rows.push({
          figure: `memory: RSS after ${num(P.memTotal)} \`status\` requests vs after ${num(P.memFirst)}`,
          baseline: mb(rssFirst),
          measured: mb(rssTotal),
          ratio: `${growth >= 0 ? "+" : ""}${num(growth * 100, 1)} %`,
          goal: "growth ≤ 10 %",
          pass: growth <= 0.1 && first.ok + rest.ok === P.memTotal,
        });
      }

      // status sync: upstream calls per cycle for N open orders, and the cycle over the largest N.
      if (runs("sync")) {
        const patch = { status: "In progress", start_count: 100, remains: 400, charge: "0.50000", quantity: 500 };
        const results: Record<string, SyncTickAnswer & { calls: number; ids: number }> = {};
        let firstUpstreamId = 1_000_000;
        for (const n of P.syncN) {
          await simSync.child.call("setOrders", { firstId: firstUpstreamId, count: n, patch });
          await proxy.child.call("seedOrders", {
            customerId: customer.id,
            providerId: "sync",
            serviceId: 1,
            count: n,
            firstUpstreamId,
            quantity: 500,
          });
          const since = Date.now();
          const tick = await profiled(`sync-${n}`, () =>
            proxy.child.call<SyncTickAnswer>("syncTick", { providerIds: ["sync"] }),
          );
          const entries = (await simSync.child.call<LogSummary>("log", { since })).entries;
          const statusCalls = entries.filter((e) => e.action === "status");
          results[n] = { ...tick, calls: statusCalls.length, ids: statusCalls.reduce((a, e) => a + e.ids, 0) };
          log(
            `sync N=${num(n)}: ${statusCalls.length} calls (${results[n]?.ids} ids), ${ms(tick.ms, 0)}, ${num(tick.writes)} writes, synced ${tick.result.synced}`,
          );
          await proxy.child.call("closeOrders", { providerId: "sync" });
          firstUpstreamId += 1_000_000;
        }
        for (const n of P.syncN) {
          const r = results[n];
          if (r === undefined) continue;
          const expected = Math.ceil(n / 100);
          rows.push({
            figure: `upstream calls per status-sync cycle, N = ${num(n)} open orders`,
            baseline: `ceil(N/100) = ${num(expected)}`,
            measured: `${num(r.calls)} calls`,
            ratio: ratio(r.calls, expected),
            goal: "exactly 1.00",
            pass: r.calls === expected && r.ids === n && r.result.synced === n,
          });
        }
        const big = P.syncN[P.syncN.length - 1] ?? 0;
        const bare = await child<Record<string, never>>("bench/servers/bare-sync.ts");
        const b = await bare.child.call<BareSyncAnswer>("run", { count: big, databasePath: join(dir, "bare.db") });
        await bare.child.stop();
        const r = results[big];
        raw.sync = { results, bare: b };
        if (r !== undefined) {
          log(`bare sync of ${num(big)}: ${ms(b.ms, 0)}, ${num(b.writes)} writes`);
          rows.push({
            figure: `one sync cycle over ${num(big)} open orders (unlimited simulator): time`,
            baseline: `${ms(b.ms, 0)} (bare script: 1 prepared UPDATE per order, 1 transaction)`,
            measured: ms(r.ms, 0),
            ratio: `${ratio(r.ms, b.ms)}×`,
            goal: "≤ 2.0×",
            pass: r.ms / b.ms <= 2,
          });
          rows.push({
            figure: `one sync cycle over ${num(big)} open orders: store writes`,
            baseline: `${num(b.writes)} rows`,
            measured: `${num(r.writes)} rows`,
            ratio: `${ratio(r.writes, b.writes)}×`,
            goal: "≤ 2.0×",
            pass: r.writes / b.writes <= 2,
          });
        }
      }

      // status sync across 3 providers (issue #12): one cycle over Σ Nᵢ open orders, calls exactly Σ ceil(Nᵢ/100).
      if (runs("sync3")) {
        const patch = { status: "In progress", start_count: 100, remains: 400, charge: "0.50000", quantity: 500 };
        const firstUpstreamId = 50_000_000;
        for (const [i, { id, sim }] of syncSims.entries()) {
          const count = P.sync3N[i] ?? 0;
          await sim.child.call("setOrders", { firstId: firstUpstreamId, count, patch });
          await proxy.child.call("seedOrders", {
            customerId: customer.id,
            providerId: id,
            serviceId: 1,
            count,
            firstUpstreamId,
            quantity: 500,
          });
        }
        const since = Date.now();
        const tick = await profiled("sync3", () =>
          proxy.child.call<SyncTickAnswer>("syncTick", { providerIds: syncSims.map((s) => s.id) }),
        );
        let calls = 0;
        let ids = 0;
        for (const { sim } of syncSims) {
          const statusCalls = (await sim.child.call<LogSummary>("log", { since })).entries.filter(
            (e) => e.action === "status",
          );
          calls += statusCalls.length;
          ids += statusCalls.reduce((a, e) => a + e.ids, 0);
        }
        for (const { id } of syncSims) await proxy.child.call("closeOrders", { providerId: id });
        const total = P.sync3N.reduce((a, n) => a + n, 0);
        const expected = P.sync3N.reduce((a, n) => a + Math.ceil(n / 100), 0);
        raw.sync3 = { counts: P.sync3N, calls, ids, expected, tick };
        log(`sync across 3 providers, N=${P.sync3N.join("+")}: ${calls} calls (${ids} ids), ${ms(tick.ms, 0)}`);
        rows.push({
          figure: `one sync cycle over ${num(total)} open orders across 3 providers (${P.sync3N.map((n) => num(n)).join(" + ")})`,
          baseline: `Σ ceil(Nᵢ/100) = ${num(expected)} calls`,
          measured: `${num(calls)} calls, ${ms(tick.ms, 0)}`,
          ratio: ratio(calls, expected),
          goal: "exactly 1.00",
          pass: calls === expected && ids === total && tick.result.synced === total,
        });
      }

      // queue under backlog: provider limited to 20/s, a backlog of calls for the whole phase.
      if (runs("queue")) {
        await simLimited.child.call("clearLog");
        const backlog = await proxy.child.call<BacklogAnswer>("backlog", {
          providerId: "limited",
          durationMs: P.queueS * 1000,
          outstanding: 200,
        });
        const entries = (await simLimited.child.call<LogSummary>("log", { since: backlog.started })).entries;
        const at = entries.map((e) => e.at).sort((a, b) => a - b);
        const t0 = at[0] ?? backlog.started;
        const windows = Array.from({ length: P.queueS }, () => 0);
        for (const t of at) {
          const w = Math.floor((t - t0) / LIMITED.intervalMs);
          if (w < windows.length) windows[w] = (windows[w] ?? 0) + 1;
        }
        let sliding = 0;
        for (let i = 0, j = 0; i < at.length; i++) {
          while (j < at.length && (at[j] ?? 0) < (at[i] ?? 0) + LIMITED.intervalMs) j++;
          sliding = Math.max(sliding, j - i);
        }
        const min = Math.min(...windows);
        const mean = windows.reduce((a, b) => a + b, 0) / windows.length;
        const rejected = entries.filter((e) => e.status !== 200).length;
        raw.queue = { backlog, windows, min, mean, slidingMax: sliding, rejectedBySimulator: rejected };
        log(`queue: per-window ${windows.join(",")}; sliding max ${sliding}; simulator 429s ${rejected}`);
        rows.push({
          figure: `queue under backlog: upstream requests per 1 s over ${P.queueS} s (limit 20/s)`,
          baseline: `${LIMITED.requests} per s (configured)`,
          measured: `mean ${num(mean, 2)}, min ${min}, max in any sliding 1 s ${sliding}`,
          ratio: ratio(mean, LIMITED.requests),
          goal: "≥ 0.95, never above",
          pass: mean / LIMITED.requests >= 0.95 && sliding <= LIMITED.requests && rejected === 0,
        });
      }
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }

  const table = markdownTable(rows);
  process.stdout.write(`\n${table}\n\n`);
  writeFileSync(
    join("bench", "results.json"),
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        mode: QUICK ? "quick" : "full",
        machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
        rows,
        raw,
      },
      null,
      2,
    )}\n`,
  );
  log("raw results written to bench/results.json");
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
