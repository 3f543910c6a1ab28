import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliSandbox } from "./helpers.js";

const sandbox = cliSandbox("smm-cli-program-");
afterAll(() => sandbox.cleanup());
const { run, json } = sandbox;

const EXAMPLE = join(import.meta.dirname, "../../providers.example.json");
const KEYS = {
  JAP_API_KEY: "jap-secret-1",
  MORETHANPANEL_API_KEY: "mtp-secret-2",
  JUSTPROVIDER_API_KEY: "jp-secret-3",
};

describe("help", () => {
  it("prints the program help with no arguments and with --help", async () => {
    for (const args of [[], ["--help"], ["help"]]) {
      const result = await run(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("Usage: smm-proxy");
      for (const group of ["migrate", "customers", "config"]) expect(result.stdout).toContain(group);
    }
  });

  it.each([
    ["migrate"],
    ["customers"],
    ["customers", "add"],
    ["customers", "list"],
    ["customers", "show"],
    ["customers", "topup"],
    ["customers", "rotate-key"],
    ["customers", "add-key"],
    ["customers", "set-webhook"],
    ["config"],
    ["config", "check"],
  ])("has --help on %s", async (...command) => {
    const result = await run([...command, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: smm-proxy ${command.join(" ")}`);
    expect(result.stderr).toBe("");
  });

  it("shows the group help on stderr with a usage exit code when a subcommand is missing", async () => {
    const result = await run(["customers"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: smm-proxy customers");
  });
});

describe("errors", () => {
  it("reports an unknown command on one line", async () => {
    const result = await run(["customers", "lst"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error: unknown command 'lst' (Did you mean list?)\n");
  });

  it("reports an unknown option on one line", async () => {
    const result = await run(["customers", "list", "--jsn"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: unknown option '--jsn'/);
  });

  it("names a bad environment variable", async () => {
    const result = await run(["customers", "list"], { PORT: "abc" });
    expect(result).toEqual({ code: 1, stdout: "", stderr: 'error: PORT: expected an integer >= 0, got "abc"\n' });
  });

  it("reports a database that cannot be opened without a stack trace", async () => {
    const blocker = join(sandbox.dir, "file");
    writeFileSync(blocker, "x");
    const result = await run(["customers", "list"], { DATABASE_PATH: join(blocker, "db.sqlite") });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: [^\n]+\n$/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("config check", () => {
  it("validates the example file and prints providers without keys, and services", async () => {
    const result = await run(["config", "check"], { ...KEYS, PROVIDERS_FILE: EXAMPLE });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${EXAMPLE}: OK`);
    for (const url of [
      "https://justanotherpanel.com/api/v2",
      "https://morethanpanel.com/api/v2",
      "https://justprovider.net/api/v2",
    ]) {
      expect(result.stdout).toContain(url);
    }
    expect(result.stdout).toMatch(/^exchange rates: +1 EUR = 1\.08 USD$/m);
    expect(result.stdout).toContain("Services (7):");
    expect(result.stdout).toMatch(/^ +10 +priority +jap\/1, morethanpanel\/7, justprovider\/12$/m);
    expect(result.stdout).toMatch(/^imports\[0\] +jap +100000 +\(no sync yet\) +0 +0$/m);
    for (const secret of Object.values(KEYS)) expect(result.stdout).not.toContain(secret);
  });

  it("prints JSON with the documented fields and never a key", async () => {
    const out = await json<{
      providers: Record<string, unknown>[];
      services: Record<string, unknown>[];
      [k: string]: unknown;
    }>(["config", "check"], { ...KEYS, PROVIDERS_FILE: EXAMPLE });
    expect(Object.keys(out).sort()).toEqual([
      "currency",
      "exchangeRates",
      "file",
      "flagAfterMisses",
      "imports",
      "markup",
      "providers",
      "services",
      "valid",
    ]);
    expect(out).toMatchObject({ file: EXAMPLE, valid: true, currency: "USD", exchangeRates: { EUR: "1.08" } });
    expect(out.providers.map((p) => p.id)).toEqual(["jap", "morethanpanel", "justprovider"]);
    expect(Object.keys(out.providers[0] ?? {}).sort()).toEqual([
      "balanceWarning",
      "concurrency",
      "currency",
      "dialect",
      "exchangeRate",
      "id",
      "name",
      "rateLimit",
      "timeoutMs",
      "url",
    ]);
    expect(out.providers[1]).toMatchObject({ currency: "EUR", exchangeRate: "1.08" });
    expect(out.providers[2]).toMatchObject({
      rateLimit: { requests: 60, intervalMs: 60000 },
      concurrency: 4,
      timeoutMs: 30000,
    });
    const kinds = out.services.map((s) => (s.pricing as { kind: string }).kind);
    expect(new Set(kinds)).toEqual(new Set(["percent", "fixed", "rate"]));
    expect(Object.keys(out.services[0] ?? {}).sort()).toEqual([
      "category",
      "enabled",
      "id",
      "max",
      "min",
      "name",
      "pricing",
      "provider",
      "routes",
      "routing",
      "upstreamService",
    ]);
    const text = JSON.stringify(out);
    for (const secret of Object.values(KEYS)) expect(text).not.toContain(secret);
    expect(text).not.toContain('"key"');
  });

  it("fails with the exact line when a key variable is missing", async () => {
    const result = await run(["config", "check"], {
      PROVIDERS_FILE: EXAMPLE,
      MORETHANPANEL_API_KEY: "x",
      JUSTPROVIDER_API_KEY: "y",
    });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: providers[0].key: environment variable JAP_API_KEY is not set\n",
    });
  });

  it("joins several problems on one line", async () => {
    const file = join(sandbox.dir, "bad.json");
    const raw = JSON.parse(readFileSync(EXAMPLE, "utf8")) as { services: { provider: string }[] };
    if (raw.services[2]) raw.services[2].provider = "jpp";
    if (raw.services[3]) raw.services[3].provider = "jpq";
    writeFileSync(file, JSON.stringify(raw));
    const result = await run(["config", "check"], { ...KEYS, PROVIDERS_FILE: file });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: services[2].provider: unknown provider "jpp"; services[3].provider: unknown provider "jpq"\n',
    );
  });

  it("fails when the file is missing", async () => {
    const file = join(sandbox.dir, "missing.json");
    const result = await run(["config", "check"], { PROVIDERS_FILE: file });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: ${file}: cannot read the providers file (ENOENT)\n`);
  });
});
