/** Shared test helpers for src/upstream: msw server, provider configs, form capture. */
import { http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll } from "vitest";
import type { Dialect } from "../../src/config/providers-file.js";
import {
  createProviderClient,
  type ProviderClientOptions,
  type UpstreamProviderConfig,
} from "../../src/upstream/client.js";
import type { UpstreamEvent } from "../../src/upstream/events.js";
import type { ProviderClient } from "../../src/upstream/types.js";

export const KEY = "sekrit-key-0123456789";

export const URLS: Readonly<Record<Dialect, string>> = {
  jap: "https://jap.test/api/v2",
  morethanpanel: "https://morethanpanel.test/api/v2",
  justprovider: "https://justprovider.test/api/v2",
  panel: "https://panel.test/api/v2",
};

export function providerConfig(
  dialect: Dialect,
  overrides: Partial<UpstreamProviderConfig> = {},
): UpstreamProviderConfig {
  return {
    id: dialect,
    dialect,
    url: URLS[dialect],
    key: KEY,
    rateLimit: { requests: 1000, intervalMs: 1000 },
    concurrency: 8,
    timeoutMs: 2000,
    currency: "USD",
    ...overrides,
  };
}

/** msw server for one test file; requests to 127.0.0.1 (real sockets) pass through. */
export function useMsw() {
  const server = setupServer();
  beforeAll(() =>
    server.listen({
      onUnhandledRequest(request, print) {
        if (new URL(request.url).hostname === "127.0.0.1") return;
        print.error();
      },
    }),
  );
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

/** Clients built by a test, closed after it. */
export function useClients() {
  const open: ProviderClient[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close(100)));
  });
  return (
    config: UpstreamProviderConfig,
    options: ProviderClientOptions = {},
  ): { client: ProviderClient; events: UpstreamEvent[] } => {
    const events: UpstreamEvent[] = [];
    const client = createProviderClient(config, {
      ...options,
      onEvent: (e) => {
        events.push(e);
        options.onEvent?.(e);
      },
    });
    open.push(client);
    return { client, events };
  };
}

export function jsonResponse(body: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { ...init, headers });
}

export async function formOf(request: Request): Promise<Record<string, string>> {
  return Object.fromEntries(new URLSearchParams(await request.text()));
}

/**
 * A handler answering each request by its form; records every form received.
 * `answer` returns a Response or a JSON value.
 */
export function panelHandler(
  url: string,
  answer: (form: Record<string, string>, calls: number) => Response | unknown | Promise<Response | unknown>,
) {
  const forms: Record<string, string>[] = [];
  const handler = http.post(url, async ({ request }) => {
    const form = await formOf(request);
    forms.push(form);
    const result = await answer(form, forms.length);
    return result instanceof Response ? result : jsonResponse(result);
  });
  return { handler, forms };
}

/** A deferred promise. */
export function deferred<T = void>() {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
