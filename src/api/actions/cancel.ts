import { requestCancels } from "../../orders/cancel.js";
import { badRequest } from "../../orders/errors.js";
import { parseIdList } from "../../orders/ids.js";
import type { ActionHandler } from "./types.js";

/**
 * `cancel` with `orders` (or one `order`, answered in the same list form), seed `003_*`:
 * `[{"order": 9, "cancel": {"status": "success"}}, {"order": 2, "error": "Incorrect order ID"}]`.
 */
export const cancel: ActionHandler = ({ ctx, customer, fields }) => {
  const list = fields.orders ?? fields.order;
  if (list === undefined) throw badRequest();
  return requestCancels(ctx, customer.id, parseIdList(list));
};
