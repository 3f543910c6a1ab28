/**
 * The `add` verb (issue #4): validate, charge and record the order in one synchronous
 * transaction, then forward it through the provider's queue and settle the outcome.
 *
 * Money safety ("nothing lost, nothing doubled"):
 * - the charge and the `queued` order commit together, before any upstream call;
 * - `submit_started_at` is written durably right before the request leaves (crash recovery);
 * - `ok` → `submitted`; `rejected`/`not_sent`/`rate_limited` → `failed` + full refund in one
 *   transaction; `ambiguous` → `unknown`, the charge held, never resent automatically.
 */
import { and, eq } from "drizzle-orm";
import { applyBalanceChange } from "../billing/ledger.js";
import { chargeFor, formatAmount } from "../billing/money.js";
import { isBelowCost } from "../billing/pricing.js";
import { inTransaction } from "../db/client.js";
import { orders, type Service, services } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import { failpoint } from "../runtime/failpoints.js";
import type { CallOutcome } from "../upstream/types.js";
import { DomainError, unknownService, upstreamAmbiguous, upstreamFailed, upstreamUnavailable } from "./errors.js";
import { validateAdd } from "./validate-add.js";

export interface PlaceOrderInput {
  customerId: number;
  /** The request's fields (`service`, `link`, `quantity`, ...), as strings. */
  fields: Readonly<Record<string, string>>;
}

/** Parses a positive integer id field; anything else is "Incorrect service ID". */
function serviceIdOf(raw: string | undefined): number {
  if (raw === undefined || !/^\d{1,15}$/.test(raw.trim())) throw unknownService();
  return Number(raw.trim());
}

/** The enabled local service `id`, or throws `unknown_service`. */
export function findEnabledService(ctx: AppContext, id: number): Service {
  const service = ctx.db
    .select()
    .from(services)
    .where(and(eq(services.id, id), eq(services.enabled, true)))
    .get();
  if (!service) throw unknownService();
  return service;
}

/**
 * Places an order for `input.customerId`.
 * @returns the local order id.
 * @throws DomainError bad_request | unknown_service | upstream_failed | upstream_unavailable | upstream_ambiguous
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

  const orderId = inTransaction(ctx.db, () => {
    const now = ctx.now();
    const row = ctx.db
      .insert(orders)
      .values({
        customerId: input.customerId,
        serviceId: service.id,
        providerId: service.providerId,
        upstreamService: service.upstreamService,
        params: JSON.stringify(validated.params),
        quantity: validated.quantity,
        rate: service.rate,
        exchangeRate: provider?.exchangeRate ?? "1",
        charge,
        status: "Pending",
        submission: "queued",
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: orders.id })
      .get();
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
    return row.id;
  });

  const outcome = await client.add(
    { service: service.upstreamService, ...validated.params },
    {
      priority: "customer",
      onSend: () => {
        ctx.db.update(orders).set({ submitStartedAt: ctx.now() }).where(eq(orders.id, orderId)).run();
      },
    },
  );
  failpoint("after_upstream_answer");
  settlePlacement(ctx, orderId, outcome);
  return { order: orderId };
}

/**
 * Records the outcome of an order's upstream `add`.
 * @throws DomainError for every outcome but `ok` (after the store is settled).
 */
function settlePlacement(ctx: AppContext, orderId: number, outcome: CallOutcome<{ order: string }>): void {
  const now = ctx.now();
  const log = ctx.logger.child({ orderId });
  switch (outcome.kind) {
    case "ok":
      ctx.db
        .update(orders)
        .set({ submission: "submitted", upstreamOrderId: outcome.value.order, updatedAt: now })
        .where(eq(orders.id, orderId))
        .run();
      return;
    case "ambiguous":
      ctx.db
        .update(orders)
        .set({
          submission: "unknown",
          lastError: outcome.failure.message,
          flag: "upstream did not confirm the order",
          updatedAt: now,
        })
        .where(eq(orders.id, orderId))
        .run();
      log.warn({ event: "order_unknown", failure: outcome.failure }, "order unknown: upstream did not confirm it");
      throw upstreamAmbiguous(orderId);
    default: {
      failAndRefund(ctx, orderId, outcome.failure.message, "Canceled");
      log.info({ outcome: outcome.kind, failure: outcome.failure }, "order not placed upstream; refunded");
      if (outcome.kind === "not_sent" && outcome.reason !== "connect_failed") {
        throw upstreamUnavailable((outcome.retryAfterMs ?? 1000) / 1000);
      }
      throw upstreamFailed();
    }
  }
}

/**
 * Marks an order `failed` (never placed upstream) and refunds whatever of its charge is not
 * yet refunded, in one transaction. Used at placement and by crash recovery.
 */
export function failAndRefund(ctx: AppContext, orderId: number, reason: string, status: "Canceled" | "Failed"): void {
  inTransaction(ctx.db, () => {
    const order = ctx.db.select().from(orders).where(eq(orders.id, orderId)).get();
    if (!order) throw new DomainError("unknown_order", "Incorrect order ID");
    const due = order.charge - order.refunded;
    const now = ctx.now();
    ctx.db
      .update(orders)
      .set({
        submission: "failed",
        status,
        lastError: reason,
        refunded: order.charge,
        remains: order.quantity,
        updatedAt: now,
      })
      .where(eq(orders.id, orderId))
      .run();
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
  });
}
