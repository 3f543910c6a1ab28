/**
 * `services list` (issue #7): every local service as last recomputed by the catalogue sync,
 * with its cost (upstream rate converted into our currency, per 1000), sell rate and margin.
 */
import type { Command } from "commander";
import { listServiceMargins, type ServiceMargin } from "../../billing/margin.js";
import type { CliContext } from "../context.js";

/** JSON shape of a service in `services list` (see `billing/margin.ts`). */
export type ServiceJson = ServiceMargin;

export function registerServiceCommands(program: Command, ctx: CliContext): void {
  const group = program.command("services").description("inspect local services, their costs and margins");

  group
    .command("list")
    .description("list local services with cost, sell rate and margin (per 1000, in our currency)")
    .option("--json", "print machine-readable JSON")
    .action((opts: { json?: boolean }) => {
      const rows: ServiceJson[] = listServiceMargins(ctx.db());
      if (opts.json) {
        ctx.out.json(rows);
        return;
      }
      ctx.out.table(rows, [
        { header: "ID", value: (s) => s.id, align: "right" },
        { header: "NAME", value: (s) => s.name },
        { header: "PROVIDER", value: (s) => s.providerId },
        { header: "UPSTREAM", value: (s) => s.upstreamService, align: "right" },
        { header: "TYPE", value: (s) => s.type },
        { header: "COST", value: (s) => s.cost, align: "right" },
        { header: "RATE", value: (s) => s.rate, align: "right" },
        { header: "MARGIN", value: (s) => s.margin, align: "right" },
        { header: "MARGIN %", value: (s) => s.marginPercent, align: "right" },
        { header: "MIN", value: (s) => s.min, align: "right" },
        { header: "MAX", value: (s) => s.max, align: "right" },
        { header: "ENABLED", value: (s) => s.enabled },
        { header: "DISABLED REASON", value: (s) => s.disabledReason },
      ]);
    });
}
