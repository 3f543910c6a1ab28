/** Tolerant parsing and status normalisation of the dialect readers (no HTTP). */
import { describe, expect, it } from "vitest";
import { chunk } from "../../src/upstream/client.js";
import { dialectSpec } from "../../src/upstream/dialects/index.js";
import { formatDecimal } from "../../src/upstream/dialects/schemas.js";

const jap = dialectSpec("jap");
const panel = dialectSpec("panel");

function state(status: string) {
  const parsed = jap.status.parse({ status });
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value;
}

describe("order status normalisation", () => {
  it.each([
    ["Pending", "Pending"],
    ["pending", "Pending"],
    ["PENDING", "Pending"],
    ["In progress", "In progress"],
    ["in progress", "In progress"],
    ["Inprogress", "In progress"],
    ["In_Progress", "In progress"],
    ["Active", "In progress"],
    ["Processing", "Processing"],
    ["Partial", "Partial"],
    ["Completed", "Completed"],
    ["Done", "Completed"],
    ["Canceled", "Canceled"],
    ["Cancelled", "Canceled"],
    ["Refunded", "Canceled"],
    ["Fail", "Failed"],
    ["Failed", "Failed"],
    ["Error", "Failed"],
  ])("%s → %s", (raw, canonical) => {
    expect(state(raw)).toEqual({
      status: canonical,
      rawStatus: raw,
      charge: null,
      startCount: null,
      remains: null,
      currency: null,
    });
  });

  it("an unknown spelling is reported as null + raw, never Pending", () => {
    expect(state("Awaiting moderation")).toMatchObject({ status: null, rawStatus: "Awaiting moderation" });
    expect(state("")).toMatchObject({ status: null, rawStatus: "" });
  });

  it("unknown statuses inside a batch too", () => {
    const parsed = jap.multiStatus.parse({ "5": { status: "Queued" }, "6": { status: "done" } });
    expect(parsed).toEqual({
      ok: true,
      value: new Map([
        ["5", { status: null, rawStatus: "Queued", charge: null, startCount: null, remains: null, currency: null }],
        [
          "6",
          { status: "Completed", rawStatus: "done", charge: null, startCount: null, remains: null, currency: null },
        ],
      ]),
    });
  });
});

describe("refill status normalisation", () => {
  it.each([
    ["Completed", "Completed"],
    ["completed", "Completed"],
    ["Rejected", "Rejected"],
    ["Pending", "Pending"],
    ["In progress", "In progress"],
    ["Cancelled", "Rejected"],
    ["Error", "Failed"],
  ])("%s → %s", (raw, canonical) => {
    expect(jap.refillStatus.parse({ status: raw })).toEqual({ ok: true, value: { status: canonical, rawStatus: raw } });
  });

  it("unknown → null + raw", () => {
    expect(jap.refillStatus.parse({ status: "Awaiting" })).toEqual({
      ok: true,
      value: { status: null, rawStatus: "Awaiting" },
    });
  });
});

