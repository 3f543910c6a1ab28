/**
 * `services list` (issues #7, #12): every local service as last recomputed by the catalogue
 * sync, with its cost (the reference route's upstream rate converted into our currency, per
 * 1000), sell rate and margin, and each of its routes with its own cost, margin and whether it
 * can take an order now (and why not), plus how many services each import rule produced.
 */
import type { Command } from "commander";
import { Decimal } from "decimal.js";
import { asc } from "drizzle-orm";
import { formatRate, minorToDecimal } from "../../billing/money.js";
import { isBelowCost } from "../../billing/pricing.js";
import { type Service, type ServiceRoute, serviceRoutes, services } from "../../db/schema.js";
import type { CliContext } from "../context.js";

/** JSON shape of a service in `services list`. */
export interface ServiceJson {
  id: number;
  name: string;
  category: string;
  providerId: string;
  upstreamService: string;
  type: string;
  /** Upstream rate in our currency per 1000, exact decimal string. */
  cost: string;
  /** Sell rate per 1000 (panel style: at least 2 decimals). */
  rate: string;
  /** rate − cost, exact decimal string (negative when selling below cost). */
  margin: string;
  /** margin / rate × 100, 2 decimals (half-up); null when the rate is 0. */
  marginPercent: string | null;
  min: number;
  max: number;
  enabled: boolean;
  disabledReason: string | null;
  /** `priority` (listed order) or `cheapest`. */
  routing: string;
  /** Index of the import rule that produced it (`imports[N]`); null when listed in the file. */
  importRule: number | null;
  routes: RouteJson[];
}

/** A route of a service in `services list`. */
export interface RouteJson {
  /** Position in the service's routes (0 = the pricing reference). */
  route: number;
  providerId: string;
  upstreamService: string;
  /** Upstream rate in our currency per 1000; null when not listed upstream. */
  cost: string | null;
  margin: string | null;
  marginPercent: string | null;
  /**
   * Whether the route can take an order as far as the store knows (listed, same type, a cost
   * below the sell rate). The provider's circuit is known only to the running server
   * (`/readyz`, `smm_upstream_circuit_state`).
   */
  usable: boolean;
  whyNot: string | null;
}

/** Margin figures of a sell rate (minor units per 1000) over a cost (decimal string). */
export function marginOf(rate: number, cost: string): { margin: string; marginPercent: string | null } {
  const sell = minorToDecimal(rate);
  const margin = sell.minus(new Decimal(cost));
  return {
    margin: margin.toFixed(),
    marginPercent: sell.isZero() ? null : margin.dividedBy(sell).times(100).toFixed(2, Decimal.ROUND_HALF_UP),
  };
}

function routeJson(service: Service, r: ServiceRoute): RouteJson {
  const margins = r.cost === null ? { margin: null, marginPercent: null } : marginOf(service.rate, r.cost);
  let whyNot = r.usable ? null : (r.unusableReason ?? "not usable");
  if (whyNot === null && r.cost !== null && isBelowCost(service.rate, r.cost)) {
    whyNot = "cost at or above the sell rate";
  }
  return {
    route: r.routeIndex,
    providerId: r.providerId,
    upstreamService: r.upstreamService,
    cost: r.cost,
    ...margins,
    usable: whyNot === null,
    whyNot,
  };
}

function serviceJson(s: Service, routes: readonly ServiceRoute[]): ServiceJson {
  return {
    id: s.id,
    name: s.name,
    category: s.category,
    providerId: s.providerId,
    upstreamService: s.upstreamService,
    type: s.type,
    cost: s.cost,
    rate: formatRate(s.rate),
    ...marginOf(s.rate, s.cost),
    min: s.min,
    max: s.max,
    enabled: s.enabled,
    disabledReason: s.disabledReason,
    routing: s.routing,
    importRule: s.importRule,
    routes: routes.map((r) => routeJson(s, r)),
  };
}

export function registerServiceCommands(program: Command, ctx: CliContext): void {
  const group = program.command("services").description("inspect local services, their costs and margins");

  group
    .command("list")
    .description("list local services with cost, sell rate and margin (per 1000, in our currency)")
    .option("--json", "print machine-readable JSON")
    .action((opts: { json?: boolean }) => {
      const db = ctx.db();
      const routesOf = new Map<number, ServiceRoute[]>();
      for (const r of db
        .select()
        .from(serviceRoutes)
        .orderBy(serviceRoutes.serviceId, serviceRoutes.routeIndex)
        .all()) {
        routesOf.set(r.serviceId, [...(routesOf.get(r.serviceId) ?? []), r]);
      }
      const rows = db
        .select()
        .from(services)
        .orderBy(asc(services.id))
        .all()
        .map((s) => serviceJson(s, routesOf.get(s.id) ?? []));
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
      const routes = rows.flatMap((s) => (s.routes.length > 1 ? s.routes.map((r) => ({ service: s, ...r })) : []));
      if (routes.length > 0) {
        ctx.out.line();
        ctx.out.line("Routes of services with several:");
        ctx.out.table(routes, [
          { header: "SERVICE", value: (r) => r.service.id, align: "right" },
          { header: "ROUTE", value: (r) => (r.route === 0 ? "0 (reference)" : r.route) },
          { header: "PROVIDER", value: (r) => r.providerId },
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
    });
}
