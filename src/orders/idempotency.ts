/**
 * `Idempotency-Key` for `add` (issue #4): a repeat with the same key and customer within
 * 24 h returns the first answer without a second order; the same key with different
 * parameters is refused. Keys are claimed in a transaction before the order is placed, so
 * two concurrent repeats cannot both place it.
 *
 * Once an order exists the key is bound to it (`order_id`, written in the transaction of the
 * order's charge, issue #11) and answers `{"order": N}` whatever fails afterwards; only a key
 * whose order was never placed (`failed`, refunded) or that placed nothing is released.
 * The order remembers its key and request hash (`orders.idempotency_key`), so `orders reroute`
 * of a failed order re-binds the key to it, or refuses when another request claimed it since.
 */
import { createHash } from "node:crypto";
import { and, desc, eq, isNull, ne, or, sql } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { idempotencyKeys, type Order, orders } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import { DomainError } from "./errors.js";

/** How long an answer is kept for replay, ms. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_KEY_LENGTH = 255;

/**
 * How long a claim may stay without an order or an answer, ms. A request binds its key to its
 * order in the charge's transaction, milliseconds after claiming it (before any upstream call);
 * a claim still without either after this long was left by a process that stopped in between,
 * and nothing was placed for it: the key is free again.
 */
export const STALE_CLAIM_MS = 5 * 60 * 1000;

/** Whether a claim without an order or an answer was left behind (see {@link STALE_CLAIM_MS}). */
function claimIsStale(row: { orderId: number | null; statusCode: number | null; createdAt: number }, now: number) {
  return row.orderId === null && row.statusCode === null && row.createdAt <= now - STALE_CLAIM_MS;
}

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
        if (!claimIsStale(row, now)) {
          throw new DomainError("conflict", "A request with this Idempotency-Key is still being processed");
        }
        // Stale: its process stopped between the claim and the charge; nothing was placed.
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
 * charge (whose insert writes the key and request hash on the order), so an order never
 * exists without its key knowing it.
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

/**
 * Why an order's key cannot be re-bound: another order placed with it for the same request, a
 * request with it still being processed, or an order from before orders remembered their key.
 */
export type KeyHolder = { kind: "order"; orderId: number } | { kind: "in_progress" } | { kind: "unknown" };

/**
 * Who holds the customer `Idempotency-Key` of an order that has one, read from the store
 * without writing (`orders show`, and {@link rebindIdempotencyKey} before it writes):
 * - `this_order`: the key's row names this order and the order is not `failed`: a repeat within
 *   24 h of `since` replays it;
 * - `order`: another order of the customer holds it: `sameRequest` when it repeats this order's
 *   request (the customer's retry), false when a later request reused the key after its 24 h;
 * - `in_progress`: a request with the key is being placed right now;
 * - `free`: nothing holds it (the order failed and released it, or no row names a live order):
 *   a repeat with it places a new order.
 */
export type KeyBinding =
  | { kind: "this_order"; since: number }
  | { kind: "order"; orderId: number; sameRequest: boolean }
  | { kind: "in_progress" }
  | { kind: "free" };

/** Reads the {@link KeyBinding} of `order`'s key (`order.idempotencyKey` must be set). */
export function keyBindingOf(
  db: AppContext["db"],
  order: Pick<Order, "id" | "customerId" | "submission" | "idempotencyKey" | "idempotencyRequestHash">,
  now: number,
): KeyBinding {
  const key = order.idempotencyKey ?? "";
  const hash = order.idempotencyRequestHash;
  const sameRequest = (otherHash: string | null) => otherHash === null || hash === null || otherHash === hash;
  const where = and(eq(idempotencyKeys.customerId, order.customerId), eq(idempotencyKeys.key, key));
  const row = db.select().from(idempotencyKeys).where(where).get();
  if (row !== undefined && row.orderId === order.id && order.submission !== "failed") {
    return { kind: "this_order", since: row.createdAt };
  }
  const others = db
    .select({ id: orders.id, requestHash: orders.idempotencyRequestHash })
    .from(orders)
    .where(
      and(
        eq(orders.customerId, order.customerId),
        eq(orders.idempotencyKey, key),
        ne(orders.id, order.id),
        ne(orders.submission, "failed"),
      ),
    )
    .orderBy(desc(orders.id))
    .all();
  const retry = others.find((o) => sameRequest(o.requestHash));
  if (retry) return { kind: "order", orderId: retry.id, sameRequest: true };
  // A request still being placed with the key (not a recorded answer, not a claim left behind).
  if (row && row.orderId === null && row.statusCode === null && !claimIsStale(row, now)) {
    return { kind: "in_progress" };
  }
  if (row && row.orderId !== null && row.orderId !== order.id) {
    const bound = db.select({ submission: orders.submission }).from(orders).where(eq(orders.id, row.orderId)).get();
    if (bound !== undefined && bound.submission !== "failed") {
      return { kind: "order", orderId: row.orderId, sameRequest: sameRequest(row.requestHash) };
    }
  }
  return { kind: "free" };
}

/**
 * Re-binds the customer's `Idempotency-Key` of a failed (refunded, key released) order to it,
 * before `orders reroute` charges and places it again: the key's row is re-created with the
 * order's request hash and id, dated now, so a retry with the key replays `{"order": N}` for
 * 24 h from the reroute instead of placing a second order. Call inside the transaction of the
 * reroute's charge.
 *
 * Refused (nothing written) when paying for this order would pay twice for one request: another
 * order of the customer placed with the key for the same request (same request hash) is not
 * `failed` (whatever its age: the customer's retry), or the key's row is bound to such an order,
 * or is a claim still being placed (see {@link STALE_CLAIM_MS}); or the order failed
 * before orders remembered their key (migration 0011), unless `keyChecked` (the operator looked
 * at the customer's orders since). A key now held by a live order for a different request (reused
 * after its 24 h) stays with that order: this one is placed without re-binding it.
 * @returns the holder that refuses it, or undefined when placed may go ahead.
 */
export function rebindIdempotencyKey(
  ctx: AppContext,
  order: Pick<Order, "id" | "customerId" | "idempotencyKey" | "idempotencyRequestHash" | "idempotencyKeyUnknown">,
  options: { keyChecked?: boolean } = {},
): KeyHolder | undefined {
  if (order.idempotencyKeyUnknown && options.keyChecked !== true) return { kind: "unknown" };
  const key = order.idempotencyKey;
  if (key === null) return undefined;
  const now = ctx.now();
  const binding = keyBindingOf(ctx.db, { ...order, submission: "failed" }, now);
  if (binding.kind === "order") {
    if (binding.sameRequest) return { kind: "order", orderId: binding.orderId };
    return undefined; // the key serves another request's live order now: it stays with it
  }
  if (binding.kind === "in_progress") return binding;
  const where = and(eq(idempotencyKeys.customerId, order.customerId), eq(idempotencyKeys.key, key));
  ctx.db.delete(idempotencyKeys).where(where).run();
  ctx.db
    .insert(idempotencyKeys)
    .values({
      customerId: order.customerId,
      key,
      // Written with the key; empty (no request matches it: a retry is refused, never placed) if ever missing.
      requestHash: order.idempotencyRequestHash ?? "",
      orderId: order.id,
      statusCode: 200,
      body: JSON.stringify({ order: order.id }),
      createdAt: now,
    })
    .run();
  return undefined;
}
