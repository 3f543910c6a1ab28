/**
 * Fast reader of the multi-status answer (seed `000_*` "Multiple orders status"; seed `003_*`
 * `multiStatus`), the hot shape of status sync (100 entries per call, issue #6).
 *
 * It checks every field exactly as the zod schemas of `schemas.ts` do (`itemError` first, then
 * `orderState`: `status` a string; `charge` absent/null/"" or a finite number or a numeric
 * string; `start_count`/`remains` absent/null/"" or a safe integer or an integer string;
 * `currency` absent/null or a string) and builds the same values, without zod's per-field
 * machinery. Whenever it meets anything it is not certain about (a wrong type, a key named
 * `__proto__`, a non-empty array, ...) it returns `undefined` and the caller runs the zod schema,
 * so answers and problem texts stay those of the schema.
 */
import { normalizeOrderStatus } from "../../panel/statuses.js";
import type { ItemError, UpstreamOrderState } from "../types.js";
import { formatDecimal } from "./schemas.js";

const NUMERIC = /^-?\d+(\.\d+)?$/;
const INTEGER = /^-?\d+(\.0+)?$/;

/** Marks a field the fast path cannot decide (the zod schema decides instead). */
const UNSURE = Symbol("unsure");

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalDecimal(value: unknown): string | null | typeof UNSURE {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value === "number") return Number.isFinite(value) ? formatDecimal(value) : UNSURE;
  if (typeof value === "string") {
    const trimmed = value.trim();
    return NUMERIC.test(trimmed) ? trimmed : UNSURE;
  }
  return UNSURE;
}

function optionalInteger(value: unknown): number | null | typeof UNSURE {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : UNSURE;
  if (typeof value === "string") {
    const trimmed = value.trim();
    return INTEGER.test(trimmed) ? Number.parseInt(trimmed, 10) : UNSURE;
  }
  return UNSURE;
}

function optionalCurrency(value: unknown): string | null | typeof UNSURE {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") return UNSURE;
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}

/** One entry: `{"error": ..}` or an order state; `undefined` when unsure. */
function entry(value: unknown): UpstreamOrderState | ItemError | undefined {
  if (!isObject(value)) return undefined;
  const error = value.error;
  if (typeof error === "string") return { error };
  if (error !== undefined) return undefined;
  const status = value.status;
  if (typeof status !== "string") return undefined;
  const charge = optionalDecimal(value.charge);
  const startCount = optionalInteger(value.start_count);
  const remains = optionalInteger(value.remains);
  const currency = optionalCurrency(value.currency);
  if (charge === UNSURE || startCount === UNSURE || remains === UNSURE || currency === UNSURE) return undefined;
  return { status: normalizeOrderStatus(status) ?? null, rawStatus: status, charge, startCount, remains, currency };
}

/**
 * Reads a parsed multi-status body: id → state or item error, as `multiStatusSchema` would.
 * @returns the map, or `undefined` when the body needs the full schema (it may still be valid).
 */
export function fastMultiStatus(body: unknown): Map<string, UpstreamOrderState | ItemError> | undefined {
  if (Array.isArray(body)) return body.length === 0 ? new Map() : undefined;
  if (!isObject(body)) return undefined;
  const proto = Object.getPrototypeOf(body);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const result = new Map<string, UpstreamOrderState | ItemError>();
  for (const key in body) {
    if (!Object.hasOwn(body, key) || key === "__proto__") return undefined;
    const value = entry(body[key]);
    if (value === undefined) return undefined;
    result.set(key, value);
  }
  return result;
}
