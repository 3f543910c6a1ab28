import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/client.js";
import { commitSoon } from "../../src/db/group-commit.js";

function store(path = ":memory:") {
  const db = openDb(path, { busyTimeoutMs: 0 });
  db.$client.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)");
  const insert = db.$client.prepare("INSERT INTO t (v) VALUES (?)");
  const rows = () => db.$client.prepare("SELECT v FROM t ORDER BY id").pluck().all();
  // Counts the write transactions begun (`inTransaction` begins each with BEGIN IMMEDIATE).
  const begun = { count: 0 };
  const transaction = db.$client.transaction.bind(db.$client);
  db.$client.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const tx = transaction(fn);
    return Object.assign((...args: unknown[]) => tx(...args), {
      deferred: tx.deferred,
      exclusive: tx.exclusive,
      immediate: (...args: unknown[]) => {
        begun.count++;
        return tx.immediate(...args);
      },
    });
  }) as typeof db.$client.transaction;
  return { db, insert, rows, begun };
}

describe("commitSoon", () => {
  it("runs the writes queued in one turn in one transaction, each caller getting its own result", async () => {
    const { db, insert, rows, begun } = store();
    const seenInTransaction: boolean[] = [];
    const write = (v: string) => () => {
      seenInTransaction.push(db.$client.inTransaction);
      return Number(insert.run(v).lastInsertRowid);
    };
    const ids = await Promise.all([commitSoon(db, write("a")), commitSoon(db, write("b")), commitSoon(db, write("c"))]);
    expect(ids).toEqual([1, 2, 3]);
    expect(seenInTransaction).toEqual([true, true, true]);
    expect(begun.count).toBe(1);
    expect(rows()).toEqual(["a", "b", "c"]);
    expect(db.$client.inTransaction).toBe(false);
  });

  it("rolls back only the write that threw; the others commit", async () => {
    const { db, insert, rows } = store();
    const results = await Promise.allSettled([
      commitSoon(db, () => insert.run("x").changes),
      commitSoon(db, () => {
        insert.run("y");
        insert.run("x"); // UNIQUE violation: y goes too
      }),
      commitSoon(db, () => insert.run("z").changes),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(rows()).toEqual(["x", "z"]);
  });

  it("settles after the commit: a write queued later runs in a later transaction", async () => {
    const { db, insert, rows, begun } = store();
    const first = commitSoon(db, () => insert.run("1").changes);
    expect(rows()).toEqual([]); // nothing written before the turn ends
    await first;
    expect(rows()).toEqual(["1"]);
    await commitSoon(db, () => insert.run("2").changes);
    expect(rows()).toEqual(["1", "2"]);
    expect(begun.count).toBe(2);
  });

  it("rejects every caller of a group whose transaction cannot begin, writing nothing", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "smm-group-")), "store.db");
    const { db, insert, rows } = store(path);
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE"); // another process holds the write lock; no busy wait here
    const results = await Promise.allSettled([
      commitSoon(db, () => insert.run("a").changes),
      commitSoon(db, () => insert.run("b").changes),
    ]);
    other.exec("ROLLBACK");
    other.close();
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
    expect(rows()).toEqual([]);
    db.$client.close();
  });
});
