/**
 * The key cache and the catalogue cache see other processes' writes (issue #14): a second
 * connection to the same store file plays the CLI.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createCustomer, rotateKey, setSuspended, topUp } from "../../src/customers/customers.js";
import { customerByApiKey } from "../../src/customers/key-cache.js";
import { type Db, openDb } from "../../src/db/client.js";
import { dataVersion } from "../../src/db/data-version.js";

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

describe("caches over a store another process writes", () => {
  it("a key rotated or a customer suspended by another connection is seen on the next lookup; a top-up keeps the entry", () => {
    const { server, cli } = twoConnections();
    const { customer, apiKey } = createCustomer(cli, { name: "A", currency: "USD" });
    const held = customerByApiKey(server, apiKey);
    expect(held?.id).toBe(customer.id);

    topUp(cli, customer.id, 100_000);
    expect(customerByApiKey(server, apiKey)).toBe(held);

    setSuspended(cli, customer.id, true);
    expect(customerByApiKey(server, apiKey)?.suspendedAt).toBeTypeOf("number");

    const rotated = rotateKey(cli, customer.id);
    expect(customerByApiKey(server, apiKey)).toBeUndefined();
    expect(customerByApiKey(server, rotated.apiKey)?.id).toBe(customer.id);
  });

  it("keeps nothing once the counter row is gone (a hand-edited store): a revoked key is refused at once", () => {
    const { server, cli } = twoConnections();
    const { customer, apiKey } = createCustomer(cli, { name: "B", currency: "USD" });
    expect(customerByApiKey(server, apiKey)?.id).toBe(customer.id);
    cli.$client.prepare("DELETE FROM cache_generations").run();
    cli.$client.prepare("UPDATE api_keys SET revoked_at = 1").run();
    expect(customerByApiKey(server, apiKey)).toBeUndefined();
  });

  it("data_version moves when another connection commits, not for this connection's own commits", () => {
    const { server, cli } = twoConnections();
    const { customer } = createCustomer(server, { name: "C", currency: "USD" });
    const own = dataVersion(server);
    topUp(server, customer.id, 1);
    expect(dataVersion(server)).toBe(own);
    topUp(cli, customer.id, 1);
    expect(dataVersion(server)).not.toBe(own);
  });
});
