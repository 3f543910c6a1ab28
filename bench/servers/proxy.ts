/**
 * smm-proxy under test, in its own process, started exactly as `main.ts` does (`start(env,
 * {config})`) over a file store in WAL mode, with the downstream rate limits off and every
 * request logged (stdout goes to /dev/null). argv[2]: JSON {@link ProxyServerOptions}, or
 * `@<file>` holding it (a 20,000-service providers file is too long for a command line).
 *
 * Commands: `customer` (create one, returns its key), `seedOrders` (insert submitted open
 * orders with upstream ids straight into the store), `syncTick` (one `runStatusSyncTick`,
 * timed, with the store's row writes), `backlog` (keep calls waiting on one provider's queue
 * for a while).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { parseAmount } from "../../src/billing/money.js";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { createCustomer } from "../../src/customers/customers.js";
import { inTransaction } from "../../src/db/client.js";
import { start } from "../../src/runtime/start.js";
import { syncAllCatalogues } from "../../src/sync/catalogue.js";
import { runStatusSyncTick, type StatusSyncResult } from "../../src/sync/order-status.js";
import { failStart, serveCommands } from "../lib/ipc.js";

export interface ProxyServerOptions {
  databasePath: string;
  logLevel: string;
  /** Providers file content (see `src/config/providers-file.ts`). */
  providersFile: Record<string, unknown>;
}

export interface SeedOrdersPayload {
  customerId: number;
  providerId: string;
  serviceId: number;
  count: number;
  firstUpstreamId: number;
  quantity: number;
}

export interface SyncTickAnswer {
  ms: number;
  /** Rows written by the tick (SQLite `total_changes()` delta). */
  writes: number;
  result: StatusSyncResult;
}

export interface BacklogAnswer {
  started: number;
  ended: number;
  calls: number;
  outcomes: Record<string, number>;
}

async function main(): Promise<void> {
  const arg = process.argv[2] ?? "{}";
  const options = JSON.parse(arg.startsWith("@") ? readFileSync(arg.slice(1), "utf8") : arg) as ProxyServerOptions;
  const env = loadEnv({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_PATH: options.databasePath,
    LOG_LEVEL: options.logLevel,
    RATE_LIMIT_IP_PER_MIN: "0",
    RATE_LIMIT_KEY_PER_MIN: "0",
    STATUS_SYNC_INTERVAL_MS: "86400000",
    PRICE_SYNC_INTERVAL_MS: "86400000",
  });
  const config = parseProvidersConfig(options.providersFile, {});
  const runtime = await start(env, { config, initialSyncTimeoutMs: 60_000 });
  const { ctx } = runtime;
  const sqlite = ctx.db.$client;
  const totalChanges = sqlite.prepare("SELECT total_changes() AS n").pluck();

  const session = new Session();
  serveCommands(
    { url: runtime.url },
    {
      /** Starts the V8 CPU profiler (what `node --cpu-prof` runs), for one phase. */
      profileStart: async () => {
        session.connect();
        await session.post("Profiler.enable");
        await session.post("Profiler.setSamplingInterval", { interval: 100 });
        await session.post("Profiler.start");
        return true;
      },
      /** Stops the profiler and writes the `.cpuprofile` to `file`. */
      profileStop: async ({ file }: { file: string }) => {
        const { profile } = await session.post("Profiler.stop");
        session.disconnect();
        writeFileSync(file, JSON.stringify(profile));
        return file;
      },
      /** `process.memoryUsage()`: where the RSS goes (V8 heap, external buffers). */
      memoryUsage: () => process.memoryUsage(),
      /** A full GC when started with `--expose-gc` (else none), then `process.memoryUsage()`. */
      gc: () => {
        (globalThis as { gc?: () => void }).gc?.();
        return process.memoryUsage();
      },
      /** One catalogue sync of every provider (`syncAllCatalogues`), as the price-sync job runs it. */
      syncCatalogues: () => syncAllCatalogues(ctx),
      customer: ({ balance }: { balance: string }) => {
        const { customer, apiKey } = createCustomer(ctx.db, {
          name: "bench",
          balance: parseAmount(balance),
          currency: ctx.config.currency,
        });
        return { id: customer.id, apiKey };
      },
      seedOrders: (p: SeedOrdersPayload) => {
        const insert = sqlite.prepare(
          `INSERT INTO orders (customer_id, service_id, provider_id, upstream_service, upstream_order_id, params,
             quantity, rate, exchange_rate, charge, status, submission, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 100000, '1', 100000, 'Pending', 'submitted', ?, ?)`,
        );
        const now = Date.now();
        const params = JSON.stringify({ link: "https://example.com/p", quantity: String(p.quantity) });
        const ids = inTransaction(ctx.db, () => {
          let first = 0;
          let last = 0;
          for (let i = 0; i < p.count; i++) {
            const r = insert.run(
              p.customerId,
              p.serviceId,
              p.providerId,
              String(p.serviceId),
              String(p.firstUpstreamId + i),
              params,
              p.quantity,
              now,
              now,
            );
            last = Number(r.lastInsertRowid);
            if (i === 0) first = last;
          }
          return { first, last };
        });
        return ids;
      },
      closeOrders: ({ providerId }: { providerId: string }) =>
        sqlite.prepare("UPDATE orders SET status = 'Completed' WHERE provider_id = ?").run(providerId).changes,
      syncTick: async ({ providerIds }: { providerIds: string[] }): Promise<SyncTickAnswer> => {
        const before = Number(totalChanges.get());
        const t0 = performance.now();
        const result = await runStatusSyncTick(ctx, { providerIds });
        const ms = performance.now() - t0;
        return { ms, writes: Number(totalChanges.get()) - before, result };
      },
      backlog: async ({
        providerId,
        durationMs,
        outstanding,
      }: {
        providerId: string;
        durationMs: number;
        outstanding: number;
      }): Promise<BacklogAnswer> => {
        const client = ctx.providers.get(providerId);
        if (client === undefined) throw new Error(`no provider ${providerId}`);
        const outcomes: Record<string, number> = {};
        const started = Date.now();
        const until = started + durationMs;
        let calls = 0;
        const worker = async () => {
          while (Date.now() < until) {
            calls++;
            const outcome = await client.balance({ priority: "sync", budgetMs: durationMs + 30_000 });
            const key = outcome.kind === "ok" ? "ok" : `${outcome.kind}:${outcome.failure.message.slice(0, 60)}`;
            outcomes[key] = (outcomes[key] ?? 0) + 1;
          }
        };
        await Promise.all(Array.from({ length: outstanding }, worker));
        return { started, ended: Date.now(), calls, outcomes };
      },
    },
    () => runtime.close(5000),
  );
}

main().catch(failStart);
