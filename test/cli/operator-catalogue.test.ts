import { statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addCustomerCli, type OperatorFixture, operatorFixture } from "./operator-fixture.js";

let fx: OperatorFixture;
let deadUrl: string;
beforeAll(async () => {
  fx = await operatorFixture("smm-cli-ops-cat-");
  // a port that was free a moment ago and is closed now: connect refused
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  deadUrl = `http://127.0.0.1:${port}/api/v2`;
});
afterAll(() => fx.close());

/** The fixture's providers file plus a provider on a closed port. */
function withDeadProvider(): Record<string, string> {
  const file = join(fx.dir, "with-dead.json");
  const base = fx.providersFile as { providers: unknown[] };
  writeFileSync(
    file,
    JSON.stringify({
      ...fx.providersFile,
      providers: [...base.providers, { id: "dead", dialect: "panel", url: deadUrl, key: "k", timeoutMs: 2000 }],
    }),
  );
  return { PROVIDERS_FILE: file };
}

describe("sync prices", () => {
  it("runs one catalogue tick and prints each provider's result", async () => {
    expect(await fx.json(["sync", "prices"])).toEqual([
      // 2 services priced, and service 4 (jap 999, never listed) kept as a disabled row
      { providerId: "jap", ok: true, upstreamServices: 19, changed: 3 },
      { providerId: "mtp", ok: true, upstreamServices: 19, changed: 1 },
    ]);
    // a second tick changes nothing
    const text = await fx.run(["sync", "prices"]);
    expect(text.code).toBe(0);
    expect(text.stderr).toBe("");
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^PROVIDER +OK +UPSTREAM SERVICES +CHANGED +ERROR$/);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^jap +yes +19 +0 +-$/),
      expect.stringMatching(/^mtp +yes +19 +0 +-$/),
    ]);
  });

  it("reports an unreachable provider without failing the others", async () => {
    const results = await fx.json<Record<string, unknown>[]>(["sync", "prices"], withDeadProvider());
    expect(results.map((r) => [r.providerId, r.ok])).toEqual([
      ["jap", true],
      ["mtp", true],
      ["dead", false],
    ]);
    expect(results[2]).toEqual({
      providerId: "dead",
      ok: false,
      upstreamServices: 0,
      changed: 0,
      error: expect.stringMatching(/^not_sent: /),
    });
  });
});

describe("config check --online", () => {
  it("fetches every catalogue and exits 1 naming the JSON path of a service not listed", async () => {
    const result = await fx.run(["config", "check", "--online", "--json"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: services[3].upstreamService: 999 is not in jap's catalogue\n");
    const report = JSON.parse(result.stdout) as { catalogues: unknown[] };
    expect(report.catalogues).toEqual([
      {
        providerId: "jap",
        ok: true,
        upstreamServices: 19,
        missing: [{ serviceId: 4, providerId: "jap", upstreamService: "999", path: "services[3].upstreamService" }],
        error: null,
      },
      { providerId: "mtp", ok: true, upstreamServices: 19, missing: [], error: null },
    ]);
    // Offline, the file itself is valid.
    expect((await fx.run(["config", "check"])).code).toBe(0);
  });

  it("names a route listed under routes by its routes[j] path", async () => {
    const file = join(fx.dir, "routes.json");
    writeFileSync(
      file,
      JSON.stringify({
        ...fx.providersFile,
        services: [
          {
            id: 1,
            routes: [
              { provider: "jap", upstreamService: 1 },
              { provider: "mtp", upstreamService: 4242 },
            ],
          },
        ],
      }),
    );
    const result = await fx.run(["config", "check", "--online"], { PROVIDERS_FILE: file });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: services[0].routes[1].upstreamService: 4242 is not in mtp's catalogue\n");
  });

  it("passes once the typo is fixed", async () => {
    const file = join(fx.dir, "fixed.json");
    const services = (fx.providersFile as { services: Array<Record<string, unknown>> }).services;
    writeFileSync(file, JSON.stringify({ ...fx.providersFile, services: services.slice(0, 3) }));
    const result = await fx.run(["config", "check", "--online"], { PROVIDERS_FILE: file });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Upstream catalogues:$/m);
    expect(result.stdout).toMatch(/^jap +yes +19 +- +-$/m);
  });
});

describe("logs", () => {
  it("are silent by default and JSON lines on stderr when LOG_LEVEL is set", async () => {
    const env = withDeadProvider();
    expect((await fx.run(["sync", "prices", "--json"], env)).stderr).toBe("");
    const result = await fx.run(["sync", "prices", "--json"], { ...env, LOG_LEVEL: "warn" });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(3);
    const lines = result.stderr
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        event: "service_not_in_catalogue",
        serviceId: 4,
        providerId: "jap",
        upstreamService: "999",
        path: "services[3].upstreamService",
        msg: "service 4: upstream service 999 is not in jap's catalogue (check services[3].upstreamService)",
      }),
      expect.objectContaining({ level: 40, providerId: "dead", msg: "catalogue sync failed; nothing changed" }),
    ]);
    expect(result.stderr).not.toContain("jap-key");
  });
});

