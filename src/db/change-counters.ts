/**
 * The store's change counters, read in one statement (issue #14): what the API's in-memory
 * caches compare per request to see every change, this process's or another's (the CLI, a
 * second server, a hand edit), on the very next request. One read serves both the API key
 * cache and the `services` catalogue, so a request pays one SQLite read for them, not two.
 *
 * - `customers`: the `cache_generations` row the store's triggers bump whenever any connection
 *   adds, revokes or deletes a key or changes a customer in anything but its balance
 *   (migration 0006); undefined when the row is missing (a store edited by hand).
 * - `dataVersion`: SQLite's `data_version` for this connection: it moves whenever another
 *   connection commits, never for this connection's own commits.
 */
import type { Db } from "./client.js";
import { preparedFor } from "./prepared.js";

export interface ChangeCounters {
  customers: number | undefined;
  dataVersion: number;
}

const statement = preparedFor((db: Db) => {
  // The counter row by rowid (one B-tree step, not the name index then the table), its rowid
  // read once: a row deleted and made again by hand reads as missing.
  const rowid = db.$client.prepare("SELECT rowid FROM cache_generations WHERE name = 'customers'").pluck().get();
  return db.$client
    .prepare(
      "SELECT (SELECT value FROM cache_generations WHERE rowid = ? AND name = 'customers') AS customers, " +
        "data_version AS dataVersion FROM pragma_data_version",
    )
    .bind(rowid ?? -1);
});

/** Both counters as they are now, in one read. */
export function readChangeCounters(db: Db): ChangeCounters {
  const row = statement(db).get() as { customers: number | null; dataVersion: number };
  return { customers: row.customers ?? undefined, dataVersion: row.dataVersion };
}
