/**
 * The `add` verb (issue #4): validate, charge and record the order in one synchronous
 * transaction, then forward it through the provider's queue and settle the outcome.
 *
 * Money safety ("nothing lost, nothing doubled"):
 * - the charge and the `queued` order commit together, before any upstream call;
 * - `submit_started_at` is written durably right before the request leaves (crash recovery);
 * - `ok` → `submitted`; `rejected`/`not_sent`/`rate_limited` → `failed` + full refund in one
 *   transaction; `ambiguous` → `unknown` (held: the charge kept, answered like an accepted order,
 *   issue #11), with the upstream's order id when its answer carried one (status sync follows
 *   it); resent only to a provider with `idempotencyKeys`, with the same key (`sync/held-orders.ts`);
 * - every state change is conditional on the state it expects (issue #11), so a second process
 *   on the same store never settles an order twice: a send whose `submit_started_at` write
 *   changed no row is aborted (nothing leaves) and settled as not sent.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { applyBalanceChange } from "../billing/ledger.js";
import { chargeFor, formatAmount } from "../billing/money.js";
import { isBelowCost } from "../billing/pricing.js";
import { type Db, inTransaction } from "../db/client.js";
import { preparedFor } from "../db/prepared.js";
import { orders, type Service, type SubmissionState, services } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import { failpoint } from "../runtime/failpoints.js";
import type { CallOutcome } from "../upstream/types.js";
import { DomainError, unknownService, upstreamFailed, upstreamUnavailable } from "./errors.js";
import { bindIdempotencyKey } from "./idempotency.js";
import { validateAdd } from "./validate-add.js";

/** The outcomes proving the upstream did not place the order. */
type NotPlaced = Exclude<CallOutcome<{ order: string }>, { kind: "ok" | "ambiguous" }>;

export interface PlaceOrderInput {
  customerId: number;
  /** The request's fields (`service`, `link`, `quantity`, ...), as strings. */
  fields: Readonly<Record<string, string>>;
  /**
   * The customer's `Idempotency-Key` (already claimed): bound to the order in the transaction
   * of its charge, so the key answers with this order whatever fails afterwards (issue #11).
   */
  idempotencyKey?: string;
}

/** Flag of an order whose upstream answered with an order id another local order already has. */
export const DUPLICATE_UPSTREAM_ID_FLAG = "upstream returned an order id already used";
/** Flag of an order held because the upstream did not confirm it. */
export const UNCONFIRMED_FLAG = "upstream did not confirm the order";

/**
 * The `Idempotency-Key` an order's upstream `add` carries (providers with `idempotencyKeys`):
 * stable for the order (its id and creation time), so a re-ask can never place it twice.
 */
export function upstreamIdempotencyKey(orderId: number, createdAt: number): string {
  return `smm-proxy-order-${orderId}-${createdAt.toString(36)}`;
}

/** Thrown by `onSend` when the order is no longer `queued` (another process settled it): nothing is sent. */
class SendAborted extends Error {
  override name = "SendAborted";
  constructor(orderId: number) {
    super(`order ${orderId} is no longer queued: another process settled it`);
  }
}

/** A named parameter of a prepared `set(...)` (drizzle types `set` values as SQL, not placeholders). */
const param = (name: string) => sql`${sql.placeholder(name)}`;

