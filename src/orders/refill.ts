/**
 * The `refill` and `refill_status` verbs (seed `000_*` "Create refill", "Create multiple
 * refill", "Get refill status", "Get multiple refill status").
 * A refill is forwarded through the provider's queue (one multi-refill call per provider);
 * its status is served from the store, kept fresh by the refill sync.
 */
import { and, eq, inArray, notInArray } from "drizzle-orm";
import { type Db, inTransaction } from "../db/client.js";
import { preparedFor } from "../db/prepared.js";
import { type Order, refills } from "../db/schema.js";
import { FINAL_REFILL_STATUSES } from "../panel/statuses.js";
import { orderRouteFlags } from "../routing/order-route.js";
import type { AppContext } from "../runtime/context.js";
import { groupByProvider } from "./group-by-provider.js";
import { findCustomerOrders } from "./order-status.js";

export const REFILL_NOT_AVAILABLE = "Refill is not available for this order";
export const UPSTREAM_ERROR = "Upstream provider error";
export const REFILL_IN_PROGRESS = "A refill for this order is already in progress";

/** Per-order result: the new local refill id, or why not. `reason` drives the single-form HTTP code. */
export type RefillResult =
  | { order: number | string; refill: number }
  | {
      order: number | string;
      error: string;
      reason: "unknown_order" | "not_available" | "in_progress" | "upstream";
    };

/** Per store: ids of the orders whose refill request is on its way upstream right now. */
const refillsInFlight = preparedFor((_db: Db) => new Set<number>());

/** The customer's orders among `orderIds` with an open refill (status not final) in the store. */
function ordersWithOpenRefill(ctx: AppContext, customerId: number, orderIds: readonly number[]): Set<number> {
  if (orderIds.length === 0) return new Set();
  const rows = ctx.db
    .selectDistinct({ orderId: refills.orderId })
    .from(refills)
    .where(
      and(
        eq(refills.customerId, customerId),
        inArray(refills.orderId, [...orderIds]),
        notInArray(refills.status, [...FINAL_REFILL_STATUSES]),
      ),
    )
    .all();
  return new Set(rows.map((r) => r.orderId));
}

function refillable(ctx: AppContext, order: Order): boolean {
  if (order.submission !== "submitted" || order.upstreamOrderId === null || order.status !== "Completed") return false;
  return orderRouteFlags(ctx.db, order).refill;
}

/**
 * Requests refills for the customer's orders `ids` (in the given order). An order with a refill
 * already open (stored and not final, or on its way upstream) is not sent again: it gets
 * {@link REFILL_IN_PROGRESS} (`in_progress`).
 * @param ids pairs of the id as the customer wrote it and the parsed id (undefined: never ours).
 * Never throws for a per-order problem; each id gets a {@link RefillResult}.
 */
export async function requestRefills(
  ctx: AppContext,
  customerId: number,
  ids: ReadonlyArray<{ text: string; id: number | undefined }>,
): Promise<RefillResult[]> {
  const known = findCustomerOrders(
    ctx,
    customerId,
    ids.flatMap((i) => (i.id === undefined ? [] : [i.id])),
  );
  const results = new Map<number, RefillResult>();
  const candidates: Order[] = [];
  for (const order of known.values()) {
    if (refillable(ctx, order)) candidates.push(order);
    else results.set(order.id, { order: order.id, error: REFILL_NOT_AVAILABLE, reason: "not_available" });
  }
  // Checked and claimed synchronously (no await before the claim), so a concurrent request for
  // the same order sees it in flight; released once the outcome is stored.
  const inFlight = refillsInFlight(ctx.db);
  const open = ordersWithOpenRefill(
    ctx,
    customerId,
    candidates.map((o) => o.id),
  );
  const eligible: Order[] = [];
  for (const order of candidates) {
    if (inFlight.has(order.id) || open.has(order.id)) {
      results.set(order.id, { order: order.id, error: REFILL_IN_PROGRESS, reason: "in_progress" });
    } else {
      inFlight.add(order.id);
      eligible.push(order);
    }
  }
  try {
    await Promise.all(
      [...groupByProvider(eligible)].map(async ([providerId, group]) => {
        for (const [orderId, result] of await refillGroup(ctx, providerId, customerId, group))
          results.set(orderId, result);
      }),
    );
  } finally {
    for (const order of eligible) inFlight.delete(order.id);
  }
  return ids.map(
    ({ text, id }) =>
      (id !== undefined ? results.get(id) : undefined) ?? {
        order: id ?? text,
        error: "Incorrect order ID",
        reason: "unknown_order" as const,
      },
  );
}

async function refillGroup(
  ctx: AppContext,
  providerId: string,
  customerId: number,
  group: Order[],
): Promise<Map<number, RefillResult>> {
  const out = new Map<number, RefillResult>();
  const client = ctx.providers.get(providerId);
  const upstreamIds = group.map((o) => o.upstreamOrderId ?? "");
  const outcome = client
    ? group.length === 1
      ? await client
          .refill(upstreamIds[0] ?? "", { priority: "customer" })
          .then((o) =>
            o.kind === "ok" ? { kind: "ok" as const, value: new Map([[upstreamIds[0] ?? "", o.value]]) } : o,
          )
      : await client.multiRefill(upstreamIds, { priority: "customer" })
    : undefined;
  if (outcome?.kind !== "ok") {
    ctx.logger.warn(
      { providerId, outcome: outcome?.kind, failure: outcome && "failure" in outcome ? outcome.failure : undefined },
      "refill not forwarded",
    );
    for (const order of group) out.set(order.id, { order: order.id, error: UPSTREAM_ERROR, reason: "upstream" });
    return out;
  }
  inTransaction(ctx.db, () => {
    const now = ctx.now();
    for (const order of group) {
      const item = outcome.value.get(order.upstreamOrderId ?? "");
      if (!item || "error" in item) {
        out.set(order.id, { order: order.id, error: REFILL_NOT_AVAILABLE, reason: "not_available" });
        continue;
      }
      const row = ctx.db
        .insert(refills)
        .values({
          orderId: order.id,
          customerId,
          providerId,
          upstreamRefillId: item.refill,
          status: "Pending",
          createdAt: now,
          updatedAt: now,
        })
        .returning({ id: refills.id })
        .get();
      out.set(order.id, { order: order.id, refill: row.id });
    }
  });
  return out;
}

/** Refill statuses of the customer's own refills among `ids`; others are absent. */
export function findCustomerRefills(ctx: AppContext, customerId: number, ids: readonly number[]): Map<number, string> {
  if (ids.length === 0) return new Map();
  const rows = ctx.db
    .select({ id: refills.id, status: refills.status })
    .from(refills)
    .where(and(eq(refills.customerId, customerId), inArray(refills.id, [...ids])))
    .all();
  return new Map(rows.map((r) => [r.id, r.status]));
}
