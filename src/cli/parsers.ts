/** Argument parsers for commander: each throws commander's InvalidArgumentError (usage error). */
import { InvalidArgumentError } from "commander";
import { InvalidAmountError, type Minor, parseAmount } from "../billing/money.js";

/** A positive integer id ("12"). */
export function parseId(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive integer id, got "${value}"`);
  }
  return n;
}

/** A non-negative integer ("0", "20"). */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  }
  return n;
}

/** A signed decimal amount with at most 5 decimals ("10", "-2.5"), in minor units. */
export function parseSignedAmount(value: string): Minor {
  try {
    return parseAmount(value);
  } catch (error) {
    if (error instanceof InvalidAmountError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** A non-negative decimal amount with at most 5 decimals, in minor units. */
export function parseNonNegativeAmount(value: string): Minor {
  const minor = parseSignedAmount(value);
  if (minor < 0) throw new InvalidArgumentError(`expected a non-negative amount, got "${value}"`);
  return minor;
}
