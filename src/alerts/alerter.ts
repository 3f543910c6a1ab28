/**
 * Alerts that reach a person (issue #15). A condition (provider out of funds, a provider balance
 * below its `balanceWarning`, an open circuit, orders held as unknown or flagged, a refund
 * burst, the ledger check failing) is raised ONCE, by key, and stays raised until it clears:
 * no flood. Raising and clearing each log one line (`alert_raised` at error, `alert_cleared` at
 * info), count `smm_alerts_raised_total{type}`, and, when `ALERT_WEBHOOK_URL` is set, queue one
 * signed JSON event in the webhook outbox (same worker, same retries as customer webhooks):
 *
 * `{"type":"provider_out_of_funds","state":"raised","severity":"critical","text":"smm-proxy:
 *   provider jap refused an order for lack of funds on our account: top it up",
 *   "at":"2026-12-02T03:00:00.000Z","condition":"provider_out_of_funds:jap","details":{"provider":"jap"}}`
 *
 * `text` is one human line, so a Slack/Discord/Telegram relay can forward it as is.
 * State lives in memory: after a restart a condition still true is raised once again.
 * `current()` lists what is raised now, with the time of its raise and its latest text, for the
 * dashboard's Overview (read-only; passed to `admin/` through the app's options).
 */
import type { Logger } from "../observability/logger.js";
import type { AppContext } from "../runtime/context.js";
import { enqueueOperatorEvent } from "../webhooks/outbox.js";

export const ALERT_TYPES = [
  "provider_out_of_funds",
  "provider_balance_low",
  "circuit_open",
  "orders_unknown",
  "orders_flagged",
  "refund_burst",
  "ledger_mismatch",
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export interface Alert {
  type: AlertType;
  /** One human line (no trailing period needed), without the `smm-proxy: ` prefix. */
  text: string;
  /** Machine-readable facts (provider, counts, order ids...). */
  details?: Record<string, unknown>;
}

/** The JSON event POSTed to `ALERT_WEBHOOK_URL`. */
export interface AlertEvent {
  type: AlertType;
  state: "raised" | "cleared";
  severity: "critical" | "warning" | "info";
  text: string;
  /** ISO 8601. */
  at: string;
  /** Identifies the condition: a `cleared` event carries the condition of the `raised` one. */
  condition: string;
  details: Record<string, unknown>;
}

const SEVERITY: Readonly<Record<AlertType, AlertEvent["severity"]>> = {
  provider_out_of_funds: "critical",
  provider_balance_low: "warning",
  circuit_open: "critical",
  orders_unknown: "warning",
  orders_flagged: "warning",
  refund_burst: "warning",
  ledger_mismatch: "critical",
};

/** A condition raised now (`Alerts.current()`). */
export interface ActiveAlert {
  /** The condition, e.g. `orders_unknown`, `circuit_open:jap`. */
  key: string;
  type: AlertType;
  severity: AlertEvent["severity"];
  /**
   * The latest text of the condition (without the `smm-proxy: ` prefix): a raise of a key
   * already raised sends and logs nothing, but its text (counts, ids) replaces the shown one.
   */
  text: string;
  /** When it was raised (the raise that was sent), epoch ms of the alerter's clock. */
  since: number;
  details: Record<string, unknown>;
}

export interface Alerts {
  /** Raises `alert` under `key` unless that key is already raised. @returns whether it was raised now. */
  raise(key: string, alert: Alert): boolean;
  /** Clears `key` if raised, telling with `alert`'s text. @returns whether it was raised. */
  clear(key: string, alert: Alert): boolean;
  /** Keys raised now. */
  active(): string[];
  /** Conditions raised now, oldest raise first (a copy: changing it changes nothing). */
  current(): ActiveAlert[];
}

export interface AlerterOptions {
  /** `ALERT_WEBHOOK_URL`; unset: alerts are only logged and counted. */
  url?: string;
  /** Counts raised alerts (`Metrics.observeAlert`). */
  count?: (type: AlertType) => void;
}

/** Builds the alerter over `ctx`'s store (outbox rows) and logger. */
export function createAlerter(
  ctx: Pick<AppContext, "db" | "now"> & { logger: Logger },
  options: AlerterOptions = {},
): Alerts {
  const raised = new Map<string, ActiveAlert>();
  const send = (key: string, state: AlertEvent["state"], alert: Alert) => {
    const at = ctx.now();
    const event: AlertEvent = {
      type: alert.type,
      state,
      severity: state === "cleared" ? "info" : SEVERITY[alert.type],
      text: `smm-proxy: ${alert.text}`,
      at: new Date(at).toISOString(),
      condition: key,
      details: alert.details ?? {},
    };
    if (options.url === undefined) return;
    try {
      enqueueOperatorEvent(ctx, options.url, JSON.stringify(event), at);
    } catch (error) {
      ctx.logger.error({ err: error, condition: key }, "alert could not be queued");
    }
  };
  return {
    raise(key, alert) {
      const known = raised.get(key);
      if (known !== undefined) {
        // Still true: no second event, but the shown text follows the latest check.
        known.text = alert.text;
        known.details = alert.details ?? {};
        return false;
      }
      raised.set(key, {
        key,
        type: alert.type,
        severity: SEVERITY[alert.type],
        text: alert.text,
        since: ctx.now(),
        details: alert.details ?? {},
      });
      ctx.logger.error({ event: "alert_raised", type: alert.type, condition: key, ...alert.details }, alert.text);
      options.count?.(alert.type);
      send(key, "raised", alert);
      return true;
    },
    clear(key, alert) {
      if (!raised.delete(key)) return false;
      ctx.logger.info({ event: "alert_cleared", type: alert.type, condition: key, ...alert.details }, alert.text);
      send(key, "cleared", alert);
      return true;
    },
    active: () => [...raised.keys()],
    current: () =>
      [...raised.values()]
        .map((a) => ({ ...a, details: { ...a.details } }))
        .sort((a, b) => a.since - b.since || a.key.localeCompare(b.key)),
  };
}
