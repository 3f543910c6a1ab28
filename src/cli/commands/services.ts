/**
 * `services list` (issue #7): every local service as last recomputed by the catalogue sync,
 * with its cost (upstream rate converted into our currency, per 1000), sell rate and margin.
 */
import type { Command } from "commander";
import { Decimal } from "decimal.js";
import { asc } from "drizzle-orm";
import { formatRate, minorToDecimal } from "../../billing/money.js";
import { type Service, services } from "../../db/schema.js";
import { NOT_IN_CATALOGUE } from "../../sync/catalogue.js";
import type { CliContext } from "../context.js";

/** JSON shape of a service in `services list`. */
export interface ServiceJson {
  id: number;
  name: string;
  category: string;
  providerId: string;
  upstreamService: string;
  type: string;
  /** Upstream rate in our currency per 1000, exact decimal string (null: never listed upstream). */
  cost: string | null;
  /** Sell rate per 1000 (panel style: at least 2 decimals); null: never listed upstream. */
  rate: string | null;
  /** rate − cost, exact decimal string (negative when selling below cost). */
  margin: string | null;
  /** margin / rate × 100, 2 decimals (half-up); null when the rate is 0. */
  marginPercent: string | null;
  min: number | null;
  max: number | null;
  enabled: boolean;
  disabledReason: string | null;
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

function serviceJson(s: Service): ServiceJson {
  if (s.disabledReason === NOT_IN_CATALOGUE) {
    // A typo in the providers file, most likely: there is no upstream price or limit to show.
    const none = { cost: null, rate: null, margin: null, marginPercent: null, min: null, max: null };
    const { id, name, category, providerId, upstreamService, type, enabled, disabledReason } = s;
    return { id, name, category, providerId, upstreamService, type, ...none, enabled, disabledReason };
  }
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
  };
}

export function registerServiceCommands(program: Command, ctx: CliContext): void {
  const group = program.command("services").description("inspect local services, their costs and margins");

  group
    .command("list")
    .description("list local services with cost, sell rate and margin (per 1000, in our currency)")
    .option("--json", "print machine-readable JSON")
    .action((opts: { json?: boolean }) => {
      const rows = ctx.db().select().from(services).orderBy(asc(services.id)).all().map(serviceJson);
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
