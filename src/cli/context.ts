/**
 * What a CLI run works with: its IO, its environment (validated lazily with `loadEnv`, so
 * `--help` needs no valid environment) and a database opened on first use and closed at the end.
 */
import { readFileSync } from "node:fs";
import { type Env, loadEnv } from "../config/env.js";
import { ConfigError } from "../config/providers-file.js";
import { type Db, openDb } from "../db/client.js";
import { Output } from "./output.js";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Environment variables (default `process.env`). */
  env?: Record<string, string | undefined>;
}

export class CliContext {
  readonly out: Output;
  readonly envSource: Record<string, string | undefined>;
  private cachedEnv: Env | undefined;
  private database: Db | undefined;

  constructor(readonly io: CliIo) {
    this.out = new Output(io.stdout, io.stderr);
    this.envSource = io.env ?? process.env;
  }

  /** @throws EnvError with a one-line message naming the variable. */
  env(): Env {
    this.cachedEnv ??= loadEnv(this.envSource);
    return this.cachedEnv;
  }

  /** The database at `DATABASE_PATH`, migrated, opened once per run. */
  db(): Db {
    this.database ??= openDb(this.env().DATABASE_PATH);
    return this.database;
  }

  /** Uses `open` instead of the default opener (e.g. without migrations); closes at the end too. */
  adoptDb(db: Db): Db {
    this.database = db;
    return db;
  }

  close(): void {
    this.database?.$client.close();
    this.database = undefined;
  }

  /**
   * The currency of new customers: the `currency` of PROVIDERS_FILE when the file exists,
   * else USD. Reads only that field, so upstream keys need not be set to add a customer.
   * @throws ConfigError when the file exists but is not JSON or its currency is malformed.
   */
  defaultCurrency(): string {
    const path = this.env().PROVIDERS_FILE;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "USD";
      throw new ConfigError([
        `${path}: cannot read the providers file (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      ]);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new ConfigError([`${path}: invalid JSON (${(error as Error).message})`]);
    }
    const currency = typeof raw === "object" && raw !== null ? (raw as { currency?: unknown }).currency : undefined;
    if (currency === undefined) return "USD";
    if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency)) {
      throw new ConfigError([`currency: expected a 3-letter currency code like USD`]);
    }
    return currency;
  }
}
