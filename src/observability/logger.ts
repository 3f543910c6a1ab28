/**
 * Structured JSON logs (pino). Secrets are redacted by path everywhere: customer API keys
 * (`key`, `apiKey`), upstream keys, webhook secrets, Authorization headers.
 * Pretty output when stdout is a terminal.
 *
 * JSON lines to stdout go through pino's asynchronous destination (issue #14): lines are
 * buffered up to 4 KB (or 1 s) and written while the next requests are served, instead of one
 * blocking `write(2)` per line. The buffer is flushed on shutdown ({@link flushLogs}), on a fatal error (main.ts)
 * and on `process.exit`; only a hard kill (SIGKILL, OOM killer, power loss) can lose the lines
 * still buffered, never any stored data.
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

/** Longest a buffered log line waits before it is written, ms. */
export const LOG_FLUSH_INTERVAL_MS = 1000;

/** Creates the process logger at `level` (`LOG_LEVEL`). */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const base = {
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { service: "smm-proxy" },
  };
  if (options.destination !== undefined) return pino(base, options.destination);
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  if (pretty) return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true } } });
  // sync: false → buffered, written asynchronously; pino flushes it synchronously on exit.
  // minLength → one write per ~4 KB of lines (about 20 request lines) instead of one per line,
  // as pino's "Asynchronous Logging" doc shows; a quiet server's last lines are written by
  // the flush below within a second.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => {
    // Once pino ended the destination at exit there is nothing left to flush.
    // (sonic-boom sets `destroyed`; its types do not declare it)
    if ((destination as unknown as { destroyed?: boolean }).destroyed === true) clearInterval(timer);
    else destination.flush();
  }, LOG_FLUSH_INTERVAL_MS).unref();
  return pino(base, destination);
}

/**
 * Writes out every buffered log line now, synchronously (shutdown, fatal errors). Harmless for
 * loggers without a buffer (tests' destinations, the pretty transport, a silent logger).
 */
export function flushLogs(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | { flushSync?: () => void }
    | undefined;
  try {
    stream?.flushSync?.();
  } catch {
    // not ready yet (nothing written) or already closed: nothing buffered to lose
  }
}

/**
 * Makes an uncaught exception or unhandled rejection fatal the logged way: one `fatal` line
 * with the error, every buffered line written out, exit code 1 (systemd restarts the service).
 */
export function exitOnFatalErrors(logger: Logger): void {
  const fatal = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}: exiting`);
    flushLogs(logger);
    process.exit(1);
  };
  process.on("uncaughtException", fatal("uncaught exception"));
  process.on("unhandledRejection", fatal("unhandled rejection"));
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
