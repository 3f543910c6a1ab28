/**
 * Builds an isolated AppContext for a test: its own `:memory:` store with migrations applied,
 * a config, scripted providers, and helpers to add customers and read balances.
 */
import { eq, sql } from "drizzle-orm";
import { parseAmount } from "../../src/billing/money.js";
import { type ProvidersConfig, parseProvidersConfig } from "../../src/config/providers-file.js";
import { createCustomer } from "../../src/customers/customers.js";
import { openDb } from "../../src/db/client.js";
import { customers, ledgerEntries } from "../../src/db/schema.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { AppContext } from "../../src/runtime/context.js";
import type { ProviderClient } from "../../src/upstream/types.js";

export function testConfig(raw: Record<string, unknown>): ProvidersConfig {
  return parseProvidersConfig(raw, {});
}

export function makeContext(config: ProvidersConfig, clients: ProviderClient[]): AppContext {
  const byId = new Map(clients.map((c) => [c.id, c]));
  return {
    db: openDb(":memory:"),
    config,
    providers: { get: (id) => byId.get(id) },
    logger: silentLogger(),
    now: () => Date.now(),
    catalogueVersion: 0,
  };
}

/** Creates a customer with `balance` (decimal string) and returns its id and API key. */
export function addCustomer(
  ctx: AppContext,
  balance: string,
  options: { httpErrors?: boolean; name?: string } = {},
): { id: number; apiKey: string } {
  const { customer, apiKey } = createCustomer(ctx.db, {
    name: options.name ?? "customer",
    balance: parseAmount(balance),
    currency: ctx.config.currency,
    ...(options.httpErrors === undefined ? {} : { httpErrors: options.httpErrors }),
  });
  return { id: customer.id, apiKey };
}

/** Balance in minor units, and the ledger sum, which must always agree. */
export function balanceOf(ctx: AppContext, customerId: number): { balance: number; ledger: number } {
  const row = ctx.db.select({ balance: customers.balance }).from(customers).where(eq(customers.id, customerId)).get();
  const sum = ctx.db
    .select({ total: sql<number>`coalesce(sum(${ledgerEntries.amount}), 0)` })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.customerId, customerId))
    .get();
  return { balance: row?.balance ?? Number.NaN, ledger: sum?.total ?? Number.NaN };
}

/**
 * POSTs `fields` form-encoded to the app's `/api/v2`, as the panels' PHP client does, with
 * `headers` added; gives the HTTP status and the parsed JSON body.
 */
export async function postApi(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await app.request("/api/v2", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

/** Service 10, "Followers", on two routes: p1's upstream service 101, then p2's 201 (issue #12). */
export const TWO_ROUTE_SERVICE = {
  id: 10,
  name: "Followers",
  routes: [
    { provider: "p1", upstreamService: 101 },
    { provider: "p2", upstreamService: 201 },
  ],
};
