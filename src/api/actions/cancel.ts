import { type CancelResult, requestCancels } from "../../orders/cancel.js";
import { badRequest } from "../../orders/errors.js";
import { parseIdList } from "../../orders/ids.js";
import type { ActionHandler } from "./types.js";

/** One cancel result in the PerfectPanel form (seed `000_*` "Create cancel"). */
function perfectPanelItem(result: CancelResult): { order: number | string; cancel: 1 | { error: string } } {
  return "error" in result
    ? { order: result.order, cancel: { error: result.error } }
    : { order: result.order, cancel: 1 };
}

/**
 * `cancel` with `orders` (or one `order`, answered in the same list form), in the customer's
 * answer style: seed `003_*` (`panel`, the default)
 * `[{"order": 9, "cancel": {"status": "success"}}, {"order": 2, "error": "Incorrect order ID"}]`,
 * or seed `000_*` (`perfectpanel`) `[{"order": 9, "cancel": 1}, {"order": 2, "cancel": {"error": "Incorrect order ID"}}]`.
 */
export const cancel: ActionHandler = async ({ ctx, customer, fields }) => {
  const list = fields.orders ?? fields.order;
  if (list === undefined) throw badRequest();
  const results = await requestCancels(ctx, customer.id, parseIdList(list));
  return customer.apiStyle === "perfectpanel" ? results.map(perfectPanelItem) : results;
};
