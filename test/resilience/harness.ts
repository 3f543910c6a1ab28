/**
 * Resilience test harness: smm-proxy as a real child process (`node --import tsx src/main.ts`)
 * on a fixed port over a temp database file, SIGKILL and restart, and store checks read
 * straight from the SQLite file with better-sqlite3.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export { freePort } from "../helpers/net.js";

/** A temp folder holding the database and the providers file; `remove()` deletes it. */
export function tempDir(prefix: string): { path: string; file(name: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2));
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Polls `check` every 20 ms until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr (start errors). */
  readonly stderr: () => string;
  /** Resolves with the exit signal (or code) once the process is gone. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Spawns the server with `env` (merged over PATH/HOME only) and waits until `/readyz` says it has started.
 * @throws when the process exits or is not healthy within `timeoutMs`.
 */
export async function spawnServer(
  env: Record<string, string>,
  port: number,
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  let gone = false;
  const exited = new Promise<NodeJS.Signals | number | null>((done) => {
    child.once("exit", (code, signal) => {
      gone = true;
      done(signal ?? code);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`server exited during start: ${stderr.trim()}`);
    // Started, not just alive: the port is bound before crash recovery and the first catalogue
    // sync, and the API answers 503 "Service is starting" until they are done.
    const healthy = await fetch(`${url}/readyz`).then(
      async (r) => ((await r.json()) as { checks?: { started?: boolean } }).checks?.started === true,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`server not healthy within ${timeoutMs} ms: ${stderr.trim()}`);
    }
    await sleep(50);
  }
  return {
    url,
    child,
    stderr: () => stderr,
    exited,
    async kill() {
      if (!gone) child.kill("SIGKILL");
      await exited;
    },
  };
}

export interface OrderRow {
  id: number;
  customer_id: number;
  service_id: number;
  provider_id: string;
  upstream_order_id: string | null;
  params: string;
  charge: number;
  refunded: number;
  status: string;
  submission: string;
  submit_started_at: number | null;
  flag: string | null;
}

/** A read-only view of the store file, opened per check (the server may be writing). */
export function readStore(path: string): {
  orders: OrderRow[];
  customers: Array<{ id: number; balance: number; ledger: number }>;
  ledger: Array<{ customer_id: number; order_id: number | null; kind: string; amount: number }>;
} {
  const db = new Database(path, { readonly: true, timeout: 5000 });
  try {
    return {
      orders: db.prepare("SELECT * FROM orders ORDER BY id").all() as OrderRow[],
      customers: db
        .prepare(
          `SELECT c.id, c.balance, coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.customer_id = c.id), 0) AS ledger
           FROM customers c ORDER BY c.id`,
        )
        .all() as Array<{ id: number; balance: number; ledger: number }>,
      ledger: db.prepare("SELECT customer_id, order_id, kind, amount FROM ledger_entries ORDER BY id").all() as Array<{
        customer_id: number;
        order_id: number | null;
        kind: string;
        amount: number;
      }>,
    };
  } finally {
    db.close();
  }
}

/** POSTs form fields to `/api/v2`; resolves to the status and parsed JSON body. */
export async function apiCall(
  baseUrl: string,
  fields: Record<string, string | number>,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}/api/v2`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])).toString(),
  });
  return { status: res.status, body: await res.json() };
}
