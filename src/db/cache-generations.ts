/**
 * The counters the API's in-memory caches compare per request (issue #14), both read in one
 * statement: rows of `cache_generations` that the store's triggers bump on every change that
 * matters to a cache, whichever connection makes it (this process, the CLI, a second server, a
 * hand edit), so a cache sees it on the very next request.
 *
 * - `customers` (migration 0006): any key added, revoked or deleted; any customer change but
 *   its balance. The API key cache (`customers/key-cache.ts`).
 * - `catalogue` (migration 0009): any service added or removed, any change to what the
 *   `services` answer shows. The `services` answer (`api/actions/services.ts`).
 *
 * A counter whose row is missing (a store edited by hand) reads as undefined: its cache must
 * not trust itself then.
 */
import type { Db } from "./client.js";
import { preparedFor } from "./prepared.js";

export interface CacheGenerations {
  customers: number | undefined;
  catalogue: number | undefined;
}

const statement = preparedFor((db: Db) => {
  // Each row by its rowid (one B-tree step, not the name index then the table), the rowids read
  // once: a row deleted and made again by hand reads as missing.
  const rowidOf = db.$client.prepare("SELECT rowid FROM cache_generations WHERE name = ?").pluck();
  return db.$client
    .prepare(
      "SELECT (SELECT value FROM cache_generations WHERE rowid = ? AND name = 'customers') AS customers, " +
        "(SELECT value FROM cache_generations WHERE rowid = ? AND name = 'catalogue') AS catalogue",
    )
    .bind(rowidOf.get("customers") ?? -1, rowidOf.get("catalogue") ?? -1);
});

/** Both counters as they are now, in one read. */
export function readCacheGenerations(db: Db): CacheGenerations {
  const row = statement(db).get() as { customers: number | null; catalogue: number | null };
  return { customers: row.customers ?? undefined, catalogue: row.catalogue ?? undefined };
}
