/**
 * The upstream charge of an order converted into our currency, for `orders.cost`
 * (informational: never charged or refunded): charge × exchange rate, rounded half-up (away
 * from zero) to minor units, exactly as `roundToMinor(charge × rate)` but in BigInt, since
 * status sync does this for every answered order.
 */
import type { Minor } from "../billing/money.js";

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

interface Scaled {
  negative: boolean;
  digits: bigint;
  scale: number;
}

function scaled(text: string): Scaled | undefined {
  const m = DECIMAL.exec(text.trim());
  if (m === null) return undefined;
  const frac = m[3] ?? "";
  return { negative: m[1] === "-", digits: BigInt(`${m[2]}${frac}`), scale: frac.length };
}

const rates = new Map<string, Scaled | undefined>();

/**
 * `charge` (decimal string, provider currency) × `exchangeRate` (decimal string) in minor
 * units of our currency, rounded half-up.
 * @returns null when either is not a plain decimal or the result is not a safe integer.
 */
export function convertedCost(charge: string, exchangeRate: string): Minor | null {
  const c = scaled(charge);
  if (c === undefined) return null;
  let r = rates.get(exchangeRate);
  if (r === undefined && !rates.has(exchangeRate)) {
    r = scaled(exchangeRate);
    if (rates.size > 1000) rates.clear();
    rates.set(exchangeRate, r);
  }
  if (r === undefined) return null;
  const product = c.digits * r.digits;
  const scale = c.scale + r.scale;
  let minor: bigint;
  if (scale <= 5) minor = product * 10n ** BigInt(5 - scale);
  else {
    const divisor = 10n ** BigInt(scale - 5);
    minor = (product + divisor / 2n) / divisor;
  }
  const n = Number(c.negative !== r.negative ? -minor : minor);
  return Number.isSafeInteger(n) ? n : null;
}
