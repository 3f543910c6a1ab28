/**
 * Exact money. Amounts are integers of 1/100000 of the currency unit ("minor units"), the
 * precision panels use for `charge` and `balance` strings (seed `000_*`: "0.27819",
 * "100.84292"). No float ever holds an amount: decimal strings are parsed with decimal.js,
 * and products that could pass 2^53 are computed in BigInt.
 *
 * Rounding rules (issue #2, docs/api.md "Money rules"):
 * - a sell rate (price per 1000) is rounded UP to 4 decimals;
 * - a charge = rate × quantity / 1000 is rounded UP to 5 decimals;
 * - a refund is rounded DOWN to 5 decimals, and refunds on an order never exceed its charge.
 */
import { Decimal } from "decimal.js";

/**
 * decimal.js for money (issue #11): 200 significant digits (the default 20 rounds products such
 * as 0.9 × 1.111111111111111111112 to 1), and `toString` never in exponent notation ("1e-8").
 * Every money computation uses it.
 */
export const MoneyDecimal = Decimal.clone({ precision: 200, toExpNeg: -9e15, toExpPos: 9e15 });

/** Integer count of 1/100000 currency units. Always a safe integer. */
export type Minor = number;

export const MINOR_PER_UNIT = 100_000;
const SCALE = 5;

/** Thrown when a string is not an exact decimal amount we accept. */
export class InvalidAmountError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`invalid amount "${input}": ${reason}`);
    this.name = "InvalidAmountError";
  }
}

const STRICT_AMOUNT = /^-?\d{1,12}(\.\d{1,5})?$/;

/**
 * Parses a decimal string with at most 5 decimals ("10", "0.5", "-3.25") into minor units.
 * @throws InvalidAmountError for anything else (exponents, more decimals, empty, > 12 integer digits).
 */
export function parseAmount(text: string): Minor {
  const trimmed = text.trim();
  if (!STRICT_AMOUNT.test(trimmed)) {
    throw new InvalidAmountError(text, "expected a decimal number with at most 5 decimals");
  }
  return toMinorExact(new MoneyDecimal(trimmed));
}

/** Minor units of an exact decimal (no rounding). */
function toMinorExact(value: Decimal): Minor {
  const minor = value.times(MINOR_PER_UNIT);
  if (!minor.isInteger()) throw new InvalidAmountError(value.toString(), "more than 5 decimals");
  const n = minor.toNumber();
  if (!Number.isSafeInteger(n)) throw new InvalidAmountError(value.toString(), "out of range");
  return n;
}

/**
 * Prints minor units as a decimal string with exactly 5 decimals ("100.84292", "-0.50000"),
 * the form panels use for balances and charges.
 */
export function formatAmount(minor: Minor): string {
  assertMinor(minor);
  // Integer arithmetic on a safe integer is exact: `%` of two integers, and the division of an
  // exact multiple of 100000 (issue #14: ~1 µs less per `status` answer than decimal.js).
  const negative = minor < 0;
  const abs = negative ? -minor : minor;
  const fraction = abs % MINOR_PER_UNIT;
  const whole = (abs - fraction) / MINOR_PER_UNIT;
  return `${negative ? "-" : ""}${whole}.${String(fraction).padStart(SCALE, "0")}`;
}

/**
 * Prints a rate (minor units per 1000) with trailing zeros trimmed but at least 2 decimals
 * ("0.90", "1.125", "8.00"), as panels print `rate` in `services`.
 */
export function formatRate(minor: Minor): string {
  assertMinor(minor);
  const text = new MoneyDecimal(minor).dividedBy(MINOR_PER_UNIT).toFixed(SCALE).replace(/0+$/, "");
  const [whole = "0", frac = ""] = text.split(".");
  return `${whole}.${frac.padEnd(2, "0")}`;
}

/**
 * Parses a tolerant upstream decimal ("0.9", 0.9, "1.234567", " 8 ") into a Decimal.
 * JSON numbers are read through their shortest decimal string, which is exact for the
 * short decimals panels send.
 * @returns undefined when the value is not a finite non-exponent decimal.
 */
export function parseUpstreamDecimal(value: unknown): Decimal | undefined {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : undefined;
  if (text === undefined || !/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  return new MoneyDecimal(text);
}

/** Rounds a decimal amount UP (toward +∞) to minor units. */
export function ceilToMinor(value: Decimal): Minor {
  return checked(value.times(MINOR_PER_UNIT).toDecimalPlaces(0, Decimal.ROUND_CEIL).toNumber());
}

/** Rounds a decimal amount DOWN (toward −∞) to minor units. */
export function floorToMinor(value: Decimal): Minor {
  return checked(value.times(MINOR_PER_UNIT).toDecimalPlaces(0, Decimal.ROUND_FLOOR).toNumber());
}

/** Rounds a decimal amount half-up to minor units (for informational costs, never for charges). */
export function roundToMinor(value: Decimal): Minor {
  return checked(value.times(MINOR_PER_UNIT).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber());
}

/** Rounds a rate (decimal per 1000) UP to 4 decimals, in minor units (a multiple of 10). */
export function ceilRateToMinor(rate: Decimal): Minor {
  return checked(rate.toDecimalPlaces(4, Decimal.ROUND_CEIL).times(MINOR_PER_UNIT).toNumber());
}

/** Minor units as a Decimal in currency units (exact). */
export function minorToDecimal(minor: Minor): Decimal {
  return new MoneyDecimal(minor).dividedBy(MINOR_PER_UNIT);
}

/**
 * The charge for `quantity` units at `rate` (minor units per 1000): rate × quantity / 1000,
 * rounded up to 5 decimals. Computed in BigInt, so no product overflows.
 * @throws RangeError when the result is not a safe integer.
 */
export function chargeFor(rate: Minor, quantity: number): Minor {
  assertMinor(rate);
  if (!Number.isSafeInteger(quantity) || quantity < 0) throw new RangeError(`bad quantity ${quantity}`);
  const product = BigInt(rate) * BigInt(quantity);
  const charge = (product + 999n) / 1000n;
  return checked(Number(charge));
}

/**
 * The refund for an order that delivered `quantity - remains` of `quantity`:
 * charge × remains / quantity, rounded down to 5 decimals. `remains` is clamped to 0..quantity.
 */
export function partialRefund(charge: Minor, remains: number, quantity: number): Minor {
  assertMinor(charge);
  if (quantity <= 0) return 0;
  const clamped = Math.min(Math.max(remains, 0), quantity);
  return Number((BigInt(charge) * BigInt(clamped)) / BigInt(quantity));
}

function assertMinor(minor: Minor): void {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`not an integer amount: ${minor}`);
}

function checked(minor: number): Minor {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`amount out of range: ${minor}`);
  return minor;
}