describe("services list", () => {
  it("prints cost, sell rate and margin of every local service", async () => {
    const list = await fx.json<Record<string, unknown>[]>(["services", "list"]);
    expect(list).toEqual([
      {
        id: 1,
        name: "Followers",
        category: "Instagram Followers",
        providerId: "jap",
        upstreamService: "1",
        type: "Default",
        cost: "0.9",
        rate: "1.125",
        margin: "0.225",
        marginPercent: "20.00",
        min: 50,
        max: 10000,
        enabled: true,
        disabledReason: null,
        routing: "priority",
        importRule: null,
        circuit: null,
        routes: [
          {
            route: 0,
            providerId: "jap",
            upstreamService: "1",
            cost: "0.9",
            margin: "0.225",
            marginPercent: "20.00",
            usable: true,
            whyNot: null,
            circuit: null,
          },
        ],
      },
      {
        id: 2,
        name: "Comments",
        category: "Instagram Comments",
        providerId: "jap",
        upstreamService: "2",
        type: "Custom Comments",
        cost: "8",
        rate: "10.00",
        margin: "2",
        marginPercent: "20.00",
        min: 10,
        max: 1500,
        enabled: true,
        disabledReason: null,
        routing: "priority",
        importRule: null,
        circuit: null,
        routes: [
          {
            route: 0,
            providerId: "jap",
            upstreamService: "2",
            cost: "8",
            margin: "2",
            marginPercent: "20.00",
            usable: true,
            whyNot: null,
            circuit: null,
          },
        ],
      },
      {
        id: 3,
        name: "Followers EUR",
        category: "Instagram Followers",
        providerId: "mtp",
        upstreamService: "1",
        type: "Default",
        cost: "0.972",
        rate: "1.472",
        margin: "0.5",
        marginPercent: "33.97",
        min: 50,
        max: 10000,
        enabled: true,
        disabledReason: null,
        routing: "priority",
        importRule: null,
        circuit: null,
        routes: [
          {
            route: 0,
            providerId: "mtp",
            upstreamService: "1",
            cost: "0.972",
            margin: "0.5",
            marginPercent: "33.97",
            usable: true,
            whyNot: null,
            circuit: null,
          },
        ],
      },
      {
        id: 4,
        name: "upstream service 999",
        category: "",
        providerId: "jap",
        upstreamService: "999",
        type: "Default",
        cost: null,
        rate: null,
        margin: null,
        marginPercent: null,
        min: null,
        max: null,
        enabled: false,
        disabledReason: "not in upstream catalogue",
        routing: "priority",
        importRule: null,
        circuit: null,
        routes: [
          {
            route: 0,
            providerId: "jap",
            upstreamService: "999",
            cost: null,
            margin: null,
            marginPercent: null,
            usable: false,
            whyNot: "upstream service not listed by the provider",
            circuit: null,
          },
        ],
      },
    ]);
  });

  it("shows a negative margin and the reason of a disabled service", async () => {
    fx.jap.updateService(2, { rate: "10.50" });
    await fx.json(["sync", "prices"]);
    const list = await fx.json<Record<string, unknown>[]>(["services", "list"]);
    expect(list[1]).toMatchObject({
      id: 2,
      cost: "10.5",
      rate: "10.00",
      margin: "-0.5",
      marginPercent: "-5.00",
      enabled: false,
      disabledReason: "upstream cost at or above the sell rate",
    });
    fx.jap.updateService(2, { rate: "8" });
    await fx.json(["sync", "prices"]);

    const text = await fx.run(["services", "list"]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^ID +NAME +PROVIDER +CIRCUIT +UPSTREAM +TYPE +COST +RATE +MARGIN +MARGIN % +MIN +MAX +ENABLED +DISABLED REASON$/,
    );
    expect(lines[2]).toMatch(
      /^ 1 +Followers +jap +unknown +1 +Default +0\.9 +1\.125 +0\.225 +20\.00 +50 +10000 +yes +-$/,
    );
    expect(lines[5]).toMatch(
      /^ 4 +upstream service 999 +jap +unknown +999 +Default +- +- +- +- +- +- +no +not in upstream catalogue$/,
    );
    // No server on PORT (1): the listing still prints, with one line saying why circuits are unknown.
    expect(lines.slice(6)).toEqual([
      "",
      "circuit state unknown: no server is running on port 1 (asked http://127.0.0.1:1/readyz)",
    ]);
  });
});

