/**
 * The store's change counters (issue #14): one read tells the API's caches of every change to
 * keys and customers, from any connection, and of any other connection's commit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createCustomer, setSuspended, topUp } from "../../src/customers/customers.js";
import { readChangeCounters } from "../../src/db/change-counters.js";
import { type Db, openDb } from "../../src/db/client.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function twoConnections(): { server: Db; cli: Db } {
  const dir = mkdtempSync(join(tmpdir(), "smm-counters-"));
  dirs.push(dir);
  const path = join(dir, "store.db");
  const server = openDb(path);
  return { server, cli: openDb(path) };
}

describe("readChangeCounters", () => {
  it("moves `customers` for a key or customer change from either connection, never for a balance change", () => {
    const { server, cli } = twoConnections();
    const start = readChangeCounters(server).customers;
    expect(start).toBeTypeOf("number");
    const { customer } = createCustomer(cli, { name: "A", currency: "USD" });
    const afterAdd = readChangeCounters(server).customers as number;
    expect(afterAdd).toBeGreaterThan(start as number);

    topUp(server, customer.id, 100_000);
    topUp(cli, customer.id, 100_000);
    expect(readChangeCounters(server).customers).toBe(afterAdd);

    setSuspended(server, customer.id, true);
    expect(readChangeCounters(server).customers).toBeGreaterThan(afterAdd);
  });

  it("moves `dataVersion` when another connection commits, not for this connection's own commits", () => {
    const { server, cli } = twoConnections();
    const { customer } = createCustomer(server, { name: "B", currency: "USD" });
    const own = readChangeCounters(server).dataVersion;
    topUp(server, customer.id, 1);
    expect(readChangeCounters(server).dataVersion).toBe(own);
    topUp(cli, customer.id, 1);
    expect(readChangeCounters(server).dataVersion).not.toBe(own);
  });

  it("reads `customers` as undefined when the counter row is missing (a hand-edited store)", () => {
    const { server } = twoConnections();
    server.$client.prepare("DELETE FROM cache_generations").run();
    expect(readChangeCounters(server).customers).toBeUndefined();
  });
});
