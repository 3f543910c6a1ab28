import { badRequest, unknownOrder } from "../../orders/errors.js";
import { parseId, parseIdList } from "../../orders/ids.js";
import { findCustomerOrderStatus, findCustomerOrders, toStatusView } from "../../orders/order-status.js";
import type { ActionHandler } from "./types.js";

/**
 * `status` with `order` → one status object (404 "Incorrect order ID" when unknown or not
 * the customer's); with `orders` (and `multiStatus`) → an object keyed by id, with
 * `{"error": "Incorrect order ID"}` entries (seed `000_*`, seed `003_*` multiStatus). An
 * `order` holding a list (`order=1,2,3`, as a published client asks) answers like `orders`.
 */
export const status: ActionHandler = ({ ctx, customer, fields }) => {
  if (fields.orders !== undefined) return multiStatus({ ctx, customer, fields, header: () => undefined });
  if (fields.order === undefined) throw badRequest();
  if (fields.order.includes(",")) {
    return multiStatus({ ctx, customer, fields: { ...fields, orders: fields.order }, header: () => undefined });
  }
  const id = parseId(fields.order);
  const order = id === undefined ? undefined : findCustomerOrderStatus(ctx, customer.id, id);
  if (!order) throw unknownOrder();
  return toStatusView(order, customer.currency);
};

/** `multiStatus` with `orders` (seed `003_*`). */
export const multiStatus: ActionHandler = ({ ctx, customer, fields }) => {
  if (fields.orders === undefined) throw badRequest();
  const ids = parseIdList(fields.orders);
  const found = findCustomerOrders(
    ctx,
    customer.id,
    ids.flatMap((i) => (i.id === undefined ? [] : [i.id])),
  );
  const body: Record<string, unknown> = {};
  for (const { text, id } of ids) {
    const order = id === undefined ? undefined : found.get(id);
    body[text] = order ? toStatusView(order, customer.currency) : { error: "Incorrect order ID" };
  }
  return body;
};