describe("string/number tolerance", () => {
  it("numbers as numbers, negative remains, empty/null fields, extra fields ignored", () => {
    expect(
      jap.status.parse({
        charge: 0.27819,
        start_count: 3572,
        status: "Partial",
        remains: "-5",
        currency: "USD",
        extra: { nested: true },
      }),
    ).toEqual({
      ok: true,
      value: {
        status: "Partial",
        rawStatus: "Partial",
        charge: "0.27819",
        startCount: 3572,
        remains: -5,
        currency: "USD",
      },
    });
    expect(jap.status.parse({ charge: "", start_count: null, status: "Pending", remains: "" })).toEqual({
      ok: true,
      value: { status: "Pending", rawStatus: "Pending", charge: null, startCount: null, remains: null, currency: null },
    });
  });

  it("order and refill ids as numbers or strings", () => {
    expect(jap.add.parse({ order: 23501 })).toEqual({ ok: true, value: { order: "23501" } });
    expect(jap.add.parse({ order: "23501" })).toEqual({ ok: true, value: { order: "23501" } });
    expect(jap.refill.parse({ refill: 1 })).toEqual({ ok: true, value: { refill: "1" } });
    expect(jap.refill.parse({ refill: "1" })).toEqual({ ok: true, value: { refill: "1" } });
    expect(jap.multiRefill.parse([{ order: "1", refill: "7" }])).toEqual({
      ok: true,
      value: new Map([["1", { refill: "7" }]]),
    });
  });

  it("service flags as 1/0 strings, numeric rates, missing category", () => {
    expect(
      jap.services.parse([
        {
          service: "9",
          name: "X",
          type: "Package",
          rate: 1.5,
          min: 1,
          max: "1",
          refill: "1",
          cancel: 0,
          dripfeed: true,
        },
      ]),
    ).toEqual({
      ok: true,
      value: [
        {
          service: "9",
          name: "X",
          type: "Package",
          category: "",
          rate: "1.5",
          min: 1,
          max: 1,
          refill: true,
          cancel: false,
          dripfeed: true,
        },
      ],
    });
  });

  it('cancel accepted as 1, "1" or true; 0 is an item error', () => {
    expect(
      jap.cancel.parse([
        { order: 1, cancel: 1 },
        { order: 2, cancel: "1" },
        { order: 3, cancel: true },
        { order: 4, cancel: 0 },
        { order: 5, error: "Incorrect order ID" },
      ]),
    ).toEqual({
      ok: true,
      value: new Map<string, unknown>([
        ["1", { ok: true }],
        ["2", { ok: true }],
        ["3", { ok: true }],
        ["4", { error: "cancel not accepted (0)" }],
        ["5", { error: "Incorrect order ID" }],
      ]),
    });
  });

  it("panel cancel: success, item error, other status", () => {
    expect(
      panel.cancel.parse([
        { order: 9, cancel: { status: "success" } },
        { order: 2, error: "Incorrect order ID" },
        { order: 3, cancel: { status: "failed" } },
      ]),
    ).toEqual({
      ok: true,
      value: new Map<string, unknown>([
        ["9", { ok: true }],
        ["2", { error: "Incorrect order ID" }],
        ["3", { error: 'cancel status "failed"' }],
      ]),
    });
  });

  it("an empty PHP array is an empty multi-status map", () => {
    expect(jap.multiStatus.parse([])).toEqual({ ok: true, value: new Map() });
  });

  it("balance: number, missing currency", () => {
    expect(jap.balance.parse({ balance: 12.5 })).toEqual({ ok: true, value: { balance: "12.5", currency: null } });
  });

  it("unrecognised shapes name where they failed", () => {
    expect(jap.status.parse({ state: "Partial" })).toEqual({
      ok: false,
      problem: "unrecognised answer at status: Invalid input: expected string, received undefined",
    });
    expect(jap.add.parse({ order: "" })).toMatchObject({ ok: false });
    expect(jap.services.parse({ data: [] })).toMatchObject({ ok: false });
  });

  it("formatDecimal never uses exponents", () => {
    expect(formatDecimal(1e-7)).toBe("0.0000001");
    expect(formatDecimal(0.27819)).toBe("0.27819");
    expect(formatDecimal(100)).toBe("100");
  });
});

describe("forms", () => {
  it("add never lets a parameter override key or action", () => {
    const request = { service: "1", link: "l", action: "balance", key: "x" } as { service: string; link: string };
    expect(jap.add.form(request)).toEqual({ action: "add", service: "1", link: "l" });
  });

  it("multi-status action per dialect", () => {
    expect(jap.multiStatus.form(["1", "2"])).toEqual({ action: "status", orders: "1,2" });
    expect(dialectSpec("morethanpanel").multiStatus.form(["1"])).toEqual({ action: "status", orders: "1" });
    expect(dialectSpec("justprovider").multiStatus.form(["1"])).toEqual({ action: "status", orders: "1" });
    expect(panel.multiStatus.form(["1", "2"])).toEqual({ action: "multiStatus", orders: "1,2" });
  });

  it("chunk splits id lists into calls of at most 100", () => {
    const ids = Array.from({ length: 250 }, (_, i) => String(i));
    expect(chunk(ids, 100).map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunk(ids).map((c) => c[0])).toEqual(["0", "100", "200"]);
    expect(chunk([], 100)).toEqual([]);
    expect(() => chunk(ids, 0)).toThrow(RangeError);
  });
});
