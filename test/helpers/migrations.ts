/**
 * Stores as an older version of smm-proxy left them, to test a migration on the data it finds:
 * the committed migrations up to a number, applied to a new file store.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { type Db, MIGRATIONS_FOLDER, openDb } from "../../src/db/client.js";

/**
 * Opens a new store `dir`/store.db with migrations 0000 … `last` applied (e.g. 7 for up to
 * 0007). Apply the rest with `migrate(db, { migrationsFolder: MIGRATIONS_FOLDER })`.
 */
export function storeMigratedUpTo(dir: string, last: number): Db {
  const before = join(dir, "migrations-before");
  mkdirSync(join(before, "meta"), { recursive: true });
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8"));
  const entries = (journal.entries as Array<{ tag: string }>).filter((e) => Number(e.tag.slice(0, 4)) <= last);
  writeFileSync(join(before, "meta/_journal.json"), JSON.stringify({ ...journal, entries }));
  for (const e of entries) copyFileSync(join(MIGRATIONS_FOLDER, `${e.tag}.sql`), join(before, `${e.tag}.sql`));
  const db = openDb(join(dir, "store.db"), { migrate: false });
  migrate(db, { migrationsFolder: before });
  return db;
}
