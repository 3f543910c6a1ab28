/** Groups orders by provider so each provider gets one upstream batch call (issue #4 refill/cancel). */
import type { Order } from "../db/schema.js";

export function groupByProvider(list: readonly Order[]): Map<string, Order[]> {
  const groups = new Map<string, Order[]>();
  for (const order of list) {
    const group = groups.get(order.providerId);
    if (group) group.push(order);
    else groups.set(order.providerId, [order]);
  }
  return groups;
}
