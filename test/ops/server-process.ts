/**
 * The server as a child process, as an operator runs it: `args` after `node` (`["dist/main.js"]`
 * as the systemd unit does, or `["--import", "tsx", "src/main.ts"]`), JSON log lines collected.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { freePort } from "./helpers.js";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface Child {
  process: ChildProcess;
  url: string;
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  /** Resolves with the first log line matching `test`. */
  waitFor(test: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

/** Starts the server on a free port of 127.0.0.1 and resolves once it logged "smm-proxy listening". */
export async function spawnServer(args: readonly string[], env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, [...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      RATE_LIMIT_IP_PER_MIN: "0",
      STATUS_SYNC_INTERVAL_MS: "3600000",
      PRICE_SYNC_INTERVAL_MS: "3600000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    test: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let buffer = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let at = buffer.indexOf("\n");
    while (at >= 0) {
      const text = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      at = buffer.indexOf("\n");
      if (!text.startsWith("{")) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.filter((w) => w.test(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  const waitFor = (test: (l: Record<string, unknown>) => boolean) => {
    const seen = lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((done, fail) => {
      waiters.push({ test, resolve: done });
      void exited.then((code) => fail(new Error(`server exited (${code}): ${stderr}`)));
    });
  };
  await waitFor((l) => l.msg === "smm-proxy listening");
  return { process: child, url: `http://127.0.0.1:${port}`, lines, exited, waitFor };
}
