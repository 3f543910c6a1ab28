/**
 * `sync status|refills|prices` (issue #7): runs one tick of a sync job now, against the
 * providers of PROVIDERS_FILE, and prints its result. Safe while the server runs: every
 * change is a transaction, and a tick does what the scheduler would do next anyway.
 */
import type { Command } from "commander";
import { type CatalogueSyncResult, syncAllCatalogues } from "../../sync/catalogue.js";
import { withAppContext } from "../app-context.js";
import type { CliContext } from "../context.js";

const JSON_FLAG = ["--json", "print machine-readable JSON"] as const;

export function registerSyncCommands(program: Command, ctx: CliContext): void {
  const group = program.command("sync").description("run one tick of a sync job now");

  group
    .command("prices")
    .description("fetch every provider's catalogue and recompute local services, prices and availability")
    .option(...JSON_FLAG)
    .action(async (opts: { json?: boolean }) => {
      const results = await withAppContext(ctx, ({ ctx: app }) => syncAllCatalogues(app));
      if (opts.json) {
        ctx.out.json(results);
        return;
      }
      ctx.out.table(results, [
        { header: "PROVIDER", value: (r: CatalogueSyncResult) => r.providerId },
        { header: "OK", value: (r) => r.ok },
        { header: "UPSTREAM SERVICES", value: (r) => r.upstreamServices, align: "right" },
        { header: "CHANGED", value: (r) => r.changed, align: "right" },
        { header: "ERROR", value: (r) => r.error },
      ]);
    });
}
