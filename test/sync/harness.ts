/**
 * Sync test harness: simulated panels (progress off) reached over real loopback HTTP through
 * the provider registry, an AppContext on its own `:memory:` store, and helpers to place
 * `submitted` orders directly (charged through the ledger, as placement would).
 */
import { eq } from "drizzle-orm";
import { applyBalanceChange } from "../../src/billing/ledger.js";
import { parseAmount } from "../../src/billing/money.js";
import { type Dialect, parseProvidersConfig } from "../../src/config/providers-file.js";
import { inTransaction, openDb } from "../../src/db/client.js";
import { customers, type Order, orders, refills, webhookDeliveries } from "../../src/db/schema.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { AppContext } from "../../src/runtime/context.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { createProviderRegistry, type ProviderRegistry } from "../../src/upstream/registry.js";
import { addCustomer } from "../helpers/context.js";

export interface SyncHarness {
  ctx: AppContext;
  sims: Record<string, Simulator>;
  registry: ProviderRegistry;
  close(): Promise<void>;
}

export interface HarnessProvider {
  id: string;
  dialect: Dialect;
  currency?: string;
  balanceWarning?: string;
}

/** Starts one simulator per provider and a context whose registry points at them. */
export async function startHarness(
  list: readonly HarnessProvider[],
  options: {
    flagAfterMisses?: number;
    exchangeRates?: Record<string, string>;
    /** An extra `jap` provider at a URL nothing answers on. */
    dead?: { id: string; url: string };
  } = {},
): Promise<SyncHarness> {
  const sims: Record<string, Simulator> = {};
  for (const p of list) {
    sims[p.id] = await startSimulator({
      dialect: p.dialect,
      apiKey: `${p.id}-key`,
      progress: false,
      ...(p.currency ? { currency: p.currency } : {}),
    });
  }
  const providers: Array<Record<string, unknown>> = list.map((p) => ({
    id: p.id,
    dialect: p.dialect,
    url: sims[p.id]?.url,
    key: `${p.id}-key`,
    rateLimit: { requests: 1000, intervalMs: 1000 },
    timeoutMs: 3000,
    ...(p.currency ? { currency: p.currency } : {}),
    ...(p.balanceWarning ? { balanceWarning: p.balanceWarning } : {}),
  }));
  if (options.dead !== undefined) {
    providers.push({ id: options.dead.id, dialect: "jap", url: options.dead.url, key: "x", timeoutMs: 1000 });
  }
  const config = parseProvidersConfig(
    {
      currency: "USD",
      exchangeRates: options.exchangeRates ?? {},
      flagAfterMisses: options.flagAfterMisses ?? 3,
      providers,
    },
    {},
  );
  const registry = createProviderRegistry(config.providers);
  const ctx: AppContext = {
    db: openDb(":memory:"),
    config,
    providers: registry,
    logger: silentLogger(),
    now: () => Date.now(),
    catalogueVersion: 0,
  };
  return {
    ctx,
    sims,
    registry,
    async close() {
      await registry.close(1000);
      await Promise.all(Object.values(sims).map((s) => s.close()));
      ctx.db.$client.close();
    },
  };
}

export interface PlaceInput {
  customerId: number;
  providerId: string;
  upstreamOrderId: string | number;
  quantity?: number;
  /** Decimal string in our currency. */
  charge: string;
  exchangeRate?: string;
  status?: string;
}

/** Inserts a `submitted` order and debits its charge (ledger row), as a placement would. */
export function placeSubmitted(ctx: AppContext, input: PlaceInput): number {
  const charge = parseAmount(input.charge);
  return inTransaction(ctx.db, () => {
    const now = ctx.now();
    const row = ctx.db
      .insert(orders)
      .values({
        customerId: input.customerId,
        serviceId: 1,
        providerId: input.providerId,
        upstreamService: "1",
        upstreamOrderId: String(input.upstreamOrderId),
        params: "{}",
        quantity: input.quantity ?? 1000,
        rate: 100_000,
        exchangeRate: input.exchangeRate ?? "1",
        charge,
        status: input.status ?? "Pending",
        submission: "submitted",
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: orders.id })
      .get();
    if (charge > 0) {
      applyBalanceChange(ctx.db, { customerId: input.customerId, amount: -charge, kind: "charge", orderId: row.id });
    }
    return row.id;
  });
}

/** A customer with `balance`, optionally with a webhook URL. */
export function customerWith(ctx: AppContext, balance: string, webhookUrl?: string): number {
  const { id } = addCustomer(ctx, balance);
  if (webhookUrl !== undefined) {
    ctx.db.update(customers).set({ webhookUrl, webhookSecret: "s" }).where(eq(customers.id, id)).run();
  }
  return id;
}

export function orderRow(ctx: AppContext, id: number): Order {
  const row = ctx.db.select().from(orders).where(eq(orders.id, id)).get();
  if (!row) throw new Error(`no order ${id}`);
  return row;
}

export function refillRow(ctx: AppContext, id: number) {
  const row = ctx.db.select().from(refills).where(eq(refills.id, id)).get();
  if (!row) throw new Error(`no refill ${id}`);
  return row;
}

/** Webhook outbox payloads of an order, oldest first. */
export function outboxOf(ctx: AppContext, orderId: number): string[] {
  return ctx.db
    .select({ payload: webhookDeliveries.payload })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.orderId, orderId))
    .orderBy(webhookDeliveries.id)
    .all()
    .map((r) => r.payload);
}

/** Multi-status requests the simulator received, as id lists. */
export function statusCalls(sim: Simulator): string[][] {
  const action = sim.dialect === "panel" ? "multiStatus" : "status";
  return sim.log
    .filter((e) => e.action === action && e.params.orders !== undefined)
    .map((e) => (e.params.orders ?? "").split(","));
}
