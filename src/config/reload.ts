/**
 * Config reload on SIGHUP (issue #7): re-reads `PROVIDERS_FILE`; a valid file takes effect
 * without dropping a request (new services appear, markups change, providers' settings and
 * limits change, new providers get a client and a catalogue sync); an invalid one is logged
 * and ignored, and the old config stays.
 *
 * A provider whose client settings changed (url, key, dialect, rate limit, concurrency,
 * timeout, currency) gets a new client at once for new calls; the old client keeps running
 * the calls it already holds (waiting ones included) and is closed once it is idle. For the
 * one window around the switch both clients may send, so an upstream can briefly see up to
 * the old and the new allowance together (a 429 then is `rate_limited`, retried safely).
 */
import { inTransaction } from "../db/client.js";
import { logEvent } from "../observability/logger.js";
import { catalogueProblems, loadCachedCatalogues } from "../routing/catalogue-check.js";
import type { AppContext } from "../runtime/context.js";
import { recomputeServices, syncProviderCatalogue } from "../sync/catalogue.js";
import { createProviderClient, type ProviderClientOptions, type UpstreamProviderConfig } from "../upstream/client.js";
import type { ProviderRegistry } from "../upstream/registry.js";
import type { ProviderClient } from "../upstream/types.js";
import { ConfigError, loadProvidersFile } from "./providers-file.js";

/** How often a replaced client is checked for idleness before it is closed, ms. */
const RETIRE_POLL_MS = 200;
/** Longest a replaced client is kept waiting for its calls, ms. */
const RETIRE_MAX_MS = 10 * 60_000;

export interface ProviderChanges {
  /** Providers that got their first client. */
  added: string[];
  /** Providers whose client was replaced because a client setting changed. */
  changed: string[];
}

/** A provider registry whose clients can be added and replaced while it serves. */
export interface ReloadableRegistry extends ProviderRegistry {
  /**
   * Brings the clients in line with `providers`: a client for each new id, a replacement for
   * each id whose client settings differ. Clients of providers no longer listed are kept (their
   * orders still need status sync); they are closed with the registry.
   */
  apply(providers: readonly UpstreamProviderConfig[]): ProviderChanges;
}

/** The settings a client is built from; a difference means a new client. */
function clientSettings(config: UpstreamProviderConfig): string {
  return JSON.stringify([
    config.dialect,
    config.url,
    config.key,
    config.rateLimit.requests,
    config.rateLimit.intervalMs,
    config.concurrency,
    config.timeoutMs,
    config.currency ?? null,
  ]);
}

/**
 * Builds one client per provider, like `createProviderRegistry`, but reloadable.
 * @throws Error on a duplicate provider id (the config schema already rejects those).
 */
export function createReloadableRegistry(
  providers: readonly UpstreamProviderConfig[],
  options: ProviderClientOptions = {},
): ReloadableRegistry {
  const clients = new Map<string, { client: ProviderClient; settings: string }>();
  const retiring = new Set<Promise<void>>();
  let closed = false;
  for (const config of providers) {
    if (clients.has(config.id)) throw new Error(`duplicate provider id "${config.id}"`);
    clients.set(config.id, { client: createProviderClient(config, options), settings: clientSettings(config) });
  }

  /** Closes `client` once it holds no call (bounded by RETIRE_MAX_MS). */
  function retire(client: ProviderClient): void {
    const done = (async () => {
      const until = Date.now() + RETIRE_MAX_MS;
      while (!closed && Date.now() < until) {
        const s = client.stats();
        if (s.queued === 0 && s.inFlight === 0) break;
        await new Promise((resolve) => setTimeout(resolve, RETIRE_POLL_MS).unref());
      }
      await client.close();
    })();
    retiring.add(done);
    void done.finally(() => retiring.delete(done));
  }

  return {
    get: (id) => clients.get(id)?.client,
    all: () => [...clients.values()].map((e) => e.client),
    stats: () => Object.fromEntries([...clients].map(([id, e]) => [id, e.client.stats()])),
    apply(next) {
      const changes: ProviderChanges = { added: [], changed: [] };
      if (closed) return changes;
      for (const config of next) {
        const settings = clientSettings(config);
        const existing = clients.get(config.id);
        if (existing?.settings === settings) continue;
        clients.set(config.id, { client: createProviderClient(config, options), settings });
        if (existing === undefined) changes.added.push(config.id);
        else {
          changes.changed.push(config.id);
          retire(existing.client);
        }
      }
      return changes;
    },
    async close(timeoutMs) {
      closed = true;
      await Promise.all([...clients.values()].map((e) => e.client.close(timeoutMs)));
      await Promise.all([...retiring]);
    },
  };
}

export type ReloadResult =
  | {
      ok: true;
      added: string[];
      changed: string[];
      /** Providers no longer in the file (their services are disabled; clients kept for sync). */
      removed: string[];
      /** Local services whose price, limits or availability changed. */
      servicesChanged: number;
    }
  | { ok: false; problems: string[] };

/**
 * Re-reads the providers file at `path` and applies it (see the module doc). Resolves after
 * the catalogue sync of new providers. Never throws for a bad file: it is logged
 * (`config_reload_failed`) and the old config stays.
 */
export async function reloadConfig(
  ctx: AppContext,
  registry: ReloadableRegistry,
  path: string,
  env: Record<string, string | undefined> = process.env,
): Promise<ReloadResult> {
  let next: AppContext["config"];
  try {
    next = loadProvidersFile(path, env);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [String(error)];
    logEvent(
      ctx.logger,
      "config_reload_failed",
      { path, problems },
      "providers file invalid; old config kept",
      "error",
    );
    return { ok: false, problems };
  }
  // Issue #12: route types and import ids, checked against the catalogues cached so far.
  const { problems: catalogueIssues } = catalogueProblems(next, loadCachedCatalogues(ctx.db));
  if (catalogueIssues.length > 0) {
    logEvent(
      ctx.logger,
      "config_reload_failed",
      { path, problems: catalogueIssues },
      "providers file invalid; old config kept",
      "error",
    );
    return { ok: false, problems: catalogueIssues };
  }
  const previous = ctx.config;
  const { added, changed } = registry.apply(next.providers);
  const kept = new Set(next.providers.map((p) => p.id));
  const removed = previous.providers.map((p) => p.id).filter((id) => !kept.has(id));
  let servicesChanged: number;
  try {
    servicesChanged = inTransaction(ctx.db, () => {
      ctx.config = next;
      return recomputeServices(ctx);
    });
  } catch (error) {
    ctx.config = previous;
    const problems = [`cannot apply the new config: ${error instanceof Error ? error.message : String(error)}`];
    logEvent(
      ctx.logger,
      "config_reload_failed",
      { path, problems },
      "providers file not applied; old config kept",
      "error",
    );
    return { ok: false, problems };
  }
  logEvent(
    ctx.logger,
    "config_reloaded",
    { path, added, changed, removed, servicesChanged, services: next.services.length },
    "providers file reloaded",
    "info",
  );
  const synced = await Promise.all(added.map((id) => syncProviderCatalogue(ctx, id)));
  for (const r of synced) {
    if (r.ok) ctx.logger.info({ providerId: r.providerId, services: r.upstreamServices }, "catalogue synced");
  }
  return { ok: true, added, changed, removed, servicesChanged };
}
