/**
 * Automatic resolution of held orders (issue #11) for providers with `idempotencyKeys` (an
 * upstream that honours `Idempotency-Key`, as another smm-proxy does).
 *
 * Each status sync tick re-asks every held order of such a provider once: `unknown`, no
 * upstream id yet, its `add` sent with a key (`upstream_idempotency_key`), created less than
 * {@link REASK_WINDOW_MS} ago (the upstream keeps a key's answer for 24 h). The same `add` is
 * sent with the same key, so the upstream answers its first order instead of placing another:
 * - an order id (`ok`) → linked: `submitted` with that id; status sync takes it over;
 * - `ambiguous` with an order id in the answer → the id is stored, the order stays held and
 *   status sync follows it;
 * - a refusal the upstream gives only once it looked the key up and found no order for it
 *   ({@link refusalProvesNoOrder}: HTTP 400/402/404/502 `{"error"}`, not about the key itself
 *   nor a path it does not serve) → Canceled and refunded in full, visible to the customer with
 *   a webhook (as the operator's `orders resolve --refund`);
 * - anything else (409 "still processing", a timeout, our own back-pressure, and any refusal
 *   that can come before the key is looked up: 401 key, 429 or an error answered with HTTP
 *   200 by an upstream with HTTP errors off) → kept held, asked again next tick: such a refusal
 *   does not prove the upstream holds no order, and the order is never refunded on it.
 * Without the option nothing is ever resent.
 *
 * The claim (`orders/reask-claim.ts`): right before a re-ask's request leaves, one transaction
 * sets the order's `reask_lease_until` (now + its provider's `add` budget + margin), on the
 * condition that the order is still held, unlinked, and not claimed by a live re-ask, and
 * records a `sending` attempt of kind `reask` (`orders show` lists it). A claim that fails
 * (the operator settled or moved the order, another process re-asks it) sends nothing. While
 * the claim lives, `orders resolve`, `orders reroute` and `orders settle` refuse the order. The
 * answer is applied only while the order still carries this claim, in one transaction with the
 * attempt's outcome, and clears it. An answer that comes after its claim ended (taken over
 * once expired) is not applied: an order id answered for an order settled meanwhile is flagged
 * ({@link ANSWERED_AFTER_SETTLED_FLAG}); for an order still held, the re-ask holding it now
 * gets the same answer (same key).
 */

import type Sqlite from "better-sqlite3";
import { and, desc, eq } from "drizzle-orm";
import { inTransaction } from "../db/client.js";
import { type AttemptOutcome, orderAttempts } from "../db/schema.js";
import type { Logger } from "../observability/logger.js";
import { DUPLICATE_UPSTREAM_ID_FLAG, isUniqueViolation } from "../orders/place-order.js";
import { endStaleReasks, reaskLeaseMs } from "../orders/reask-claim.js";
import type { AddParams } from "../panel/service-types.js";
import { findOrderRoute } from "../routing/order-route.js";
import type { AppContext } from "../runtime/context.js";
import type { CallOutcome, ProviderClient, UpstreamFailure } from "../upstream/types.js";
import { forEachBounded } from "./pool.js";
import { providerConcurrency } from "./providers.js";
import { ResolveOrderError, settleUnknownOrder } from "./resolve.js";

/** How long after its creation a held order is re-asked, ms (the upstream's key lifetime). */
export const REASK_WINDOW_MS = 24 * 60 * 60 * 1000;

/** What the re-asks of one tick did. */
export interface HeldReaskResult {
  /** Held orders re-asked. */
  asked: number;
  /** Linked to the upstream's order id (now submitted, or held and followed by status sync). */
  linked: number;
  /** Refused by the upstream: canceled and refunded. */
  refunded: number;
}

interface HeldRow {
  id: number;
  service_id: number;
  provider_id: string;
  upstream_service: string;
  params: string;
  upstream_idempotency_key: string;
}

