/**
 * The admin CLI program. Each command group lives in `commands/<group>.ts` and exports a
 * `register(program, ctx)` that adds its commands, each a thin wrapper over a verb; add a new
 * group (providers, services, orders, sync, backup...) by adding a file and a line to `GROUPS`.
 *
 * `runCli(argv, io)` runs one command in-process and resolves to its exit code: tests call it
 * with captured output; `main.ts` calls it with the process's.
 */
import { Command, CommanderError } from "commander";
import { registerBackupCommand } from "./commands/backup.js";
import { registerConfigCommands } from "./commands/config.js";
import { registerCustomerCommands } from "./commands/customers.js";
import { registerMigrateCommand } from "./commands/migrate.js";
import { registerOrderCommands } from "./commands/orders.js";
import { registerProviderCommands } from "./commands/providers.js";
import { registerServiceCommands } from "./commands/services.js";
import { registerSyncCommands } from "./commands/sync.js";
import { CliContext, type CliIo } from "./context.js";
import { EXIT_OK, errorLine, exitCodeFor, oneLine } from "./errors.js";

export type RegisterCommands = (program: Command, ctx: CliContext) => void;

/** Command groups, in the order `--help` lists them. */
const GROUPS: readonly RegisterCommands[] = [
  registerMigrateCommand,
  registerCustomerCommands,
  registerOrderCommands,
  registerServiceCommands,
  registerProviderCommands,
  registerSyncCommands,
  registerConfigCommands,
  registerBackupCommand,
];

/** Builds the commander program for one run (commander keeps parse state: one program per run). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("smm-proxy")
    .description("smm-proxy admin CLI (environment: DATABASE_PATH, PROVIDERS_FILE)")
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      writeErr: (text) => ctx.io.stderr(text),
      // commander may add a second "(Did you mean ...?)" line: keep errors on one line.
      outputError: (text, write) => write(`${oneLine(text)}\n`),
    })
    .exitOverride()
    .helpCommand(true)
    .showSuggestionAfterError(true);
  for (const register of GROUPS) register(program, ctx);
  return program;
}

/**
 * Runs the CLI with `argv` (arguments only, without `node` and the script).
 * @returns the exit code: 0 success, 1 failure, 2 usage error. Never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io);
  try {
    const program = buildProgram(ctx);
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT_OK;
    }
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (error) {
    // commander has already printed its own message (or the help).
    if (!(error instanceof CommanderError)) io.stderr(`error: ${errorLine(error)}\n`);
    return exitCodeFor(error);
  } finally {
    try {
      ctx.close();
    } catch {
      // closing a database that failed to open: nothing to report
    }
  }
}
