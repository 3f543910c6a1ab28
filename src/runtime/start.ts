/**
 * Starts smm-proxy, in this order (issue #11, issue #15): store (migrations applied), the
 * instance lock, the port (requests answer 503 until the start is done), crash recovery, a
 * first catalogue sync, then the schedulers. A held lock or a busy port ends the start with a
 * {@link StartRefusedError} before anything else is written. `main.ts` and the demo call it;
 * tests call it with their own env.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { clearAlertsAfterReload, createAlertRuntime } from "../alerts/index.js";
import { createApp } from "../api/app.js";
import type { Env } from "../config/env.js";
import { loadProvidersFile, type ProvidersConfig, zeroMarkupServices } from "../config/providers-file.js";
import { createReloadableRegistry, type ReloadResult, reloadConfig } from "../config/reload.js";
import { openDb } from "../db/client.js";
import { createLogger, flushLogs, type Logger } from "../observability/logger.js";
import { createMetrics } from "../observability/metrics.js";
import { createUpstreamListener } from "../observability/upstream-listener.js";
import { recoverQueuedOrders } from "../orders/recover.js";
import { refreshProviderBalances } from "../sync/balances.js";
import { recomputeServices, syncAllCatalogues } from "../sync/catalogue.js";
import { startSchedulers } from "../sync/scheduler.js";
import type { ProviderClientOptions } from "../upstream/client.js";
import type { ProviderRegistry } from "../upstream/registry.js";
import { createWebhookWorker } from "../webhooks/worker.js";
import type { AppContext } from "./context.js";
import { acquireInstanceLock, StartRefusedError } from "./instance-lock.js";

export interface Runtime {
  ctx: AppContext;
  registry: ProviderRegistry;
  /** Base URL to reach the server from this host, e.g. `http://127.0.0.1:8080` (a wildcard bind is reached on loopback). */
  url: string;
  port: number;
  /** Stops accepting, waits for in-flight requests and upstream calls (bounded), closes the store. */
  close(timeoutMs?: number): Promise<void>;
  /** Re-reads `PROVIDERS_FILE` (SIGHUP); an invalid file is logged and the old config stays. */
  reload(): Promise<ReloadResult>;
  /** Settles once the balance refresh started after the first catalogue sync has ended (never rejects). */
  initialBalances: Promise<void>;
}

export interface StartOptions {
  /** Use this config instead of reading `env.PROVIDERS_FILE`. */
  config?: ProvidersConfig;
  logger?: Logger;
  /** Client tuning (retry, circuit, queue bounds) for every provider; tests shorten or relax it. */
  upstream?: Omit<ProviderClientOptions, "onEvent">;
  /** Longest wait for the first catalogue sync before serving, ms (default 15 000). */
  initialSyncTimeoutMs?: number;
  /**
   * The clock of the server's context and alerts, epoch ms (default `Date.now`): tests pin the
   * UTC day the overview reports. The instance lock always keeps the wall clock.
   */
  now?: () => number;
}

/** Listens on `port`/`host`; a busy port rejects with a one-line {@link StartRefusedError}. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") reject(new StartRefusedError(`port ${port} on ${host} is already in use`));
      else if (error.code === "EACCES") reject(new StartRefusedError(`no permission to listen on port ${port}`));
      else reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/**
 * @throws ConfigError for an invalid providers file; StartRefusedError when another server holds
 *   the database or the port is busy; the driver's error when the store cannot open.
 */
