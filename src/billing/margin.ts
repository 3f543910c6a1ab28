/**
 * What a sell rate earns over a cost (issue #7 `services list`, issue #13 Services page), exact:
 * the margin and margin % of a rate (minor units per 1000) over a cost (decimal string per 1000).
 * The services view built on it is `sync/service-view.ts`.
 */
import { Decimal } from "decimal.js";

/** Margin figures of a sell rate (minor units per 1000) over a cost (decimal string per 1000). */
export interface Margin {
  /** rate − cost, exact decimal string (negative when selling below cost). */
  margin: string;
  /** margin / rate × 100, 2 decimals (half-up); null when the rate is 0. */
  marginPercent: string | null;
}

/**
 * Exact margin of `rate` (minor units per 1000) over `cost` (decimal string per 1000, any
 * number of decimals), in BigInt: `margin` is the shortest exact decimal, `marginPercent` is
 * margin / rate × 100 rounded once, half away from zero, to 2 decimals from the exact quotient
 * (what decimal.js gives, without its rare double rounding at 20 significant digits), at a
 * fraction of the cost, so a page of 2,000 services stays fast.
 * @throws Error when `cost` is not a plain decimal string.
 */
export function marginOf(rate: number, cost: string): Margin {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(cost.trim());
  if (!match) throw new Error(`invalid cost "${cost}"`);
  const [, sign = "", whole = "0", frac = ""] = match;
  const scale = Math.max(MINOR_DECIMALS, frac.length);
  const costScaled = BigInt(`${sign}${whole}${frac.padEnd(scale, "0")}`);
  const sellScaled = BigInt(rate) * 10n ** BigInt(scale - MINOR_DECIMALS);
  const margin = sellScaled - costScaled;
  return {
    margin: decimalText(margin, scale),
    marginPercent: sellScaled === 0n ? null : percentText(margin, sellScaled),
  };
}

const MINOR_DECIMALS = 5;

/** `value / 10^scale` as the shortest exact decimal ("2", "0.225", "-0.05"). */
function decimalText(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, "");
  const text = frac === "" ? whole : `${whole}.${frac}`;
  return negative && text !== "0" ? `-${text}` : text;
}

/** margin / sell × 100 with 2 decimals, half away from zero (decimal.js ROUND_HALF_UP). */
function percentText(margin: bigint, sell: bigint): string {
  const negative = margin < 0n !== sell < 0n && margin !== 0n;
  const num = (margin < 0n ? -margin : margin) * 10_000n;
  const den = sell < 0n ? -sell : sell;
  let hundredths = num / den;
  if ((num % den) * 2n >= den) hundredths += 1n;
  const text = decimalText(hundredths, 2);
  const [whole, frac = ""] = text.split(".");
  const fixed = `${whole}.${frac.padEnd(2, "0")}`;
  return negative && hundredths !== 0n ? `-${fixed}` : fixed;
}

/**
 * Sorts services highest first by `margin` or `marginPercent` (exact; null values last),
 * then by id. Each value is parsed once, so 2,000 services sort in about a millisecond.
 */
export function sortByMargin<T extends { id: number; margin: string | null; marginPercent: string | null }>(
  list: readonly T[],
  by: "margin" | "marginPercent",
): T[] {
  const keyed = list.map((s) => ({ s, key: s[by] === null ? null : new Decimal(s[by]) }));
  keyed.sort((a, b) => {
    if (a.key === null || b.key === null) return (a.key === null ? 1 : 0) - (b.key === null ? 1 : 0) || a.s.id - b.s.id;
    return b.key.comparedTo(a.key) || a.s.id - b.s.id;
  });
  return keyed.map((k) => k.s);
}
