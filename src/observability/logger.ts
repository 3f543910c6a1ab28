/**
 * Structured JSON logs (pino). Secrets are redacted by path everywhere: customer API keys
 * (`key`, `apiKey`), upstream keys, webhook secrets, Authorization headers.
 * Pretty output when stdout is a terminal.
 */
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

export const REDACT_PATHS = [
  "key",
  "apiKey",
  "*.key",
  "*.apiKey",
  "*.*.key",
  "*.*.apiKey",
  "secret",
  "*.secret",
  "webhookSecret",
  "*.webhookSecret",
  "headers.authorization",
  "*.headers.authorization",
  "fields.key",
  "form.key",
];

export interface LoggerOptions {
  /** Human-readable output (pino-pretty). Default: when stdout is a terminal. */
  pretty?: boolean;
  /** Write JSON lines here instead of stdout (tests capture logs this way; never pretty). */
  destination?: DestinationStream;
}

/** Creates the process logger at `level` (`LOG_LEVEL`). */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const base = {
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { service: "smm-proxy" },
  };
  if (options.destination !== undefined) return pino(base, options.destination);
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  return pino({
    ...base,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

/** A logger that discards everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * Named operator events (issue #7), logged as `{event: <name>, ...}` so they can be grepped and
 * alerted on: `order_unknown`, `unknown_upstream_status`, `circuit_opened`, `circuit_closed`,
 * `low_upstream_balance`, `price_changed`, `webhook_gave_up`, `upstream_out_of_funds`,
 * `service_not_in_catalogue`, `alert_raised`, `alert_cleared`.
 */
export const LOG_EVENTS = [
  "order_unknown",
  "unknown_upstream_status",
  "circuit_opened",
  "circuit_closed",
  "circuit_half_open",
  "low_upstream_balance",
  "price_changed",
  "webhook_gave_up",
  "config_reloaded",
  "config_reload_failed",
  "upstream_out_of_funds",
  "service_not_in_catalogue",
  "alert_raised",
  "alert_cleared",
] as const;
export type LogEvent = (typeof LOG_EVENTS)[number];

/** Logs one named event at `warn` (or `level`) with its fields. */
export function logEvent(
  logger: Logger,
  event: LogEvent,
  fields: Record<string, unknown>,
  message: string,
  level: "info" | "warn" | "error" = "warn",
): void {
  logger[level]({ event, ...fields }, message);
}
