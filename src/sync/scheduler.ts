/**
 * The background jobs (issue #5): order + refill status sync every `STATUS_SYNC_INTERVAL_MS`,
 * catalogue + provider balances every `PRICE_SYNC_INTERVAL_MS`. Each job's next run is
 * scheduled only after its current run ended, so runs of one job never overlap; an error is
 * logged and the job keeps its schedule (the process never crashes on it). `stop()` cancels
 * the timers and waits for running ticks.
 */
import type { Logger } from "../observability/logger.js";
import { recoverQueuedOrders } from "../orders/recover.js";
import type { AppContext } from "../runtime/context.js";
import { refreshProviderBalances } from "./balances.js";
import { syncAllCatalogues } from "./catalogue.js";
import { runStatusSyncTick } from "./order-status.js";
import { runRefillSyncTick } from "./refill-status.js";

export interface Schedule {
  /** Stops scheduling and resolves when the running tick (if any) has ended. */
  stop(): Promise<void>;
}

export interface ScheduledJob extends Schedule {
  /** Completed runs (successful or not). */
  readonly runs: number;
  /** Whether a run is in progress. */
  readonly running: boolean;
}

/**
 * Runs `tick` every `intervalMs` (first run after one interval), never two at once: the
 * interval counts from the end of a run. A thrown error or rejection is logged.
 */
export function scheduleJob(
  logger: Logger,
  name: string,
  intervalMs: number,
  tick: () => Promise<unknown>,
): ScheduledJob {
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let stopped = false;
  let runs = 0;

  const run = async () => {
    timer = undefined;
    const started = Date.now();
    try {
      const result = await tick();
      logger.debug({ job: name, ms: Date.now() - started, result }, "scheduled job finished");
    } catch (error) {
      logger.error({ job: name, err: error }, "scheduled job failed; next run as scheduled");
    } finally {
      runs++;
      current = undefined;
      if (!stopped) arm();
    }
  };
  const arm = () => {
    timer = setTimeout(() => {
      current = run();
    }, intervalMs);
    timer.unref();
  };
  arm();

  return {
    get runs() {
      return runs;
    },
    get running() {
      return current !== undefined;
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await current;
    },
  };
}

/** The values of settled parts; throws the first rejection after all parts ran. */
function settledOrThrow<T extends Record<string, PromiseSettledResult<unknown>>>(
  parts: T,
): { [K in keyof T]: T[K] extends PromiseSettledResult<infer V> ? V : never } {
  const out: Record<string, unknown> = {};
  for (const [name, part] of Object.entries(parts)) {
    if (part.status === "rejected") throw part.reason;
    out[name] = part.value;
  }
  return out as { [K in keyof T]: T[K] extends PromiseSettledResult<infer V> ? V : never };
}

export interface SchedulerOptions {
  /** Status + refill sync interval, ms (`STATUS_SYNC_INTERVAL_MS`). */
  statusIntervalMs: number;
  /** Catalogue + provider balance interval, ms (`PRICE_SYNC_INTERVAL_MS`). */
  priceIntervalMs: number;
}

/** Starts the status and price jobs on `ctx`. Call `stop()` before closing the store. */
export function startSchedulers(ctx: AppContext, options: SchedulerOptions): Schedule {
  // The two parts of each job are independent: one failing does not skip the other.
  const status = scheduleJob(ctx.logger, "status-sync", options.statusIntervalMs, async () => {
    // Orders left queued at run time (a store write failed) once no call can still be running.
    try {
      recoverQueuedOrders(ctx);
    } catch (error) {
      ctx.logger.error({ err: error }, "recovery of queued orders failed; tried again next tick");
    }
    const [orders, refills] = await Promise.allSettled([runStatusSyncTick(ctx), runRefillSyncTick(ctx)]);
    return settledOrThrow({ orders, refills });
  });
  const price = scheduleJob(ctx.logger, "price-sync", options.priceIntervalMs, async () => {
    const [catalogues, balances] = await Promise.allSettled([syncAllCatalogues(ctx), refreshProviderBalances(ctx)]);
    return settledOrThrow({ catalogues, balances });
  });
  return {
    async stop() {
      await Promise.all([status.stop(), price.stop()]);
    },
  };
}
