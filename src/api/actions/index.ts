/** The API v2 actions (seed `000_*`, seed `003_*`), by their `action` value. */
import { add } from "./add.js";
import { balance } from "./balance.js";
import { cancel } from "./cancel.js";
import { refill } from "./refill.js";
import { refillStatus } from "./refill-status.js";
import { services } from "./services.js";
import { multiStatus, status } from "./status.js";
import type { ActionHandler } from "./types.js";

export const ACTIONS: Readonly<Record<string, ActionHandler>> = {
  services,
  add,
  status,
  multiStatus,
  refill,
  refill_status: refillStatus,
  cancel,
  balance,
};

/**
 * The action a request names, or the one an old, widely copied PHP client means when it
 * sends no `action` (issue #4): `order`/`orders` → refill, `refill`/`refills` → refill_status.
 */
export function resolveAction(fields: Readonly<Record<string, string>>): string | undefined {
  if (fields.action !== undefined) return fields.action;
  if (fields.refill !== undefined || fields.refills !== undefined) return "refill_status";
  if (fields.order !== undefined || fields.orders !== undefined) return "refill";
  return undefined;
}
