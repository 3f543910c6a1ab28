import {
  claimIdempotencyKey,
  hashRequest,
  recordIdempotentAnswer,
  releaseIdempotencyKey,
} from "../../orders/idempotency.js";
import { placeOrder } from "../../orders/place-order.js";
import { PresetAnswer } from "../preset-answer.js";
import type { ActionHandler } from "./types.js";

/**
 * `add` → `{"order": <local id>}` (seed `000_*` "Add order"; seed `003_*` parameter sets), for
 * a placed order and for one held because the upstream did not confirm it (issue #11).
 * With an `Idempotency-Key` header, a repeat within 24 h replays `{"order": N}` of the order
 * the key placed (the key is bound to the order with its charge); a request that placed
 * nothing (refused, refunded, 503) releases the key, so retrying with it can place the order.
 */
export const add: ActionHandler = async ({ ctx, customer, fields, header }) => {
  const key = header("idempotency-key");
  if (key === undefined) return placeOrder(ctx, { customerId: customer.id, fields });
  const requestHash = hashRequest(fields);
  const claim = claimIdempotencyKey(ctx, customer.id, key, requestHash);
  if (claim.kind === "replay") return new PresetAnswer(claim.statusCode, JSON.parse(claim.body));
  let answer: { order: number };
  try {
    answer = await placeOrder(ctx, { customerId: customer.id, fields, idempotency: { key, requestHash } });
  } catch (error) {
    try {
      releaseIdempotencyKey(ctx, customer.id, key);
    } catch (releaseError) {
      ctx.logger.error({ err: releaseError }, "could not release an idempotency key");
    }
    throw error;
  }
  try {
    recordIdempotentAnswer(ctx, customer.id, key, 200, JSON.stringify(answer));
  } catch (error) {
    // The key is already bound to the order (with its charge): replays answer it anyway.
    ctx.logger.error({ err: error, orderId: answer.order }, "could not store the idempotent answer");
  }
  return answer;
};