describe("providers list", () => {
  it("joins the config (never the keys) with the last sync state", async () => {
    const list = await fx.json<Record<string, unknown>[]>(["providers", "list"]);
    expect(list).toEqual([
      {
        id: "jap",
        name: "jap",
        dialect: "jap",
        url: fx.jap.url,
        currency: "USD",
        exchangeRate: "1",
        rateLimit: { requests: 100, intervalMs: 1000 },
        concurrency: 4,
        balance: null,
        balanceCheckedAt: null,
        catalogueSyncedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        lastError: null,
        circuit: null,
      },
      {
        id: "mtp",
        name: "More",
        dialect: "morethanpanel",
        url: fx.mtp.url,
        currency: "EUR",
        exchangeRate: "1.08",
        rateLimit: { requests: 60, intervalMs: 60000 },
        concurrency: 2,
        balance: null,
        balanceCheckedAt: null,
        catalogueSyncedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        lastError: null,
        circuit: null,
      },
    ]);
    const text = await fx.run(["providers", "list"]);
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n")[0]).toMatch(
      /^ID +DIALECT +URL +CUR +LIMIT +CONC +BALANCE +BALANCE AT +CATALOGUE AT +CIRCUIT +LAST ERROR$/,
    );
    expect(text.stdout.split("\n")[2]).toMatch(/ unknown +-$/);
    expect(
      text.stdout.endsWith(
        "\n\ncircuit state unknown: no server is running on port 1 (asked http://127.0.0.1:1/readyz)\n",
      ),
    ).toBe(true);
    for (const out of [text.stdout, JSON.stringify(list)]) {
      expect(out).not.toContain("jap-key");
      expect(out).not.toContain("mtp-key");
    }
  });

  it("shows the last error of a provider that failed to sync", async () => {
    const env = withDeadProvider();
    await fx.json(["sync", "prices"], env);
    const list = await fx.json<Record<string, unknown>[]>(["providers", "list"], env);
    expect(list[2]).toMatchObject({
      id: "dead",
      dialect: "panel",
      url: deadUrl,
      balance: null,
      catalogueSyncedAt: null,
      lastError: expect.stringMatching(/^not_sent: /),
    });
  });

  it("fails with one line when a key variable is missing", async () => {
    const result = await fx.run(["providers", "list"], { SIM_JAP_KEY: undefined });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: providers[0].key: environment variable SIM_JAP_KEY is not set\n",
    });
  });
});

