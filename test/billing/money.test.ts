import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ceilRateToMinor,
  ceilToMinor,
  chargeFor,
  floorToMinor,
  formatAmount,
  formatRate,
  InvalidAmountError,
  MINOR_PER_UNIT,
  parseAmount,
  partialRefund,
} from "../../src/billing/money.js";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const minor = fc.maxSafeInteger();

/** Exact decimal text of minor units, computed in BigInt (independent of decimal.js). */
function bigFormat(m: bigint): string {
  const sign = m < 0n ? "-" : "";
  const abs = m < 0n ? -m : m;
  return `${sign}${abs / 100_000n}.${(abs % 100_000n).toString().padStart(5, "0")}`;
}

describe("parseAmount / formatAmount", () => {
  it("round-trips every safe amount: parse(format(m)) == m", () => {
    fc.assert(
      fc.property(minor, (m) => {
        expect(parseAmount(formatAmount(m))).toBe(m);
      }),
    );
  });

  it("always prints exactly 5 decimals, matching BigInt arithmetic", () => {
    fc.assert(
      fc.property(minor, (m) => {
        const text = formatAmount(m);
        expect(text).toMatch(/^-?\d+\.\d{5}$/);
        expect(text).toBe(bigFormat(BigInt(m)));
      }),
    );
  });

  it.each([
    [0, "0.00000"],
    [1, "0.00001"],
    [-1, "-0.00001"],
    [99_999, "0.99999"],
    [100_000, "1.00000"],
    [-100_000, "-1.00000"],
    [27_819, "0.27819"],
    [Number.MAX_SAFE_INTEGER, "90071992547.40991"],
    [-Number.MAX_SAFE_INTEGER, "-90071992547.40991"],
    [Number.MAX_SAFE_INTEGER - 40_991, "90071992547.00000"],
    [Number.MAX_SAFE_INTEGER - 40_992, "90071992546.99999"],
  ])("formats %d minor units as %s", (m, text) => {
    expect(formatAmount(m)).toBe(text);
  });

  it("parses any decimal with up to 5 decimals exactly", () => {
    const decimalText = fc
      .tuple(
        fc.boolean(),
        fc.stringMatching(/^\d{1,10}$/),
        fc.option(fc.stringMatching(/^\d{1,5}$/), { nil: undefined }),
      )
      .map(([neg, whole, frac]) => `${neg ? "-" : ""}${whole}${frac === undefined ? "" : `.${frac}`}`);
    fc.assert(
      fc.property(decimalText, (text) => {
        const negative = text.startsWith("-");
        const [whole = "0", frac = ""] = text.replace("-", "").split(".");
        const abs = BigInt(whole) * 100_000n + BigInt(frac.padEnd(5, "0"));
        expect(BigInt(parseAmount(text))).toBe(negative ? -abs : abs);
        expect(formatAmount(parseAmount(text))).toBe(bigFormat(negative ? -abs : abs));
      }),
    );
  });

  it.each(["", "abc", "1e5", "0.123456", "1,5", "--1", ".5", "5.", "+1", "1234567890123", "Infinity", "NaN"])(
    "rejects %j",
    (text) => {
      expect(() => parseAmount(text)).toThrow(InvalidAmountError);
    },
  );

  it("accepts surrounding spaces and examples from the seeds", () => {
    expect(parseAmount(" 100.84292 ")).toBe(10_084_292);
    expect(parseAmount("0.27819")).toBe(27_819);
    expect(parseAmount("-3.25")).toBe(-325_000);
    expect(formatAmount(-50_000)).toBe("-0.50000");
  });

  it("refuses to format non-integers", () => {
    expect(() => formatAmount(0.5)).toThrow(RangeError);
    expect(() => formatAmount(Number.NaN)).toThrow(RangeError);
  });

  it("formats rates with at least 2 decimals, trimmed", () => {
    expect(formatRate(90_000)).toBe("0.90");
    expect(formatRate(800_000)).toBe("8.00");
    expect(formatRate(112_500)).toBe("1.125");
    expect(formatRate(1)).toBe("0.00001");
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 12 }), (m) => {
        expect(parseAmount(formatRate(m))).toBe(m);
      }),
    );
  });
});

