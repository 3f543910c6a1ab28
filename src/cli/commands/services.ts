/**
 * `services list` (issues #7, #12): every local service as last recomputed by the catalogue
 * sync, with its cost (the reference route's upstream rate converted into our currency, per
 * 1000), sell rate and margin, and each of its routes with its own cost, margin and whether it
 * can take an order now (and why not), plus how many services each import rule produced.
 * Each service and route shows its provider's circuit as the running server reports it
 * (`server-circuits.ts`); when no server answers, one line says why it is unknown.
 */
import type { Command } from "commander";
import { listServiceMargins, type RouteMargin, type ServiceMargin } from "../../sync/service-view.js";
import type { CliContext } from "../context.js";
import { askServerCircuits, type CircuitJson, circuitJson, circuitNote, circuitText } from "../server-circuits.js";

/** A route of a service in `services list`, with its provider's circuit (null: unknown). */
export type RouteJson = RouteMargin & { circuit: CircuitJson | null };

/**
 * JSON shape of a service in `services list` (see `sync/service-view.ts`), with the circuit of
 * its reference route's provider (null: unknown, no server answered).
 */
export type ServiceJson = Omit<ServiceMargin, "routes"> & { circuit: CircuitJson | null; routes: RouteJson[] };

export function registerServiceCommands(program: Command, ctx: CliContext): void {
  const group = program.command("services").description("inspect local services, their costs and margins");

  group
    .command("list")
    .description("list local services with cost, sell rate and margin (per 1000, in our currency)")
    .option("--json", "print machine-readable JSON")
    .action(async (opts: { json?: boolean }) => {
      const margins = listServiceMargins(ctx.db());
      const server = await askServerCircuits(ctx.env());
      const rows: ServiceJson[] = margins.map((s) => ({
        ...s,
        circuit: circuitJson(server, s.providerId),
        routes: s.routes.map((r) => ({ ...r, circuit: circuitJson(server, r.providerId) })),
      }));
      const note = circuitNote(
        server,
        margins.flatMap((s) => [s.providerId, ...s.routes.map((r) => r.providerId)]),
      );
      if (opts.json) {
        ctx.out.json(rows);
        if (note !== undefined) ctx.out.warn(note);
        return;
      }
      ctx.out.table(rows, [
        { header: "ID", value: (s) => s.id, align: "right" },
        { header: "NAME", value: (s) => s.name },
        { header: "PROVIDER", value: (s) => s.providerId },
        { header: "CIRCUIT", value: (s) => circuitText(server, s.providerId) },
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
      const routes = rows.flatMap((s) => (s.routes.length > 1 ? s.routes.map((r) => ({ service: s, ...r })) : []));
      if (routes.length > 0) {
        ctx.out.line();
        ctx.out.line("Routes of services with several:");
        ctx.out.table(routes, [
          { header: "SERVICE", value: (r) => r.service.id, align: "right" },
          { header: "ROUTE", value: (r) => (r.route === 0 ? "0 (reference)" : r.route) },
          { header: "PROVIDER", value: (r) => r.providerId },
          { header: "CIRCUIT", value: (r) => circuitText(server, r.providerId) },
          { header: "UPSTREAM", value: (r) => r.upstreamService, align: "right" },
          { header: "COST", value: (r) => r.cost, align: "right" },
          { header: "MARGIN", value: (r) => r.margin, align: "right" },
          { header: "MARGIN %", value: (r) => r.marginPercent, align: "right" },
          { header: "USABLE", value: (r) => r.usable },
          { header: "WHY NOT", value: (r) => r.whyNot },
        ]);
      }
      const imported = new Map<number, number>();
      for (const s of rows)
        if (s.importRule !== null) imported.set(s.importRule, (imported.get(s.importRule) ?? 0) + 1);
      if (imported.size > 0) {
        ctx.out.line();
        ctx.out.line("Services produced by import rules:");
        ctx.out.table(
          [...imported].sort(([a], [b]) => a - b),
          [
            { header: "RULE", value: ([rule]) => `imports[${rule}]` },
            { header: "SERVICES", value: ([, count]) => count, align: "right" },
          ],
        );
      }
      if (note !== undefined) {
        ctx.out.line();
        ctx.out.line(note);
      }
    });
}
