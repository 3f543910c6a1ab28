import { createHash } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addApiKey,
  createCustomer,
  findCustomerByApiKey,
  getCustomer,
  hashApiKey,
  InsufficientFundsError,
  InvalidCustomerInputError,
  InvalidWebhookUrlError,
  isPrivateHost,
  listApiKeys,
  listCustomers,
  rotateKey,
  setWebhook,
  topUp,
  UnknownCustomerError,
} from "../../src/customers/index.js";
import { type Db, openDb } from "../../src/db/client.js";
import { apiKeys, customers, ledgerEntries } from "../../src/db/schema.js";

let db: Db;
beforeAll(() => {
  db = openDb(":memory:");
});
afterAll(() => db.$client.close());

/** Every row of every table, as text: to prove a secret is not stored. */
function dumpDatabase(): string {
  const tables = db.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return tables.map((t) => JSON.stringify(db.$client.prepare(`SELECT * FROM "${t.name}"`).all())).join("\n");
}

function balanceAndSum(customerId: number): [number, number] {
  const balance = db.select().from(customers).where(eq(customers.id, customerId)).get()?.balance ?? Number.NaN;
  const sum = db
    .select({ s: sql<number>`coalesce(sum(${ledgerEntries.amount}), 0)` })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.customerId, customerId))
    .get()?.s;
  return [balance, Number(sum)];
}

describe("createCustomer", () => {
  it("creates a customer with a URL-safe key of 192 bits, stored only as its SHA-256", () => {
    const { customer, apiKey } = createCustomer(db, { name: "  Alice  ", currency: "USD" });
    expect(customer).toMatchObject({
      name: "Alice",
      currency: "USD",
      balance: 0,
      httpErrors: null,
      apiStyle: "panel",
      webhookUrl: null,
    });
    expect(customer).not.toHaveProperty("webhookSecret");
    expect(apiKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Buffer.from(apiKey, "base64url")).toHaveLength(24);

    const rows = db.select().from(apiKeys).where(eq(apiKeys.customerId, customer.id)).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.keyHash).toBe(createHash("sha256").update(apiKey).digest("hex"));
    expect(rows[0]?.keyHash).toBe(hashApiKey(apiKey));
    expect(rows[0]?.prefix).toBe(apiKey.slice(0, 6));
    expect(rows[0]?.revokedAt).toBeNull();
    expect(dumpDatabase()).not.toContain(apiKey);
  });

  it("writes an opening balance as a topup ledger row", () => {
    const { customer } = createCustomer(db, { name: "Bob", currency: "EUR", balance: 1_000_000, httpErrors: false });
    expect(customer).toMatchObject({ balance: 1_000_000, currency: "EUR", httpErrors: false });
    const { ledger } = getCustomer(db, customer.id);
    expect(ledger.map((e) => [e.kind, e.amount, e.balanceAfter, e.note])).toEqual([
      ["topup", 1_000_000, 1_000_000, "opening balance"],
    ]);
    expect(balanceAndSum(customer.id)).toEqual([1_000_000, 1_000_000]);
  });

  it("writes no ledger row for a zero opening balance", () => {
    const { customer } = createCustomer(db, { name: "Zero", currency: "USD", balance: 0 });
    expect(getCustomer(db, customer.id).ledger).toEqual([]);
  });

  it.each([
    [{ name: "   ", currency: "USD" }, "name: must not be empty"],
    [{ name: "x".repeat(101), currency: "USD" }, "name: longer than 100 characters"],
    [{ name: "a\nb", currency: "USD" }, "name: must not contain control characters"],
    [{ name: "Eve", currency: "usd" }, 'currency: expected a 3-letter currency code, got "usd"'],
    [{ name: "Eve", currency: "USD", balance: -1 }, "balance: must not be negative"],
    [{ name: "Eve", currency: "USD", balance: 0.5 }, "balance: must not be negative"],
  ])("refuses %o", (input, message) => {
    const before = listCustomers(db).length;
    expect(() => createCustomer(db, input)).toThrow(InvalidCustomerInputError);
    expect(() => createCustomer(db, input)).toThrow(message);
    expect(listCustomers(db)).toHaveLength(before);
  });

  it("issues distinct keys", () => {
    const keys = new Set(Array.from({ length: 50 }, () => createCustomer(db, { name: "k", currency: "USD" }).apiKey));
    expect(keys.size).toBe(50);
  });
});

describe("findCustomerByApiKey", () => {
  it("finds the customer by its key and nothing for other strings", () => {
    const { customer, apiKey } = createCustomer(db, { name: "Carol", currency: "USD" });
    expect(findCustomerByApiKey(db, apiKey)?.id).toBe(customer.id);
    expect(findCustomerByApiKey(db, `${apiKey}x`)).toBeUndefined();
    expect(findCustomerByApiKey(db, apiKey.slice(1))).toBeUndefined();
    expect(findCustomerByApiKey(db, "")).toBeUndefined();
    expect(findCustomerByApiKey(db, hashApiKey(apiKey))).toBeUndefined();
    expect(findCustomerByApiKey(db, "k".repeat(10_000))).toBeUndefined();
  });

  it("looks keys up through the unique key_hash index", () => {
    const plan = db.$client
      .prepare("EXPLAIN QUERY PLAN SELECT customer_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL")
      .all("x") as { detail: string }[];
    expect(plan.map((p) => p.detail).join(" ")).toContain("api_keys_key_hash_idx");
  });
});