/** The statements of a placement, built and prepared once per store (issue #6: `add` is hot). */
const statements = preparedFor((db: Db) => ({
  enabledService: db
    .select()
    .from(services)
    .where(and(eq(services.id, sql.placeholder("id")), eq(services.enabled, true)))
    .prepare(),
  insertOrder: db
    .insert(orders)
    .values({
      customerId: sql.placeholder("customerId"),
      serviceId: sql.placeholder("serviceId"),
      providerId: sql.placeholder("providerId"),
      upstreamService: sql.placeholder("upstreamService"),
      params: sql.placeholder("params"),
      quantity: sql.placeholder("quantity"),
      rate: sql.placeholder("rate"),
      exchangeRate: sql.placeholder("exchangeRate"),
      charge: sql.placeholder("charge"),
      status: "Pending",
      submission: "queued",
      createdAt: sql.placeholder("now"),
      updatedAt: sql.placeholder("now"),
    })
    .returning({ id: orders.id })
    .prepare(),
  setUpstreamKey: db
    .update(orders)
    .set({ upstreamIdempotencyKey: param("key") })
    .where(eq(orders.id, sql.placeholder("id")))
    .prepare(),
  markSending: db
    .update(orders)
    .set({ submitStartedAt: param("at") })
    .where(and(eq(orders.id, sql.placeholder("id")), eq(orders.submission, "queued"), isNull(orders.submitStartedAt)))
    .prepare(),
  /** A confirmed order: expected `queued` (or `unknown` when recovery held it meanwhile), not yet linked. */
  markSubmitted: db
    .update(orders)
    .set({
      submission: "submitted",
      upstreamOrderId: param("upstreamOrderId"),
      flag: null,
      syncedAt: null,
      updatedAt: param("at"),
    })
    .where(
      and(
        eq(orders.id, sql.placeholder("id")),
        inArray(orders.submission, ["queued", "unknown"]),
        isNull(orders.upstreamOrderId),
      ),
    )
    .prepare(),
  markUnknown: db
    .update(orders)
    .set({
      submission: "unknown",
      lastError: param("lastError"),
      flag: param("flag"),
      updatedAt: param("at"),
    })
    .where(and(eq(orders.id, sql.placeholder("id")), eq(orders.submission, "queued")))
    .prepare(),
  /** Held, with the order id the upstream's unconfirmed answer carried (status sync follows it). */
  markUnknownFollowed: db
    .update(orders)
    .set({
      submission: "unknown",
      upstreamOrderId: param("upstreamOrderId"),
      lastError: param("lastError"),
      flag: param("flag"),
      updatedAt: param("at"),
    })
    .where(and(eq(orders.id, sql.placeholder("id")), eq(orders.submission, "queued")))
    .prepare(),
  flagOnly: db
    .update(orders)
    .set({ lastError: param("lastError"), flag: param("flag"), updatedAt: param("at") })
    .where(eq(orders.id, sql.placeholder("id")))
    .prepare(),
  order: db
    .select()
    .from(orders)
    .where(eq(orders.id, sql.placeholder("id")))
    .prepare(),
  markFailed: db
    .update(orders)
    .set({
      submission: "failed",
      status: param("status"),
      lastError: param("lastError"),
      refunded: param("refunded"),
      remains: param("remains"),
      updatedAt: param("at"),
    })
    .where(eq(orders.id, sql.placeholder("id")))
    .prepare(),
}));

/** Parses a positive integer id field; anything else is "Incorrect service ID". */
function serviceIdOf(raw: string | undefined): number {
  if (raw === undefined || !/^\d{1,15}$/.test(raw.trim())) throw unknownService();
  return Number(raw.trim());
}

/** The enabled local service `id`, or throws `unknown_service`. */
export function findEnabledService(ctx: AppContext, id: number): Service {
  const service = statements(ctx.db).enabledService.get({ id });
  if (!service) throw unknownService();
  return service;
}

/**
 * Places an order for `input.customerId`.
 *
 * Once charged, every path ends settled: an unexpected error after the charge (a store write
 * failing, a client bug) holds the order as `unknown` when its request may have reached the
 * upstream (answered like an accepted order), else fails and refunds it (`upstream_failed`, or
 * `upstream_unavailable` when the store was busy).
 * @returns the local order id: placed, or held (`unknown`, the charge kept; issue #11).
 * @throws DomainError bad_request | unknown_service | upstream_failed | upstream_unavailable
 * @throws InsufficientFundsError when the balance does not cover the charge (nothing written).
 */
export async function placeOrder(ctx: AppContext, input: PlaceOrderInput): Promise<{ order: number }> {
  const service = findEnabledService(ctx, serviceIdOf(input.fields.service));
  const validated = validateAdd(service, input.fields);
  if (isBelowCost(service.rate, service.cost)) {
    ctx.logger.warn(
      { serviceId: service.id, rate: service.rate, cost: service.cost },
      "margin protection refused an order",
    );
    throw upstreamFailed("Service is temporarily unavailable");
  }
  const client = ctx.providers.get(service.providerId);
  if (!client) throw unknownService();
  const charge = chargeFor(service.rate, validated.chargedUnits);
  const provider = ctx.config.providers.find((p) => p.id === service.providerId);
  const prepared = statements(ctx.db);

  const { orderId, upstreamKey } = inTransaction(ctx.db, () => {
    const now = ctx.now();
    const row = prepared.insertOrder.get({
      customerId: input.customerId,
      serviceId: service.id,
      providerId: service.providerId,
      upstreamService: service.upstreamService,
      params: JSON.stringify(validated.params),
      quantity: validated.quantity,
      rate: service.rate,
      exchangeRate: provider?.exchangeRate ?? "1",
      charge,
      now,
    });
    if (!row) throw new Error("order insert returned no row");
    let key: string | undefined;
    if (provider?.idempotencyKeys) {
      key = upstreamIdempotencyKey(row.id, now);
      prepared.setUpstreamKey.run({ id: row.id, key });
    }
    if (charge > 0) {
      applyBalanceChange(ctx.db, {
        customerId: input.customerId,
        amount: -charge,
        kind: "charge",
        orderId: row.id,
        note: `order ${row.id}: ${validated.quantity} × service ${service.id} at ${formatAmount(service.rate)}/1000`,
        at: now,
      });
    }
    if (input.idempotencyKey !== undefined) bindIdempotencyKey(ctx, input.customerId, input.idempotencyKey, row.id);
    return { orderId: row.id, upstreamKey: key };
  });

  // From here the customer is charged: nothing may escape unsettled (see settleAfterError).
  let submitRecorded = false;
  let outcome: CallOutcome<{ order: string }> | undefined;
  let answer: DomainError | undefined;
  try {
    outcome = await client.add(
      { service: service.upstreamService, ...validated.params },
      {
        priority: "customer",
        ...(upstreamKey === undefined ? {} : { idempotencyKey: upstreamKey }),
        onSend: () => {
          const written = prepared.markSending.run({ id: orderId, at: ctx.now() });
          if (written.changes === 0) throw new SendAborted(orderId);
          submitRecorded = true;
        },
      },
    );
    failpoint("after_upstream_answer");
    answer = settlePlacement(ctx, orderId, outcome);
  } catch (error) {
    answer = settleAfterError(ctx, orderId, error, submitRecorded, outcome);
  }
  if (answer) throw answer;
  return { order: orderId };
}

