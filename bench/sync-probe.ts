/**
 * Sync cycle probe (issue #6 "one sync cycle over N open orders"): the bench's simulator and
 * proxy children, N open orders, `--rounds` cycles (orders reopened between them), and per
 * cycle the wall time with the CPU time each process spent, to tell whether the proxy or the
 * simulator is the bottleneck. Usage: `npx tsx bench/sync-probe.ts [N=100000] [rounds=3] [--profile]`
 * (`--profile`: V8 CPU profile of the proxy in bench/profiles/sync-probe-<round>.cpuprofile).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuMsOf, startChild } from "./lib/ipc.js";
import type { ProxyServerOptions, SyncTickAnswer } from "./servers/proxy.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const PROFILE = process.argv.includes("--profile");
const N = Number(args[0] ?? 100_000);
const ROUNDS = Number(args[1] ?? 3);
const KEY = "sim-key";

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "smm-sync-probe-"));
  const sim = await startChild("bench/servers/simulator.ts", {
    args: [JSON.stringify({ dialect: "jap", apiKey: KEY, progress: false, balance: "100000000.00000", latencyMs: 0 })],
  });
  const { url } = sim.ready as { url: string };
  const options: ProxyServerOptions = {
    databasePath: join(dir, "proxy.db"),
    logLevel: "info",
    providersFile: {
      currency: "USD",
      markup: { percent: 20 },
      providers: [
        {
          id: "sync",
          dialect: "jap",
          url,
          key: KEY,
          rateLimit: { requests: 10_000, intervalMs: 1000 },
          concurrency: 8,
        },
      ],
      services: [{ id: 1, provider: "sync", upstreamService: 1 }],
    },
  };
  const proxy = await startChild("bench/servers/proxy.ts", { args: [JSON.stringify(options)] });
  try {
    const customer = await proxy.child.call<{ id: number }>("customer", { balance: "10000000.00000" });
    const patch = { status: "In progress", start_count: 100, remains: 400, charge: "0.50000", quantity: 500 };
    let first = 1_000_000;
    for (let round = 1; round <= ROUNDS; round++) {
      await sim.child.call("setOrders", { firstId: first, count: N, patch });
      await proxy.child.call("seedOrders", {
        customerId: customer.id,
        providerId: "sync",
        serviceId: 1,
        count: N,
        firstUpstreamId: first,
        quantity: 500,
      });
      const cpu0 = [await cpuMsOf(proxy.child.pid), await cpuMsOf(sim.child.pid)];
      if (PROFILE) await proxy.child.call("profileStart");
      const tick = await proxy.child.call<SyncTickAnswer>("syncTick", { providerIds: ["sync"] });
      if (PROFILE) {
        mkdirSync(join("bench", "profiles"), { recursive: true });
        await proxy.child.call("profileStop", { file: join("bench", "profiles", `sync-probe-${round}.cpuprofile`) });
      }
      const cpu1 = [await cpuMsOf(proxy.child.pid), await cpuMsOf(sim.child.pid)];
      process.stdout.write(
        `round ${round}: N=${N} ${tick.ms.toFixed(0)} ms wall, ${tick.writes} writes, synced ${tick.result.synced}, ` +
          `cpu proxy ${(cpu1[0] ?? 0) - (cpu0[0] ?? 0)} ms, simulator ${(cpu1[1] ?? 0) - (cpu0[1] ?? 0)} ms\n`,
      );
      await proxy.child.call("closeOrders", { providerId: "sync" });
      first += N;
    }
  } finally {
    await proxy.child.stop();
    await sim.child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
