/** In-process API tests: an app over an isolated context with one scripted provider. */
import { expect } from "vitest";
import { createApp } from "../../src/api/app.js";
import { applyCatalogue } from "../../src/sync/catalogue.js";
import { makeContext, testConfig } from "../helpers/context.js";
import { FakeProvider, upstreamService } from "../helpers/fake-provider.js";

export const CATALOGUE = [
  upstreamService({ service: "101", rate: "1.00", min: 10, max: 10000 }),
  upstreamService({ service: "102", type: "Package", rate: "2.00", min: 1, max: 1, dripfeed: false }),
  upstreamService({
    service: "103",
    type: "Custom Comments",
    rate: "8",
    min: 1,
    max: 100,
    refill: false,
    dripfeed: false,
  }),
  upstreamService({ service: "104", type: "Subscriptions", rate: "3", min: 1, max: 100, dripfeed: false }),
  upstreamService({ service: "105", rate: "1.00", min: 10, max: 10000, dripfeed: false, cancel: false, refill: false }),
  upstreamService({ service: "106", type: "Poll", rate: "0.50", min: 10, max: 1000, dripfeed: false }),
];

export function harness() {
  const provider = new FakeProvider("p1", CATALOGUE);
  const config = testConfig({
    currency: "USD",
    markup: { percent: 25 },
    providers: [{ id: "p1", dialect: "jap", url: "https://p1.example/api/v2", key: "upstream-secret" }],
    services: [
      { id: 1, provider: "p1", upstreamService: 101, name: "Followers" },
      { id: 2, provider: "p1", upstreamService: 102 },
      { id: 3, provider: "p1", upstreamService: 103 },
      { id: 4, provider: "p1", upstreamService: 104 },
      { id: 5, provider: "p1", upstreamService: 105, markup: { fixed: "0.10" } },
      { id: 6, provider: "p1", upstreamService: 106, rate: "0.75" },
    ],
  });
  const ctx = makeContext(config, [provider]);
  applyCatalogue(ctx, "p1", CATALOGUE);
  const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy: false });
  /** POSTs a form body the way the panels' PHP client builds it. */
  const post = (fields: Record<string, string | number>, headers: Record<string, string> = {}) =>
    app.request("/api/v2", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])).toString(),
    });
  return { provider, ctx, app, post };
}

export async function json(response: Response): Promise<unknown> {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return response.json();
}
