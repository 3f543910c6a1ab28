/**
 * What the operator sees when the server cannot start as configured (issue #15): one line
 * naming the variable and what to do, exit 1; and the listening line shows the real bind address.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { openDb, StoreOpenError } from "../../src/db/client.js";
import { start } from "../../src/runtime/start.js";
import { startSimulator } from "../../src/simulator/index.js";
import { captureLogs } from "./helpers.js";
import { ROOT } from "./server-process.js";

const dir = mkdtempSync(join(tmpdir(), "smm-start-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it.each([
  ["/proc/smm-proxy/store.db", 'DATABASE_PATH "/proc/smm-proxy/store.db": is on a special file system'],
  ["/dev/null", 'DATABASE_PATH "/dev/null": is not a regular file'],
  [dir, `DATABASE_PATH ${JSON.stringify(dir)}: is not a regular file`],
])("openDb(%s) refuses with one line naming DATABASE_PATH", (path, start) => {
  expect(() => openDb(path)).toThrow(StoreOpenError);
  expect(() => openDb(path)).toThrow(`${start}; use a file in a writable folder`);
});

it("the server started with DATABASE_PATH under /proc prints one line and exits 1", () => {
  const providers = join(dir, "providers.json");
  writeFileSync(
    providers,
    JSON.stringify({
      providers: [{ id: "p", dialect: "jap", url: "http://127.0.0.1:9/api/v2", key: "k" }],
      services: [{ id: 1, provider: "p", upstreamService: 1 }],
    }),
  );
  const run = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", DATABASE_PATH: "/proc/smm.db", PROVIDERS_FILE: providers },
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toBe(
    'smm-proxy: DATABASE_PATH "/proc/smm.db": is on a special file system; use a file in a writable folder\n',
  );
  expect(run.stdout).toBe("");
});

it("the listening line shows the bound address; a service not in its upstream catalogue is warned at start", async () => {
  const sim = await startSimulator({ dialect: "jap", apiKey: "k1", progress: false });
  const logs = captureLogs("info");
  const runtime = await start(
    loadEnv({ PORT: "0", HOST: "0.0.0.0", DATABASE_PATH: ":memory:", STATUS_SYNC_INTERVAL_MS: "3600000" }),
    {
      config: parseProvidersConfig(
        {
          providers: [{ id: "sim", dialect: "jap", url: sim.url, key: "k1" }],
          services: [
            { id: 1, provider: "sim", upstreamService: 1 },
            { id: 2, provider: "sim", upstreamService: 9999 },
          ],
        },
        {},
      ),
      logger: logs.logger,
    },
  );
  try {
    const line = logs.lines().find((l) => l.msg === "smm-proxy listening");
    expect(line?.address).toBe(`0.0.0.0:${runtime.port}`);
    expect(runtime.url).toBe(`http://127.0.0.1:${runtime.port}`);
    expect(logs.lines().filter((l) => l.event === "service_not_in_catalogue")).toEqual([
      expect.objectContaining({
        level: 40,
        serviceId: 2,
        providerId: "sim",
        upstreamService: "9999",
        path: "services[1].upstreamService",
      }),
    ]);
  } finally {
    await runtime.close(2000);
    await sim.close();
  }
});