/**
 * Records the outcome of an order's upstream `add`.
 * @returns the error to answer when the order was not placed (after the store is settled);
 *   undefined when it was placed or is held.
 * @throws the store's error when a write fails (the caller settles the order then).
 */
function settlePlacement(
  ctx: AppContext,
  orderId: number,
  outcome: CallOutcome<{ order: string }>,
): DomainError | undefined {
  const log = ctx.logger.child({ orderId });
  switch (outcome.kind) {
    case "ok": {
      const upstreamOrderId = outcome.value.order;
      let linked: boolean;
      try {
        linked = statements(ctx.db).markSubmitted.run({ id: orderId, upstreamOrderId, at: ctx.now() }).changes > 0;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const lastError = `upstream order id ${upstreamOrderId} is already recorded on another order`;
        markUnknown(ctx, orderId, lastError, DUPLICATE_UPSTREAM_ID_FLAG);
        log.warn({ event: "order_unknown", upstreamOrderId }, "order unknown: upstream id reused");
        return undefined;
      }
      if (!linked) return settledElsewhere(ctx, orderId, upstreamOrderId);
      return undefined;
    }
    case "ambiguous": {
      const upstreamOrderId = outcome.failure.upstreamOrderId;
      if (upstreamOrderId !== undefined) {
        try {
          markUnknown(ctx, orderId, outcome.failure.message, UNCONFIRMED_FLAG, upstreamOrderId);
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          const lastError = `${outcome.failure.message}; upstream order id ${upstreamOrderId} is already recorded on another order`;
          markUnknown(ctx, orderId, lastError, DUPLICATE_UPSTREAM_ID_FLAG);
        }
      } else {
        markUnknown(ctx, orderId, outcome.failure.message, UNCONFIRMED_FLAG);
      }
      log.warn({ event: "order_unknown", failure: outcome.failure }, "order unknown: upstream did not confirm it");
      return undefined;
    }
    default: {
      failAndRefund(ctx, orderId, outcome.failure.message, "Canceled");
      log.info({ outcome: outcome.kind, failure: outcome.failure }, "order not placed upstream; refunded");
      return notPlacedAnswer(outcome);
    }
  }
}

/**
 * The upstream confirmed an order another process already settled as not placed (refunded):
 * the upstream id is kept on it and it is flagged for the operator.
 */
function settledElsewhere(ctx: AppContext, orderId: number, upstreamOrderId: string): DomainError {
  const lastError = `upstream accepted it as order ${upstreamOrderId} after it was settled as not placed`;
  statements(ctx.db).flagOnly.run({
    id: orderId,
    lastError,
    flag: "upstream holds an order settled as not placed",
    at: ctx.now(),
  });
  ctx.logger.error({ orderId, upstreamOrderId }, "upstream accepted an order another process settled; flagged");
  return upstreamFailed();
}

/** The answer for an order the upstream did not place: 503 for our own back-pressure, else 502. */
function notPlacedAnswer(outcome: NotPlaced): DomainError {
  if (outcome.kind === "not_sent" && outcome.reason !== "connect_failed") {
    return upstreamUnavailable((outcome.retryAfterMs ?? 1000) / 1000);
  }
  return upstreamFailed();
}