describe("chargeFor", () => {
  it("is ceil(rate × quantity / 1000), exactly as BigInt computes it", () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 12 }), fc.nat({ max: 10 ** 9 }), (rate, quantity) => {
        const exact = (BigInt(rate) * BigInt(quantity) + 999n) / 1000n;
        if (exact > MAX_SAFE) {
          expect(() => chargeFor(rate, quantity)).toThrow(RangeError);
          return;
        }
        const charge = BigInt(chargeFor(rate, quantity));
        expect(charge).toBe(exact);
        // the smallest amount covering the exact product
        expect(charge * 1000n >= BigInt(rate) * BigInt(quantity)).toBe(true);
        if (charge > 0n) expect((charge - 1n) * 1000n < BigInt(rate) * BigInt(quantity)).toBe(true);
      }),
    );
  });

  it("never overflows on large products", () => {
    // 9e15 × 1000 would pass 2^53 in float arithmetic
    expect(chargeFor(9_000_000_000_000, 1000)).toBe(9_000_000_000_000);
    expect(() => chargeFor(Number.MAX_SAFE_INTEGER, 2000)).toThrow(RangeError);
  });

  it("rounds up to the next minor unit", () => {
    expect(chargeFor(90_000, 1)).toBe(90); // 0.90 per 1000 → 0.00090
    expect(chargeFor(1, 1)).toBe(1); // 0.00001 per 1000 × 1 → rounded up to 0.00001
    expect(chargeFor(112_500, 3)).toBe(338); // 0.003375 → 0.00338
    expect(chargeFor(123_450, 0)).toBe(0);
  });

  it("refuses bad quantities and rates", () => {
    expect(() => chargeFor(100, -1)).toThrow(RangeError);
    expect(() => chargeFor(100, 1.5)).toThrow(RangeError);
    expect(() => chargeFor(0.5, 10)).toThrow(RangeError);
  });
});

describe("partialRefund", () => {
  it("never exceeds the charge nor goes below zero, and is floor(charge × remains / quantity)", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10 ** 15 }),
        fc.integer({ min: -1000, max: 2_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (charge, remains, quantity) => {
          const refund = partialRefund(charge, remains, quantity);
          expect(refund).toBeGreaterThanOrEqual(0);
          expect(refund).toBeLessThanOrEqual(charge);
          const clamped = BigInt(Math.min(Math.max(remains, 0), quantity));
          expect(BigInt(refund)).toBe((BigInt(charge) * clamped) / BigInt(quantity));
        },
      ),
    );
  });

  it("refunds everything when nothing was delivered and nothing when all was", () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 15 }), fc.integer({ min: 1, max: 10 ** 6 }), (charge, quantity) => {
        expect(partialRefund(charge, quantity, quantity)).toBe(charge);
        expect(partialRefund(charge, 0, quantity)).toBe(0);
      }),
    );
  });

  it("charge minus refund is never less than the charge for what was delivered", () => {
    // the customer pays at least the rounded-down share: the refund is rounded down
    fc.assert(
      fc.property(
        fc.nat({ max: 10 ** 12 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.nat({ max: 100_000 }),
        (rate, quantity, r) => {
          const remains = r % (quantity + 1);
          const charge = chargeFor(rate, quantity);
          const refund = partialRefund(charge, remains, quantity);
          expect(BigInt(charge - refund) * BigInt(quantity)).toBeGreaterThanOrEqual(
            BigInt(charge) * BigInt(quantity - remains),
          );
        },
      ),
    );
  });

  it("returns 0 for an empty quantity", () => {
    expect(partialRefund(100, 5, 0)).toBe(0);
  });
});

describe("ceilRateToMinor", () => {
  /** A decimal rate as numerator / 10^scale, up to 10 decimals. */
  const rate = fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** 10n }), fc.integer({ min: 0, max: 10 }))
    .map(([numerator, scale]) => ({ numerator, scale, value: new Decimal(numerator.toString()).div(10 ** scale) }));

  it("rounds up to 4 decimals: a multiple of 10 minor units, within one step above the exact rate", () => {
    fc.assert(
      fc.property(rate, ({ numerator, scale, value }) => {
        const result = BigInt(ceilRateToMinor(value));
        expect(result % 10n).toBe(0n);
        // exact rate in minor units = numerator × 10^5 / 10^scale
        const exactScaled = numerator * 100_000n; // × 10^scale
        const pow = 10n ** BigInt(scale);
        expect(result * pow >= exactScaled).toBe(true);
        expect((result - 10n) * pow < exactScaled).toBe(true);
      }),
    );
  });

  it("keeps rates that already have 4 decimals", () => {
    expect(ceilRateToMinor(new Decimal("0.9"))).toBe(90_000);
    expect(ceilRateToMinor(new Decimal("1.1234"))).toBe(112_340);
    expect(ceilRateToMinor(new Decimal("1.12341"))).toBe(112_350);
    expect(ceilRateToMinor(new Decimal("0.00001"))).toBe(10);
  });

  it("refuses rates beyond the safe range instead of losing precision", () => {
    expect(() => ceilRateToMinor(new Decimal("100000000000"))).toThrow(RangeError);
  });
});

describe("ceilToMinor / floorToMinor", () => {
  it("bracket the exact value within one minor unit", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 10n), max: 10n ** 10n }), fc.integer({ min: 0, max: 9 }), (n, scale) => {
        const value = new Decimal(n.toString()).div(10 ** scale);
        const up = ceilToMinor(value);
        const down = floorToMinor(value);
        const exact = value.times(MINOR_PER_UNIT);
        expect(exact.lte(up)).toBe(true);
        expect(exact.gte(down)).toBe(true);
        expect(up - down).toBeLessThanOrEqual(1);
        expect(up === down).toBe(exact.isInteger());
      }),
    );
  });
});
