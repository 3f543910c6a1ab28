/** A provider's settings as the CLI prints them in JSON (never its key): shared by `config check` and `providers list`. */
import type { ProviderConfig } from "../config/providers-file.js";

export function providerSettingsJson(p: ProviderConfig) {
  return {
    id: p.id,
    name: p.name,
    dialect: p.dialect,
    url: p.url,
    currency: p.currency,
    exchangeRate: p.exchangeRate,
    rateLimit: { requests: p.rateLimit.requests, intervalMs: p.rateLimit.intervalMs },
    concurrency: p.concurrency,
  };
}
