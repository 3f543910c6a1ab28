/**
 * Sell rates from upstream rates (issue #2 "Markup", issue #5 "Price and catalogue sync").
 * Order of operations: convert the upstream rate into our currency, apply the markup
 * (a `fixed` amount is in our currency), then round UP once to 4 decimals.
 * Rates are per 1000 units (a Package service: per package).
 */
import type { Markup } from "../config/providers-file.js";
import { ceilRateToMinor, type Minor, MoneyDecimal, minorToDecimal, parseAmount } from "./money.js";

export interface PricedRate {
  /** Our sell rate, minor units per 1000. */
  rate: Minor;
  /** The upstream rate in our currency, exact decimal string per 1000. */
  cost: string;
}

/**
 * @param upstreamRate the provider's rate per 1000, decimal string in its currency ("0.90").
 * @param exchangeRate one unit of the provider's currency in ours ("1.08"; "1" when equal).
 * @param rule a markup, or a fixed sell `rate` (decimal string in our currency) that wins.
 */
export function priceService(
  upstreamRate: string,
  exchangeRate: string,
  rule: { markup: Markup } | { rate: string },
): PricedRate {
  const cost = new MoneyDecimal(upstreamRate).times(new MoneyDecimal(exchangeRate));
  if ("rate" in rule) return { rate: parseAmount(rule.rate), cost: cost.toFixed() };
  const marked =
    "percent" in rule.markup
      ? cost.times(new MoneyDecimal(rule.markup.percent).dividedBy(100).plus(1))
      : cost.plus(minorToDecimal(parseAmount(rule.markup.fixed)));
  return { rate: ceilRateToMinor(marked), cost: cost.toFixed() };
}

/** True when the upstream cost (decimal per 1000, our currency) is at or above the sell rate: selling would lose money. */
export function isBelowCost(rate: Minor, cost: string): boolean {
  return new MoneyDecimal(cost).greaterThanOrEqualTo(minorToDecimal(rate));
}