describe("API keys", () => {
  it("rotateKey revokes every active key and returns a working new one", () => {
    const { customer, apiKey: first } = createCustomer(db, { name: "Dan", currency: "USD" });
    const second = addApiKey(db, customer.id);
    expect(findCustomerByApiKey(db, first)?.id).toBe(customer.id);
    expect(findCustomerByApiKey(db, second.apiKey)?.id).toBe(customer.id);

    const rotated = rotateKey(db, customer.id);
    expect(rotated.revoked).toBe(2);
    expect(rotated.customerId).toBe(customer.id);
    expect(rotated.apiKey).not.toBe(first);
    expect(findCustomerByApiKey(db, first)).toBeUndefined();
    expect(findCustomerByApiKey(db, second.apiKey)).toBeUndefined();
    expect(findCustomerByApiKey(db, rotated.apiKey)?.id).toBe(customer.id);

    const keys = listApiKeys(db, customer.id);
    expect(keys.map((k) => [k.id, k.revokedAt === null])).toEqual([
      [rotated.keyId, true],
      [second.keyId, false],
      [expect.any(Number), false],
    ]);
    expect(keys[0]).not.toHaveProperty("keyHash");
    expect(dumpDatabase()).not.toContain(rotated.apiKey);

    expect(rotateKey(db, customer.id).revoked).toBe(1);
  });

  it("does not touch the keys of other customers", () => {
    const a = createCustomer(db, { name: "A", currency: "USD" });
    const b = createCustomer(db, { name: "B", currency: "USD" });
    rotateKey(db, a.customer.id);
    expect(findCustomerByApiKey(db, b.apiKey)?.id).toBe(b.customer.id);
  });

  it("refuses unknown customers", () => {
    expect(() => rotateKey(db, 999_999)).toThrow(UnknownCustomerError);
    expect(() => addApiKey(db, 999_999)).toThrow(UnknownCustomerError);
  });
});

describe("topUp", () => {
  it("credits and corrects, one ledger row each, balance == sum(ledger)", () => {
    const { customer } = createCustomer(db, { name: "Eve", currency: "USD" });
    const credit = topUp(db, customer.id, 2_500_000, " bank transfer ");
    expect(credit).toMatchObject({ customerId: customer.id, amount: 2_500_000, balance: 2_500_000 });
    expect(credit.entry).toMatchObject({
      kind: "topup",
      amount: 2_500_000,
      balanceAfter: 2_500_000,
      note: "bank transfer",
    });
    const correction = topUp(db, customer.id, -500_000, "");
    expect(correction.balance).toBe(2_000_000);
    expect(correction.entry).toMatchObject({ kind: "adjustment", amount: -500_000, note: null });
    expect(balanceAndSum(customer.id)).toEqual([2_000_000, 2_000_000]);
  });

  it("refuses a correction below zero and changes nothing", () => {
    const { customer } = createCustomer(db, { name: "Fay", currency: "USD", balance: 100 });
    expect(() => topUp(db, customer.id, -101)).toThrow(InsufficientFundsError);
    expect(balanceAndSum(customer.id)).toEqual([100, 100]);
    expect(getCustomer(db, customer.id).ledger).toHaveLength(1);
    expect(topUp(db, customer.id, -100).balance).toBe(0);
  });

  it("refuses zero, fractions, long notes and unknown customers", () => {
    const { customer } = createCustomer(db, { name: "Gus", currency: "USD" });
    expect(() => topUp(db, customer.id, 0)).toThrow(InvalidCustomerInputError);
    expect(() => topUp(db, customer.id, 1.5)).toThrow("amount: must be a non-zero amount");
    expect(() => topUp(db, customer.id, 1, "n".repeat(501))).toThrow("note: longer than 500 characters");
    expect(() => topUp(db, 999_999, 1)).toThrow(UnknownCustomerError);
    expect(balanceAndSum(customer.id)).toEqual([0, 0]);
  });
});

