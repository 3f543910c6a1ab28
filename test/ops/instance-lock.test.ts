/**
 * The instance lock and the start-up order (issue #11 item 3, issue #15 "Running it as a
 * service"): lock, then the port, then crash recovery. A second server on the same database,
 * or on a busy port, refuses with one line and writes nothing.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { openDb } from "../../src/db/client.js";
import { instanceLock, orders } from "../../src/db/schema.js";
import { silentLogger } from "../../src/observability/logger.js";
import { acquireInstanceLock, StartRefusedError } from "../../src/runtime/instance-lock.js";
import { start } from "../../src/runtime/start.js";
import { addCustomer, makeContext, testConfig } from "../helpers/context.js";
import { ROOT, writeJson } from "../resilience/harness.js";

const dir = mkdtempSync(join(tmpdir(), "smm-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const dbFile = () => join(dir, `store-${++files}.db`);

const config = testConfig({
  currency: "USD",
  providers: [{ id: "p1", dialect: "jap", url: "http://127.0.0.1:9/api/v2", key: "k" }],
  services: [],
});

/** A database holding one old `queued` order (which a start's recovery would settle). */
function storeWithQueuedOrder(path: string): void {
  const db = openDb(path);
  const ctx = { ...makeContext(config, []), db };
  const { id } = addCustomer(ctx, "1.00000");
  db.insert(orders)
    .values({
      customerId: id,
      serviceId: 1,
      providerId: "p1",
      upstreamService: "1",
      params: "{}",
      quantity: 100,
      rate: 1000,
      exchangeRate: "1",
      charge: 0,
      status: "Pending",
      submission: "queued",
      createdAt: 1,
      updatedAt: 1,
    })
    .run();
  db.$client.close();
}

const env = (path: string, port: number) =>
  loadEnv({
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_PATH: path,
    STATUS_SYNC_INTERVAL_MS: "3600000",
    PRICE_SYNC_INTERVAL_MS: "3600000",
  });
const options = { config, logger: silentLogger(), initialSyncTimeoutMs: 200 };

describe("acquireInstanceLock", () => {
  it("refuses a second holder while the first is live, and frees on release", () => {
    const db = openDb(dbFile());
    const first = acquireInstanceLock(db);
    expect(() => acquireInstanceLock(db)).toThrow(StartRefusedError);
    expect(() => acquireInstanceLock(db)).toThrow(
      new RegExp(
        `^the database is in use by another smm-proxy server \\(pid ${process.pid} on .+, heartbeat 0s ago\\); stop it first$`,
      ),
    );
    first.release();
    expect(db.select().from(instanceLock).all()).toEqual([]);
    acquireInstanceLock(db).release();
    db.$client.close();
  });

  it("takes over a lock whose heartbeat is stale, or whose holder's pid is gone on this host", () => {
    const db = openDb(dbFile());
    const stale = acquireInstanceLock(db);
    expect(() => acquireInstanceLock(db, { now: () => Date.now() + 29_000 })).toThrow(StartRefusedError);
    const taken = acquireInstanceLock(db, { now: () => Date.now() + 31_000 });
    expect(db.select().from(instanceLock).get()?.owner).toBe(taken.owner);
    stale.release(); // not its row any more: nothing deleted
    expect(db.select().from(instanceLock).get()?.owner).toBe(taken.owner);
    taken.release();

    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    const now = Date.now();
    db.insert(instanceLock)
      .values({ id: 1, owner: "killed", pid: gone, hostname: hostname(), startedAt: now, heartbeatAt: now })
      .run();
    acquireInstanceLock(db).release();
    db.$client.close();
  });
});

describe("start", () => {
  it("a second server on the same database refuses before touching its orders", async () => {
    const path = dbFile();
    const first = await start(env(path, 0), options);
    try {
      storeWithQueuedOrder(path); // the CLI writes beside a running server
      await expect(start(env(path, 0), options)).rejects.toThrow(StartRefusedError);
      const db = openDb(path);
      expect(db.select({ submission: orders.submission }).from(orders).all()).toEqual([{ submission: "queued" }]);
      db.$client.close();
    } finally {
      await first.close(1000);
    }
  });

  it("a busy port refuses with one line, releases the lock and runs no recovery", async () => {
    const busy = await start(env(dbFile(), 0), options);
    const path = dbFile();
    storeWithQueuedOrder(path);
    try {
      await expect(start(env(path, busy.port), options)).rejects.toThrow(
        new StartRefusedError(`port ${busy.port} on 127.0.0.1 is already in use`),
      );
      const db = openDb(path);
      expect(db.select({ submission: orders.submission }).from(orders).all()).toEqual([{ submission: "queued" }]);
      expect(db.select().from(instanceLock).all()).toEqual([]);
      db.$client.close();
      // The lock was released: a start on a free port takes it and recovers the old order.
      const next = await start(env(path, 0), options);
      expect(next.ctx.db.select({ submission: orders.submission }).from(orders).all()).toEqual([
        { submission: "failed" },
      ]);
      await next.close(1000);
    } finally {
      await busy.close(1000);
    }
  });

  it("the demo on a busy port prints one line naming the port and exits 1", async () => {
    const busy = await start(env(dbFile(), 0), options);
    try {
      const child = spawn(process.execPath, ["--import", "tsx", "src/demo/main.ts"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", PORT: String(busy.port), LOG_LEVEL: "silent" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const code = await new Promise<number | null>((done) => child.once("exit", (c) => done(c)));
      expect(code).toBe(1);
      expect(stderr).toBe(`demo: port ${busy.port} on 127.0.0.1 is already in use\n`);
    } finally {
      await busy.close(1000);
    }
  }, 30_000);

  it("src/main.ts on a busy port prints one line naming the port and exits 1", async () => {
    const busy = await start(env(dbFile(), 0), options);
    const providers = join(dir, "providers.json");
    writeJson(providers, { providers: [{ id: "p1", dialect: "jap", url: "http://127.0.0.1:9/api/v2", key: "k" }] });
    try {
      const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          PORT: String(busy.port),
          HOST: "127.0.0.1",
          DATABASE_PATH: dbFile(),
          PROVIDERS_FILE: providers,
          LOG_LEVEL: "silent",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const code = await new Promise<number | null>((done) => child.once("exit", (c) => done(c)));
      expect(code).toBe(1);
      expect(stderr).toBe(`smm-proxy: port ${busy.port} on 127.0.0.1 is already in use\n`);
    } finally {
      await busy.close(1000);
    }
  }, 30_000);
});