/**
 * Settles a charged order after an unexpected `error` (a store write failing, a client bug):
 * - an outcome proving the upstream did not place it → failed and refunded, answered as usual;
 * - the send aborted because the order is no longer `queued` (another process settled it) →
 *   failed and refunded if still queued, answered `upstream_failed`;
 * - else, if its `onSend` write committed (`submit_started_at` set: the request may have left) →
 *   held `unknown` and flagged, the upstream id (if answered) kept in `last_error`;
 * - else it was never sent → failed and refunded (503 when the store was busy, else 502).
 * Should the store refuse this too, the order stays `queued` (the charge held; recovery settles
 * it) and is answered as held.
 * @returns the error to answer, or undefined when the order is held (never throws).
 */
function settleAfterError(
  ctx: AppContext,
  orderId: number,
  error: unknown,
  submitRecorded: boolean,
  outcome: CallOutcome<{ order: string }> | undefined,
): DomainError | undefined {
  const log = ctx.logger.child({ orderId });
  const message = error instanceof Error ? error.message : String(error);
  const notPlaced =
    outcome !== undefined && outcome.kind !== "ok" && outcome.kind !== "ambiguous" ? outcome : undefined;
  try {
    if (notPlaced) {
      failAndRefund(ctx, orderId, notPlaced.failure.message, "Canceled");
      log.error({ err: error, outcome: notPlaced.kind }, "order not placed upstream; refunded after an error");
      return notPlacedAnswer(notPlaced);
    }
    if (error instanceof SendAborted) {
      failAndRefund(ctx, orderId, `not sent: ${message}`, "Canceled");
      log.warn({ event: "send_aborted" }, "send aborted: the order was no longer queued");
      return upstreamFailed();
    }
    if (submitRecorded) {
      const lastError =
        outcome?.kind === "ok"
          ? `upstream order id ${outcome.value.order} not recorded: ${message}`
          : `error after the upstream call started: ${message}`;
      markUnknown(ctx, orderId, lastError, "placement failed after the upstream call started");
      log.error({ event: "order_unknown", err: error }, "order unknown: error after the upstream call started");
      return undefined;
    }
    failAndRefund(ctx, orderId, `not placed: ${message}`, "Canceled");
    log.error({ err: error }, "order not placed after an error; refunded");
    return isStoreBusy(error) ? upstreamUnavailable(1) : upstreamFailed();
  } catch (settleError) {
    log.error({ err: settleError, cause: error }, "order left queued after an error; recovery settles it");
    return undefined;
  }
}

/** Holds a `queued` order for the operator: `unknown`, with why (and the upstream's id when it sent one). */
function markUnknown(
  ctx: AppContext,
  orderId: number,
  lastError: string,
  flag: string,
  upstreamOrderId?: string,
): void {
  const prepared = statements(ctx.db);
  const at = ctx.now();
  if (upstreamOrderId === undefined) prepared.markUnknown.run({ id: orderId, lastError, flag, at });
  else prepared.markUnknownFollowed.run({ id: orderId, upstreamOrderId, lastError, flag, at });
}

/** The SQLite result code (`SQLITE_…`) of `error` or of an error in its `cause` chain (drizzle wraps driver errors). */
function sqliteCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code;
  }
  return undefined;
}

/** Whether `error` is a UNIQUE constraint violation (e.g. an upstream order id already recorded). */
export function isUniqueViolation(error: unknown): boolean {
  return sqliteCode(error) === "SQLITE_CONSTRAINT_UNIQUE";
}

function isStoreBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * Marks an order `failed` (never placed upstream) and refunds whatever of its charge is not
 * yet refunded, in one transaction, if its submission is one of `from` (default `queued`):
 * an order another process settled meanwhile is left alone. Used at placement, by recovery,
 * by the operator's resolve of a stuck `queued` order and by the re-ask of a held order.
 * @returns whether the order was in an expected state (and is now failed).
 * @throws DomainError unknown_order when there is no such order.
 */
export function failAndRefund(
  ctx: AppContext,
  orderId: number,
  reason: string,
  status: "Canceled" | "Failed",
  from: readonly SubmissionState[] = ["queued"],
): boolean {
  const prepared = statements(ctx.db);
  return inTransaction(ctx.db, () => {
    const order = prepared.order.get({ id: orderId });
    if (!order) throw new DomainError("unknown_order", "Incorrect order ID");
    if (!from.includes(order.submission)) return false;
    const due = order.charge - order.refunded;
    const now = ctx.now();
    prepared.markFailed.run({
      id: orderId,
      status,
      lastError: reason,
      refunded: order.charge,
      remains: order.quantity,
      at: now,
    });
    if (due > 0) {
      applyBalanceChange(ctx.db, {
        customerId: order.customerId,
        amount: due,
        kind: "refund",
        orderId,
        note: `order ${orderId} not placed upstream`,
        at: now,
      });
    }
    return true;
  });
}
