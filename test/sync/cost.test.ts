/** `convertedCost` agrees exactly with decimal.js `roundToMinor(charge × rate)` at money precision. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MoneyDecimal, roundToMinor } from "../../src/billing/money.js";
import { convertedCost } from "../../src/sync/cost.js";

const decimalText = (maxInt: number, maxScale: number) =>
  fc
    .tuple(fc.integer({ min: 0, max: maxInt }), fc.integer({ min: 0, max: maxScale }), fc.boolean())
    .chain(([whole, scale, negative]) =>
      fc
        .integer({ min: 0, max: 10 ** scale - 1 })
        .map(
          (frac) =>
            `${negative && whole + frac > 0 ? "-" : ""}${whole}${scale > 0 ? `.${String(frac).padStart(scale, "0")}` : ""}`,
        ),
    );

describe("convertedCost", () => {
  it("rounds half-up (away from zero) to 5 decimals", () => {
    expect(convertedCost("0.27819", "1.08")).toBe(30_045);
    expect(convertedCost("0.000005", "1")).toBe(1);
    expect(convertedCost("0.0000049", "1")).toBe(0);
    expect(convertedCost("-0.000005", "1")).toBe(-1);
    expect(convertedCost("4.5", "1")).toBe(450_000);
    expect(convertedCost(" 12 ", "0.9")).toBe(1_080_000);
    expect(convertedCost("1e3", "1")).toBeNull();
    expect(convertedCost("abc", "1")).toBeNull();
    expect(convertedCost("1", "x")).toBeNull();
    expect(convertedCost("99999999999999999999", "1")).toBeNull();
  });

  it("matches decimal.js for any charge and rate", () => {
    fc.assert(
      fc.property(decimalText(1_000_000, 8), decimalText(1000, 6), (charge, rate) => {
        // The oracle multiplies exactly (MoneyDecimal's 200 digits): decimal.js's default 20
        // significant digits would round a 25-digit product first and differ by one minor unit.
        // + 0: decimal.js may give -0 where the exact answer is 0.
        expect(convertedCost(charge, rate)).toBe(roundToMinor(new MoneyDecimal(charge).times(rate)) + 0);
      }),
      { numRuns: 2000 },
    );
  });
});
