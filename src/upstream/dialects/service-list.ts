/**
 * Fast reader of one catalogue entry (seed `000_*` "Service list"; seed `003_*` `services`), the
 * shape a 20,000-service answer repeats 20,000 times (issue #14's memory goal).
 *
 * Reading such an answer through `z.array(serviceEntry)` kept zod's per-item and per-field
 * results of every entry alive until the whole array was read: ~25 MB surviving young-generation
 * collections for 20,000 entries (a 3.4 MB answer whose parsed JSON is 4.4 MB and whose result is
 * 1.7 MB), promoted to the old generation and left there as garbage until the next major GC.
 * This reader checks every field exactly as `serviceEntry` (`perfectpanel.ts`) does and builds
 * the same value: `service` a non-negative safe integer or a string without spaces or commas;
 * `name` a string; `type` a string or absent ("Default"); `category` a string, null or absent
 * (""); `rate` a finite number or a numeric string; `min`/`max` a safe integer or an integer
 * string; `refill`/`cancel`/`dripfeed` absent, null, a boolean, 0/1 or "0"/"1"/"true"/"false"/"".
 * Whenever it meets anything it is not certain about (a wrong type, padding spaces, a value the
 * schema would reject) it returns `undefined` and the caller runs the zod schema on that entry,
 * so values and problem texts stay the schema's.
 */
import type { UpstreamService } from "../types.js";
import { formatDecimal } from "./schemas.js";

const NUMERIC = /^-?\d+(\.\d+)?$/;
const INTEGER = /^-?\d+(\.0+)?$/;
const ID = /^[^\s,]+$/;

/** Marks a field the fast path cannot decide (the zod schema decides instead). */
const UNSURE = Symbol("unsure");

function id(value: unknown): string | typeof UNSURE {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? String(value) : UNSURE;
  return typeof value === "string" && ID.test(value) ? value : UNSURE;
}

function decimal(value: unknown): string | typeof UNSURE {
  if (typeof value === "number") return Number.isFinite(value) ? formatDecimal(value) : UNSURE;
  return typeof value === "string" && NUMERIC.test(value) ? value : UNSURE;
}

function integer(value: unknown): number | typeof UNSURE {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : UNSURE;
  return typeof value === "string" && INTEGER.test(value) ? Number.parseInt(value, 10) : UNSURE;
}

function flag(value: unknown): boolean | typeof UNSURE {
  switch (value) {
    case true:
    case 1:
    case "1":
    case "true":
      return true;
    case undefined:
    case null:
    case false:
    case 0:
    case "0":
    case "false":
    case "":
      return false;
    default:
      return UNSURE;
  }
}

/** One entry as `serviceEntry` reads it, or `undefined` when the zod schema must decide. */
export function fastServiceEntry(entry: unknown): UpstreamService | undefined {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return undefined;
  const e = entry as Record<string, unknown>;
  const service = id(e.service);
  if (service === UNSURE || typeof e.name !== "string") return undefined;
  const type = e.type === undefined ? "Default" : e.type;
  const category = e.category === undefined || e.category === null ? "" : e.category;
  if (typeof type !== "string" || typeof category !== "string") return undefined;
  const rate = decimal(e.rate);
  const min = integer(e.min);
  const max = integer(e.max);
  const refill = flag(e.refill);
  const cancel = flag(e.cancel);
  const dripfeed = flag(e.dripfeed);
  if (rate === UNSURE || min === UNSURE || max === UNSURE) return undefined;
  if (refill === UNSURE || cancel === UNSURE || dripfeed === UNSURE) return undefined;
  return { service, name: e.name, type, category, rate, min, max, refill, cancel, dripfeed };
}
