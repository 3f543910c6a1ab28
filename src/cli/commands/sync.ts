/**
 * `sync status|refills|prices` (issue #7): runs one tick of a sync job now, against the
 * providers of PROVIDERS_FILE, and prints its result. Safe while the server runs: every
 * change is a transaction, and a tick does what the scheduler would do next anyway.
 */
import type { Command } from "commander";
import { formatAmount } from "../../billing/money.js";
import { type CatalogueSyncResult, syncAllCatalogues } from "../../sync/catalogue.js";
import { runStatusSyncTick, type StatusSyncResult } from "../../sync/order-status.js";
import { type RefillSyncResult, runRefillSyncTick } from "../../sync/refill-status.js";
import { withAppContext } from "../app-context.js";
import type { CliContext } from "../context.js";

const JSON_FLAG = ["--json", "print machine-readable JSON"] as const;

/** JSON of `sync status`: the tick's result, the refunded total as a 5-decimal string. */
export type StatusSyncJson = Omit<StatusSyncResult, "refunded"> & { refunded: { count: number; total: string } };

function statusSyncJson(r: StatusSyncResult): StatusSyncJson {
  return { ...r, refunded: { count: r.refunded.count, total: formatAmount(r.refunded.total) } };
}

function countsText(label: string, r: StatusSyncJson | RefillSyncResult): string {
  const parts = Object.entries(r).map(([k, v]) =>
    typeof v === "object" && v !== null ? `${k} ${v.count} (${v.total})` : `${k} ${String(v)}`,
  );
  return `${label}: ${parts.join(", ")}`;
}

export function registerSyncCommands(program: Command, ctx: CliContext): void {
  const group = program.command("sync").description("run one tick of a sync job now");

  group
    .command("status")
    .description("sync the status of every open order once (refunds for Canceled/Partial included)")
    .option(...JSON_FLAG)
    .action(async (opts: { json?: boolean }) => {
      const result = statusSyncJson(await withAppContext(ctx, ({ ctx: app }) => runStatusSyncTick(app)));
      if (opts.json) ctx.out.json(result);
      else ctx.out.line(countsText("status sync", result));
    });

  group
    .command("refills")
    .description("sync the status of every open refill once")
    .option(...JSON_FLAG)
    .action(async (opts: { json?: boolean }) => {
      const result = await withAppContext(ctx, ({ ctx: app }) => runRefillSyncTick(app));
      if (opts.json) ctx.out.json(result);
      else ctx.out.line(countsText("refill sync", result));
    });

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
