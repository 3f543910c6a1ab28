/**
 * An order's customer `Idempotency-Key` as the operator reads it (`orders show`): the key the
 * customer sent (migration 0008), whether it still replays this order or another order holds it
 * now (`keyBindingOf`, the reading `orders reroute` acts on), or that it is unknown (a failed
 * order from before orders remembered their key, migration 0011) and what to do about it.
 * Read-only.
 */
import type { Db } from "../db/client.js";
import type { Order } from "../db/schema.js";
import { IDEMPOTENCY_TTL_MS, keyBindingOf } from "./idempotency.js";

/**
 * - `none`: the `add` carried no key;
 * - `unknown`: failed before orders remembered their key; a retry may have placed another order;
 * - `bound`: a repeat with the key replays this order (until `until`);
 * - `expired`: the key named this order, but its 24 h are over: a repeat places a new order;
 * - `rebound`: the key now belongs to order `orderId`, the customer's retry of the same request;
 * - `reused`: the key now belongs to order `orderId`, a later different request;
 * - `in_progress`: a request with the key is being placed right now;
 * - `released`: nothing holds the key (the order failed): a repeat places a new order.
 */
export type KeyStateKind = "none" | "unknown" | "bound" | "expired" | "rebound" | "reused" | "in_progress" | "released";

export interface OrderKeyState {
  kind: KeyStateKind;
  /** The key exactly as the customer sent it; null for `none` and `unknown`. */
  key: string | null;
  /** The order the key replays now: this order (`bound`) or another (`rebound`, `reused`); else null. */
  orderId: number | null;
  /** `bound`/`expired`: when a repeat stops replaying this order, epoch ms; else null. */
  until: number | null;
  /** The operator's sentence: what it means and, where something is to do, what. */
  meaning: string;
}

/**
 * The key state of `order` now.
 * @param now epoch ms, for the 24 h replay window and claims left behind.
 */
export function orderKeyState(
  db: Db,
  order: Pick<
    Order,
    "id" | "customerId" | "submission" | "idempotencyKey" | "idempotencyRequestHash" | "idempotencyKeyUnknown"
  >,
  now: number,
): OrderKeyState {
  const failed = order.submission === "failed";
  const key = order.idempotencyKey;
  if (key === null) {
    if (!order.idempotencyKeyUnknown) {
      return { kind: "none", key: null, orderId: null, until: null, meaning: "the add carried no Idempotency-Key" };
    }
    return {
      kind: "unknown",
      key: null,
      orderId: null,
      until: null,
      meaning: failed
        ? `it failed before orders remembered their Idempotency-Key, so a retry of it may have placed another order: before orders reroute ${order.id}, check customer ${order.customerId}'s orders since for one that repeats it; if none does, reroute it with --key-checked; if one does, do not reroute it`
        : "it failed before orders remembered their Idempotency-Key and was placed again after the operator checked (--key-checked)",
    };
  }
  const base = { key, orderId: null, until: null };
  const binding = keyBindingOf(db, order, now);
  switch (binding.kind) {
    case "this_order": {
      const until = binding.since + IDEMPOTENCY_TTL_MS;
      return until > now
        ? {
            kind: "bound",
            key,
            orderId: order.id,
            until,
            meaning:
              order.submission === "queued"
                ? `bound to this order, which is still being placed: a repeat with the key is refused (409) until it is, then answers order ${order.id} until ${new Date(until).toISOString()}`
                : `bound to this order: a repeat with the key answers order ${order.id} until ${new Date(until).toISOString()}`,
          }
        : {
            kind: "expired",
            key,
            orderId: null,
            until,
            meaning: `was bound to this order until ${new Date(until).toISOString()} (24 h): a repeat with the key now places a new order`,
          };
    }
    case "order":
      if (binding.sameRequest) {
        return {
          ...base,
          kind: "rebound",
          orderId: binding.orderId,
          meaning: `re-bound to order ${binding.orderId}, the customer's retry of the same request${failed ? `: orders reroute refuses this order (it would charge customer ${order.customerId} twice)` : ""}`,
        };
      }
      return {
        ...base,
        kind: "reused",
        orderId: binding.orderId,
        meaning: `now bound to order ${binding.orderId}, a later request that reused the key after its 24 h${failed ? ": orders reroute places this order without the key" : ""}`,
      };
    case "in_progress":
      return {
        ...base,
        kind: "in_progress",
        meaning: `claimed by another request of customer ${order.customerId} being placed now${failed ? ": orders reroute refuses this order until that request is answered" : ""}`,
      };
    case "free":
      return {
        ...base,
        kind: "released",
        meaning: failed
          ? "released when the order failed: a repeat with the key places a new order; orders reroute binds it to this order again"
          : "not bound to any order: a repeat with the key places a new order",
      };
  }
}

/**
 * A customer's key as the operator reads it (`orders show`, the dashboard's order page): a JSON
 * string literal in printable ASCII, quotes, backslashes and every other character (control,
 * invisible, non-ASCII) escaped, so what the customer sent is visible exactly and `JSON.parse`
 * gives it back.
 */
export function quotedKey(key: string): string {
  return JSON.stringify(key).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
