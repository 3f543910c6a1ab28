/**
 * Opens the SQLite store (better-sqlite3 + drizzle) and applies migrations.
 * WAL mode, a busy timeout (concurrent CLI writes wait instead of failing), foreign keys on.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import * as schema from "./schema.js";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** Folder of the committed SQL migrations (`migrations/` at the project root). */
export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), "../../migrations");

export interface OpenDbOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** ms to wait on a locked database before SQLITE_BUSY (default 5000). */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating its folder) the database at `path`; `:memory:` gives a private in-memory store.
 * @throws the driver's error when the file cannot be opened or a migration fails.
 */
export function openDb(path: string, options: OpenDbOptions = {}): Db {
  if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  if (path !== ":memory:") sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  const db = drizzle({ client: sqlite, schema, casing: "snake_case" }) as Db;
  if (options.migrate !== false) migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return db;
}

/**
 * Runs `fn` in one synchronous write transaction (BEGIN IMMEDIATE, so concurrent writers
 * queue on the busy timeout instead of failing mid-way). Never pass an async function.
 */
export function inTransaction<T>(db: Db, fn: () => T): T {
  return db.$client.transaction(fn).immediate();
}
