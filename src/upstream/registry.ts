/**
 * All provider clients, built once at start from the providers config (issue #3: "one client
 * per configured provider, built once at start"), and closed together at shutdown.
 */
import { createProviderClient, type ProviderClientOptions, type UpstreamProviderConfig } from "./client.js";
import type { ProviderClient, ProviderStats } from "./types.js";

export interface ProviderRegistry {
  /** The client of provider `id`, or undefined when no such provider is configured. */
  get(id: string): ProviderClient | undefined;
  /** Every client, in config order. */
  all(): ProviderClient[];
  /** Queue and circuit figures per provider id. */
  stats(): Record<string, ProviderStats>;
  /** Closes every client (see {@link ProviderClient.close}); `timeoutMs` applies to each, in parallel. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Builds one client per provider.
 * @param options shared by every client (`onEvent` events carry the provider id).
 * @throws Error on a duplicate provider id (the config schema already rejects those).
 */
export function createProviderRegistry(
  providers: readonly UpstreamProviderConfig[],
  options: ProviderClientOptions = {},
): ProviderRegistry {
  const clients = new Map<string, ProviderClient>();
  for (const config of providers) {
    if (clients.has(config.id)) throw new Error(`duplicate provider id "${config.id}"`);
    clients.set(config.id, createProviderClient(config, options));
  }
  return {
    get: (id) => clients.get(id),
    all: () => [...clients.values()],
    stats: () => Object.fromEntries([...clients].map(([id, client]) => [id, client.stats()])),
    async close(timeoutMs) {
      await Promise.all([...clients.values()].map((client) => client.close(timeoutMs)));
    },
  };
}
