/**
 * How a failed CLI run ends: one line on stderr (`error: ...`), never a stack trace, and an
 * exit code: 1 for a failure, 2 for a usage error (bad arguments or options).
 */
import { CommanderError } from "commander";
import { InsufficientFundsError } from "../billing/ledger.js";
import { formatAmount } from "../billing/money.js";
import { ConfigError } from "../config/providers-file.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A usage problem found by a command itself (e.g. neither URL nor --none). */
export class CliUsageError extends Error {
  override name = "CliUsageError";
}

/** The one line printed for an error (without the `error: ` prefix). */
export function errorLine(error: unknown): string {
  if (error instanceof ConfigError) return oneLine(error.problems.join("; "));
  if (error instanceof InsufficientFundsError) {
    return `customer ${error.customerId}: balance ${formatAmount(error.balance)} is less than ${formatAmount(error.needed)}`;
  }
  if (error instanceof Error) return oneLine(error.message || error.name);
  return oneLine(String(error));
}

/** Collapses whitespace runs containing line breaks into one space. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/** Exit code for an error thrown out of a run. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT_OK;
    if (error.code === "commander.help") return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    return EXIT_USAGE;
  }
  if (error instanceof CliUsageError) return EXIT_USAGE;
  return EXIT_FAILURE;
}
