import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findCustomerByApiKey } from "../../src/customers/index.js";
import { openDb } from "../../src/db/client.js";
import { cliSandbox } from "./helpers.js";

const sandbox = cliSandbox();
afterAll(() => sandbox.cleanup());
const { run, json } = sandbox;

interface AddJson {
  id: number;
  name: string;
  currency: string;
  balance: string;
  httpErrors: boolean | null;
  apiStyle: string;
  apiKey: string;
}

function customerIdForKey(key: string): number | undefined {
  const db = openDb(sandbox.env.DATABASE_PATH ?? "");
  try {
    return findCustomerByApiKey(db, key)?.id;
  } finally {
    db.$client.close();
  }
}

/** A failure: non-zero exit, nothing on stdout, exactly one `error:` line, no stack trace. */
function expectOneLineError(result: { code: number; stdout: string; stderr: string }, code: number, line: string) {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe("");
  expect(result.stderr).toBe(`error: ${line}\n`);
}

describe("migrate", () => {
  it("creates the database and reports what it applied", async () => {
    const first = await json<{ database: string; applied: number; total: number }>(["migrate"]);
    expect(first).toEqual({ database: sandbox.env.DATABASE_PATH, applied: first.total, total: first.total });
    expect(first.total).toBeGreaterThan(0);
    expect(await json(["migrate"])).toEqual({ database: sandbox.env.DATABASE_PATH, applied: 0, total: first.total });
    const text = await run(["migrate"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(`${sandbox.env.DATABASE_PATH}: 0 migration(s) applied, ${first.total} in total\n`);
  });
});

describe("customers add", () => {
  it("prints id, name, balance and a working API key as JSON", async () => {
    const added = await json<AddJson>(["customers", "add", "--name", "Alice", "--balance", "10.00"]);
    expect(Object.keys(added).sort()).toEqual([
      "apiKey",
      "apiStyle",
      "balance",
      "currency",
      "httpErrors",
      "id",
      "name",
    ]);
    // httpErrors null: the server's HTTP_ERRORS applies.
    expect(added).toMatchObject({
      name: "Alice",
      currency: "USD",
      balance: "10.00000",
      httpErrors: null,
      apiStyle: "panel",
    });
    expect(added.apiKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(customerIdForKey(added.apiKey)).toBe(added.id);
  });

  it("prints a readable block with the key by default", async () => {
    const result = await run(["customers", "add", "--name", "Bob", "--no-http-errors"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^id: +\d+$/m);
    expect(result.stdout).toMatch(/^name: +Bob$/m);
    expect(result.stdout).toMatch(/^balance: +0\.00000 USD$/m);
    expect(result.stdout).toMatch(/^http errors: +no$/m);
    const key = /^api key: +(\S+)$/m.exec(result.stdout)?.[1];
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(customerIdForKey(key ?? "")).toBeDefined();
  });

  it("takes the currency of PROVIDERS_FILE when it exists", async () => {
    const file = join(sandbox.dir, "eur.json");
    writeFileSync(file, JSON.stringify({ currency: "EUR", providers: [] }));
    const added = await json<AddJson>(["customers", "add", "--name", "Euro"], { PROVIDERS_FILE: file });
    expect(added.currency).toBe("EUR");
  });

  it("fails on a providers file that is not JSON", async () => {
    const file = join(sandbox.dir, "broken.json");
    writeFileSync(file, "{");
    const result = await run(["customers", "add", "--name", "X"], { PROVIDERS_FILE: file });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*broken\.json: invalid JSON \(.*\)\n$/);
  });

  it.each([
    [["customers", "add"], "error: required option '--name <name>' not specified"],
    [
      ["customers", "add", "--name", "X", "--balance", "-1"],
      `error: option '--balance <amount>' argument '-1' is invalid. expected a non-negative amount, got "-1"`,
    ],
    [
      ["customers", "add", "--name", "X", "--balance", "1.234567"],
      `error: option '--balance <amount>' argument '1.234567' is invalid. invalid amount "1.234567": expected a decimal number with at most 5 decimals`,
    ],
  ])("refuses %j as a usage error", async (args, line) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${line}\n`);
  });

  it("refuses an empty name with one line", async () => {
    expectOneLineError(await run(["customers", "add", "--name", "  "]), 1, "name: must not be empty");
  });
});

describe("customers topup", () => {
  it("credits, then corrects with a negative amount", async () => {
    const { id } = await json<AddJson>(["customers", "add", "--name", "Top"]);
    const credit = await json(["customers", "topup", String(id), "25", "--note", "wire"]);
    expect(Object.keys(credit).sort()).toEqual(["amount", "balance", "createdAt", "entryId", "id", "kind", "note"]);
    expect(credit).toMatchObject({ id, kind: "topup", amount: "25.00000", balance: "25.00000", note: "wire" });
    const correction = await json(["customers", "topup", String(id), "-5.5"]);
    expect(correction).toMatchObject({ kind: "adjustment", amount: "-5.50000", balance: "19.50000", note: null });
    // "--" also works before a negative amount
    const again = await run(["customers", "topup", "--json", "--", String(id), "-0.00001"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ amount: "-0.00001", balance: "19.49999" });
    const text = await run(["customers", "topup", String(id), "0.00001", "--note", "round"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^balance: +19\.50000$/m);
  });

  it("refuses to go below zero with one line and changes nothing", async () => {
    const { id } = await json<AddJson>(["customers", "add", "--name", "Low", "--balance", "1"]);
    expectOneLineError(
      await run(["customers", "topup", String(id), "-2"]),
      1,
      `customer ${id}: balance 1.00000 is less than 2.00000`,
    );
    expect(await json(["customers", "show", String(id)])).toMatchObject({ balance: "1.00000" });
  });

  it.each([
    [["customers", "topup", "1", "abc"], "argument 'amount'"],
    [["customers", "topup", "x", "1"], "argument 'id'"],
    [["customers", "topup", "0", "1"], "argument 'id'"],
    [["customers", "topup", "1"], "missing required argument 'amount'"],
  ])("refuses %j as a usage error", async (args, fragment) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(fragment);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("refuses a zero amount and unknown customers", async () => {
    expectOneLineError(await run(["customers", "topup", "1", "0"]), 1, "amount: must be a non-zero amount");
    expectOneLineError(await run(["customers", "topup", "9999", "1"]), 1, "unknown customer 9999");
  });
});

describe("customers rotate-key / add-key", () => {
  it("revokes the old key and prints a new working one", async () => {
    const added = await json<AddJson>(["customers", "add", "--name", "Rot"]);
    const extra = await json<{ id: number; apiKey: string; prefix: string }>([
      "customers",
      "add-key",
      String(added.id),
    ]);
    expect(Object.keys(extra).sort()).toEqual(["apiKey", "id", "prefix"]);
    expect(customerIdForKey(extra.apiKey)).toBe(added.id);

    const rotated = await json<{ id: number; apiKey: string; prefix: string; revoked: number }>([
      "customers",
      "rotate-key",
      String(added.id),
    ]);
    expect(Object.keys(rotated).sort()).toEqual(["apiKey", "id", "prefix", "revoked"]);
    expect(rotated).toMatchObject({ id: added.id, revoked: 2, prefix: rotated.apiKey.slice(0, 6) });
    expect(customerIdForKey(added.apiKey)).toBeUndefined();
    expect(customerIdForKey(extra.apiKey)).toBeUndefined();
    expect(customerIdForKey(rotated.apiKey)).toBe(added.id);

    const text = await run(["customers", "rotate-key", String(added.id)]);
    expect(text.stdout).toMatch(/^revoked keys: +1$/m);
    expect(text.stdout).toMatch(/^api key: +[A-Za-z0-9_-]{32}$/m);
  });

  it("fails for an unknown customer", async () => {
    expectOneLineError(await run(["customers", "rotate-key", "424242"]), 1, "unknown customer 424242");
  });
});

describe("customers set-webhook", () => {
  it("sets a URL with a secret shown once, then removes it with --none", async () => {
    const { id } = await json<AddJson>(["customers", "add", "--name", "Hook"]);
    const set = await json(["customers", "set-webhook", String(id), "https://example.com/smm"]);
    expect(Object.keys(set).sort()).toEqual(["id", "webhookSecret", "webhookUrl"]);
    expect(set).toMatchObject({
      id,
      webhookUrl: "https://example.com/smm",
      webhookSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const shown = await run(["customers", "show", String(id), "--json"]);
    expect(shown.stdout).not.toContain(String(set.webhookSecret));
    expect(JSON.parse(shown.stdout)).toMatchObject({ webhookUrl: "https://example.com/smm" });

    expect(await json(["customers", "set-webhook", String(id), "--none"])).toEqual({
      id,
      webhookUrl: null,
      webhookSecret: null,
    });
    const text = await run(["customers", "set-webhook", String(id), "--none"]);
    expect(text.stdout).toBe(`customer ${id}: webhook removed\n`);
  });

  it("refuses non-http URLs and private hosts unless WEBHOOK_ALLOW_PRIVATE", async () => {
    const { id } = await json<AddJson>(["customers", "add", "--name", "Hook2"]);
    expectOneLineError(
      await run(["customers", "set-webhook", String(id), "ftp://example.com/x"]),
      1,
      "invalid webhook URL: only http and https URLs are accepted",
    );
    expectOneLineError(
      await run(["customers", "set-webhook", String(id), "http://127.0.0.1:8081/hook"]),
      1,
      "invalid webhook URL: private or loopback host 127.0.0.1",
    );
    const allowed = await json(["customers", "set-webhook", String(id), "http://127.0.0.1:8081/hook"], {
      WEBHOOK_ALLOW_PRIVATE: "1",
    });
    expect(allowed).toMatchObject({ webhookUrl: "http://127.0.0.1:8081/hook" });
  });

  it("needs exactly one of URL and --none", async () => {
    expectOneLineError(await run(["customers", "set-webhook", "1"]), 2, "give a URL, or --none to remove the webhook");
    expectOneLineError(
      await run(["customers", "set-webhook", "1", "https://example.com/", "--none"]),
      2,
      "give either a URL or --none, not both",
    );
  });
});

describe("customers answer style and HTTP errors", () => {
  it("add --api-style perfectpanel --http-errors, then set-api-style back to panel", async () => {
    const added = await json<AddJson>([
      "customers",
      "add",
      "--name",
      "Jap client",
      "--api-style",
      "perfectpanel",
      "--http-errors",
    ]);
    expect(added).toMatchObject({ apiStyle: "perfectpanel", httpErrors: true });
    expect(await json(["customers", "set-api-style", String(added.id), "panel"])).toMatchObject({
      id: added.id,
      apiStyle: "panel",
      httpErrors: true,
    });
    const text = await run(["customers", "set-api-style", String(added.id), "perfectpanel"]);
    expect(text.stdout).toBe(`customer ${added.id}: api style perfectpanel\n`);
    expectOneLineError(
      await run(["customers", "set-api-style", String(added.id), "smm"]),
      1,
      'apiStyle: expected one of panel, perfectpanel, got "smm"',
    );
  });

  it("set-http-errors on|off|default", async () => {
    const added = await json<AddJson>(["customers", "add", "--name", "Axios client"]);
    expect(added.httpErrors).toBeNull();
    expect(await json(["customers", "set-http-errors", String(added.id), "off"])).toMatchObject({ httpErrors: false });
    expect(await json(["customers", "set-http-errors", String(added.id), "on"])).toMatchObject({ httpErrors: true });
    expect(await json(["customers", "set-http-errors", String(added.id), "default"])).toMatchObject({
      httpErrors: null,
    });
    const bad = await run(["customers", "set-http-errors", String(added.id), "maybe"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toBe('error: expected on, off or default, got "maybe"\n');
  });
});

describe("customers list / show", () => {
  it("lists every customer as JSON and as a table", async () => {
    const list = await json<Record<string, unknown>[]>(["customers", "list"]);
    expect(list.length).toBeGreaterThan(3);
    expect(Object.keys(list[0] ?? {}).sort()).toEqual([
      "activeKeys",
      "apiStyle",
      "balance",
      "createdAt",
      "currency",
      "httpErrors",
      "id",
      "name",
      "updatedAt",
      "webhookUrl",
    ]);
    expect(list[0]).toMatchObject({ name: "Alice", balance: "10.00000", activeKeys: 1 });
    const table = await run(["customers", "list"]);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID +NAME +BALANCE +CUR +HTTP ERRORS +STYLE +KEYS +WEBHOOK$/);
    expect(lines[1]).toMatch(/^[- ]+$/);
    expect(lines).toHaveLength(list.length + 2);
    expect(table.stdout).not.toMatch(/apiKey|key_hash|webhookSecret/);
  });

  it("shows balance, key prefixes and the last ledger rows", async () => {
    const added = await json<AddJson>(["customers", "add", "--name", "Show", "--balance", "3"]);
    for (const amount of ["1", "2", "-0.5"]) await run(["customers", "topup", String(added.id), amount]);
    const shown = await json<Record<string, unknown> & { keys: unknown[]; ledger: Record<string, unknown>[] }>([
      "customers",
      "show",
      String(added.id),
      "--limit",
      "3",
    ]);
    expect(shown).toMatchObject({ id: added.id, name: "Show", currency: "USD", balance: "5.50000", webhookUrl: null });
    expect(shown.keys).toEqual([
      { id: expect.any(Number), prefix: added.apiKey.slice(0, 6), createdAt: expect.any(String), revokedAt: null },
    ]);
    expect(shown.ledger.map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      ["adjustment", "-0.50000", "5.50000"],
      ["topup", "2.00000", "6.00000"],
      ["topup", "1.00000", "4.00000"],
    ]);
    expect(Object.keys(shown.ledger[0] ?? {}).sort()).toEqual([
      "amount",
      "balanceAfter",
      "createdAt",
      "id",
      "kind",
      "note",
      "orderId",
    ]);
    expect(JSON.stringify(shown)).not.toContain(added.apiKey);

    const text = await run(["customers", "show", String(added.id)]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^balance: +5\.50000 USD$/m);
    expect(text.stdout).toContain("opening balance");
    expect(text.stdout).not.toContain(added.apiKey);
  });

  it("fails for an unknown customer", async () => {
    expectOneLineError(await run(["customers", "show", "999"]), 1, "unknown customer 999");
  });
});
