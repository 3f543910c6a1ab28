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
      ctx.addIssue({ code: "custom", message: `expected 1/0 or true/false, got "${v}"` });
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
      message: `expected a number of trusted proxies (0, 1, 2, ...) or true/false, got "${v}"`,
    });
    return z.NEVER;
  });

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const envSchema = z.object({
  PORT: intFrom(8080).pipe(z.number().max(65535, "expected a port number <= 65535")),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_PATH: z.string().min(1).default("./data/smm-proxy.db"),
  PROVIDERS_FILE: z.string().min(1).default("./providers.json"),
  /** Order/refill status sync period, ms. */
  STATUS_SYNC_INTERVAL_MS: intFrom(60_000, 1),
  /** Catalogue/price sync period, ms. */
  PRICE_SYNC_INTERVAL_MS: intFrom(3_600_000, 1),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
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
  return result.data;
}
