/**
 * Tolerant zod building blocks for panel answers (issue #3: "numbers may come as strings or
 * numbers, `refill` ids as "1" or 1, extra fields are ignored").
 */
import { Decimal } from "decimal.js";
import { z } from "zod";
import { normalizeOrderStatus, normalizeRefillStatus } from "../../panel/statuses.js";
import type { ItemError, UpstreamOrderState, UpstreamRefillState } from "../types.js";
import type { Parsed } from "./types.js";

const NUMERIC = /^-?\d+(\.\d+)?$/;

/**
 * Formats a finite number as a plain decimal string (no exponent): 1e-7 → "0.0000001".
 * Goes through the number's shortest decimal text with decimal.js, so no float step adds
 * binary noise to an upstream rate or charge.
 */
export function formatDecimal(value: number): string {
  const plain = String(value);
  if (!/e/i.test(plain)) return plain;
  return new Decimal(plain).toFixed();
}

/** An id sent as a number or a string: `1`, `"1"` → `"1"`. */
export const idString = z.union([
  z
    .number()
    .int()
    .nonnegative()
    .transform((v) => String(v)),
  z
    .string()
    .trim()
    .regex(/^[^\s,]+$/),
]);

/** A decimal amount sent as a number or a string → exact decimal string ("0.27819"). */
export const decimalString = z.union([
  z
    .number()
    .refine(Number.isFinite)
    .transform((v) => formatDecimal(v)),
  z.string().trim().regex(NUMERIC),
]);

/** An integer sent as a number or a numeric string. */
export const integer = z.union([
  z.number().int(),
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.0+)?$/)
    .transform((v) => Number.parseInt(v, 10)),
]);

/** Optional field: absent, null or "" → null. */
function nullable<T extends z.ZodType>(schema: T) {
  return z
    .union([z.null(), z.literal(""), schema])
    .optional()
    .transform((v) => (v === undefined || v === null || v === "" ? null : (v as z.output<T>)));
}

export const optionalDecimal = nullable(decimalString);
export const optionalInteger = nullable(integer);

/** A boolean flag sent as true/false, 1/0, "1"/"0", "true"/"false"; absent → false. */
export const flag = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.enum(["0", "1", "true", "false", ""]), z.null()])
  .optional()
  .transform((v) => v === true || v === 1 || v === "1" || v === "true");

/** `{"error": "Incorrect order ID"}` inside a batch answer. */
export const itemError = z.object({ error: z.string() }).transform((v): ItemError => ({ error: v.error }));

/** One order state (seed `000_*` "Order status"); unknown status spellings → status null + raw. */
export const orderState = z
  .object({
    status: z.string(),
    charge: optionalDecimal,
    start_count: optionalInteger,
    remains: optionalInteger,
    currency: z
      .string()
      .nullish()
      .transform((v) => (v === undefined || v === null || v.trim() === "" ? null : v.trim())),
  })
  .transform(
    (v): UpstreamOrderState => ({
      status: normalizeOrderStatus(v.status) ?? null,
      rawStatus: v.status,
      charge: v.charge,
      startCount: v.start_count,
      remains: v.remains,
      currency: v.currency,
    }),
  );

/** `{"status": "Completed"}` (seed `000_*` "Get refill status"); unknown → status null + raw. */
export const refillState = z.string().transform(
  (raw): UpstreamRefillState => ({
    status: normalizeRefillStatus(raw) ?? null,
    rawStatus: raw,
  }),
);

/** PHP panels encode an empty map as `[]`; accept it as an empty object. */
export const emptyArrayAsObject = z.array(z.never()).length(0);

/** Runs `schema` and turns its first issue into a one-line problem. */
export function parseWith<T>(schema: z.ZodType<T>, body: unknown): Parsed<T> {
  const result = schema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join(".") : "(body)";
  return { ok: false, problem: `unrecognised answer at ${where}: ${issue?.message ?? "invalid"}` };
}
