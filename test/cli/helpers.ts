/** Runs the CLI in-process with captured output, against a temp database per test file. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/program.js";
import { openDb } from "../../src/db/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { AppContext } from "../../src/runtime/context.js";
import { createProviderRegistry } from "../../src/upstream/registry.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliSandbox {
  dir: string;
  env: Record<string, string | undefined>;
  run: (args: string[], extraEnv?: Record<string, string | undefined>) => Promise<CliRun>;
  /** Runs with --json and parses stdout (fails on a non-zero exit). */
  json: <T = Record<string, unknown>>(args: string[], extraEnv?: Record<string, string | undefined>) => Promise<T>;
  cleanup: () => void;
}

export function cliSandbox(prefix = "smm-cli-"): CliSandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env: Record<string, string | undefined> = {
    DATABASE_PATH: join(dir, "test.db"),
    PROVIDERS_FILE: join(dir, "providers.json"),
    // The port `services list` / `providers list` ask for the running server's circuits: port 1
    // (privileged, never served here) refuses at once, so no server on this shared machine answers.
    PORT: "1",
  };
  const run = async (args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<CliRun> => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(args, {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      env: { ...env, ...extraEnv },
    });
    return { code, stdout, stderr };
  };
  const json = async <T>(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<T> => {
    const result = await run([...args, "--json"], extraEnv);
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  return { dir, env, run, json, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs `fn` over an app context on `databasePath` with `config`'s providers, as the server
 * would build one (a registry of upstream clients, a silent logger); closed afterwards.
 */
export async function withAppContext<T>(
  databasePath: string,
  config: AppContext["config"],
  fn: (ctx: AppContext) => Promise<T>,
  now: () => number = Date.now,
): Promise<T> {
  const db = openDb(databasePath);
  const registry = createProviderRegistry(config.providers);
  const ctx: AppContext = { db, config, providers: registry, logger: silentLogger(), now, catalogueVersion: 0 };
  try {
    return await fn(ctx);
  } finally {
    await registry.close(1000);
    db.$client.close();
  }
}
