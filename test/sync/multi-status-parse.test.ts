/**
 * The fast multi-status reader (`src/upstream/dialects/multi-status.ts`) against the zod schema
 * it stands in for: on every body it accepts, it gives exactly the schema's value; what it
 * declines goes to the schema (same problems). Hand-picked shapes plus generated ones.
 */
import { describe, expect, it } from "vitest";
import { fastMultiStatus } from "../../src/upstream/dialects/multi-status.js";
import { multiStatusSchema, parseMultiStatus } from "../../src/upstream/dialects/perfectpanel.js";
import { parseWith } from "../../src/upstream/dialects/schemas.js";

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Field values the schema accepts for some fields, and values it never does (rarely picked). */
const FIELD_VALUES: unknown[] = [undefined, null, "", 0, 12, -3, 1.5, 1e-7, 2 ** 60, "0.27819", " 42 ", "42.00", "-7"];
const BAD_VALUES: unknown[] = [" ", "42.5", "1e3", "abc", true, [], {}];
const STATUSES: unknown[] = ["Completed", "In progress", "partial", "On hold", "constructor", ""];
const BAD_STATUSES: unknown[] = [5, null, undefined];
const CURRENCIES: unknown[] = [undefined, null, "", " USD ", "EUR"];
const BAD_CURRENCIES: unknown[] = [3, false];

function pick<T>(next: () => number, list: readonly T[]): T {
  return list[Math.floor(next() * list.length)] as T;
}

function generated(seed: number): unknown {
  const next = rng(seed);
  const body: Record<string, unknown> = {};
  const n = 1 + Math.floor(next() * 5);
  for (let i = 0; i < n; i++) {
    const roll = next();
    let value: unknown;
    if (roll < 0.1) value = { error: pick(next, ["Incorrect order ID", 5, null]) };
    else if (roll < 0.15) value = pick(next, [null, "x", 3, []]);
    else {
      const state: Record<string, unknown> = {};
      const fields: Array<[string, readonly unknown[], readonly unknown[]]> = [
        ["status", STATUSES, BAD_STATUSES],
        ["charge", FIELD_VALUES, BAD_VALUES],
        ["start_count", FIELD_VALUES, BAD_VALUES],
        ["remains", FIELD_VALUES, BAD_VALUES],
        ["currency", CURRENCIES, BAD_CURRENCIES],
      ];
      for (const [name, good, bad] of fields) {
        const v = pick(next, next() < 0.06 ? bad : good);
        if (v !== undefined || next() < 0.5) state[name] = v;
      }
      if (next() < 0.2) state.extra = "ignored";
      value = state;
    }
    body[String(1000 + i)] = value;
  }
  return JSON.parse(JSON.stringify(body));
}

function expectSameAsSchema(body: unknown): "fast" | "schema" {
  const schema = parseWith(multiStatusSchema, body);
  const fast = fastMultiStatus(body);
  expect(parseMultiStatus(body)).toEqual(schema);
  if (fast === undefined) return "schema";
  expect(schema.ok).toBe(true);
  if (schema.ok) {
    expect([...fast]).toEqual([...schema.value]);
  }
  return "fast";
}

describe("fastMultiStatus", () => {
  it("reads the seed shapes exactly as the schema does", () => {
    const bodies: unknown[] = [
      [],
      {},
      {
        "1": { charge: "0.27819", start_count: "3572", status: "Partial", remains: "157", currency: "USD" },
        "10": { error: "Incorrect order ID" },
        "100": { charge: 1.1, start_count: 1234, status: "In progress", remains: 10, currency: "" },
        "7": { status: "Done", charge: null, start_count: "", remains: null },
        "8": { status: "Completed", error: "also an error" },
      },
    ];
    for (const body of bodies) expect(expectSameAsSchema(body)).toBe("fast");
    expect(fastMultiStatus(bodies[2])?.get("1")).toEqual({
      status: "Partial",
      rawStatus: "Partial",
      charge: "0.27819",
      startCount: 3572,
      remains: 157,
      currency: "USD",
    });
    expect(fastMultiStatus(bodies[2])?.get("8")).toEqual({ error: "also an error" });
  });

  it("leaves what it is unsure about to the schema, with the schema's answer", () => {
    const bodies: unknown[] = [
      null,
      "x",
      [1],
      { "1": { status: "Completed", remains: "1e3" } },
      { "1": { status: 5 } },
      { "1": { error: 5, status: "Completed" } },
      { "1": [] },
      JSON.parse('{"__proto__": {"status": "Completed"}, "2": {"status": "Pending"}}'),
    ];
    for (const body of bodies) expect(expectSameAsSchema(body)).toBe("schema");
  });

  it("agrees with the schema on 3,000 generated bodies", () => {
    const paths = { fast: 0, schema: 0 };
    for (let seed = 1; seed <= 3000; seed++) paths[expectSameAsSchema(generated(seed))]++;
    // Both paths were exercised.
    expect(paths.fast).toBeGreaterThan(100);
    expect(paths.schema).toBeGreaterThan(100);
  });
});
