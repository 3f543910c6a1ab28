import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCustomer, rotateKey, topUp } from "../../src/customers/customers.js";
import { customerByApiKey } from "../../src/customers/key-cache.js";
import { openDb } from "../../src/db/client.js";

describe("customerByApiKey (the API key cache)", () => {
  it("sees this process's own key changes on the next lookup, and never holds a balance", () => {
    const db = openDb(":memory:");
    const { customer, apiKey } = createCustomer(db, { name: "A", currency: "USD", balance: 500_000 });
    const held = customerByApiKey(db, apiKey);
    expect(held).toMatchObject({ id: customer.id, name: "A", currency: "USD", httpErrors: true });
    expect(held !== undefined && "balance" in held).toBe(false);
    expect(customerByApiKey(db, apiKey)).toBe(held); // the cached entry

    topUp(db, customer.id, 100_000);
    expect(customerByApiKey(db, apiKey)).toBe(held); // balance changes keep the entry

    const rotated = rotateKey(db, customer.id);
    expect(customerByApiKey(db, apiKey)).toBeUndefined();
    expect(customerByApiKey(db, rotated.apiKey)?.id).toBe(customer.id);
  });

  it("refuses empty, oversized and unknown keys, and keys given as their stored hash", () => {
    const db = openDb(":memory:");
    const { apiKey } = createCustomer(db, { name: "B", currency: "USD" });
    expect(customerByApiKey(db, "")).toBeUndefined();
    expect(customerByApiKey(db, "k".repeat(10_000))).toBeUndefined();
    expect(customerByApiKey(db, `${apiKey}x`)).toBeUndefined();
    expect(customerByApiKey(db, createHash("sha256").update(apiKey).digest("hex"))).toBeUndefined();
    expect(customerByApiKey(db, apiKey)).toBeDefined();
  });

  it("keeps nothing when the counter row is missing (a hand-edited store): every lookup reads the store", () => {
    const db = openDb(":memory:");
    const { customer, apiKey } = createCustomer(db, { name: "C", currency: "USD" });
    db.$client.prepare("DELETE FROM cache_generations").run();
    expect(customerByApiKey(db, apiKey)?.id).toBe(customer.id);
    db.$client.prepare("UPDATE api_keys SET revoked_at = 1").run();
    expect(customerByApiKey(db, apiKey)).toBeUndefined();
  });
});
