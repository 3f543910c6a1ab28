/**
 * Migration 0011 on a store from before orders remembered their Idempotency-Key (issue #11
 * follow-up): keys still bound to their order are copied onto it; a failed order, whose key row
 * was released when it failed, is marked as not knowing its key, so `orders reroute` refuses it
 * until the operator checked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER } from "../../src/db/client.js";
import { addCustomer, makeContext, testConfig } from "../helpers/context.js";
import { storeMigratedUpTo } from "../helpers/migrations.js";

describe("migration 0011 on a store migrated up to 0007", () => {
  it("copies bound keys onto their orders and marks failed orders as not knowing theirs", () => {
    const dir = mkdtempSync(join(tmpdir(), "smm-migrate-"));
    try {
      const db = storeMigratedUpTo(dir, 7);
      const ctx = {
        ...makeContext(
          testConfig({ providers: [{ id: "p1", dialect: "jap", url: "http://127.0.0.1:9/api/v2", key: "k" }] }),
          [],
        ),
        db,
      };
      const { id: customer } = addCustomer(ctx, "10.00000");
      const order = db.$client.prepare(
        `INSERT INTO orders (customer_id, service_id, provider_id, upstream_service, params, quantity, rate,
           exchange_rate, charge, status, submission, created_at, updated_at)
         VALUES (?, 1, 'p1', '1', '{}', 1000, 100000, '1', 100000, ?, ?, 1, 1) RETURNING id`,
      );
      const failed = (order.get(customer, "Canceled", "failed") as { id: number }).id;
      const keyed = (order.get(customer, "Pending", "submitted") as { id: number }).id;
      const plain = (order.get(customer, "Pending", "submitted") as { id: number }).id;
      db.$client
        .prepare(
          `INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, status_code, body, created_at)
           VALUES (?, 'intent-7', 'hash-of-intent-7', ?, 200, ?, 1)`,
        )
        .run(customer, keyed, JSON.stringify({ order: keyed }));

      migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });

      const rows = db.$client
        .prepare(
          `SELECT id, idempotency_key AS key, idempotency_request_hash AS hash, idempotency_key_unknown AS unknown
           FROM orders ORDER BY id`,
        )
        .all();
      expect(rows).toEqual([
        { id: failed, key: null, hash: null, unknown: 1 },
        { id: keyed, key: "intent-7", hash: "hash-of-intent-7", unknown: 0 },
        { id: plain, key: null, hash: null, unknown: 0 },
      ]);
      db.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
