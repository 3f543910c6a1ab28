/**
 * What the HTTP handlers, the sync jobs and the CLI share: built once at start
 * (`runtime/start.ts`) or by a test, and passed in. No handler reads `process.env`.
 */
import type { ProvidersConfig } from "../config/providers-file.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../observability/logger.js";
import type { RoutingObserver } from "../routing/observer.js";
import type { ProviderClient } from "../upstream/types.js";

/** Looks up the client of a configured provider. */
export interface ProviderDirectory {
  get(providerId: string): ProviderClient | undefined;
}

export interface AppContext {
  db: Db;
  /** The operator's config file as last loaded (replaced on reload). */
  config: ProvidersConfig;
  providers: ProviderDirectory;
  logger: Logger;
  /** Epoch ms; injectable for tests. */
  now: () => number;
  /** Bumped whenever the local catalogue changes, so cached `services` answers are rebuilt. */
  catalogueVersion: number;
  /** Told of every `add` attempt, failover and placement (metrics); optional. */
  routing?: RoutingObserver;
}
