import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDb } from "../../src/db/client.js";
import { withJournalsInMemory } from "../../src/db/journals-in-memory.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fileStore() {
  const dir = mkdtempSync(join(tmpdir(), "smm-journals-"));
  dirs.push(dir);
  const sqlite = openDb(join(dir, "store.db")).$client;
  sqlite.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  return sqlite;
}

const tempStore = (sqlite: ReturnType<typeof fileStore>) => Number(sqlite.pragma("temp_store", { simple: true }));

describe("withJournalsInMemory: savepoint journals in memory for one transaction only", () => {
  it("runs the transaction with temp_store = MEMORY and puts the connection's setting back", () => {
    const sqlite = fileStore();
    expect(tempStore(sqlite)).toBe(0);
    let during = -1;
    const written = withJournalsInMemory(sqlite, () =>
      sqlite.transaction(() => {
        during = tempStore(sqlite);
        sqlite.prepare("INSERT INTO t (v) VALUES ('a')").run();
        return sqlite.prepare("SELECT count(*) FROM t").pluck().get();
      })(),
    );
    expect(during).toBe(2);
    expect(written).toBe(1);
    expect(tempStore(sqlite)).toBe(0);
  });

  it("puts the setting back when the transaction throws, and the throw reaches the caller", () => {
    const sqlite = fileStore();
    sqlite.pragma("temp_store = FILE");
    expect(() =>
      withJournalsInMemory(sqlite, () =>
        sqlite.transaction(() => {
          sqlite.prepare("INSERT INTO t (v) VALUES ('b')").run();
          throw new Error("batch refused");
        })(),
      ),
    ).toThrow("batch refused");
    expect(tempStore(sqlite)).toBe(1);
    expect(sqlite.prepare("SELECT count(*) FROM t").pluck().get()).toBe(0);
  });

  it("a savepoint rolled back alone under it leaves the others' writes (the sync's batches)", () => {
    const sqlite = fileStore();
    const big = "x".repeat(70_000); // past the 64 KiB at which a journal would go to a file
    withJournalsInMemory(sqlite, () =>
      sqlite.transaction(() => {
        sqlite.transaction(() => sqlite.prepare("INSERT INTO t (v) VALUES (?)").run(big))();
        try {
          sqlite.transaction(() => {
            sqlite.prepare("UPDATE t SET v = 'changed'").run();
            throw new Error("second batch fails");
          })();
        } catch {
          // rolled back alone
        }
      })(),
    );
    expect(sqlite.prepare("SELECT v FROM t").pluck().all()).toEqual([big]);
  });
});
