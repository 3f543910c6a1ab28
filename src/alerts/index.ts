/**
 * The server's alerts (issue #15), started by `runtime/start.ts`: the alerter, the upstream
 * event listener (out of funds, circuits), and the store checks (held/flagged orders and refund
 * bursts every `orderIntervalMs` and about a second after an unconfirmed `add`, the ledger every
 * `ledgerIntervalMs`, both once at start).
 * Provider balances raise theirs from `sync/balances.ts` through `ctx.alerts`.
 */
import type { Logger } from "../observability/logger.js";
import type { AppContext } from "../runtime/context.js";
import { scheduleJob } from "../sync/scheduler.js";
import type { UpstreamEventListener } from "../upstream/events.js";
import { type Alerts, type AlertType, createAlerter } from "./alerter.js";
import { checkLedgerAlert, checkOrderAlerts } from "./monitor.js";
import { alertOnUpstreamEvents } from "./upstream.js";

export type { ActiveAlert, Alert, AlertEvent, Alerts, AlertType } from "./alerter.js";
export { ALERT_TYPES, createAlerter } from "./alerter.js";
export { checkLedgerAlert, checkOrderAlerts, REFUND_BURST_WINDOW_MS } from "./monitor.js";
export { alertOnUpstreamEvents, clearAlertsAfterReload } from "./upstream.js";

/** Delay of the extra order check after an unconfirmed `add` (the order is held right after the call). */
const HELD_CHECK_DELAY_MS = 1_000;

export interface AlertOptions {
  /** `ALERT_WEBHOOK_URL`; unset: alerts are logged and counted only. */
  url?: string;
  /** `ALERT_REFUND_BURST`. */
  refundBurst: number;
  orderIntervalMs: number;
  ledgerIntervalMs: number;
  count?: (type: AlertType) => void;
}

export interface AlertRuntime {
  alerts: Alerts;
  /** Add to the provider registry's `onEvent`. */
  onUpstreamEvent: UpstreamEventListener;
  /** Runs the store checks now, then on their schedules. */
  start(ctx: Pick<AppContext, "db" | "now">): void;
  /** Stops the schedules (waits for a running check). */
  stop(): Promise<void>;
}

/** Builds the alerts over `db`/`now`; nothing runs until `start()`. */
export function createAlertRuntime(
  base: Pick<AppContext, "db" | "now"> & { logger: Logger },
  options: AlertOptions,
): AlertRuntime {
  const alerts = createAlerter(base, {
    ...(options.url ? { url: options.url } : {}),
    ...(options.count ? { count: options.count } : {}),
  });
  const jobs: Array<{ stop(): Promise<void> }> = [];
  const upstream = alertOnUpstreamEvents(alerts);
  let checkOrdersSoon: (() => void) | undefined;
  let soon: NodeJS.Timeout | undefined;
  return {
    alerts,
    onUpstreamEvent(event) {
      upstream(event);
      // An add the upstream did not confirm is held: check soon rather than at the next interval.
      if (event.type === "call" && event.action === "add" && event.outcome === "ambiguous" && !event.willRetry) {
        checkOrdersSoon?.();
      }
    },
    start(ctx) {
      const orders = async () => checkOrderAlerts(ctx, alerts, { refundBurst: options.refundBurst });
      checkOrdersSoon = () => {
        if (soon !== undefined) return;
        soon = setTimeout(() => {
          soon = undefined;
          orders().catch((error: unknown) => base.logger.error({ err: error }, "alert check failed"));
        }, HELD_CHECK_DELAY_MS);
        soon.unref();
      };
      const ledger = async () => checkLedgerAlert(ctx, alerts);
      for (const check of [orders, ledger]) {
        check().catch((error: unknown) => base.logger.error({ err: error }, "alert check failed"));
      }
      jobs.push(scheduleJob(base.logger, "alert-orders", options.orderIntervalMs, orders));
      jobs.push(scheduleJob(base.logger, "alert-ledger", options.ledgerIntervalMs, ledger));
    },
    async stop() {
      checkOrdersSoon = undefined;
      if (soon !== undefined) clearTimeout(soon);
      soon = undefined;
      await Promise.all(jobs.splice(0).map((j) => j.stop()));
    },
  };
}
