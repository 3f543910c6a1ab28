/**
 * Opens the SQLite store (better-sqlite3 + drizzle) and applies migrations.
 * WAL mode, a busy timeout (concurrent CLI writes wait instead of failing), foreign keys on.
 */
import { mkdirSync, statSync } from "node:fs";
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

/** The store cannot be opened at its path; the one-line message names the path and what to do. */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
}

/**
 * Opens (creating its folder) the database at `path`; `:memory:` gives a private in-memory store.
 * @throws StoreOpenError when `path` is not a regular file (`/dev/null`, a folder, `/proc/...`) or
 * cannot be created or opened for writing, e.g.
 * `DATABASE_PATH "/proc/x.db": cannot open the database (unable to open database file); use a file in a writable folder`.
 * @throws the driver's error when a migration fails.
 */
export function openDb(path: string, options: OpenDbOptions = {}): Db {
  const timeout = options.busyTimeoutMs ?? 5000;
  const sqlite = path === ":memory:" ? new Database(path, { timeout }) : openFile(path, timeout);
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

/** Opens a database file for writing, refusing special files before SQLite sees them. */
function openFile(path: string, timeout: number): Database.Database {
  const where = `DATABASE_PATH ${JSON.stringify(path)}`;
  const fail = (why: string) => new StoreOpenError(`${where}: ${why}; use a file in a writable folder`);
  const full = resolve(path);
  if (/^\/(proc|sys)(\/|$)/.test(full)) throw fail("is on a special file system");
  const existing = statSync(full, { throwIfNoEntry: false });
  if (existing !== undefined && !existing.isFile()) throw fail("is not a regular file");
  try {
    mkdirSync(dirname(full), { recursive: true });
  } catch (error) {
    throw fail(`cannot create its folder (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let sqlite: Database.Database | undefined;
  try {
    sqlite = new Database(path, { timeout });
    // Reading and writing once proves the file is a usable database now, not at the first order.
    sqlite.pragma("user_version");
    sqlite.pragma("journal_mode = WAL");
    return sqlite;
  } catch (error) {
    sqlite?.close();
    throw fail(`cannot open the database (${error instanceof Error ? error.message : String(error)})`);
  }
}
