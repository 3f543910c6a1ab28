/**
 * Liveness and readiness checks (issue #7): `GET /healthz` (process up, store writable) and
 * `GET /readyz` (start finished, config loaded, migrations applied, at least one provider
 * circuit closed), with each provider's circuit, queue depth and calls in flight (issue #11).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProvidersConfig } from "../config/providers-file.js";
import { type Db, MIGRATIONS_FOLDER } from "../db/client.js";
import type { ProviderStats } from "../upstream/types.js";

/**
 * True when the store is open and writable. Takes the write lock for an instant (BEGIN
 * IMMEDIATE, rolled back) with the busy timeout off, so a probe never blocks the event loop:
 * a lock held by another writer (the CLI, a backup) means the store is busy, not broken.
 */
export function storeWritable(db: Db): boolean {
  const sqlite = db.$client;
  if (!sqlite.open || sqlite.readonly) return false;
  const timeout = sqlite.pragma("busy_timeout", { simple: true });
  sqlite.pragma("busy_timeout = 0");
  try {
    sqlite.exec("BEGIN IMMEDIATE");
    sqlite.exec("ROLLBACK");
    return true;
  } catch (error) {
    if (sqlite.inTransaction) {
      try {
        sqlite.exec("ROLLBACK");
      } catch {
        // nothing to roll back
      }
    }
    return (error as { code?: string }).code === "SQLITE_BUSY";
  } finally {
    sqlite.pragma(`busy_timeout = ${Number(timeout)}`);
  }
}

let latestMigration: number | undefined;

/** `when` of the newest committed migration (migrations/meta/_journal.json), read once. */
function latestMigrationTime(): number {
  if (latestMigration === undefined) {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
      entries: Array<{ when: number }>;
    };
    latestMigration = Math.max(0, ...journal.entries.map((e) => e.when));
  }
  return latestMigration;
}

/** True when every committed migration has been applied to the store. */
export function migrationsApplied(db: Db): boolean {
  try {
    const row = db.$client.prepare("SELECT max(created_at) AS last FROM __drizzle_migrations").get() as
      | { last: number | null }
      | undefined;
    return (row?.last ?? -1) >= latestMigrationTime();
  } catch {
    return false;
  }
}

export interface Readiness {
  ready: boolean;
  checks: { started: boolean; config: boolean; migrations: boolean; providers: boolean };
  /** Per provider: circuit (closed/open/half_open), calls waiting in its queue, calls in flight. */
  providers: Record<string, ProviderStats>;
}

/**
 * Readiness of an app. `stats` absent (tests without a registry) counts as providers ready.
 * A half-open or open circuit does not count as closed.
 * @param started false while the server is still starting.
 */
export function readiness(
  db: Db,
  config: ProvidersConfig | undefined,
  stats: (() => Record<string, ProviderStats>) | undefined,
  started = true,
): Readiness {
  const providers = stats === undefined ? {} : stats();
  const checks = {
    started,
    config: config !== undefined && config.providers.length > 0,
    migrations: migrationsApplied(db),
    providers: stats === undefined ? true : Object.values(providers).some((s) => s.circuit === "closed"),
  };
  return {
    ready: checks.started && checks.config && checks.migrations && checks.providers,
    checks,
    providers,
  };
}
