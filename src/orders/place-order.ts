/**
 * The `add` verb (issues #4, #12): validate, pick the service's candidate routes (see
 * `routing/candidates.ts`), charge and record the order in one synchronous transaction, then
 * try the candidates in order through each provider's queue and settle the outcome.
 *
 * Money safety ("nothing lost, nothing doubled"):
 * - the charge and the `queued` order commit together, before any upstream call;
 * - right before each request leaves, one transaction points the order at that route
 *   (provider, upstream service, exchange rate), sets `submit_started_at` and records the
 *   attempt as `sending` (crash recovery sees it);
 * - `ok` → `submitted` on that route;
 * - a definite failure (`rejected`, `not_sent`, `rate_limited` after the client's retries) is
 *   recorded and clears `submit_started_at` in one transaction, then the next candidate is
 *   tried within the request's time budget; none left → `failed` + full refund (503 when only
 *   our own back-pressure refused, else 502);
 * - `ambiguous` → `unknown` on that route (held: the charge kept, answered like an accepted
 *   order, issue #11), with the upstream's order id when its answer carried one (status sync
 *   follows it); never sent to another route; resent only to a provider with `idempotencyKeys`,
 *   with the same key (`sync/held-orders.ts`);
 * - every state change is conditional on the state it expects (issue #11), so a second process
 *   on the same store never settles an order twice: a send whose `submit_started_at` write
 *   changed no row is aborted (nothing leaves) and settled as not sent.
 * The charge is our sell rate whichever route takes the order.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { applyBalanceChange } from "../billing/ledger.js";
import { chargeFor, formatAmount } from "../billing/money.js";
import { type Db, inTransaction } from "../db/client.js";
import { commitSoon } from "../db/group-commit.js";
import { preparedFor } from "../db/prepared.js";
import {
  type AttemptOutcome,
  orderAttempts,
  orders,
  type Service,
  type SubmissionState,
  serviceRoutes,
  services,
} from "../db/schema.js";
import { type SkippedRoute, selectCandidates } from "../routing/candidates.js";
import type { AppContext } from "../runtime/context.js";
import { failpoint } from "../runtime/failpoints.js";
import type { CallOutcome } from "../upstream/types.js";
import { DomainError, unknownService, upstreamFailed, upstreamUnavailable } from "./errors.js";
import { bindIdempotencyKey } from "./idempotency.js";
import { type ValidatedAdd, validateAdd } from "./validate-add.js";

/** The outcomes proving the upstream did not place the order. */
type NotPlaced = Exclude<CallOutcome<{ order: string }>, { kind: "ok" | "ambiguous" }>;