describe("setWebhook", () => {
  it("sets an https URL with a new secret each time, and removes it", () => {
    const { customer } = createCustomer(db, { name: "Hal", currency: "USD" });
    const first = setWebhook(db, customer.id, "https://example.com/hooks/smm");
    expect(first.customer.webhookUrl).toBe("https://example.com/hooks/smm");
    expect(first.webhookSecret).toMatch(/^[0-9a-f]{64}$/);
    const row = db.select().from(customers).where(eq(customers.id, customer.id)).get();
    expect(row?.webhookSecret).toBe(first.webhookSecret);

    const second = setWebhook(db, customer.id, "http://hooks.example.org:8080/x?y=1");
    expect(second.webhookSecret).not.toBe(first.webhookSecret);
    expect(second.customer.webhookUrl).toBe("http://hooks.example.org:8080/x?y=1");

    const removed = setWebhook(db, customer.id, null);
    expect(removed).toMatchObject({ webhookSecret: null, customer: { webhookUrl: null } });
    expect(db.select().from(customers).where(eq(customers.id, customer.id)).get()?.webhookSecret).toBeNull();
  });

  it.each([
    ["ftp://example.com/x", "invalid webhook URL: only http and https URLs are accepted"],
    ["javascript:alert(1)", "invalid webhook URL: only http and https URLs are accepted"],
    ["example.com/hook", "invalid webhook URL: not an absolute URL"],
    ["", "invalid webhook URL: empty"],
    ["https://user:pw@example.com/", "invalid webhook URL: credentials in the URL are not accepted"],
    ["http://localhost:3000/hook", "invalid webhook URL: private or loopback host localhost"],
    ["http://127.0.0.1/hook", "invalid webhook URL: private or loopback host 127.0.0.1"],
    ["http://[::1]/hook", "invalid webhook URL: private or loopback host [::1]"],
    ["http://192.168.1.10/hook", "invalid webhook URL: private or loopback host 192.168.1.10"],
    [`https://example.com/${"a".repeat(2048)}`, "invalid webhook URL: longer than 2048 characters"],
  ])("refuses %j", (url, message) => {
    const { customer } = createCustomer(db, { name: "Ivy", currency: "USD" });
    expect(() => setWebhook(db, customer.id, url)).toThrow(InvalidWebhookUrlError);
    expect(() => setWebhook(db, customer.id, url)).toThrow(message);
    expect(getCustomer(db, customer.id).customer.webhookUrl).toBeNull();
  });

  it("accepts private hosts when allowed (tests, demo)", () => {
    const { customer } = createCustomer(db, { name: "Jo", currency: "USD" });
    const result = setWebhook(db, customer.id, "http://127.0.0.1:9999/hook", { allowPrivate: true });
    expect(result.customer.webhookUrl).toBe("http://127.0.0.1:9999/hook");
  });

  it("refuses unknown customers", () => {
    expect(() => setWebhook(db, 999_999, "https://example.com/")).toThrow(UnknownCustomerError);
  });
});

describe("isPrivateHost", () => {
  it.each([
    ["localhost", true],
    ["api.localhost", true],
    ["127.0.0.1", true],
    ["10.1.2.3", true],
    ["172.16.0.1", true],
    ["172.32.0.1", false],
    ["192.168.0.1", true],
    ["169.254.169.254", true],
    ["100.64.0.1", true],
    ["0.0.0.0", true],
    ["8.8.8.8", false],
    ["[::1]", true],
    ["[::]", true],
    ["[fd00::1]", true],
    ["[fe80::1]", true],
    ["[::ffff:7f00:1]", true],
    ["[::ffff:808:808]", false],
    ["[2001:4860:4860::8888]", false],
    ["example.com", false],
  ])("%s → %s", (host, expected) => {
    expect(isPrivateHost(host)).toBe(expected);
  });
});

describe("listCustomers / getCustomer", () => {
  it("lists customers by id with their active key count", () => {
    const local = openDb(":memory:");
    try {
      const a = createCustomer(local, { name: "A", currency: "USD", balance: 500 });
      const b = createCustomer(local, { name: "B", currency: "USD" });
      addApiKey(local, b.customer.id);
      rotateKey(local, a.customer.id);
      expect(listCustomers(local).map((c) => [c.id, c.name, c.balance, c.activeKeys])).toEqual([
        [a.customer.id, "A", 500, 1],
        [b.customer.id, "B", 0, 2],
      ]);
      expect(listCustomers(local)[0]).not.toHaveProperty("webhookSecret");
    } finally {
      local.$client.close();
    }
  });

  it("returns the last ledger rows newest first, limited", () => {
    const { customer } = createCustomer(db, { name: "Kim", currency: "USD" });
    for (let i = 1; i <= 15; i++) topUp(db, customer.id, i, `t${i}`);
    const details = getCustomer(db, customer.id);
    expect(details.ledger.map((e) => e.note)).toEqual(Array.from({ length: 10 }, (_, i) => `t${15 - i}`));
    expect(getCustomer(db, customer.id, { ledgerLimit: 3 }).ledger.map((e) => e.amount)).toEqual([15, 14, 13]);
    expect(getCustomer(db, customer.id, { ledgerLimit: 0 }).ledger).toEqual([]);
    expect(details.customer.balance).toBe(120);
    expect(details.keys).toHaveLength(1);
  });

  it("throws UnknownCustomerError for a missing id", () => {
    expect(() => getCustomer(db, 999_999)).toThrow(UnknownCustomerError);
    expect(() => getCustomer(db, 999_999)).toThrow("unknown customer 999999");
  });
});
