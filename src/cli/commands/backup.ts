/**
 * `backup PATH` (issue #7): an online backup of the SQLite store with SQLite's backup API
 * (consistent while the server keeps writing). Refuses an existing PATH rather than
 * overwriting it.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import type { CliContext } from "../context.js";

/** JSON of `backup --json`. */
export interface BackupJson {
  /** Absolute path of the backup file. */
  path: string;
  /** Size of the backup file, bytes. */
  bytes: number;
  /** Database pages copied. */
  pages: number;
}

export function registerBackupCommand(program: Command, ctx: CliContext): void {
  program
    .command("backup")
    .description("write an online backup of the database at DATABASE_PATH to PATH (a new file)")
    .argument("<path>", "file to create")
    .option("--json", "print machine-readable JSON")
    .action(async (path: string, opts: { json?: boolean }) => {
      const target = resolve(path);
      if (existsSync(target)) throw new Error(`${target} already exists; choose a new file`);
      const folder = dirname(target);
      if (!existsSync(folder)) throw new Error(`folder ${folder} does not exist; create it first (mkdir -p ${folder})`);
      const progress = await ctx.db().$client.backup(target);
      const result: BackupJson = { path: target, bytes: statSync(target).size, pages: progress.totalPages };
      if (opts.json) ctx.out.json(result);
      else ctx.out.line(`${target}: ${result.bytes} bytes (${result.pages} pages)`);
    });
}