export async function start(env: Env, options: StartOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const config = options.config ?? loadProvidersFile(env.PROVIDERS_FILE);
  const db = openDb(env.DATABASE_PATH);
  let lock: ReturnType<typeof acquireInstanceLock>;
  try {
    lock = acquireInstanceLock(db, {
      onProblem: (message, error) => logger.error({ err: error }, message),
    });
  } catch (error) {
    db.$client.close();
    throw error;
  }
  const lockedAt = Date.now();
  const providerStats = () => registry.stats();
  const metrics = createMetrics({ db, providerStats });
  const now = options.now ?? (() => Date.now());
  const alerting = createAlertRuntime(
    { db, now, logger },
    {
      ...(env.ALERT_WEBHOOK_URL ? { url: env.ALERT_WEBHOOK_URL } : {}),
      refundBurst: env.ALERT_REFUND_BURST,
      orderIntervalMs: env.STATUS_SYNC_INTERVAL_MS,
      ledgerIntervalMs: env.PRICE_SYNC_INTERVAL_MS,
      count: (type) => metrics.observeAlert(type),
    },
  );
  const upstreamListener = createUpstreamListener(logger, metrics);
  const registry = createReloadableRegistry(config.providers, {
    ...options.upstream,
    onEvent: (event) => {
      upstreamListener(event);
      alerting.onUpstreamEvent(event);
    },
  });
  const ctx: AppContext = {
    db,
    config,
    providers: registry,
    logger,
    now,
    catalogueVersion: 0,
    alerts: alerting.alerts,
    routing: metrics.routing,
  };

  let ready = false;
  const app = createApp(ctx, {
    rateLimitIpPerMin: env.RATE_LIMIT_IP_PER_MIN,
    rateLimitKeyPerMin: env.RATE_LIMIT_KEY_PER_MIN,
    trustProxy: env.TRUST_PROXY,
    httpErrors: env.HTTP_ERRORS,
    metrics,
    metricsToken: env.METRICS_TOKEN,
    providerStats,
    activeAlerts: () => alerting.alerts.current(),
    ready: () => ready,
    ...(env.ADMIN_TOKEN === undefined ? {} : { adminToken: env.ADMIN_TOKEN }),
    webhookAllowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  try {
    await listen(server, env.PORT, env.HOST);
  } catch (error) {
    lock.release();
    await registry.close(1000);
    db.$client.close();
    throw error;
  }

  let initialBalances: Promise<void> = Promise.resolve();
  try {
    // Holding the lock, no other server is live: every order queued before it is settled now.
    recoverQueuedOrders(ctx, { createdBefore: lockedAt });
    const atCost = zeroMarkupServices(config);
    if (atCost.length > 0) {
      logger.warn(
        { services: atCost },
        "services with a zero markup sell at cost: margin protection refuses their orders (set a markup)",
      );
    }
    recomputeServices(ctx);
    const initialSync = syncAllCatalogues(ctx).then((results) => {
      for (const r of results) {
        if (r.ok) logger.info({ providerId: r.providerId, services: r.upstreamServices }, "catalogue synced");
      }
    });
    // Balances at start too (not only on the price schedule), after the catalogues and without
    // delaying the start: a provider out of funds or below its balanceWarning is known at once.
    initialBalances = initialSync
      .then(() => refreshProviderBalances(ctx))
      .then(
        () => undefined,
        (error: unknown) => logger.error({ err: error }, "provider balance refresh at start failed"),
      );
    await Promise.race([
      initialSync,
      new Promise((resolve) => setTimeout(resolve, options.initialSyncTimeoutMs ?? 15_000).unref()),
    ]);
  } catch (error) {
    // A start that fails after the port gives everything back: port, lock, clients, store.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    lock.release();
    await registry.close(1000);
    db.$client.close();
    throw error;
  }

  ready = true;
  const address = server.address() as AddressInfo;
  const host = env.HOST === "0.0.0.0" || env.HOST === "::" ? "127.0.0.1" : env.HOST;
  const url = `http://${host}:${address.port}`;
  logger.info(
    { address: listenAddress(address), providers: config.providers.length, services: config.services.length },
    "smm-proxy listening",
  );
  const webhooks = createWebhookWorker(ctx, {
    allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
    ...(env.ALERT_WEBHOOK_SECRET ? { operatorSecret: env.ALERT_WEBHOOK_SECRET } : {}),
  });
  webhooks.start();
  const schedulers = startSchedulers(ctx, {
    statusIntervalMs: env.STATUS_SYNC_INTERVAL_MS,
    priceIntervalMs: env.PRICE_SYNC_INTERVAL_MS,
  });
  alerting.start(ctx);

  let closed = false;
  return {
    ctx,
    registry,
    url,
    port: address.port,
    initialBalances,
    async reload() {
      const result = await reloadConfig(ctx, registry, env.PROVIDERS_FILE);
      if (result.ok) clearAlertsAfterReload(alerting.alerts, result);
      return result;
    },
    async close(timeoutMs = 10_000) {
      if (closed) return;
      closed = true;
      const schedulersStopped = Promise.all([schedulers.stop(), alerting.stop()]);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets turn idle as their last answer goes out: close them as they do.
      const closeIdle = () => ("closeIdleConnections" in server ? server.closeIdleConnections() : undefined);
      closeIdle();
      const idleSweep = setInterval(closeIdle, 50);
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      clearInterval(idleSweep);
      await Promise.race([schedulersStopped, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      // Flush: wait for the webhook sends in flight (each bounded by its own timeout).
      await Promise.race([webhooks.stop(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      await registry.close(timeoutMs);
      lock.release();
      db.$client.close();
      logger.info("smm-proxy stopped");
      flushLogs(logger);
    },
  };
}

/** The address the socket is bound to, as `host:port` (`0.0.0.0:8080`, `[::]:8080`): what the listening line shows. */
export function listenAddress(address: AddressInfo): string {
  return address.family === "IPv6" ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}
