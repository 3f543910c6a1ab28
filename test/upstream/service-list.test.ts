/**
 * The catalogue's entry-by-entry reader (`parseServices`, issue #14's memory goal) gives the
 * values and problem texts of the zod schema it replaces, `z.array(serviceEntry)`.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseServices, serviceEntry } from "../../src/upstream/dialects/perfectpanel.js";
import { parseWith } from "../../src/upstream/dialects/schemas.js";

const reference = (body: unknown) => parseWith(z.array(serviceEntry), body);

const base = { service: 1, name: "Followers", type: "Default", category: "IG", rate: "0.90", min: 10, max: 1000 };

/** Entries the fast reader takes, entries it leaves to zod, entries zod refuses. */
const variants: Record<string, unknown>[] = [
  base,
  { ...base, service: "17" },
  { ...base, service: " 17 " },
  { ...base, service: "1,2" },
  { ...base, service: -1 },
  { ...base, service: 1.5 },
  { ...base, service: 2 ** 60 },
  { ...base, type: undefined },
  { ...base, type: null },
  { ...base, category: null },
  { ...base, category: undefined },
  { ...base, category: 5 },
  { ...base, rate: 0.0000001 },
  { ...base, rate: 1e21 },
  { ...base, rate: " 1.5 " },
  { ...base, rate: "1,5" },
  { ...base, rate: "" },
  { ...base, min: "10" },
  { ...base, min: "10.00" },
  { ...base, min: " 10 " },
  { ...base, min: 10.5 },
  { ...base, max: "1e3" },
  { ...base, refill: true, cancel: 1, dripfeed: "1" },
  { ...base, refill: "true", cancel: "false", dripfeed: "" },
  { ...base, refill: 0, cancel: null, dripfeed: false },
  { ...base, refill: "yes" },
  { ...base, cancel: 2 },
  { ...base, name: 7 },
  { ...base, name: "" },
];

describe("services answer read entry by entry", () => {
  it.each(variants.map((v, i) => [i, v] as const))("entry variant %i reads as the schema reads it", (_, entry) => {
    const body = [base, entry];
    const expected = reference(body);
    expect(parseServices(body)).toEqual(expected);
  });

  it("gives the exact values of a typical entry", () => {
    expect(parseServices([{ ...base, refill: 1, rate: 0.0000001 }])).toEqual({
      ok: true,
      value: [
        {
          service: "1",
          name: "Followers",
          type: "Default",
          category: "IG",
          rate: "0.0000001",
          min: 10,
          max: 1000,
          refill: true,
          cancel: false,
          dripfeed: false,
        },
      ],
    });
  });

  it("names the first refused entry and field, as the schema does", () => {
    const body = [base, { ...base, rate: "1,5" }, { ...base, min: "x" }];
    const parsed = parseServices(body);
    expect(parsed).toEqual(reference(body));
    expect(parsed.ok === false && parsed.problem).toMatch(/^unrecognised answer at 1\.rate: /);
  });

  it.each([[[]], [{}], [null], ["services"], [[null]], [[[]]]])(
    "non-list body %j reads as the schema reads it",
    (body) => {
      expect(parseServices(body)).toEqual(reference(body));
    },
  );
});
