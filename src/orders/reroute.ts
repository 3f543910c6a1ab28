/**
 * `orders reroute` (issue #12): places a `failed` order again on another route of its service,
 * or an `unknown` one once the operator confirmed on its upstream's panel that it does not
 * exist there. An order one of whose attempts an upstream answered with an order id (`ok`) is
 * never rerouted, whatever its state: that upstream holds it. Charged once: an `unknown`
 * order's held charge is reused; a `failed` (refunded) order is charged its original charge
 * again, only if the balance covers it. Then it is sent
 * like any placement (attempt recorded, `ok` → submitted, ambiguous → held, definite → failed
 * and refunded), to that one route only.
 *
 * A held order is refused while a re-ask of it is out (`reask-claim.ts`): that upstream may be
 * answering for it right now.
 *
 * A failed order placed with a customer `Idempotency-Key` (released when it failed) is refused
 * when that key was claimed since by another request of the customer (the customer's retry
 * placed another order, or is being placed); otherwise the key is re-bound to it in the
 * transaction of its new charge, so a retry replays this order (see `rebindIdempotencyKey`).
 */
import { and, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { applyBalanceChange } from "../billing/ledger.js";
import { formatAmount } from "../billing/money.js";
import { inTransaction } from "../db/client.js";
import { type Order, orderAttempts, orders, services } from "../db/schema.js";
import { skipReason } from "../routing/candidates.js";
import type { AppContext } from "../runtime/context.js";
import type { DomainError } from "./errors.js";
import { type KeyHolder, rebindIdempotencyKey } from "./idempotency.js";
import { type Route, routesOf, sendToRoutes, upstreamQuantity } from "./place-order.js";
import { endStaleReasks, reaskInFlight, reaskInFlightMessage } from "./reask-claim.js";

/** Why a reroute was refused (nothing changed). */
export class RerouteError extends Error {
  override name = "RerouteError";
  constructor(
    readonly reason:
      | "unknown_order"
      | "wrong_state"
      | "not_confirmed"
      | "no_route"
      | "route_unusable"
      | "key_claimed"
      | "reask_in_flight",
    message: string,
  ) {
    super(message);
  }
}

/** Which route: its index in the service's routes, or the first route of a provider. */
export type RouteChoice = { route: number } | { provider: string };

export interface RerouteResult {
  /** The order after the attempt. */
  order: Order;
  route: Route;
  /** Charged again by this reroute (minor units; 0 when the held charge was reused). */
  chargedNow: number;
  /** The placement's answer: undefined when the route took the order. */
  error: DomainError | undefined;
}

/** The operator's one line for a failed order whose Idempotency-Key refuses a reroute. */
function keyClaimedMessage(holder: KeyHolder, order: Pick<Order, "id" | "customerId">): string {
  const head = `order ${order.id} is not placed again`;
  switch (holder.kind) {
    case "order":
      return `${head}: its Idempotency-Key placed order ${holder.orderId} since (the customer's retry); rerouting it would charge customer ${order.customerId} twice`;
    case "in_progress":
      return `${head}: its Idempotency-Key is claimed by another request of customer ${order.customerId} still being processed; look again once it is answered`;
    case "unknown":
      return `${head}: it failed before orders remembered their Idempotency-Key, so a retry of it may have placed another order; check customer ${order.customerId}'s orders since, then run orders reroute ${order.id} again with --key-checked`;
  }
}

/**
 * Reroutes order `orderId` to the chosen route.
 * @param confirmedAbsent for an `unknown` order: the operator checked the upstream has no such order.
 * @param keyChecked for a failed order from before orders remembered their key: the operator
 *   checked that no later order of the customer repeats it.
 * @throws RerouteError (nothing changed; `key_claimed`: a failed order's Idempotency-Key was
 *   claimed since by another request of the customer; `reask_in_flight`: a re-ask of the held
 *   order is out); InsufficientFundsError when a failed
 *   order's charge is not covered.
 */
export async function rerouteOrder(
  ctx: AppContext,
  orderId: number,
  choice: RouteChoice,
  options: { confirmedAbsent?: boolean; keyChecked?: boolean } = {},
): Promise<RerouteResult> {
  const order = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get();
  if (!order) throw new RerouteError("unknown_order", `order ${orderId} not found`);
  if (order.submission !== "failed" && order.submission !== "unknown") {
    throw new RerouteError(
      "wrong_state",
      `order ${orderId} is ${order.submission}: only a failed or unknown order can be rerouted`,
    );
  }
  if (reaskInFlight(order, ctx.now())) throw new RerouteError("reask_in_flight", reaskInFlightMessage(order));
  if (order.submission === "unknown" && options.confirmedAbsent !== true) {
    throw new RerouteError(
      "not_confirmed",
      `order ${orderId} is unknown: confirm on ${order.providerId}'s panel that it does not exist there, then pass --not-on-upstream`,
    );
  }
  // An order that carries an upstream order id, in any state (held and followed, or failed after
  // an answer that came too late, also from before attempts were recorded): that upstream has it.
  if (order.upstreamOrderId !== null) {
    throw new RerouteError(
      "wrong_state",
      `order ${orderId} carries upstream order ${order.upstreamOrderId} on ${order.providerId}: the upstream has it, it is not placed again`,
    );
  }
  // An attempt the upstream answered with an order id (e.g. confirmed after another process
  // settled the order as not placed): that upstream holds it, so it is never placed again.
  const taken = ctx.db
    .select({ providerId: orderAttempts.providerId, error: orderAttempts.error })
    .from(orderAttempts)
    .where(and(eq(orderAttempts.orderId, orderId), eq(orderAttempts.outcome, "ok")))
    .get();
  if (taken) {
    throw new RerouteError(
      "wrong_state",
      `order ${orderId} was taken by ${taken.providerId} (${taken.error ?? "order id answered"}): that upstream holds it, it is not placed again`,
    );
  }
  const service = ctx.db.select().from(services).where(eq(services.id, order.serviceId)).get();
  if (!service) throw new RerouteError("no_route", `service ${order.serviceId} no longer exists`);
  const routes = routesOf(ctx, service);
  const route =
    "route" in choice
      ? routes.find((r) => r.routeIndex === choice.route)
      : routes.find((r) => r.providerId === choice.provider);
  if (!route) {
    const which = "route" in choice ? `route ${choice.route}` : `a route on provider ${choice.provider}`;
    throw new RerouteError("no_route", `service ${service.id} has no ${which}`);
  }
  const params = JSON.parse(order.params) as Record<string, string>;
  const quantity = upstreamQuantity({
    params,
    quantity: order.quantity,
    chargedUnits: params.quantity === undefined && order.quantity === 1 ? 1000 : order.quantity,
  });
  const skip = skipReason(route, {
    policy: "priority",
    rate: order.rate,
    quantity,
    dripfeed: params.runs !== undefined,
    circuitOf: (p) => ctx.providers.get(p)?.stats().circuit,
  });
  if (skip) throw new RerouteError("route_unusable", `route ${route.routeIndex} cannot take it: ${skip.detail}`);

  const exchangeRate = ctx.config.providers.find((p) => p.id === route.providerId)?.exchangeRate ?? "1";
  const chargedNow = inTransaction(ctx.db, () => {
    const now = ctx.now();
    const due = order.submission === "failed" ? order.refunded : 0;
    const changed = ctx.db
      .update(orders)
      .set({
        submission: "queued",
        status: "Pending",
        refunded: sql`${orders.refunded} - ${due}`,
        remains: null,
        upstreamOrderId: null,
        providerId: route.providerId,
        upstreamService: route.upstreamService,
        exchangeRate,
        submitStartedAt: null,
        reaskLeaseUntil: null,
        lastError: null,
        flag: null,
        missCount: 0,
        updatedAt: now,
      })
      .where(
        and(
          eq(orders.id, orderId),
          inArray(orders.submission, [order.submission]),
          // A re-ask that claimed the order since it was read above keeps it; one that was
          // answered since with an upstream order id (stored, or an `ok` attempt recorded by
          // another process) means that upstream holds it: checked again here, in the write
          // transaction, so it is never sent to a second upstream.
          or(isNull(orders.reaskLeaseUntil), lte(orders.reaskLeaseUntil, now)),
          isNull(orders.upstreamOrderId),
          sql`NOT EXISTS (SELECT 1 FROM order_attempts WHERE order_attempts.order_id = ${orderId} AND order_attempts.outcome = 'ok')`,
        ),
      )
      .run();
    if (changed.changes !== 1) {
      const current = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get();
      if (current !== undefined && reaskInFlight(current, now)) {
        throw new RerouteError("reask_in_flight", reaskInFlightMessage(current));
      }
      if (current?.upstreamOrderId != null) {
        throw new RerouteError(
          "wrong_state",
          `order ${orderId} carries upstream order ${current.upstreamOrderId} on ${current.providerId} since it was read (a re-ask found it): the upstream has it, it is not placed again`,
        );
      }
      throw new RerouteError(
        "wrong_state",
        `order ${orderId} changed meanwhile (an upstream may have answered for it)`,
      );
    }
    if (order.reaskLeaseUntil !== null) endStaleReasks(ctx, orderId, now);
    if (order.submission === "failed") {
      const holder = rebindIdempotencyKey(ctx, order, { keyChecked: options.keyChecked === true });
      if (holder !== undefined) {
        // Thrown inside the transaction: the state change above is rolled back, nothing charged.
        throw new RerouteError("key_claimed", keyClaimedMessage(holder, order));
      }
    }
    if (due > 0) {
      applyBalanceChange(ctx.db, {
        customerId: order.customerId,
        amount: -due,
        kind: "charge",
        orderId,
        note: `order ${orderId}: charged again to reroute it to ${route.providerId} (${formatAmount(due)})`,
        at: now,
      });
    }
    return due;
  });
  ctx.logger.info({ orderId, route: route.routeIndex, provider: route.providerId, chargedNow }, "order rerouted");
  const error = await sendToRoutes(ctx, orderId, service, [route], params);
  const after = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get() ?? order;
  return { order: after, route, chargedNow, error };
}
