import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, formatPath, loadProvidersFile, parseProvidersConfig } from "../../src/config/providers-file.js";

const EXAMPLE = join(import.meta.dirname, "../../providers.example.json");
/** `${NAME}`, an environment reference in the config file. */
const ref = (name: string) => `\${${name}}`;
const ENV = { JAP_API_KEY: "jap-key", MORETHANPANEL_API_KEY: "mtp-key", JUSTPROVIDER_API_KEY: "jp-key" };
const dir = mkdtempSync(join(tmpdir(), "smm-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small valid file: two providers (one in EUR), three services. */
function validFile() {
  return {
    currency: "USD",
    exchangeRates: { EUR: "1.08" } as Record<string, string>,
    providers: [
      { id: "jap", dialect: "jap", url: "https://justanotherpanel.com/api/v2", key: ref("JAP_API_KEY") },
      {
        id: "mtp",
        dialect: "morethanpanel",
        url: "https://morethanpanel.com/api/v2",
        key: "literal-key",
        currency: "EUR",
      },
    ] as Record<string, unknown>[],
    services: [
      { id: 1, provider: "jap", upstreamService: 1 },
      { id: 2, provider: "jap", upstreamService: "2", markup: { fixed: "0.5" } },
      { id: 3, provider: "mtp", upstreamService: 7, rate: "1.25" },
    ] as Record<string, unknown>[],
  };
}

function problems(raw: unknown, env: Record<string, string | undefined> = ENV): string[] {
  try {
    parseProvidersConfig(raw, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

function loadProblems(path: string): string[] {
  try {
    loadProvidersFile(path, ENV);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("providers.example.json", () => {
  it("loads with the three seed providers, EUR conversion and every markup kind", () => {
    const config = loadProvidersFile(EXAMPLE, ENV);
    expect(config.currency).toBe("USD");
    expect(config.providers.map((p) => [p.id, p.dialect, p.url, p.currency, p.exchangeRate])).toEqual([
      ["jap", "jap", "https://justanotherpanel.com/api/v2", "USD", "1"],
      ["morethanpanel", "morethanpanel", "https://morethanpanel.com/api/v2", "EUR", "1.08"],
      ["justprovider", "justprovider", "https://justprovider.net/api/v2", "USD", "1"],
    ]);
    expect(config.providers.map((p) => p.key)).toEqual(["jap-key", "mtp-key", "jp-key"]);
    const services = config.services;
    expect(services.some((s) => s.markup !== undefined && "percent" in s.markup)).toBe(true);
    expect(services.some((s) => s.markup !== undefined && "fixed" in s.markup)).toBe(true);
    expect(services.some((s) => s.rate !== undefined)).toBe(true);
    expect(services.some((s) => s.min !== undefined || s.max !== undefined)).toBe(true);
    expect(new Set(services.map((s) => s.provider))).toEqual(new Set(["jap", "morethanpanel", "justprovider"]));
  });

  it("references its keys only through environment variables", () => {
    const raw = JSON.parse(readFileSync(EXAMPLE, "utf8")) as { providers: { key: string }[] };
    expect(raw.providers.map((p) => p.key)).toEqual([
      ref("JAP_API_KEY"),
      ref("MORETHANPANEL_API_KEY"),
      ref("JUSTPROVIDER_API_KEY"),
    ]);
  });
});

describe("parseProvidersConfig", () => {
  it("fills the documented defaults", () => {
    const config = parseProvidersConfig(validFile(), ENV);
    expect(config.markup).toEqual({ percent: "0" });
    expect(config.flagAfterMisses).toBe(5);
    const [jap, mtp] = config.providers;
    expect(jap).toMatchObject({
      name: "jap",
      currency: "USD",
      exchangeRate: "1",
      key: "jap-key",
      rateLimit: { requests: 60, intervalMs: 60_000 },
      concurrency: 4,
      timeoutMs: 30_000,
    });
    expect(mtp).toMatchObject({ currency: "EUR", exchangeRate: "1.08", key: "literal-key" });
    expect(config.services.map((s) => [s.upstreamService, s.enabled])).toEqual([
      ["1", true],
      ["2", true],
      ["7", true],
    ]);
  });

  it.each<[string, (f: ReturnType<typeof validFile>) => void, string[]]>([
    [
      "an unknown provider",
      (f) => {
        f.services[2] = { id: 3, provider: "jpp", upstreamService: 7 };
      },
      ['services[2].provider: unknown provider "jpp"'],
    ],
    [
      "a fixed sell rate with 5 decimals",
      (f) => {
        f.services.push({ id: 9, provider: "jap", upstreamService: 9, rate: "12.00005" });
      },
      ["services[3].rate: expected a rate with at most 4 decimals (sell rates are kept to 4 decimals)"],
    ],
    [
      "a duplicate provider id",
      (f) => {
        f.providers.push({ id: "jap", dialect: "panel", url: "https://other.example/api/v2", key: "k" });
      },
      ['providers[2].id: duplicate provider id "jap"'],
    ],
    [
      "a duplicate service id",
      (f) => {
        f.services.push({ id: 2, provider: "jap", upstreamService: 9 });
      },
      ["services[3].id: duplicate service id 2"],
    ],
    [
      "a non-http URL",
      (f) => {
        f.providers[0] = { ...f.providers[0], url: "ftp://justanotherpanel.com/api/v2" };
      },
      ["providers[0].url: expected an http(s) URL"],
    ],
    [
      "a malformed URL",
      (f) => {
        f.providers[1] = { ...f.providers[1], url: "not a url" };
      },
      ["providers[1].url: expected an http(s) URL"],
    ],
    [
      "a negative fixed rate",
      (f) => {
        f.services[2] = { ...f.services[2], rate: "-1" };
      },
      ["services[2].rate: expected a non-negative decimal rate"],
    ],
    [
      "a negative percent markup",
      (f) => {
        f.services[0] = { ...f.services[0], markup: { percent: -5 } };
      },
      ["services[0].markup.percent: expected a non-negative decimal percent"],
    ],
    [
      "a negative fixed markup",
      (f) => {
        f.services[1] = { ...f.services[1], markup: { fixed: "-0.5" } };
      },
      ["services[1].markup.fixed: expected a non-negative decimal amount"],
    ],
    [
      "a negative exchange rate",
      (f) => {
        f.exchangeRates = { EUR: "-1.08" };
      },
      ["exchangeRates.EUR: expected a non-negative decimal exchange rate"],
    ],
    [
      "a negative concurrency",
      (f) => {
        f.providers[0] = { ...f.providers[0], concurrency: -1 };
      },
      ["providers[0].concurrency: expected a positive integer"],
    ],
    [
      "a zero timeout",
      (f) => {
        f.providers[0] = { ...f.providers[0], timeoutMs: 0 };
      },
      ["providers[0].timeoutMs: expected a positive integer"],
    ],
    [
      "a negative min",
      (f) => {
        f.services[0] = { ...f.services[0], min: -10 };
      },
      ["services[0].min: expected a positive integer"],
    ],
    [
      "min above max",
      (f) => {
        f.services[0] = { ...f.services[0], min: 100, max: 10 };
      },
      ["services[0]: min must not exceed max"],
    ],
    [
      "both rate and markup",
      (f) => {
        f.services[2] = { ...f.services[2], markup: { percent: "10" } };
      },
      ["services[2]: give either rate or markup, not both"],
    ],
    [
      "a missing exchange rate",
      (f) => {
        f.exchangeRates = {};
      },
      ["providers[1].currency: no exchangeRates entry for EUR"],
    ],
    [
      "an unknown dialect",
      (f) => {
        f.providers[0] = { ...f.providers[0], dialect: "smmpanel" };
      },
      ["providers[0].dialect: expected one of jap, morethanpanel, justprovider, panel"],
    ],
    [
      "a lowercase currency",
      (f) => {
        f.currency = "usd";
      },
      ["currency: expected a 3-letter currency code like USD"],
    ],
  ])("rejects %s with its exact line", (_what, mutate, expected) => {
    const file = validFile();
    mutate(file);
    expect(problems(file)).toEqual(expected);
  });

  it("names the unset environment variable of a key", () => {
    expect(problems(validFile(), {})).toEqual(["providers[0].key: environment variable JAP_API_KEY is not set"]);
    expect(problems(validFile(), { JAP_API_KEY: "" })).toEqual([
      "providers[0].key: environment variable JAP_API_KEY is not set",
    ]);
  });

  it("lists every unset variable of the example file, one line each", () => {
    const raw: unknown = JSON.parse(readFileSync(EXAMPLE, "utf8"));
    expect(problems(raw, { MORETHANPANEL_API_KEY: "x" })).toEqual([
      "providers[0].key: environment variable JAP_API_KEY is not set",
      "providers[2].key: environment variable JUSTPROVIDER_API_KEY is not set",
    ]);
  });

  it("rejects a file without providers", () => {
    expect(problems({ providers: [] })).toEqual(["providers: declare at least one provider"]);
    expect(problems([])).toEqual(["(file): Invalid input: expected object, received array"]);
  });

  it("formats paths", () => {
    expect(formatPath(["services", 2, "provider"])).toBe("services[2].provider");
    expect(formatPath(["exchangeRates", "EUR"])).toBe("exchangeRates.EUR");
    expect(formatPath([])).toBe("(file)");
  });
});

describe("loadProvidersFile", () => {
  it("reports where the JSON breaks, without quoting the file (it holds keys)", () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, '{"providers": [\n  {"key": "upstream-secret" "id": "x"}]}');
    expect(loadProblems(path)).toEqual([`${path}: invalid JSON at line 2 column 29`]);
    const truncated = join(dir, "truncated.json");
    writeFileSync(truncated, '{"providers": [');
    expect(loadProblems(truncated)).toEqual([`${truncated}: invalid JSON (unexpected end of file)`]);
  });

  it("reports a missing file", () => {
    const path = join(dir, "nope.json");
    expect(loadProblems(path)).toEqual([`${path}: cannot read the providers file (ENOENT)`]);
  });

  it("reports a directory", () => {
    expect(loadProblems(dir)).toEqual([`${dir}: cannot read the providers file (EISDIR)`]);
  });

  it("validates what it read", () => {
    const path = join(dir, "bad.json");
    const file = validFile();
    file.services[2] = { id: 3, provider: "jpp", upstreamService: 7 };
    writeFileSync(path, JSON.stringify(file));
    expect(loadProblems(path)).toEqual(['services[2].provider: unknown provider "jpp"']);
  });
});

describe("zeroMarkupServices", () => {
  it("lists the services that would sell at cost (own or default zero markup), not fixed rates", async () => {
    const { zeroMarkupServices } = await import("../../src/config/providers-file.js");
    const config = parseProvidersConfig(
      {
        providers: [{ id: "p", dialect: "jap", url: "https://p.example/api/v2", key: "k" }],
        services: [
          { id: 1, provider: "p", upstreamService: 1 },
          { id: 2, provider: "p", upstreamService: 2, markup: { percent: "0.00" } },
          { id: 3, provider: "p", upstreamService: 3, markup: { fixed: "0" } },
          { id: 4, provider: "p", upstreamService: 4, markup: { percent: 5 } },
          { id: 5, provider: "p", upstreamService: 5, rate: "1.00" },
        ],
      },
      {},
    );
    expect(zeroMarkupServices(config)).toEqual([1, 2, 3]);
  });
});