/** A held order's claim: its lease value (the token its outcome writes check) and its attempt row. */
interface Claim {
  until: number;
  attemptId: number;
}

interface HeldStatements {
  held: Sqlite.Statement<[string, number, number], HeldRow>;
  claim: Sqlite.Statement<[number, number, string, string, number]>;
  link: Sqlite.Statement<[string, number, number, number]>;
  follow: Sqlite.Statement<[string, string, number, number, number]>;
  release: Sqlite.Statement<[string, number, number, number]>;
  note: Sqlite.Statement<[string, number, number]>;
  flag: Sqlite.Statement<[string, string, number, number]>;
  flagClaimed: Sqlite.Statement<[string, string, number, number, number]>;
}

const cache = new WeakMap<Sqlite.Database, HeldStatements>();

function statements(db: Sqlite.Database): HeldStatements {
  let s = cache.get(db);
  if (s === undefined) {
    s = {
      held: db.prepare(
        `SELECT id, service_id, provider_id, upstream_service, params, upstream_idempotency_key FROM orders
         WHERE provider_id = ? AND submission = 'unknown' AND upstream_order_id IS NULL
           AND upstream_idempotency_key IS NOT NULL AND created_at > ?
           AND (reask_lease_until IS NULL OR reask_lease_until <= ?)
         ORDER BY id`,
      ),
      // until, id, provider, key, now: held, unlinked, sent with that key, not claimed by a live re-ask.
      claim: db.prepare(
        `UPDATE orders SET reask_lease_until = ?
         WHERE id = ? AND provider_id = ? AND upstream_idempotency_key = ? AND submission = 'unknown'
           AND upstream_order_id IS NULL AND (reask_lease_until IS NULL OR reask_lease_until <= ?)`,
      ),
      link: db.prepare(
        `UPDATE orders SET submission = 'submitted', upstream_order_id = ?, flag = NULL, last_error = NULL,
                miss_count = 0, synced_at = NULL, reask_lease_until = NULL, updated_at = ?
         WHERE id = ? AND reask_lease_until = ? AND submission = 'unknown' AND upstream_order_id IS NULL`,
      ),
      follow: db.prepare(
        `UPDATE orders SET upstream_order_id = ?, last_error = ?, reask_lease_until = NULL, updated_at = ?
         WHERE id = ? AND reask_lease_until = ? AND submission = 'unknown' AND upstream_order_id IS NULL`,
      ),
      release: db.prepare(
        `UPDATE orders SET last_error = ?, reask_lease_until = NULL, updated_at = ?
         WHERE id = ? AND reask_lease_until = ?`,
      ),
      note: db.prepare("UPDATE orders SET last_error = ?, updated_at = ? WHERE id = ? AND submission = 'unknown'"),
      flag: db.prepare("UPDATE orders SET flag = ?, last_error = ?, updated_at = ? WHERE id = ?"),
      flagClaimed: db.prepare(
        `UPDATE orders SET flag = ?, last_error = ?, reask_lease_until = NULL, updated_at = ?
         WHERE id = ? AND reask_lease_until = ?`,
      ),
    };
    cache.set(db, s);
  }
  return s;
}

/**
 * Statuses another smm-proxy answers an `add` with only after its `Idempotency-Key` lookup found
 * no order for the key (seed 003 table: 400 bad parameters, 402 funds, 404 unknown service, 502
 * its upstream refused). 401 (our key), 409, 413, 429 and errors answered with HTTP 200 can come
 * before the lookup, while it holds the first order.
 */
const REFUSED_AFTER_KEY_LOOKUP: ReadonlySet<number> = new Set([400, 402, 404, 502]);

/**
 * Whether a re-ask's refusal proves the upstream holds no order for the key (see the module
 * doc): a status from {@link REFUSED_AFTER_KEY_LOOKUP} whose error is not about the key itself
 * (used with other parameters, malformed) nor the 404 of a path it does not serve.
 */
