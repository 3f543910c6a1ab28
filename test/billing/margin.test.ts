/** Service margins (issue #7 `services list`, issue #13 Services page): exact, and the same as decimal.js reads them. */
import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { marginOf } from "../../src/billing/margin.js";
import { minorToDecimal } from "../../src/billing/money.js";

/**
 * The reading `services list` printed before margins moved out of the CLI, with enough
 * precision that the division is exact before the 2-decimal rounding (decimal.js's default 20
 * significant digits could round twice on rare quotients; BigInt never does).
 */
const Exact = Decimal.clone({ precision: 80 });

function withDecimal(rate: number, cost: string) {
  const sell = new Exact(minorToDecimal(rate).toString());
  const margin = sell.minus(new Exact(cost));
  return {
    margin: margin.toFixed(),
    marginPercent: sell.isZero() ? null : margin.dividedBy(sell).times(100).toFixed(2, Exact.ROUND_HALF_UP),
  };
}

describe("marginOf", () => {
  it("gives the margin and margin % of a sell rate over a cost", () => {
    expect(marginOf(112_500, "0.9")).toEqual({ margin: "0.225", marginPercent: "20.00" });
    expect(marginOf(1_000_000, "8")).toEqual({ margin: "2", marginPercent: "20.00" });
    expect(marginOf(805_000, "8")).toEqual({ margin: "0.05", marginPercent: "0.62" });
    expect(marginOf(90_000, "0.9")).toEqual({ margin: "0", marginPercent: "0.00" });
    expect(marginOf(80_000, "0.9")).toEqual({ margin: "-0.1", marginPercent: "-12.50" });
    expect(marginOf(0, "0.5")).toEqual({ margin: "-0.5", marginPercent: null });
    expect(marginOf(300_000, "1.123456789")).toEqual({ margin: "1.876543211", marginPercent: "62.55" });
    // 0.00003 − 0.0000049999 = 0.0000250001 → 83.33366…%: rounded once, from the exact quotient.
    expect(marginOf(3, "0.0000049999")).toEqual({ margin: "0.0000250001", marginPercent: "83.33" });
  });

  it("agrees with exact decimal arithmetic on any rate and cost", () => {
    const cost = fc
      .tuple(fc.integer({ min: 0, max: 99_999 }), fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 9 }))
      .map(([whole, frac]) => (frac === "" ? String(whole) : `${whole}.${frac}`));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000_000 }), cost, (rate, c) => {
        expect(marginOf(rate, c)).toEqual(withDecimal(rate, c));
      }),
      { numRuns: 2000, seed: 13013 },
    );
  });
});
