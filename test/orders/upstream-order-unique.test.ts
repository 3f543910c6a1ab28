/** The store keeps one local order per (provider, upstream order id), and migrates stores that broke it. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc } from "drizzle-orm";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER, openDb } from "../../src/db/client.js";
import { type NewOrder, orders } from "../../src/db/schema.js";
import { addCustomer, makeContext, testConfig } from "../helpers/context.js";

const config = testConfig({
  currency: "USD",
  markup: { percent: 25 },
  providers: [{ id: "p1", dialect: "jap", url: "https://p1.example/api/v2", key: "k" }],
  services: [],
});

function order(customerId: number, providerId: string, upstreamOrderId: string | null): NewOrder {
  return {
    customerId,
    serviceId: 1,
    providerId,
    upstreamService: "101",
    upstreamOrderId,
    params: "{}",
    quantity: 100,
    rate: 125_000,
    exchangeRate: "1",
    charge: 12_500,
    status: "In progress",
    submission: upstreamOrderId === null ? "queued" : "submitted",
    createdAt: 1,
    updatedAt: 1,
  };
}

describe("orders (provider_id, upstream_order_id)", () => {
  it("refuses a second order with the same upstream id of the same provider, and only that", () => {
    const ctx = makeContext(config, []);
    const { id } = addCustomer(ctx, "1.00000");
    ctx.db
      .insert(orders)
      .values([order(id, "p1", "77"), order(id, "p2", "77"), order(id, "p1", null), order(id, "p1", null)])
      .run();
    expect(() =>
      ctx.db
        .insert(orders)
        .values(order(id, "p1", "77"))
        .run(),
    ).toThrow(expect.objectContaining({ code: "SQLITE_CONSTRAINT_UNIQUE" }));
    expect(ctx.db.select().from(orders).all()).toHaveLength(4);
  });

  describe("migration 0001 on a store that already holds a reused id", () => {
    const dir = mkdtempSync(join(tmpdir(), "smm-migrate-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("holds every later order sharing an id for the operator, then creates the index", () => {
      // A migrations folder with only 0000, as a store created before this change was.
      const first = join(dir, "first");
      mkdirSync(join(first, "meta"), { recursive: true });
      const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8"));
      writeFileSync(join(first, "meta/_journal.json"), JSON.stringify({ ...journal, entries: [journal.entries[0]] }));
      copyFileSync(join(MIGRATIONS_FOLDER, "0000_init.sql"), join(first, "0000_init.sql"));
      const db = openDb(join(dir, "store.db"), { migrate: false });
      migrate(db, { migrationsFolder: first });
      // Rows written with the columns of 0000 only (later migrations add columns).
      db.$client
        .prepare(
          "INSERT INTO customers (name, currency, balance, http_errors, created_at, updated_at) VALUES ('c', 'USD', 100000, 1, 1, 1)",
        )
        .run();
      const insertOld = db.$client.prepare(
        `INSERT INTO orders (customer_id, service_id, provider_id, upstream_service, upstream_order_id, params, quantity,
           rate, exchange_rate, charge, status, submission, created_at, updated_at)
         VALUES (@customerId, @serviceId, @providerId, @upstreamService, @upstreamOrderId, @params, @quantity,
           @rate, @exchangeRate, @charge, @status, @submission, @createdAt, @updatedAt)`,
      );
      const id = 1;
      for (const row of [order(id, "p1", "77"), order(id, "p1", "77"), order(id, "p2", "77"), order(id, "p1", "77")]) {
        insertOld.run(row);
      }

      migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });

      const rows = db.select().from(orders).orderBy(asc(orders.id)).all();
      expect(
        rows.map((r) => ({
          id: r.id,
          upstreamOrderId: r.upstreamOrderId,
          submission: r.submission,
          status: r.status,
          flag: r.flag,
          lastError: r.lastError,
        })),
      ).toEqual([
        { id: 1, upstreamOrderId: "77", submission: "submitted", status: "In progress", flag: null, lastError: null },
        {
          id: 2,
          upstreamOrderId: null,
          submission: "unknown",
          status: "In progress",
          flag: "upstream returned an order id already used",
          lastError: "upstream order id 77 is also order 1",
        },
        { id: 3, upstreamOrderId: "77", submission: "submitted", status: "In progress", flag: null, lastError: null },
        {
          id: 4,
          upstreamOrderId: null,
          submission: "unknown",
          status: "In progress",
          flag: "upstream returned an order id already used",
          lastError: "upstream order id 77 is also order 1",
        },
      ]);
      expect(rows[1]?.updatedAt).toBeGreaterThan(1);
      expect(() =>
        db
          .insert(orders)
          .values(order(id, "p1", "77"))
          .run(),
      ).toThrow();
      db.$client.close();
    });
  });
});
