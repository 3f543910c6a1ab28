/**
 * Fuzzing the config file loader (issue #8): whatever the file holds, `loadProvidersFile`
 * either returns a config or throws a `ConfigError` whose every line names where the problem
 * is (`<path>: ...`); it never crashes with another error.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadProvidersFile, type ProvidersConfig } from "../../src/config/providers-file.js";
import { tempDir } from "./harness.js";

const dir = tempDir("smm-fuzz-config-");
const file = dir.file("providers.json");
afterAll(() => dir.remove());

/** A `${NAME}` reference to an environment variable, as the config file writes it. */
const envRef = (name: string) => `$\{${name}}`;

const VALID = {
  currency: "USD",
  markup: { percent: 20 },
  exchangeRates: { EUR: "1.08" },
  flagAfterMisses: 5,
  providers: [
    {
      id: "jap",
      dialect: "jap",
      url: "https://jap.example/api/v2",
      key: envRef("JAP_KEY"),
      currency: "EUR",
      rateLimit: { requests: 60, intervalMs: 60000 },
      concurrency: 4,
      timeoutMs: 30000,
    },
    { id: "panel", dialect: "panel", url: "http://panel.example/api/v2", key: "k" },
  ],
  services: [
    { id: 1, provider: "jap", upstreamService: 1, markup: { fixed: "0.50" }, min: 10, max: 100 },
    { id: 2, provider: "panel", upstreamService: "abc", rate: "1.25", enabled: false },
  ],
};

/**
 * One line of a ConfigError: `<where>: <what>`, where is `(file)`, a JSON path from a
 * top-level field (keys may be any text), or the file's own path; no control characters.
 */
const PROBLEM_LINE =
  /^(\(file\)|(currency|markup|exchangeRates|flagAfterMisses|providers|services)\b\P{Cc}*|\/\P{Cc}+): \P{Cc}+$/u;

/** Loads `text` as the providers file; returns the config or the error's problem lines. */
function load(
  text: string,
  env: Record<string, string | undefined> = { JAP_KEY: "secret" },
): ProvidersConfig | string[] {
  writeFileSync(file, text);
  try {
    return loadProvidersFile(file, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const line of problems) expect(line).toMatch(PROBLEM_LINE);
    expect((error as ConfigError).message).toBe(problems.join("\n"));
    return problems;
  }
}

type Json = unknown;

/** `value` with the node at `path` replaced by `replacement` (or deleted when undefined). */
function mutate(value: Json, path: readonly (string | number)[], replacement: Json): Json {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    const i = Number(head) % Math.max(1, copy.length);
    copy[i] = mutate(copy[i], rest, replacement);
    return copy;
  }
  if (value !== null && typeof value === "object") {
    const copy: Record<string, Json> = { ...(value as Record<string, Json>) };
    const key = String(head);
    if (replacement === undefined && rest.length === 0) delete copy[key];
    else copy[key] = mutate(copy[key], rest, replacement);
    return copy;
  }
  return replacement;
}

/** Paths into VALID, as lists of keys/indexes. */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

const PATHS = pathsOf(VALID);

const weirdValue = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    -1,
    0,
    1.5,
    2 ** 53 + 1,
    Number.MAX_VALUE,
    "",
    " ",
    "NaN",
    "1e400",
    "-0.00001",
    "0.000001",
    envRef(""),
    envRef("UNSET_VAR"),
    "ftp://x",
    "http://",
    "__proto__",
    null,
    [],
    {},
  ),
);

describe("fuzzing the providers file loader", () => {
  it("the valid base file loads", () => {
    const config = load(JSON.stringify(VALID));
    expect(Array.isArray(config)).toBe(false);
  });

  it("arbitrary text: a config or a named error, never a crash", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: "binary", maxLength: 200 }),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.constantFrom("", "\uFEFF{}", "null", "[]", "{", '{"providers": []}', '{"__proto__": {"providers": 1}}'),
          // A valid file cut at any point.
          fc.nat({ max: JSON.stringify(VALID).length }).map((n) => JSON.stringify(VALID).slice(0, n)),
        ),
        (text) => {
          load(text);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("one node of a valid file replaced or removed: a config or errors naming a path", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PATHS),
        fc.option(weirdValue, { nil: undefined }),
        fc.boolean(),
        (path, replacement, addKey) => {
          let raw = mutate(VALID, path, replacement);
          if (addKey && raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
            raw = { ...(raw as Record<string, Json>), unexpected: replacement ?? 1 };
          }
          const result = load(JSON.stringify(raw) ?? "");
          if (addKey && typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
            expect(result).toEqual(
              expect.arrayContaining([expect.stringMatching(/^\(file\): Unrecognized keys?: .*"unexpected"/)]),
            );
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it("key references resolve from any environment or name the missing variable", () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 20 }), { nil: undefined }), (value) => {
        const result = load(JSON.stringify(VALID), { JAP_KEY: value });
        if (value === undefined || value === "") {
          expect(result).toEqual(["providers[0].key: environment variable JAP_KEY is not set"]);
        } else {
          expect(Array.isArray(result)).toBe(false);
          expect((result as ProvidersConfig).providers[0]?.key).toBe(value);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("a missing file and a folder are named errors", () => {
    const missing = dir.file("nope.json");
    expect(() => loadProvidersFile(missing, {})).toThrow(
      new ConfigError([`${missing}: cannot read the providers file (ENOENT)`]),
    );
    const folder = dir.file("folder");
    mkdirSync(folder);
    expect(() => loadProvidersFile(folder, {})).toThrow(
      new ConfigError([`${folder}: cannot read the providers file (EISDIR)`]),
    );
  });
});
