import { badRequest, unknownRefill } from "../../orders/errors.js";
import { parseId, parseIdList } from "../../orders/ids.js";
import { findCustomerRefills } from "../../orders/refill.js";
import type { ActionHandler } from "./types.js";

/**
 * `refill_status` with `refill` → `{"status": "Completed"}`; with `refills` →
 * `[{"refill": 1, "status": "Completed"}, {"refill": 3, "status": {"error": "Refill not found"}}]`
 * (seed `000_*` "Get refill status" / "Get multiple refill status"). From the store.
 */
export const refillStatus: ActionHandler = ({ ctx, customer, fields }) => {
  if (fields.refills !== undefined) {
    const ids = parseIdList(fields.refills);
    const found = findCustomerRefills(
      ctx,
      customer.id,
      ids.flatMap((i) => (i.id === undefined ? [] : [i.id])),
    );
    return ids.map(({ text, id }) => {
      const status = id === undefined ? undefined : found.get(id);
      return { refill: id ?? text, status: status ?? { error: "Refill not found" } };
    });
  }
  if (fields.refill === undefined) throw badRequest();
  const id = parseId(fields.refill);
  const status = id === undefined ? undefined : findCustomerRefills(ctx, customer.id, [id]).get(id);
  if (status === undefined) throw unknownRefill();
  return { status };
};
