/**
 * `providers list` and `providers check` (issue #7). `list` joins PROVIDERS_FILE (never the
 * keys) with the runtime state the server keeps in the `providers` table (last balance, last
 * catalogue sync, last error), and each provider's circuit as the running server on PORT
 * reports it (`server-circuits.ts`; one line says why when no server answers). `check` calls `balance` on every provider now, stores
 * the answers like the scheduled refresh, prints a report and exits 1 when any provider failed.
 */
import type { Command } from "commander";
import { loadProvidersFile } from "../../config/providers-file.js";
import { checkProviders } from "../../sync/balances.js";
import { listProviderStates } from "../../sync/provider-state.js";
import { withAppContext } from "../app-context.js";
import type { CliContext } from "../context.js";
import { isoTime } from "../output.js";
import { askServerCircuits, type CircuitJson, circuitJson, circuitNote, circuitText } from "../server-circuits.js";

const JSON_FLAG = ["--json", "print machine-readable JSON"] as const;

/** JSON shape of a provider in `providers list`. */
export interface ProviderJson {
  id: string;
  name: string;
  dialect: string;
  url: string;
  currency: string;
  exchangeRate: string;
  rateLimit: { requests: number; intervalMs: number };
  concurrency: number;
  /** Last `balance` answer (decimal string in the provider's currency), or null. */
  balance: string | null;
  balanceCheckedAt: string | null;
  catalogueSyncedAt: string | null;
  lastError: string | null;
  /** Its circuit in the running server; null when unknown (no server answered, or it lacks the provider). */
  circuit: CircuitJson | null;
}

export function registerProviderCommands(program: Command, ctx: CliContext): void {
  const group = program.command("providers").description("inspect upstream providers and check they answer");

  group
    .command("list")
    .description("list configured providers (never their keys) with their last balance, sync and error")
    .option(...JSON_FLAG)
    .action(async (opts: { json?: boolean }) => {
      const config = loadProvidersFile(ctx.env().PROVIDERS_FILE, ctx.envSource);
      const server = await askServerCircuits(ctx.env());
      const rows: ProviderJson[] = listProviderStates(ctx.db(), config).map(({ timeoutMs: _, ...p }) => ({
        ...p,
        balanceCheckedAt: isoTime(p.balanceCheckedAt),
        catalogueSyncedAt: isoTime(p.catalogueSyncedAt),
        circuit: circuitJson(server, p.id),
      }));
      const note = circuitNote(
        server,
        rows.map((p) => p.id),
      );
      if (opts.json) {
        ctx.out.json(rows);
        if (note !== undefined) ctx.out.warn(note);
        return;
      }
      ctx.out.table(rows, [
        { header: "ID", value: (p) => p.id },
        { header: "DIALECT", value: (p) => p.dialect },
        { header: "URL", value: (p) => p.url },
        { header: "CUR", value: (p) => p.currency },
        { header: "LIMIT", value: (p) => `${p.rateLimit.requests}/${p.rateLimit.intervalMs}ms` },
        { header: "CONC", value: (p) => p.concurrency, align: "right" },
        { header: "BALANCE", value: (p) => p.balance, align: "right" },
        { header: "BALANCE AT", value: (p) => p.balanceCheckedAt },
        { header: "CATALOGUE AT", value: (p) => p.catalogueSyncedAt },
        { header: "CIRCUIT", value: (p) => circuitText(server, p.id) },
        { header: "LAST ERROR", value: (p) => p.lastError },
      ]);
      if (note !== undefined) {
        ctx.out.line();
        ctx.out.line(note);
      }
    });

  group
    .command("check")
    .description("call balance on every provider now: reachability, latency, balance (exit 1 if any fails)")
    .option(...JSON_FLAG)
    .action(async (opts: { json?: boolean }) => {
      const checks = await withAppContext(ctx, ({ ctx: app }) => checkProviders(app));
      if (opts.json) ctx.out.json(checks);
      else {
        ctx.out.table(checks, [
          { header: "ID", value: (c) => c.id },
          { header: "REACHABLE", value: (c) => c.reachable },
          { header: "LATENCY", value: (c) => `${c.latencyMs}ms`, align: "right" },
          { header: "BALANCE", value: (c) => c.balance, align: "right" },
          { header: "CUR", value: (c) => c.currency },
          { header: "ERROR", value: (c) => c.error },
        ]);
      }
      const failed = checks.filter((c) => c.error !== null).map((c) => c.id);
      if (failed.length > 0) {
        throw new Error(`${failed.length} of ${checks.length} provider(s) failed the check: ${failed.join(", ")}`);
      }
    });
}
