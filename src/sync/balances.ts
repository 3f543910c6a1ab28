/**
 * Provider balances (issue #5): the scheduled refresh stores each provider's `balance` answer
 * in the `providers` table and warns below the provider's `balanceWarning`; `checkProviders`
 * asks every provider now, for `providers check`.
 */
import { Decimal } from "decimal.js";
import { eq } from "drizzle-orm";
import { parseUpstreamDecimal } from "../billing/money.js";
import { inTransaction } from "../db/client.js";
import { providers } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import type { CallOutcome, CallPriority } from "../upstream/types.js";
import { ensureProviderRow } from "./catalogue.js";

export interface BalanceRefreshResult {
  providerId: string;
  ok: boolean;
  /** Decimal string in `currency`, as the provider sent it. */
  balance?: string;
  currency?: string;
  /** True when below the provider's `balanceWarning`. */
  low?: boolean;
  error?: string;
}

export interface ProviderCheck {
  id: string;
  /** The provider answered (even with an error of its own, e.g. a wrong key). */
  reachable: boolean;
  /** Wall time of the call including queue wait, ms. */
  latencyMs: number;
  balance: string | null;
  currency: string | null;
  error: string | null;
}

type BalanceOutcome = CallOutcome<{ balance: string; currency: string }>;

function errorOf(outcome: Exclude<BalanceOutcome, { kind: "ok" }>): string {
  return `${outcome.kind}: ${outcome.failure.upstreamError ?? outcome.failure.message}`;
}

/** Stores one balance outcome (balance and time on success, `last_error` otherwise). */
function store(ctx: AppContext, providerId: string, outcome: BalanceOutcome): void {
  inTransaction(ctx.db, () => {
    const now = ctx.now();
    ensureProviderRow(ctx, providerId, now);
    const set =
      outcome.kind === "ok"
        ? { balance: outcome.value.balance, balanceCheckedAt: now, updatedAt: now }
        : { lastError: errorOf(outcome), updatedAt: now };
    ctx.db.update(providers).set(set).where(eq(providers.id, providerId)).run();
  });
}

/** Whether `balance` is below `threshold` (exact decimal comparison); false when either is unusable. */
export function isBelow(balance: string, threshold: string | undefined): boolean {
  if (threshold === undefined) return false;
  const value = parseUpstreamDecimal(balance);
  return value?.lessThan(new Decimal(threshold)) === true;
}

async function askBalance(ctx: AppContext, providerId: string, priority: CallPriority): Promise<BalanceOutcome> {
  const client = ctx.providers.get(providerId);
  if (client === undefined) {
    return { kind: "not_sent", reason: "connect_failed", failure: { message: "no client for provider" } };
  }
  return client.balance({ priority });
}

/**
 * Asks every configured provider for its balance (at `catalogue` priority, in parallel),
 * stores it, and logs a warning for each provider below its `balanceWarning`.
 * Never throws for an upstream failure (stored as the provider's `last_error`, logged).
 */
export async function refreshProviderBalances(ctx: AppContext): Promise<BalanceRefreshResult[]> {
  return Promise.all(
    ctx.config.providers.map(async (provider): Promise<BalanceRefreshResult> => {
      const outcome = await askBalance(ctx, provider.id, "catalogue");
      store(ctx, provider.id, outcome);
      if (outcome.kind !== "ok") {
        ctx.logger.warn(
          { providerId: provider.id, outcome: outcome.kind, failure: outcome.failure },
          "provider balance refresh failed",
        );
        return { providerId: provider.id, ok: false, error: errorOf(outcome) };
      }
      const { balance, currency } = outcome.value;
      const low = isBelow(balance, provider.balanceWarning);
      const alert = {
        type: "provider_balance_low" as const,
        details: { provider: provider.id, balance, currency, balanceWarning: provider.balanceWarning ?? null },
      };
      if (low) {
        ctx.alerts?.raise(`provider_balance_low:${provider.id}`, {
          ...alert,
          text: `provider ${provider.id} balance ${balance} ${currency} is below its balanceWarning ${provider.balanceWarning}: top it up`,
        });
      } else {
        ctx.alerts?.clear(`provider_balance_low:${provider.id}`, {
          ...alert,
          text: `provider ${provider.id} balance ${balance} ${currency} is back above its balanceWarning`,
        });
      }
      if (low) {
        ctx.logger.warn(
          {
            event: "low_upstream_balance",
            providerId: provider.id,
            balance,
            currency,
            balanceWarning: provider.balanceWarning,
          },
          "provider balance below warning threshold",
        );
      }
      return { providerId: provider.id, ok: true, balance, currency, low };
    }),
  );
}

/**
 * Calls `balance` on every configured provider now (at `customer` priority, so an operator's
 * check is not queued behind sync), stores successful answers, and reports per provider.
 */
export async function checkProviders(ctx: AppContext): Promise<ProviderCheck[]> {
  return Promise.all(
    ctx.config.providers.map(async (provider): Promise<ProviderCheck> => {
      const started = performance.now();
      const outcome = await askBalance(ctx, provider.id, "customer");
      const latencyMs = Math.round(performance.now() - started);
      store(ctx, provider.id, outcome);
      if (outcome.kind === "ok") {
        return {
          id: provider.id,
          reachable: true,
          latencyMs,
          balance: outcome.value.balance,
          currency: outcome.value.currency,
          error: null,
        };
      }
      return {
        id: provider.id,
        reachable: outcome.kind === "rejected" || outcome.kind === "rate_limited",
        latencyMs,
        balance: null,
        currency: null,
        error: errorOf(outcome),
      };
    }),
  );
}
