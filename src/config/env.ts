/**
 * Process configuration from the environment, validated once at start (issue #2).
 * A bad value is reported as one line naming the variable.
 */
import { z } from "zod";

const intFrom = (fallback: number, min = 0) =>
  z
    .string()
    .default(String(fallback))
    .transform((v, ctx) => {
      const n = Number(v);
      if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
        ctx.addIssue({ code: "custom", message: `expected an integer >= ${min}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const flagFrom = (fallback: "0" | "1") =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const s = v.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(s)) return true;
      if (["0", "false", "no", "off", ""].includes(s)) return false;
      ctx.addIssue({
        code: "custom",
        message: `expected one of 1, true, yes, on (enabled) or 0, false, no, off (disabled), got "${v}"`,
      });
      return z.NEVER;
    });
const flag = flagFrom("0");

/** Trusted proxy hops: an integer N >= 0, or a flag (true = 1, false = 0). */
const hops = z
  .string()
  .default("0")
  .transform((v, ctx) => {
    const s = v.trim().toLowerCase();
    if (/^\d{1,3}$/.test(s)) return Number(s);
    if (["true", "yes", "on"].includes(s)) return 1;
    if (["false", "no", "off", ""].includes(s)) return 0;
    ctx.addIssue({
      code: "custom",
      message: `expected a number of trusted proxies (0, 1, 2, ...) or one of true, yes, on (1) or false, no, off (0), got "${v}"`,
    });
    return z.NEVER;
  });

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const envSchema = z.object({
  PORT: intFrom(8080).pipe(
    z.number().superRefine((n, ctx) => {
      if (n > 65535) ctx.addIssue({ code: "custom", message: `expected a port number 0-65535, got "${n}"` });
    }),
  ),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_PATH: z.string().min(1).default("./data/smm-proxy.db"),
  PROVIDERS_FILE: z.string().min(1).default("./providers.json"),
  /** Order/refill status sync period, ms. */
  STATUS_SYNC_INTERVAL_MS: intFrom(60_000, 1),
  /** Catalogue/price sync period, ms. */
  PRICE_SYNC_INTERVAL_MS: intFrom(3_600_000, 1),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, {
      error: (issue) => `expected one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(issue.input)}`,
    })
    .default("info"),
  /** Downstream requests per minute per client IP (seed 003: 1000); 0 = off. */
  RATE_LIMIT_IP_PER_MIN: intFrom(1000),
  /** Downstream requests per minute per API key; 0 = off. */
  RATE_LIMIT_KEY_PER_MIN: intFrom(0),
  /** Allow webhooks to loopback/private addresses (tests, demo). */
  WEBHOOK_ALLOW_PRIVATE: flag,
  /**
   * Reverse proxies in front of the server whose `X-Forwarded-For` entries are trusted: the
   * client IP is the N-th address from the right (the one the outermost trusted proxy appended).
   */
  TRUST_PROXY: hops,
  /**
   * Server-wide default for HTTP error codes (seed 003: on). Off: every error, an unknown key
   * included, is answered HTTP 200 with the same body. A customer's own setting overrides it.
   */
  HTTP_ERRORS: flagFrom("1"),
  /** Bearer token for GET /metrics; unset = metrics off. */
  METRICS_TOKEN: z.string().min(1).optional(),
  /** Token that signs an operator into the dashboard at /admin; unset = the dashboard is off (404). */
  ADMIN_TOKEN: z.string().min(16, "expected at least 16 characters (a long random token)").optional(),
  /** Where alerts are POSTed (signed JSON events with a `text` line, src/alerts/); unset = alerts only logged. */
  ALERT_WEBHOOK_URL: z
    .string()
    .refine((v) => /^https?:\/\/[^\s/]+/i.test(v) && URL.canParse(v), {
      error: (issue) => `expected an http(s) URL, got ${JSON.stringify(issue.input)}`,
    })
    .optional(),
  /** HMAC secret signing alert deliveries (as customer webhooks); required with ALERT_WEBHOOK_URL. */
  ALERT_WEBHOOK_SECRET: z.string().min(16, "expected at least 16 characters").optional(),
  /** A refund burst alert fires when more than this many refunds land within 10 minutes. */
  ALERT_REFUND_BURST: intFrom(20, 1),
});

export type Env = z.infer<typeof envSchema>;

/** Thrown with a one-line message naming the variable. */
export class EnvError extends Error {
  override name = "EnvError";
}

/**
 * Parses `source` (default `process.env`) into {@link Env}.
 * @throws EnvError `"PORT: expected an integer >= 0, got \"abc\""`.
 */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== "") picked[key] = value;
  }
  const result = envSchema.safeParse(picked);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = issue?.path.join(".") ?? "environment";
    throw new EnvError(`${name}: ${issue?.message ?? "invalid"}`);
  }
  if (result.data.ALERT_WEBHOOK_URL !== undefined && result.data.ALERT_WEBHOOK_SECRET === undefined) {
    throw new EnvError(
      "ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set (alerts are signed like customer webhooks)",
    );
  }
  return result.data;
}
