/**
 * Catalogue-sync memory probe (issue #14's memory goal): one simulator listing `N` services
 * (default 20,000) and a proxy child (`bench/servers/proxy.ts`, run with `--expose-gc`) whose
 * providers file maps every one of them, as the bench's `memory` phase starts it. Prints the
 * proxy's peak RSS (`VmHWM`) once `start()` has finished its first catalogue sync, then, after
 * a forced GC, its RSS and live V8 heap; `--resync` runs a second full sync and prints the peak
 * again; `--services` then asks for the `services` answer once (the catalogue cache with its gzip
 * and brotli forms is built) and prints the peak again.
 * `--status=R` then sends R `status` requests for one order at 50 connections (the bench's
 * memory load) and prints the peak, the RSS and the live heap after a forced GC.
 * Usage: `npx tsx bench/catalogue-memory-probe.ts [N=20000] [--resync] [--services] [--status=R]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rssOf, startChild } from "./lib/ipc.js";
import { runLoad } from "./lib/load.js";
import type { ProxyServerOptions } from "./servers/proxy.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const N = Number(args[0] ?? 20_000);
const RESYNC = process.argv.includes("--resync");
const SERVICES = process.argv.includes("--services");
const STATUS = Number(process.argv.find((a) => a.startsWith("--status="))?.slice(9) ?? 0);
const KEY = "sim-key";
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "smm-catalogue-probe-"));
  const sim = await startChild("bench/servers/simulator.ts", {
    args: [JSON.stringify({ dialect: "jap", apiKey: KEY, progress: false, latencyMs: 0, catalogueSize: N })],
  });
  const { url } = sim.ready as { url: string };
  const options: ProxyServerOptions = {
    databasePath: join(dir, "proxy.db"),
    logLevel: "info",
    providersFile: {
      currency: "USD",
      markup: { percent: 20 },
      providers: [{ id: "main", dialect: "jap", url, key: KEY }],
      services: Array.from({ length: N }, (_, i) => ({ id: i + 1, provider: "main", upstreamService: i + 1 })),
    },
  };
  const file = join(dir, "proxy.json");
  writeFileSync(file, JSON.stringify(options));
  const started = Date.now();
  const proxy = await startChild("bench/servers/proxy.ts", { args: [`@${file}`], nodeFlags: ["--expose-gc"] });
  try {
    const ms = Date.now() - started;
    const { peak } = await rssOf(proxy.child.pid);
    const unforced = await proxy.child.call<NodeJS.MemoryUsage>("memoryUsage");
    process.stdout.write(
      `before a forced GC: RSS ${mb(unforced.rss)}, heap used ${mb(unforced.heapUsed)} of ${mb(unforced.heapTotal)}\n`,
    );
    const usage = await proxy.child.call<NodeJS.MemoryUsage>("gc");
    process.stdout.write(
      `N=${N}: start with first sync ${ms} ms, peak RSS ${mb(peak)}; after GC: RSS ${mb(usage.rss)}, ` +
        `heap used ${mb(usage.heapUsed)} of ${mb(usage.heapTotal)}, external ${mb(usage.external)}\n`,
    );
    if (RESYNC) {
      const t = Date.now();
      await proxy.child.call("syncCatalogues");
      const again = await rssOf(proxy.child.pid);
      const after = await proxy.child.call<NodeJS.MemoryUsage>("gc");
      process.stdout.write(
        `second sync ${Date.now() - t} ms, peak RSS ${mb(again.peak)}, RSS ${mb(again.rss)}; ` +
          `after GC heap used ${mb(after.heapUsed)}\n`,
      );
    }
    if (SERVICES) {
      const { url: proxyUrl } = proxy.ready as { url: string };
      const customer = await proxy.child.call<{ apiKey: string }>("customer", { balance: "1.00000" });
      const answer = await fetch(`${proxyUrl}/api/v2`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "accept-encoding": "gzip, br" },
        body: new URLSearchParams({ key: customer.apiKey, action: "services" }),
      });
      const bytes = (await answer.arrayBuffer()).byteLength;
      const again = await rssOf(proxy.child.pid);
      const after = await proxy.child.call<NodeJS.MemoryUsage>("gc");
      process.stdout.write(
        `services answer (${bytes} bytes): peak RSS ${mb(again.peak)}, RSS ${mb(again.rss)}; ` +
          `after GC heap used ${mb(after.heapUsed)}\n`,
      );
    }
    if (STATUS > 0) {
      const { url: proxyUrl } = proxy.ready as { url: string };
      const customer = await proxy.child.call<{ id: number; apiKey: string }>("customer", { balance: "1.00000" });
      const order = await proxy.child.call<{ first: number }>("seedOrders", {
        customerId: customer.id,
        providerId: "main",
        serviceId: 1,
        count: 1,
        firstUpstreamId: 1,
        quantity: 1000,
      });
      const load = await runLoad({
        url: `${proxyUrl}/api/v2`,
        form: { key: customer.apiKey, action: "status", order: order.first },
        connections: 50,
        amount: STATUS,
      });
      const again = await rssOf(proxy.child.pid);
      const before = await proxy.child.call<NodeJS.MemoryUsage>("memoryUsage");
      const after = await proxy.child.call<NodeJS.MemoryUsage>("gc");
      process.stdout.write(
        `${load.ok} status answers: peak RSS ${mb(again.peak)}, RSS ${mb(again.rss)}, heap used ${mb(before.heapUsed)} ` +
          `of ${mb(before.heapTotal)}; after GC RSS ${mb(after.rss)}, heap used ${mb(after.heapUsed)} of ${mb(after.heapTotal)}\n`,
      );
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