describe("providers check", () => {
  it("calls balance on every provider and stores the answers", async () => {
    const checks = await fx.json<Record<string, unknown>[]>(["providers", "check"]);
    expect(checks).toEqual([
      { id: "jap", reachable: true, latencyMs: expect.any(Number), balance: "100.84292", currency: "USD", error: null },
      { id: "mtp", reachable: true, latencyMs: expect.any(Number), balance: "100.84292", currency: "EUR", error: null },
    ]);
    const list = await fx.json<Record<string, unknown>[]>(["providers", "list"]);
    expect(list.map((p) => [p.id, p.balance, typeof p.balanceCheckedAt])).toEqual([
      ["jap", "100.84292", "string"],
      ["mtp", "100.84292", "string"],
    ]);
    const text = await fx.run(["providers", "check"]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID +REACHABLE +LATENCY +BALANCE +CUR +ERROR$/);
    expect(lines[2]).toMatch(/^jap +yes +\d+ms +100\.84292 +USD +-$/);
  });

  it("reports a dead URL as unreachable and a wrong key as reachable, and exits 1", async () => {
    const file = join(fx.dir, "check.json");
    writeFileSync(
      file,
      JSON.stringify({
        ...fx.providersFile,
        services: [],
        providers: [
          { id: "jap", dialect: "jap", url: fx.jap.url, key: "jap-key" },
          { id: "wrongkey", dialect: "jap", url: fx.jap.url, key: "not-the-key" },
          { id: "dead", dialect: "panel", url: deadUrl, key: "k", timeoutMs: 2000 },
        ],
      }),
    );
    const result = await fx.run(["providers", "check", "--json"], { PROVIDERS_FILE: file });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: 2 of 3 provider(s) failed the check: wrongkey, dead\n");
    expect(JSON.parse(result.stdout)).toEqual([
      { id: "jap", reachable: true, latencyMs: expect.any(Number), balance: "100.84292", currency: "USD", error: null },
      {
        id: "wrongkey",
        reachable: true,
        latencyMs: expect.any(Number),
        balance: null,
        currency: null,
        error: expect.stringMatching(/^rejected: /),
      },
      {
        id: "dead",
        reachable: false,
        latencyMs: expect.any(Number),
        balance: null,
        currency: null,
        error: expect.stringMatching(/^not_sent: /),
      },
    ]);
    expect(result.stdout).not.toContain("not-the-key");
  });
});

describe("backup", () => {
  it("writes a readable copy of the database", async () => {
    await addCustomerCli(fx, "7.5", "backed-up");
    const target = join(fx.dir, "backups", "..", "copy.db");
    const result = await fx.json<{ path: string; bytes: number; pages: number }>(["backup", target]);
    expect(Object.keys(result).sort()).toEqual(["bytes", "pages", "path"]);
    expect(result.path).toBe(join(fx.dir, "copy.db"));
    expect(result.bytes).toBe(statSync(result.path).size);
    expect(result.pages).toBeGreaterThan(0);

    const copy = new Database(result.path, { readonly: true });
    try {
      const row = copy.prepare("SELECT count(*) AS n, sum(balance) AS total FROM customers").get();
      expect(row).toEqual({ n: 1, total: 750_000 });
      expect(copy.prepare("SELECT count(*) AS n FROM services").get()).toEqual({ n: 4 });
    } finally {
      copy.close();
    }

    const text = await fx.run(["backup", join(fx.dir, "copy2.db")]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^${join(fx.dir, "copy2.db").replace(/[.\\/]/g, "\\$&")}: \\d+ bytes \\(\\d+ pages\\)\\n$`),
    );
  });

  it("refuses to overwrite an existing file", async () => {
    const target = join(fx.dir, "exists.db");
    writeFileSync(target, "keep me");
    const result = await fx.run(["backup", target]);
    expect(result).toEqual({ code: 1, stdout: "", stderr: `error: ${target} already exists; choose a new file\n` });
  });

  it("names the missing folder and how to create it", async () => {
    const folder = join(fx.dir, "no-such-dir");
    const result = await fx.run(["backup", join(folder, "b.db")]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: folder ${folder} does not exist; create it first (mkdir -p ${folder})\n`,
    });
  });
});

describe("help", () => {
  it.each([
    ["orders"],
    ["orders", "list"],
    ["orders", "show"],
    ["orders", "resolve"],
    ["services", "list"],
    ["providers", "list"],
    ["providers", "check"],
    ["sync"],
    ["sync", "status"],
    ["sync", "refills"],
    ["sync", "prices"],
    ["backup"],
  ])("has --help on %s", async (...command) => {
    const result = await fx.run([...command, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: smm-proxy ${command.join(" ")}`);
    expect(result.stderr).toBe("");
  });
});