export function refusalProvesNoOrder(failure: UpstreamFailure): boolean {
  if (failure.httpStatus === undefined || !REFUSED_AFTER_KEY_LOOKUP.has(failure.httpStatus)) return false;
  const error = failure.upstreamError ?? "";
  if (/idempotency/i.test(error)) return false;
  return !(failure.httpStatus === 404 && /^\s*not found\s*$/i.test(error));
}

/** Flag of an order the upstream answered for after it stopped being held (refunded or rerouted meanwhile). */
export const ANSWERED_AFTER_SETTLED_FLAG = "upstream holds an order settled meanwhile";

/** Thrown by the re-ask's `onSend` when the order cannot be claimed: nothing is sent. */
class NotClaimed extends Error {
  override name = "NotClaimed";
}

/**
 * Re-asks the held orders of `providerId` once (see the module doc). Does nothing unless the
 * provider's config has `idempotencyKeys`. Never throws for an upstream failure.
 */
export async function reaskHeldOrders(
  ctx: AppContext,
  providerId: string,
  client: ProviderClient,
): Promise<HeldReaskResult> {
  const result: HeldReaskResult = { asked: 0, linked: 0, refunded: 0 };
  const provider = ctx.config.providers.find((p) => p.id === providerId);
  if (!provider?.idempotencyKeys) return result;
  const s = statements(ctx.db.$client);
  const now = ctx.now();
  const held = s.held.all(providerId, now - REASK_WINDOW_MS, now);
  const log = ctx.logger.child({ providerId, job: "held-orders" });
  // The lease of the config `client` was made from (a reload during the tick swaps both; the
  // longer of this and the lease at claim time is used, so a re-ask never outlives its claim).
  const leaseMs = reaskLeaseMs(ctx, providerId);
  await forEachBounded(held, providerConcurrency(ctx, providerId), async (order) => {
    try {
      if (await reaskOne(ctx, client, s, order, result, log, leaseMs)) result.asked++;
    } catch (error) {
      log.error({ err: error, orderId: order.id }, "held order re-ask could not be recorded; asked again next tick");
    }
  });
  return result;
}

/** The route index of the order's route (its last `add` attempt there, else the service's route). */
function routeIndexOf(ctx: AppContext, order: HeldRow): number {
  const attempt = ctx.db
    .select({ routeIndex: orderAttempts.routeIndex })
    .from(orderAttempts)
    .where(
      and(
        eq(orderAttempts.orderId, order.id),
        eq(orderAttempts.providerId, order.provider_id),
        eq(orderAttempts.kind, "add"),
      ),
    )
    .orderBy(desc(orderAttempts.id))
    .get();
  if (attempt) return attempt.routeIndex;
  const route = findOrderRoute(ctx.db, {
    serviceId: order.service_id,
    providerId: order.provider_id,
    upstreamService: order.upstream_service,
  });
  return route?.routeIndex ?? 0;
}

/** Up to 200 characters of a message for the attempt record. */
function excerpt(message: string): string {
  return message.length > 200 ? `${message.slice(0, 199)}…` : message;
}

function insertAttempt(
  ctx: AppContext,
  order: HeldRow,
  routeIndex: number,
  outcome: AttemptOutcome,
  error: string | null,
  at: number,
  finishedAt: number | null,
): number {
  const row = ctx.db
    .insert(orderAttempts)
    .values({
      orderId: order.id,
      routeIndex,
      providerId: order.provider_id,
      upstreamService: order.upstream_service,
      kind: "reask",
      outcome,
      error,
      sentAt: at,
      finishedAt,
    })
    .returning({ id: orderAttempts.id })
    .get();
  return row.id;
}

function finishAttempt(ctx: AppContext, attemptId: number, outcome: AttemptOutcome, error: string, at: number): void {
  ctx.db
    .update(orderAttempts)
    .set({ outcome, error: excerpt(error), finishedAt: at })
    .where(eq(orderAttempts.id, attemptId))
    .run();
}

