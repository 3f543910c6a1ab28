import { claimIdempotencyKey, hashRequest, recordIdempotentAnswer } from "../../orders/idempotency.js";
import { placeOrder } from "../../orders/place-order.js";
import { toErrorAnswer } from "../errors.js";
import { PresetAnswer } from "../preset-answer.js";
import type { ActionHandler } from "./types.js";

/**
 * `add` → `{"order": <local id>}` (seed `000_*` "Add order"; seed `003_*` parameter sets).
 * With an `Idempotency-Key` header, a repeat within 24 h replays the first answer.
 */
export const add: ActionHandler = async ({ ctx, customer, fields, header }) => {
  const key = header("idempotency-key");
  if (key === undefined) return placeOrder(ctx, { customerId: customer.id, fields });
  const claim = claimIdempotencyKey(ctx, customer.id, key, hashRequest(fields));
  if (claim.kind === "replay") return new PresetAnswer(claim.statusCode, JSON.parse(claim.body));
  try {
    const answer = await placeOrder(ctx, { customerId: customer.id, fields });
    recordIdempotentAnswer(ctx, customer.id, key, 200, JSON.stringify(answer));
    return answer;
  } catch (error) {
    const mapped = toErrorAnswer(error);
    if (!mapped.unexpected) recordIdempotentAnswer(ctx, customer.id, key, mapped.status, JSON.stringify(mapped.body));
    throw error;
  }
};
