/**
 * An {@link AppContext} for CLI commands that call upstreams (`providers check`, `sync ...`,
 * `orders resolve`): the run's database, PROVIDERS_FILE (keys resolved from the environment)
 * and one provider client per provider, closed when the command ends.
 *
 * Logs go to stderr, and only when LOG_LEVEL is set explicitly in the environment: by default
 * the CLI prints only its results.
 */
import { pino } from "pino";
import { loadProvidersFile } from "../config/providers-file.js";
import { REDACT_PATHS, silentLogger } from "../observability/logger.js";
import type { AppContext } from "../runtime/context.js";
import { createProviderRegistry, type ProviderRegistry } from "../upstream/registry.js";
import type { CliContext } from "./context.js";

/** Longest wait for in-flight upstream calls when the command ends, ms. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface CliAppContext {
  ctx: AppContext;
  registry: ProviderRegistry;
}

function cliLogger(cli: CliContext) {
  const explicit = cli.envSource.LOG_LEVEL;
  if (explicit === undefined || explicit === "") return silentLogger();
  return pino(
    {
      level: cli.env().LOG_LEVEL,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service: "smm-proxy" },
    },
    { write: (line: string) => cli.io.stderr(line) },
  );
}

/**
 * Runs `fn` with an AppContext over the CLI's database and freshly built provider clients,
 * then closes the clients (even when `fn` throws).
 * @throws ConfigError for an invalid PROVIDERS_FILE; EnvError for a bad environment.
 */
export async function withAppContext<T>(cli: CliContext, fn: (app: CliAppContext) => Promise<T> | T): Promise<T> {
  const env = cli.env();
  const config = loadProvidersFile(env.PROVIDERS_FILE, cli.envSource);
  const db = cli.db();
  const registry = createProviderRegistry(config.providers);
  const ctx: AppContext = {
    db,
    config,
    providers: registry,
    logger: cliLogger(cli),
    now: () => Date.now(),
    catalogueVersion: 0,
  };
  try {
    return await fn({ ctx, registry });
  } finally {
    await registry.close(CLOSE_TIMEOUT_MS);
  }
}
