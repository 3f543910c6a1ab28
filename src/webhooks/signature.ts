/**
 * Webhook signatures (seed 003 webhooks; issue #5): every delivery carries
 * `X-Timestamp: <unix seconds>` and `X-Signature: sha256=<hex>`, the HMAC-SHA256, keyed with
 * the customer's webhook secret (shown once by `customers set-webhook`), of
 * `<timestamp>.<raw body>`. Receivers recompute it over the raw bytes they received.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Default accepted clock difference between sender and receiver, seconds. */
export const DEFAULT_TOLERANCE_SEC = 300;

const PREFIX = "sha256=";

/**
 * Signs one delivery.
 * @param timestamp unix seconds, as sent in `X-Timestamp`.
 * @param body the exact request body.
 * @returns `"sha256=<64 lowercase hex>"`.
 */
export function signWebhook(secret: string, timestamp: number | string, body: string | Uint8Array): string {
  const hmac = createHmac("sha256", secret);
  hmac.update(`${timestamp}.`);
  hmac.update(body);
  return `${PREFIX}${hmac.digest("hex")}`;
}

export interface VerifyOptions {
  /** Largest accepted |now − timestamp|, seconds (default 300). */
  toleranceSec?: number;
  /** Receiver's clock, epoch ms (default `Date.now()`). */
  now?: number;
}

/**
 * Checks a received delivery: the timestamp is an integer within `toleranceSec` of `now`, and
 * `signature` equals {@link signWebhook} of it (constant-time comparison). Never throws.
 * @param timestamp the `X-Timestamp` header as received.
 * @param body the raw request body as received (not re-serialised JSON).
 * @param signature the `X-Signature` header as received.
 */
export function verifyWebhook(
  secret: string,
  timestamp: string | number | null | undefined,
  body: string | Uint8Array,
  signature: string | null | undefined,
  options: VerifyOptions = {},
): boolean {
  if (timestamp === null || timestamp === undefined || signature === null || signature === undefined) return false;
  const ts = String(timestamp).trim();
  if (!/^\d{1,15}$/.test(ts)) return false;
  const nowSec = (options.now ?? Date.now()) / 1000;
  if (Math.abs(nowSec - Number(ts)) > (options.toleranceSec ?? DEFAULT_TOLERANCE_SEC)) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body), "utf8");
  const received = Buffer.from(signature.trim(), "utf8");
  return expected.length === received.length && timingSafeEqual(expected, received);
}
