/**
 * The sync baseline (issue #6): a bare script applying the same per-order updates as one
 * status-sync cycle, with ONE prepared UPDATE per order in ONE transaction, on a store of the
 * same schema (migrations applied) holding the same open orders. No HTTP, no reads.
 * Command `run` {count, databasePath} → {ms, writes}.
 */
import Database from "better-sqlite3";
import { openDb } from "../../src/db/client.js";
import { failStart, serveCommands } from "../lib/ipc.js";

export interface BareSyncAnswer {
  ms: number;
  writes: number;
}

function run({ count, databasePath }: { count: number; databasePath: string }): BareSyncAnswer {
  openDb(databasePath).$client.close(); // schema and indexes as the proxy's store
  const db = new Database(databasePath);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const now = Date.now();
  db.prepare(
    "INSERT INTO customers (name, currency, balance, http_errors, created_at, updated_at) VALUES ('bare', 'USD', 0, 1, ?, ?)",
  ).run(now, now);
  const insert = db.prepare(
    `INSERT INTO orders (customer_id, service_id, provider_id, upstream_service, upstream_order_id, params,
       quantity, rate, exchange_rate, charge, status, submission, created_at, updated_at)
     VALUES (1, 1, 'sync', '1', ?, '{}', 500, 100000, '1', 100000, 'Pending', 'submitted', ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(String(1_000_000 + i), now, now);
  })();
  const update = db.prepare(
    `UPDATE orders SET status = ?, start_count = ?, remains = ?, cost = ?, raw_status = ?, miss_count = ?,
            last_error = ?, flag = ?, synced_at = ?, updated_at = ? WHERE id = ?`,
  );
  // Rows written as the proxy's figure counts them: SQLite's total_changes(), which counts the
  // rows triggers write (the daily totals' upsert on an order's first cost), where a statement's
  // own `changes` does not.
  const totalChanges = db.prepare("SELECT total_changes()").pluck();
  const t0 = performance.now();
  const changes0 = totalChanges.get() as number;
  db.transaction(() => {
    const at = Date.now();
    for (let id = 1; id <= count; id++) update.run("In progress", 100, 400, 50_000, null, 0, null, null, at, at, id);
  })();
  const ms = performance.now() - t0;
  const writes = (totalChanges.get() as number) - changes0;
  db.close();
  return { ms, writes };
}

try {
  serveCommands({}, { run });
} catch (error) {
  failStart(error);
}
