import type { Order } from "../db/schema.js";
import { FINAL_ORDER_STATUSES, type OrderStatus } from "../panel/statuses.js";
import { orderRouteFlags } from "../routing/order-route.js";
import type { AppContext } from "../runtime/context.js";
import { groupByProvider } from "./group-by-provider.js";
import { findCustomerOrders } from "./order-status.js";

export const CANCEL_NOT_AVAILABLE = "Cancel is not available for this order";

export type CancelResult =
  | { order: number | string; cancel: { status: "success" } }
  | { order: number | string; error: string };

function cancellable(ctx: AppContext, order: Order): boolean {
  if (order.submission !== "submitted" || order.upstreamOrderId === null) return false;
  if (FINAL_ORDER_STATUSES.has(order.status as OrderStatus)) return false;
  return orderRouteFlags(ctx.db, order).cancel;
}

/**
 * Asks the upstreams to cancel the customer's orders `ids` (given order kept).
 * @param ids pairs of the id as the customer wrote it and the parsed id (undefined: never ours).
 */
export async function requestCancels(
  ctx: AppContext,
  customerId: number,
  ids: ReadonlyArray<{ text: string; id: number | undefined }>,
): Promise<CancelResult[]> {
  const known = findCustomerOrders(
    ctx,
    customerId,
    ids.flatMap((i) => (i.id === undefined ? [] : [i.id])),
  );
  const results = new Map<number, CancelResult>();
  const eligible: Order[] = [];
  for (const order of known.values()) {
    if (cancellable(ctx, order)) eligible.push(order);
    else results.set(order.id, { order: order.id, error: CANCEL_NOT_AVAILABLE });
  }
  await Promise.all(
    [...groupByProvider(eligible)].map(async ([providerId, group]) => {
      const client = ctx.providers.get(providerId);
      const outcome = client
        ? await client.cancel(
            group.map((o) => o.upstreamOrderId ?? ""),
            { priority: "customer" },
          )
        : undefined;
      for (const order of group) {
        if (outcome?.kind !== "ok") {
          results.set(order.id, { order: order.id, error: "Upstream provider error" });
          continue;
        }
        const item = outcome.value.get(order.upstreamOrderId ?? "");
        results.set(
          order.id,
          item && !("error" in item)
            ? { order: order.id, cancel: { status: "success" } }
            : { order: order.id, error: CANCEL_NOT_AVAILABLE },
        );
      }
      if (outcome && outcome.kind !== "ok") {
        ctx.logger.warn({ providerId, outcome: outcome.kind, failure: outcome.failure }, "cancel not forwarded");
      }
    }),
  );
  return ids.map(
    ({ text, id }) =>
      (id !== undefined ? results.get(id) : undefined) ?? {
        order: id ?? text,
        error: "Incorrect order ID",
      },
  );
}
