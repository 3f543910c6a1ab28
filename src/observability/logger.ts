/**
 * Structured JSON logs (pino). Secrets are redacted by path everywhere: customer API keys
 * (`key`, `apiKey`), upstream keys, webhook secrets, Authorization headers.
 * Pretty output when stdout is a terminal.
 */
import { type Logger, pino } from "pino";

export type { Logger };

export const REDACT_PATHS = [
  "key",
  "apiKey",
  "*.key",
  "*.apiKey",
  "*.*.key",
  "secret",
  "*.secret",
  "webhookSecret",
  "*.webhookSecret",
  "headers.authorization",
  "*.headers.authorization",
];

/** Creates the process logger at `level` (`LOG_LEVEL`). */
export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  return pino({
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { service: "smm-proxy" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

/** A logger that discards everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