/**
 * Claims the order for this re-ask and records its `sending` attempt, in one transaction
 * (called by the client right before the request leaves). @throws NotClaimed (nothing sent).
 */
function claim(ctx: AppContext, s: HeldStatements, order: HeldRow, routeIndex: number, leaseMs: number): Claim {
  return inTransaction(ctx.db, () => {
    const now = ctx.now();
    const until = now + Math.max(leaseMs, reaskLeaseMs(ctx, order.provider_id));
    const claimed = s.claim.run(until, order.id, order.provider_id, order.upstream_idempotency_key, now);
    if (claimed.changes === 0) throw new NotClaimed(`order ${order.id} is no longer held unclaimed`);
    endStaleReasks(ctx, order.id, now);
    return { until, attemptId: insertAttempt(ctx, order, routeIndex, "sending", null, now, null) };
  });
}

/** Re-asks one held order. @returns whether a request left (or was refused unsent by our own client). */
async function reaskOne(
  ctx: AppContext,
  client: ProviderClient,
  s: HeldStatements,
  order: HeldRow,
  result: HeldReaskResult,
  log: Logger,
  leaseMs: number,
): Promise<boolean> {
  const params = JSON.parse(order.params) as AddParams;
  const routeIndex = routeIndexOf(ctx, order);
  let claimed: Claim | undefined;
  let outcome: CallOutcome<{ order: string }>;
  try {
    outcome = await client.add(
      { service: order.upstream_service, ...params },
      {
        priority: "sync",
        idempotencyKey: order.upstream_idempotency_key,
        onSend: () => {
          claimed = claim(ctx, s, order, routeIndex, leaseMs);
        },
      },
    );
  } catch (error) {
    if (!(error instanceof NotClaimed)) throw error;
    log.debug({ orderId: order.id }, "held order settled or claimed elsewhere before its re-ask left; not sent");
    return false;
  }
  const now = ctx.now();
  if (claimed === undefined) {
    // Refused by our own client before anything left (queue, circuit): no claim was taken.
    const message = `re-ask not sent, kept held: ${outcome.kind === "ok" ? "answered unsent" : outcome.failure.message}`;
    inTransaction(ctx.db, () => {
      insertAttempt(ctx, order, routeIndex, outcome.kind, excerpt(message), now, now);
      s.note.run(message, now, order.id);
    });
    return true;
  }
  applyAnswer(ctx, s, order, claimed, outcome, result, log);
  return true;
}

/** Applies a claimed re-ask's answer (see the module doc), conditional on its claim, and clears it. */
function applyAnswer(
  ctx: AppContext,
  s: HeldStatements,
  order: HeldRow,
  claimed: Claim,
  outcome: CallOutcome<{ order: string }>,
  result: HeldReaskResult,
  log: Logger,
): void {
  const now = ctx.now();
  const { until, attemptId } = claimed;
  switch (outcome.kind) {
    case "ok": {
      const id = outcome.value.order;
      const linked = storeId(ctx, s, order, claimed, "ok", id, () => s.link.run(id, now, order.id, until), log);
      if (linked) {
        result.linked++;
        log.info({ orderId: order.id, upstreamOrderId: id }, "held order linked by its idempotency key");
      }
      return;
    }
    case "rejected": {
      if (!refusalProvesNoOrder(outcome.failure)) {
        const message = `re-asked, refused before its key was looked up (kept held): ${outcome.failure.message}`;
        release(ctx, s, order, claimed, "rejected", message);
        log.warn({ orderId: order.id, failure: outcome.failure }, "held order re-ask refused; kept held");
        return;
      }
      const reason = `upstream refused the order when re-asked: ${outcome.failure.message}`;
      try {
        inTransaction(ctx.db, () => {
          settleUnknownOrder(ctx, order.id, { refund: true, reason }, { reaskClaim: until });
          finishAttempt(ctx, attemptId, "rejected", `no order for the key (refunded): ${outcome.failure.message}`, now);
        });
      } catch (error) {
        if (!(error instanceof ResolveOrderError)) throw error;
        finishAttempt(ctx, attemptId, "rejected", `answered after its claim ended; not applied: ${error.message}`, now);
        log.warn({ orderId: order.id, err: error }, "held order re-ask refused after its claim ended; not applied");
        return;
      }
      result.refunded++;
      log.info({ orderId: order.id, failure: outcome.failure }, "held order refused upstream; canceled and refunded");
      return;
    }
    case "ambiguous": {
      const id = outcome.failure.upstreamOrderId;
      const message = outcome.failure.message;
      if (id !== undefined) {
        const followed = storeId(
          ctx,
          s,
          order,
          claimed,
          "ambiguous",
          id,
          () => s.follow.run(id, message, now, order.id, until),
          log,
        );
        if (followed) result.linked++;
        return;
      }
      release(ctx, s, order, claimed, "ambiguous", `re-asked, kept held: ${message}`);
      return;
    }
    default:
      release(ctx, s, order, claimed, outcome.kind, `re-asked, kept held: ${outcome.failure.message}`);
  }
}