export interface PlaceOrderInput {
  customerId: number;
  /** The request's fields (`service`, `link`, `quantity`, ...), as strings. */
  fields: Readonly<Record<string, string>>;
  /**
   * The customer's `Idempotency-Key` (already claimed) and the hash of the request that claimed
   * it (`hashRequest`): bound to the order in the transaction of its charge, so the key answers
   * with this order whatever fails afterwards (issue #11); the order remembers both, so
   * `orders reroute` can tell whether the key was claimed again since and re-bind it.
   */
  idempotency?: { key: string; requestHash: string };
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
      idempotencyKey: sql.placeholder("idempotencyKey"),
      idempotencyRequestHash: sql.placeholder("idempotencyRequestHash"),
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
  routes: db
    .select()
    .from(serviceRoutes)
    .where(eq(serviceRoutes.serviceId, sql.placeholder("serviceId")))
    .orderBy(serviceRoutes.routeIndex)
    .prepare(),
  markSending: db
    .update(orders)
    .set({
      submitStartedAt: param("at"),
      providerId: param("providerId"),
      upstreamService: param("upstreamService"),
      exchangeRate: param("exchangeRate"),
      // The key this route's request carries (null: sent without one), so a held order is re-asked only with it.
      upstreamIdempotencyKey: param("upstreamKey"),
      updatedAt: param("at"),
    })
    .where(and(eq(orders.id, sql.placeholder("id")), eq(orders.submission, "queued"), isNull(orders.submitStartedAt)))
    .prepare(),
  /** A route's definite failure: the order is provably not out anymore (still `queued`). */
  clearSending: db
    .update(orders)
    .set({ submitStartedAt: null, lastError: param("lastError"), updatedAt: param("at") })
    .where(and(eq(orders.id, sql.placeholder("id")), eq(orders.submission, "queued")))
    .prepare(),
  insertAttempt: db
    .insert(orderAttempts)
    .values({
      orderId: sql.placeholder("orderId"),
      routeIndex: sql.placeholder("routeIndex"),
      providerId: sql.placeholder("providerId"),
      upstreamService: sql.placeholder("upstreamService"),
      outcome: sql.placeholder("outcome"),
      error: sql.placeholder("error"),
      sentAt: sql.placeholder("at"),
      finishedAt: sql.placeholder("finishedAt"),
    })
    .returning({ id: orderAttempts.id })
    .prepare(),
  finishAttempt: db
    .update(orderAttempts)
    .set({ outcome: param("outcome"), error: param("error"), finishedAt: param("at") })
    .where(eq(orderAttempts.id, sql.placeholder("id")))
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

/** A route the order may be sent to (a stored route, or the service itself for a store without routes). */
export type Route = Parameters<typeof selectCandidates>[0][number];

/** The service's stored routes; a service recomputed before routes existed is its own single route. */
export function routesOf(ctx: AppContext, service: Service): Route[] {
  const rows = statements(ctx.db).routes.all({ serviceId: service.id });
  if (rows.length > 0) return rows;
  return [
    {
      routeIndex: 0,
      providerId: service.providerId,
      upstreamService: service.upstreamService,
      cost: service.cost,
      min: service.min,
      max: service.max,
      dripfeed: service.dripfeed,
      usable: true,
      unusableReason: null,
    },
  ];
}

/** The quantity the upstream checks against its min/max (per run; lines; none for a package). */
export function upstreamQuantity(
  validated: Pick<ValidatedAdd, "params" | "quantity" | "chargedUnits">,
): number | undefined {
  if (validated.params.quantity !== undefined) return Number(validated.params.quantity);
  if (validated.quantity === 1 && validated.chargedUnits === 1000) return undefined;
  return validated.quantity;
}

/** The answer when no route may take the order (nothing charged): 503 when only open circuits refused. */
function noCandidateAnswer(ctx: AppContext, service: Service, skipped: readonly SkippedRoute[]): DomainError {
  const margin = skipped.filter((s) => s.reason === "no_margin");
  if (margin.length > 0) {
    ctx.logger.warn(
      { serviceId: service.id, rate: service.rate, routes: margin.map((s) => [s.route.routeIndex, s.route.cost]) },
      "margin protection refused an order",
    );
  }
  if (skipped.length > 0 && skipped.every((s) => s.reason === "circuit_open")) {
    const waits = skipped.map((s) => ctx.providers.get(s.route.providerId)?.stats().retryAfterMs ?? 1000);
    return upstreamUnavailable(Math.min(...waits) / 1000);
  }
  return upstreamFailed("Service is temporarily unavailable");
}

/** The exchange rate (provider currency → ours) of `providerId`, "1" when unknown. */
function exchangeRateOf(ctx: AppContext, providerId: string): string {
  return ctx.config.providers.find((p) => p.id === providerId)?.exchangeRate ?? "1";
}

/**
 * The whole time budget of a placement, ms: the longest `add` budget among its candidates
 * (a provider's timeoutMs × 1.5, see `minCreateSendMs` in upstream/client.ts). Each attempt is
 * given what is left, at most its own provider's budget; a provider left with less than it
 * sends with refuses the call unsent (`queue_timeout`), which moves on like any definite failure.
 */
function placementBudgetMs(ctx: AppContext, candidates: readonly Route[]): number {
  let budget = 0;
  for (const route of candidates) {
    const timeoutMs = ctx.config.providers.find((p) => p.id === route.providerId)?.timeoutMs ?? 30_000;
    budget = Math.max(budget, timeoutMs + Math.ceil(timeoutMs / 2));
  }
  return budget;
}

/** A provider's own `add` budget, ms (timeoutMs × 1.5). */
function addBudgetMs(ctx: AppContext, providerId: string): number {
  const timeoutMs = ctx.config.providers.find((p) => p.id === providerId)?.timeoutMs ?? 30_000;
  return timeoutMs + Math.ceil(timeoutMs / 2);
}

/** Where a placement stands, for settling it after an unexpected error. */
interface PlacementState {
  /** The current attempt's row, once its `onSend` write committed and until it is settled. */
  inFlightAttempt: number | undefined;
  /** The current attempt's outcome, once answered. */
  outcome: CallOutcome<{ order: string }> | undefined;
}

/**
 * Places an order for `input.customerId`, trying the service's routes in policy order.
 *
 * Once charged, every path ends settled: an unexpected error after the charge (a store write
 * failing, a client bug) holds the order as `unknown` when its current request may have
 * reached the upstream (answered like an accepted order), else fails and refunds it
 * (`upstream_failed`, or `upstream_unavailable` when the store was busy).
 * @returns the local order id: placed, or held (`unknown`, the charge kept; issue #11).
 * @throws DomainError bad_request | unknown_service | upstream_failed | upstream_unavailable
 * @throws InsufficientFundsError when the balance does not cover the charge (nothing written).
 */
export async function placeOrder(ctx: AppContext, input: PlaceOrderInput): Promise<{ order: number }> {
  const service = findEnabledService(ctx, serviceIdOf(input.fields.service));
  const validated = validateAdd(service, input.fields);
  const { candidates, skipped } = selectCandidates(routesOf(ctx, service), {
    policy: service.routing,
    rate: service.rate,
    quantity: upstreamQuantity(validated),
    dripfeed: validated.params.runs !== undefined,
    circuitOf: (providerId) => ctx.providers.get(providerId)?.stats().circuit,
  });
  const first = candidates[0];
  if (first === undefined) throw noCandidateAnswer(ctx, service, skipped);
  const charge = chargeFor(service.rate, validated.chargedUnits);
  const prepared = statements(ctx.db);

  const anyKeyed = candidates.some((r) => ctx.config.providers.find((p) => p.id === r.providerId)?.idempotencyKeys);
  // Group commit (issue #14): orders arriving together share one write transaction, each in its
  // own savepoint; the charge is committed before anything is sent, as with its own transaction.
  const orderId = await commitSoon(ctx.db, () => {
    const now = ctx.now();
    const row = prepared.insertOrder.get({
      customerId: input.customerId,
      serviceId: service.id,
      providerId: first.providerId,
      upstreamService: first.upstreamService,
      params: JSON.stringify(validated.params),
      quantity: validated.quantity,
      rate: service.rate,
      exchangeRate: exchangeRateOf(ctx, first.providerId),
      charge,
      idempotencyKey: input.idempotency?.key ?? null,
      idempotencyRequestHash: input.idempotency?.requestHash ?? null,
      now,
    });
    if (!row) throw new Error("order insert returned no row");
    if (anyKeyed) prepared.setUpstreamKey.run({ id: row.id, key: upstreamIdempotencyKey(row.id, now) });
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
    if (input.idempotency !== undefined) bindIdempotencyKey(ctx, input.customerId, input.idempotency.key, row.id);
    return row.id;
  });

  // From here the customer is charged: nothing may escape unsettled (see settleAfterError).
  const answer = await sendToRoutes(ctx, orderId, service, candidates, validated.params);
  if (answer) throw answer;
  return { order: orderId };
}

/**
 * Sends the charged, `queued` order `orderId` to `candidates` in turn (see the module doc) and
 * settles it whatever happens. Used by placement and by `orders reroute`.
 * @returns the error to answer, or undefined when a route took the order. Never throws.
 */
export async function sendToRoutes(
  ctx: AppContext,
  orderId: number,
  service: Pick<Service, "id">,
  candidates: readonly Route[],
  params: ValidatedAdd["params"],
): Promise<DomainError | undefined> {
  const state: PlacementState = { inFlightAttempt: undefined, outcome: undefined };
  try {
    return await tryCandidates(ctx, orderId, service, candidates, params, state);
  } catch (error) {
    return settleAfterError(ctx, orderId, error, state);
  }
}

/**
 * Sends the order to each candidate in turn until one takes it, one answers ambiguously, or
 * none is left (or the time budget ran out). Settles the store at each step.
 * @returns the error to answer, or undefined when a route took the order.
 */
async function tryCandidates(
  ctx: AppContext,
  orderId: number,
  service: Pick<Service, "id">,
  candidates: readonly Route[],
  params: ValidatedAdd["params"],
  state: PlacementState,
): Promise<DomainError | undefined> {
  const prepared = statements(ctx.db);
  const deadline = Date.now() + placementBudgetMs(ctx, candidates);
  const refusals: NotPlaced[] = [];
  const keyed = (providerId: string) => ctx.config.providers.find((p) => p.id === providerId)?.idempotencyKeys === true;
  let upstreamKey: string | undefined;
  if (candidates.some((r) => keyed(r.providerId))) {
    const order = prepared.order.get({ id: orderId });
    upstreamKey = order?.upstreamIdempotencyKey ?? undefined;
    if (order !== undefined && upstreamKey === undefined) {
      upstreamKey = upstreamIdempotencyKey(orderId, order.createdAt);
      prepared.setUpstreamKey.run({ id: orderId, key: upstreamKey });
    }
  }
  for (const [i, route] of candidates.entries()) {
    const client = ctx.providers.get(route.providerId);
    const budgetMs = Math.min(deadline - Date.now(), addBudgetMs(ctx, route.providerId));
    if (client === undefined || (i > 0 && budgetMs <= 0)) break;
    if (i > 0) {
      ctx.routing?.failover(service.id);
      failpoint("before_next_attempt");
    }
    state.outcome = undefined;
    const outcome = await client.add(
      { service: route.upstreamService, ...params },
      {
        priority: "customer",
        ...(i > 0 ? { budgetMs } : {}),
        ...(upstreamKey !== undefined && keyed(route.providerId) ? { idempotencyKey: upstreamKey } : {}),
        onSend: () => {
          const sentKey = keyed(route.providerId) ? upstreamKey : undefined;
          state.inFlightAttempt = recordSending(ctx, orderId, route, sentKey);
        },
      },
    );
    state.outcome = outcome;
    failpoint("after_upstream_answer");
    ctx.routing?.attempt(route.providerId, outcome.kind);
    if (outcome.kind === "ok" || outcome.kind === "ambiguous") {
      const answer = await settleTaken(ctx, orderId, route, state.inFlightAttempt, outcome);
      state.inFlightAttempt = undefined;
      if (outcome.kind === "ok") ctx.routing?.placed(service.id, route.routeIndex, route.providerId);
      return answer;
    }
    const stillQueued = inTransaction(ctx.db, () => {
      const at = ctx.now();
      const error = excerpt(outcome.failure.message);
      if (state.inFlightAttempt === undefined) {
        recordAttempt(ctx, orderId, route, outcome.kind, error, at);
        return true;
      }
      prepared.finishAttempt.run({ id: state.inFlightAttempt, outcome: outcome.kind, error, at });
      return prepared.clearSending.run({ id: orderId, lastError: error, at }).changes > 0;
    });
    state.inFlightAttempt = undefined;
    refusals.push(outcome);
    if (!stillQueued) {
      // Another process settled the order meanwhile (issue #11): nothing more is sent.
      ctx.logger.warn({ orderId }, "order settled elsewhere during its failover; not sent further");
      return upstreamFailed();
    }
    ctx.logger.debug(
      { orderId, serviceId: service.id, route: route.routeIndex, provider: route.providerId, outcome: outcome.kind },
      i + 1 < candidates.length ? "route did not take the order; trying the next" : "route did not take the order",
    );
  }
  const last = refusals.at(-1);
  const reason = last === undefined ? "no route could be tried" : last.failure.message;
  failAndRefund(ctx, orderId, reason, "Canceled");
  ctx.logger.info({ orderId, attempts: refusals.map((r) => r.kind) }, "order not placed upstream; refunded");
  const ownBackPressure =
    refusals.length > 0 && refusals.every((r) => notPlacedAnswer(r).code === "upstream_unavailable");
  if (ownBackPressure) {
    const waits = refusals.map((r) => (r.kind === "not_sent" ? (r.retryAfterMs ?? 1000) : 1000));
    return upstreamUnavailable(Math.min(...waits) / 1000);
  }
  return upstreamFailed();
}

/** Up to 200 characters of a failure message for the attempt record. */
function excerpt(message: string): string {
  return message.length > 200 ? `${message.slice(0, 199)}…` : message;
}

/**
 * Right before a request leaves, in one transaction: the order points at `route` with
 * `submit_started_at` set and `upstream_idempotency_key` = the key the request carries (null
 * when none), and a `sending` attempt is recorded.
 * @returns the attempt's id.
 */
function recordSending(ctx: AppContext, orderId: number, route: Route, upstreamKey: string | undefined): number {
  const prepared = statements(ctx.db);
  return inTransaction(ctx.db, () => {
    const at = ctx.now();
    const written = prepared.markSending.run({
      id: orderId,
      at,
      providerId: route.providerId,
      upstreamService: route.upstreamService,
      exchangeRate: exchangeRateOf(ctx, route.providerId),
      upstreamKey: upstreamKey ?? null,
    });
    if (written.changes === 0) throw new SendAborted(orderId);
    return recordAttempt(ctx, orderId, route, "sending", null, at, null);
  });
}

function recordAttempt(
  ctx: AppContext,
  orderId: number,
  route: Route,
  outcome: AttemptOutcome,
  error: string | null,
  at: number,
  finishedAt: number | null = at,
): number {
  const row = statements(ctx.db).insertAttempt.get({
    orderId,
    routeIndex: route.routeIndex,
    providerId: route.providerId,
    upstreamService: route.upstreamService,
    outcome,
    error,
    at,
    finishedAt,
  });
  if (!row) throw new Error("attempt insert returned no row");
  return row.id;
}

/**
 * Records an `ok` or `ambiguous` answer of `route` (the order was sent there: `onSend` ran).
 * `ambiguous` holds the order (answered like an accepted one, issue #11), with the upstream's
 * order id when its answer carried one.
 * @returns the error to answer when the order is not placed nor held (settled elsewhere).
 * @throws the store's error when a write fails (the caller settles the order then).
 */
async function settleTaken(
  ctx: AppContext,
  orderId: number,
  route: Route,
  attemptId: number | undefined,
  outcome: Extract<CallOutcome<{ order: string }>, { kind: "ok" | "ambiguous" }>,
): Promise<DomainError | undefined> {
  const log = ctx.logger.child({ orderId });
  const prepared = statements(ctx.db);
  const finish = (kind: AttemptOutcome, error: string) => {
    if (attemptId !== undefined) prepared.finishAttempt.run({ id: attemptId, outcome: kind, error, at: ctx.now() });
  };
  if (outcome.kind === "ambiguous") {
    const upstreamOrderId = outcome.failure.upstreamOrderId;
    const message = excerpt(outcome.failure.message);
    if (upstreamOrderId === undefined) {
      inTransaction(ctx.db, () => {
        finish("ambiguous", message);
        markUnknown(ctx, orderId, outcome.failure.message, UNCONFIRMED_FLAG);
      });
    } else {
      try {
        inTransaction(ctx.db, () => {
          finish("ambiguous", message);
          markUnknown(ctx, orderId, outcome.failure.message, UNCONFIRMED_FLAG, upstreamOrderId);
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const lastError = `${outcome.failure.message}; upstream order id ${upstreamOrderId} is already recorded on another order`;
        inTransaction(ctx.db, () => {
          finish("ambiguous", message);
          markUnknown(ctx, orderId, lastError, DUPLICATE_UPSTREAM_ID_FLAG);
        });
      }
    }
    log.warn(
      { event: "order_unknown", provider: route.providerId, failure: outcome.failure },
      "order unknown: upstream did not confirm it",
    );
    return undefined;
  }
  const upstreamOrderId = outcome.value.order;
  let linked: boolean;
  try {
    // Group commit (issue #14): answers arriving together are recorded in one transaction,
    // committed before the customer is answered.
    linked = await commitSoon(ctx.db, () => {
      finish("ok", `upstream order ${upstreamOrderId}`);
      return prepared.markSubmitted.run({ id: orderId, upstreamOrderId, at: ctx.now() }).changes > 0;
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const lastError = `upstream order id ${upstreamOrderId} is already recorded on another order`;
    inTransaction(ctx.db, () => {
      finish("ok", excerpt(lastError));
      markUnknown(ctx, orderId, lastError, DUPLICATE_UPSTREAM_ID_FLAG);
    });
    log.warn({ event: "order_unknown", upstreamOrderId }, "order unknown: upstream id reused");
    return undefined;
  }
  if (!linked) return settledElsewhere(ctx, orderId, upstreamOrderId);
  return undefined;
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
 * - the current attempt's outcome proves the upstream did not place it → failed and refunded;
 * - else, if the current attempt's `onSend` write committed (`submit_started_at` set: the
 *   request may have left) → held `unknown` and flagged, the upstream id (if answered) kept
 *   in `last_error`;
 * - the send aborted because the order is no longer `queued` (another process settled it) →
 *   failed and refunded if still queued, answered `upstream_failed`;
 * - else no request is out → failed and refunded (503 when the store was busy, else 502).
 * Should the store refuse this too, the order stays `queued` (the charge held; recovery settles
 * it) and is answered as held.
 * @returns the error to answer, or undefined when the order is held (never throws).
 */
function settleAfterError(
  ctx: AppContext,
  orderId: number,
  error: unknown,
  state: PlacementState,
): DomainError | undefined {
  const log = ctx.logger.child({ orderId });
  const message = error instanceof Error ? error.message : String(error);
  const { outcome } = state;
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
    if (state.inFlightAttempt !== undefined) {
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
