/**
 * Logs go through pino's asynchronous destination (issue #14): lines buffered at the moment of
 * a fatal error are still written out, after them the fatal line, and the process exits 1.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

const SCRIPT = `
import { createLogger, exitOnFatalErrors } from "./src/observability/logger.ts";
const logger = createLogger("info", { pretty: false });
exitOnFatalErrors(logger);
for (let i = 0; i < 2000; i++) logger.info({ i }, "line");
setImmediate(() => { throw new Error("boom"); });
`;

const QUIET = `
import { createLogger } from "./src/observability/logger.ts";
const logger = createLogger("info", { pretty: false });
logger.info({ i: 1 }, "last line before a quiet spell");
setTimeout(() => {}, 30_000);
`;

describe("asynchronous logs", () => {
  it("writes a line out while the process keeps running, even when no more lines follow to fill the buffer", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", QUIET], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await new Promise<string>((done) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString("utf8");
          if (out.endsWith("\n")) done(out);
        });
      });
      expect(child.exitCode).toBeNull();
      expect(JSON.parse(line)).toMatchObject({ level: 30, i: 1, msg: "last line before a quiet spell" });
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("writes out every buffered line and a fatal line on an uncaught exception, then exits 1", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", SCRIPT], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    const code = await new Promise<number | null>((done) => child.on("close", (c) => done(c)));
    const lines = out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(code).toBe(1);
    expect(lines).toHaveLength(2001);
    expect(lines.slice(0, 2000).map((l) => l.i)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(lines[2000]).toMatchObject({ level: 60, msg: "uncaught exception: exiting", err: { message: "boom" } });
  });
});
