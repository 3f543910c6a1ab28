import { badRequest, DomainError, unknownOrder, upstreamFailed } from "../../orders/errors.js";
import { parseIdList } from "../../orders/ids.js";
import { requestRefills } from "../../orders/refill.js";
import type { ActionHandler } from "./types.js";

/**
 * `refill` with `order` → `{"refill": "<local id>"}` (seed `000_*` "Create refill"; 404 unknown,
 * 400 not refillable, 502 upstream failure); with `orders` →
 * `[{"order": 1, "refill": 5}, {"order": 3, "refill": {"error": "..."}}]` ("Create multiple refill").
 */
export const refill: ActionHandler = async ({ ctx, customer, fields }) => {
  if (fields.orders !== undefined) {
    const results = await requestRefills(ctx, customer.id, parseIdList(fields.orders));
    return results.map((r) => ("refill" in r ? r : { order: r.order, refill: { error: r.error } }));
  }
  if (fields.order === undefined) throw badRequest();
  const [result] = await requestRefills(ctx, customer.id, parseIdList(fields.order).slice(0, 1));
  if (!result) throw badRequest();
  if ("refill" in result) return { refill: String(result.refill) };
  if (result.reason === "unknown_order") throw unknownOrder();
  if (result.reason === "upstream") throw upstreamFailed();
  throw new DomainError("bad_request", result.error);
};
