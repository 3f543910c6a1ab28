/**
 * `Idempotency-Key` for `add` (issue #4): a repeat with the same key and customer within
 * 24 h returns the first answer without a second order; the same key with different
 * parameters is refused. Keys are claimed in a transaction before the order is placed, so
 * two concurrent repeats cannot both place it.
 *
 * Once an order exists the key is bound to it (`order_id`, written in the transaction of the
 * order's charge, issue #11) and answers `{"order": N}` whatever fails afterwards; only a key
 * whose order was never placed (`failed`, refunded) or that placed nothing is released.
 */
import { createHash } from "node:crypto";
import { and, eq, isNull, or, sql } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { idempotencyKeys, orders } from "../db/schema.js";
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
      if (row.orderId !== null) {
        const order = ctx.db
          .select({ submission: orders.submission })
          .from(orders)
          .where(eq(orders.id, row.orderId))
          .get();
        if (order?.submission === "queued") {
          throw new DomainError("conflict", "A request with this Idempotency-Key is still being processed");
        }
        if (order !== undefined && order.submission !== "failed") {
          return { kind: "replay", statusCode: 200, body: JSON.stringify({ order: row.orderId }) };
        }
        // Its order was never placed (refunded): the key is free again.
      } else if (row.statusCode === null || row.body === null) {
        throw new DomainError("conflict", "A request with this Idempotency-Key is still being processed");
      } else {
        return { kind: "replay", statusCode: row.statusCode, body: row.body };
      }
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
 * Binds a claimed key to the order it placed. Call inside the transaction of the order's
 * charge, so an order never exists without its key knowing it.
 */
export function bindIdempotencyKey(ctx: AppContext, customerId: number, key: string, orderId: number): void {
  ctx.db
    .update(idempotencyKeys)
    .set({ orderId })
    .where(and(eq(idempotencyKeys.customerId, customerId), eq(idempotencyKeys.key, key)))
    .run();
}

/**
 * Releases a claimed key whose request placed nothing (refused, refunded, or failed
 * unexpectedly), so the client's retry with the same key can place the order. A key bound to
 * an order that was placed or is held is never released.
 */
export function releaseIdempotencyKey(ctx: AppContext, customerId: number, key: string): void {
  ctx.db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.customerId, customerId),
        eq(idempotencyKeys.key, key),
        or(
          isNull(idempotencyKeys.orderId),
          sql`EXISTS (SELECT 1 FROM orders WHERE orders.id = ${idempotencyKeys.orderId} AND orders.submission = 'failed')`,
        ),
      ),
    )
    .run();
}
