/**
 * `Idempotency-Key` for `add` (issue #4): a repeat with the same key and customer within
 * 24 h returns the first answer without a second order; the same key with different
 * parameters is refused. Keys are claimed in a transaction before the order is placed, so
 * two concurrent repeats cannot both place it.
 */
import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { idempotencyKeys } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import { DomainError } from "./errors.js";

/** How long an answer is kept for replay, ms. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_KEY_LENGTH = 255;

export type IdempotencyClaim = { kind: "claimed" } | { kind: "replay"; statusCode: number; body: string };

/** Stable hash of the request's fields (excluding the API key). */
export function hashRequest(fields: Readonly<Record<string, string>>): string {
  const entries = Object.entries(fields)
    .filter(([name]) => name !== "key")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify(entries)).digest("hex");
}

/**
 * Claims `key` for this request, or returns the stored answer of its first use.
 * @throws DomainError bad_request (key reused with other parameters, key too long),
 *   conflict (the first request with this key is still being processed).
 */
export function claimIdempotencyKey(
  ctx: AppContext,
  customerId: number,
  key: string,
  requestHash: string,
): IdempotencyClaim {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH)
    throw new DomainError("bad_request", "Incorrect Idempotency-Key");
  return inTransaction(ctx.db, () => {
    const now = ctx.now();
    const where = and(eq(idempotencyKeys.customerId, customerId), eq(idempotencyKeys.key, key));
    const row = ctx.db.select().from(idempotencyKeys).where(where).get();
    if (row && row.createdAt > now - IDEMPOTENCY_TTL_MS) {
      if (row.requestHash !== requestHash) {
        throw new DomainError("bad_request", "Idempotency-Key was already used with different parameters");
      }
      if (row.statusCode === null || row.body === null) {
        throw new DomainError("conflict", "A request with this Idempotency-Key is still being processed");
      }
      return { kind: "replay", statusCode: row.statusCode, body: row.body };
    }
    if (row) ctx.db.delete(idempotencyKeys).where(where).run();
    ctx.db.insert(idempotencyKeys).values({ customerId, key, requestHash, createdAt: now }).run();
    return { kind: "claimed" };
  });
}

/** Stores the answer of a claimed key for replays. */
export function recordIdempotentAnswer(
  ctx: AppContext,
  customerId: number,
  key: string,
  statusCode: number,
  body: string,
): void {
  ctx.db
    .update(idempotencyKeys)
    .set({ statusCode, body })
    .where(and(eq(idempotencyKeys.customerId, customerId), eq(idempotencyKeys.key, key)))
    .run();
}

/**
 * Releases a claimed key whose request placed nothing (refused, refunded, or failed
 * unexpectedly), so the client's retry with the same key can place the order.
 */
export function releaseIdempotencyKey(ctx: AppContext, customerId: number, key: string): void {
  ctx.db
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.customerId, customerId), eq(idempotencyKeys.key, key)))
    .run();
}
