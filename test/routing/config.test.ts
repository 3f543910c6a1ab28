/** The providers file's routes, routing policy and import rules (issue #12): shapes and one-line path-named errors. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseProvidersConfig } from "../../src/config/providers-file.js";

const providers = [
  { id: "jap", dialect: "jap", url: "https://jap.example/api/v2", key: "k1" },
  { id: "mtp", dialect: "morethanpanel", url: "https://mtp.example/api/v2", key: "k2" },
  { id: "jp", dialect: "justprovider", url: "https://jp.example/api/v2", key: "k3" },
];

function problems(raw: Record<string, unknown>): string[] {
  try {
    parseProvidersConfig({ providers, ...raw }, {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("routes", () => {
  it("normalises the shorthand into one route and keeps listed routes with the first as reference", () => {
    const config = parseProvidersConfig(
      {
        providers,
        services: [
          { id: 1, provider: "jap", upstreamService: 1 },
          {
            id: 10,
            routes: [
              { provider: "jap", upstreamService: 1 },
              { provider: "mtp", upstreamService: 7 },
              { provider: "jp", upstreamService: "12" },
            ],
            routing: "cheapest",
            markup: { percent: "30" },
          },
        ],
      },
      {},
    );
    expect(config.services.map((s) => [s.id, s.provider, s.upstreamService, s.routing, s.routes])).toEqual([
      [1, "jap", "1", "priority", [{ provider: "jap", upstreamService: "1" }]],
      [
        10,
        "jap",
        "1",
        "cheapest",
        [
          { provider: "jap", upstreamService: "1" },
          { provider: "mtp", upstreamService: "7" },
          { provider: "jp", upstreamService: "12" },
        ],
      ],
    ]);
  });

  it("refuses routes together with provider, naming the path", () => {
    expect(
      problems({
        services: [{ id: 1, provider: "jap", upstreamService: 1, routes: [{ provider: "jap", upstreamService: 2 }] }],
      }),
    ).toEqual(["services[0].routes: give either routes or provider + upstreamService, not both"]);
  });

  it("refuses an unknown provider in a route and a route listed twice, one line each", () => {
    expect(
      problems({
        services: [
          {
            id: 1,
            routes: [
              { provider: "jap", upstreamService: 1 },
              { provider: "nope", upstreamService: 1 },
              { provider: "jap", upstreamService: "1" },
            ],
          },
        ],
      }),
    ).toEqual([
      'services[0].routes[1].provider: unknown provider "nope"',
      "services[0].routes[2]: route listed twice (same as routes[0])",
    ]);
  });

  it("refuses a service with neither routes nor provider, an empty routes list and an unknown policy", () => {
    expect(problems({ services: [{ id: 1 }] })).toEqual([
      "services[0].provider: expected a provider id (or routes)",
      "services[0].upstreamService: expected the upstream service id (number or string)",
    ]);
    expect(problems({ services: [{ id: 1, routes: [] }] })).toEqual(["services[0].routes: list at least one route"]);
    expect(problems({ services: [{ id: 1, provider: "jap", upstreamService: 1, routing: "random" }] })).toEqual([
      "services[0].routing: expected one of priority, cheapest",
    ]);
  });
});

describe("imports", () => {
  it("parses a rule with its filters and defaults exclude to none", () => {
    const config = parseProvidersConfig(
      {
        providers,
        imports: [
          {
            provider: "jap",
            idOffset: 100000,
            categories: ["Instagram*"],
            types: ["Default"],
            markup: { percent: "35" },
          },
        ],
      },
      {},
    );
    expect(config.imports).toEqual([
      {
        provider: "jap",
        idOffset: 100000,
        categories: ["Instagram*"],
        types: ["Default"],
        exclude: [],
        markup: { percent: "35" },
      },
    ]);
  });

  it("refuses an unknown provider, a bad offset and two rules that would produce the same ids", () => {
    expect(
      problems({
        imports: [
          { provider: "nope", idOffset: 1 },
          { provider: "jap", idOffset: -5 },
          { provider: "mtp", idOffset: 500, exclude: [15, "x y"] },
          { provider: "mtp", idOffset: 500 },
        ],
      }),
    ).toEqual([
      "imports[1].idOffset: expected a non-negative integer id offset",
      "imports[2].exclude[1]: expected the upstream service id (number or string)",
      'imports[0].provider: unknown provider "nope"',
      "imports[3].idOffset: same provider and idOffset as imports[2]: both would produce the same ids",
    ]);
  });
});