/** Keeps the order held: notes why, ends the attempt and clears the claim (if still this one's). */
function release(
  ctx: AppContext,
  s: HeldStatements,
  order: HeldRow,
  claimed: Claim,
  outcome: AttemptOutcome,
  message: string,
): void {
  inTransaction(ctx.db, () => {
    const now = ctx.now();
    const mine = s.release.run(message, now, order.id, claimed.until).changes > 0;
    finishAttempt(ctx, claimed.attemptId, outcome, mine ? message : `${message}; answered after its claim ended`, now);
  });
}

/**
 * Stores an upstream id answered to a claimed re-ask (`write`: link or follow, conditional on
 * the claim), with the attempt's outcome. A duplicate id flags the order instead; an answer
 * after the claim ended is not applied, and flags an order settled meanwhile (the upstream
 * holds an order we no longer follow). @returns whether stored.
 */
function storeId(
  ctx: AppContext,
  s: HeldStatements,
  order: HeldRow,
  claimed: Claim,
  outcome: "ok" | "ambiguous",
  upstreamOrderId: string,
  write: () => Sqlite.RunResult,
  log: Logger,
): boolean {
  const answered = `upstream order ${upstreamOrderId}`;
  try {
    return inTransaction(ctx.db, () => {
      const now = ctx.now();
      if (write().changes > 0) {
        finishAttempt(ctx, claimed.attemptId, outcome, answered, now);
        return true;
      }
      finishAttempt(ctx, claimed.attemptId, outcome, `${answered}, answered after its claim ended; not applied`, now);
      const row = ctx.db.$client
        .prepare<[number], { submission: string; upstream_order_id: string | null }>(
          "SELECT submission, upstream_order_id FROM orders WHERE id = ?",
        )
        .get(order.id);
      // Still held and unlinked: the re-ask that claimed it since gets the same answer (same key).
      if (row === undefined || row.upstream_order_id === upstreamOrderId) return false;
      if (row.submission === "unknown" && row.upstream_order_id === null) return false;
      s.flag.run(
        ANSWERED_AFTER_SETTLED_FLAG,
        `upstream answered with its order ${upstreamOrderId} after the order stopped being held`,
        now,
        order.id,
      );
      log.error(
        { orderId: order.id, upstreamOrderId },
        "held order re-ask answered after the order was settled; flagged",
      );
      return false;
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    inTransaction(ctx.db, () => {
      const now = ctx.now();
      const lastError = `upstream order id ${upstreamOrderId} is already recorded on another order`;
      s.flagClaimed.run(DUPLICATE_UPSTREAM_ID_FLAG, lastError, now, order.id, claimed.until);
      finishAttempt(ctx, claimed.attemptId, outcome, `${answered}: ${lastError}`, now);
    });
    return false;
  }
}
