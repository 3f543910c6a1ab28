/**
 * Statement and savepoint journals in memory for one write transaction.
 *
 * Under a savepoint SQLite journals the original of every page it changes, so the savepoint can
 * be rolled back alone; past 64 KiB that journal goes to a temporary file. The status sync
 * applies each upstream answer (100 orders) in its own savepoint of a group transaction
 * (`sync/order-batch.ts`), and writing those journals to files cost ~13 % of a sync cycle
 * (`bench/sync-probe.ts`, 100,000 orders, 2 × 3 rounds: 1.95–2.27 s → 1.65–2.07 s per cycle).
 *
 * `PRAGMA temp_store = MEMORY` keeps them in memory, but it also keeps every sort, `GROUP BY`
 * temporary table and migration journal in memory with no bound, so it is set for the one
 * transaction only (its journals hold at most the pages that transaction changes) and the
 * connection's own setting is put back. SQLite reads the setting when a transaction begins.
 */
import type Sqlite from "better-sqlite3";

/** `PRAGMA temp_store` values (sqlite.org/pragma.html#pragma_temp_store). */
const MEMORY = 2;

/**
 * Runs `transaction` (a function that begins and ends one write transaction) with journals in
 * memory, then restores the connection's `temp_store`. Inside an open transaction the setting
 * cannot take effect, so `transaction` then simply runs.
 * @throws what `transaction` throws (the setting is restored first).
 */
export function withJournalsInMemory<T>(sqlite: Sqlite.Database, transaction: () => T): T {
  if (sqlite.inTransaction) return transaction();
  const previous = Number(sqlite.pragma("temp_store", { simple: true }));
  if (previous === MEMORY) return transaction();
  sqlite.pragma(`temp_store = ${MEMORY}`);
  try {
    return transaction();
  } finally {
    sqlite.pragma(`temp_store = ${previous}`);
  }
}
