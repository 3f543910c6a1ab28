/**
 * Canonical order and refill statuses, and the tolerant normalisation of upstream spellings.
 *
 * Sources: seed `000_*`/`001_*` (Pending, In progress, Processing, Partial, Completed, Canceled),
 * seed `003_*` ("Possible status values: Pending In progress Partial Completed Done Canceled Failed"),
 * seeds `000`/`002`/`004` refill statuses (Completed, Rejected). Other spellings seen on
 * PerfectPanel-style panels are accepted (issue #3): any case, `Cancelled`, `Refunded`, `Fail`,
 * `Error`, `Done`, `Inprogress`, `Active`.
 */

export const ORDER_STATUSES = [
  "Pending",
  "In progress",
  "Processing",
  "Partial",
  "Completed",
  "Canceled",
  "Failed",
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Statuses after which an order never changes again upstream (issue #5). */
export const FINAL_ORDER_STATUSES: ReadonlySet<OrderStatus> = new Set(["Completed", "Partial", "Canceled", "Failed"]);

export const REFILL_STATUSES = ["Pending", "In progress", "Completed", "Rejected", "Failed"] as const;
export type RefillStatus = (typeof REFILL_STATUSES)[number];
export const FINAL_REFILL_STATUSES: ReadonlySet<RefillStatus> = new Set(["Completed", "Rejected", "Failed"]);

/**
 * Lower-cased, space/underscore/hyphen-free spelling → canonical order status. A `Map`, not an
 * object literal, so upstream text such as "constructor" or "__proto__" is never found on
 * `Object.prototype`.
 */
const ORDER_SPELLINGS: ReadonlyMap<string, OrderStatus> = new Map(
  Object.entries({
    pending: "Pending",
    inprogress: "In progress",
    active: "In progress",
    processing: "Processing",
    partial: "Partial",
    completed: "Completed",
    complete: "Completed",
    done: "Completed",
    canceled: "Canceled",
    cancelled: "Canceled",
    refunded: "Canceled",
    failed: "Failed",
    fail: "Failed",
    error: "Failed",
  } satisfies Record<string, OrderStatus>),
);

/** Same as `ORDER_SPELLINGS`, for refills. */
const REFILL_SPELLINGS: ReadonlyMap<string, RefillStatus> = new Map(
  Object.entries({
    pending: "Pending",
    inprogress: "In progress",
    processing: "In progress",
    active: "In progress",
    completed: "Completed",
    complete: "Completed",
    done: "Completed",
    rejected: "Rejected",
    canceled: "Rejected",
    cancelled: "Rejected",
    failed: "Failed",
    fail: "Failed",
    error: "Failed",
  } satisfies Record<string, RefillStatus>),
);

function squash(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, "");
}

/**
 * Maps an upstream order status to the canonical set.
 * @returns the canonical status, or `undefined` when the spelling is unknown (never guessed).
 */
export function normalizeOrderStatus(raw: string): OrderStatus | undefined {
  return ORDER_SPELLINGS.get(squash(raw));
}

/** Maps an upstream refill status to the canonical set; `undefined` when unknown. */
export function normalizeRefillStatus(raw: string): RefillStatus | undefined {
  return REFILL_SPELLINGS.get(squash(raw));
}
