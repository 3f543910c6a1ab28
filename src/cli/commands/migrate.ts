/** `migrate`: creates or upgrades the database at DATABASE_PATH. */
import type { Command } from "commander";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { MIGRATIONS_FOLDER, openDb } from "../../db/client.js";
import type { CliContext } from "../context.js";

/** JSON of `migrate --json`. */
export interface MigrateJson {
  database: string;
  /** Migrations applied by this run. */
  applied: number;
  /** Migrations recorded in the database after the run. */
  total: number;
}

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description("create or upgrade the database at DATABASE_PATH (other commands also migrate on open)")
    .option("--json", "print machine-readable JSON")
    .action((opts: { json?: boolean }) => {
      const path = ctx.env().DATABASE_PATH;
      const db = ctx.adoptDb(openDb(path, { migrate: false }));
      const before = countMigrations(db.$client);
      migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      const total = countMigrations(db.$client);
      const result: MigrateJson = { database: path, applied: total - before, total };
      if (opts.json) ctx.out.json(result);
      else ctx.out.line(`${path}: ${result.applied} migration(s) applied, ${total} in total`);
    });
}

function countMigrations(sqlite: { prepare: (sql: string) => { get: () => unknown } }): number {
  try {
    const row = sqlite.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number } | undefined;
    return row?.n ?? 0;
  } catch {
    return 0; // no migrations table yet
  }
}
