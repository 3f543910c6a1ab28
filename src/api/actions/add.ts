import { DomainError } from "../../orders/errors.js";
import {
  claimIdempotencyKey,
  hashRequest,
  recordIdempotentAnswer,
  releaseIdempotencyKey,
} from "../../orders/idempotency.js";
import { placeOrder } from "../../orders/place-order.js";
import { toErrorAnswer } from "../errors.js";
import { PresetAnswer } from "../preset-answer.js";
import type { ActionHandler } from "./types.js";

/**
 * `add` → `{"order": <local id>}` (seed `000_*` "Add order"; seed `003_*` parameter sets).
 * With an `Idempotency-Key` header, a repeat within 24 h replays the first answer of a request
 * that created an order (placed, or held as unknown); a request that placed nothing (refused,
 * refunded, 503) releases the key, so retrying with it can place the order.
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
    if (error instanceof DomainError && error.code === "upstream_ambiguous") {
      const mapped = toErrorAnswer(error);
      recordIdempotentAnswer(ctx, customer.id, key, mapped.status, JSON.stringify(mapped.body));
    } else {
      releaseIdempotencyKey(ctx, customer.id, key);
    }
    throw error;
  }
};
