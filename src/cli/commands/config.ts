/**
 * `config check`: validates PROVIDERS_FILE (resolving `${NAME}` key references from the
 * environment) and prints what it declares. Provider keys are never printed.
 */
import type { Command } from "commander";
import { loadProvidersFile, type Markup, type ServiceConfig } from "../../config/providers-file.js";
import type { CliContext } from "../context.js";
import { providerSettingsJson } from "../provider-json.js";

/** How a service is priced, for display: a fixed rate, its own markup, or the file's default. */
export type PricingJson =
  | { kind: "rate"; rate: string }
  | { kind: "percent"; percent: string; default: boolean }
  | { kind: "fixed"; fixed: string; default: boolean };

function pricing(service: ServiceConfig, fileMarkup: Markup): PricingJson {
  if (service.rate !== undefined) return { kind: "rate", rate: service.rate };
  const markup = service.markup ?? fileMarkup;
  const isDefault = service.markup === undefined;
  return "percent" in markup
    ? { kind: "percent", percent: markup.percent, default: isDefault }
    : { kind: "fixed", fixed: markup.fixed, default: isDefault };
}

function pricingText(p: PricingJson): string {
  const suffix = p.kind !== "rate" && p.default ? " (default)" : "";
  if (p.kind === "rate") return `rate ${p.rate}`;
  if (p.kind === "percent") return `+${p.percent}%${suffix}`;
  return `+${p.fixed}/1000${suffix}`;
}

function markupText(m: Markup): string {
  return "percent" in m ? `+${m.percent}%` : `+${m.fixed} per 1000`;
}

export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const group = program.command("config").description("inspect the configuration");

  group
    .command("check")
    .description("validate PROVIDERS_FILE and print its providers (never their keys) and services")
    .option("--json", "print machine-readable JSON")
    .action((opts: { json?: boolean }) => {
      const file = ctx.env().PROVIDERS_FILE;
      const config = loadProvidersFile(file, ctx.envSource);
      const providers = config.providers.map((p) => ({
        ...providerSettingsJson(p),
        timeoutMs: p.timeoutMs,
        balanceWarning: p.balanceWarning ?? null,
      }));
      const services = config.services.map((s) => ({
        id: s.id,
        provider: s.provider,
        upstreamService: s.upstreamService,
        name: s.name ?? null,
        category: s.category ?? null,
        pricing: pricing(s, config.markup),
        min: s.min ?? null,
        max: s.max ?? null,
        enabled: s.enabled,
      }));
      if (opts.json) {
        ctx.out.json({
          file,
          valid: true,
          currency: config.currency,
          markup: config.markup,
          exchangeRates: config.exchangeRates,
          flagAfterMisses: config.flagAfterMisses,
          providers,
          services,
        });
        return;
      }
      ctx.out.line(`${file}: OK`);
      ctx.out.keyValues([
        ["currency", config.currency],
        ["default markup", markupText(config.markup)],
        [
          "exchange rates",
          Object.entries(config.exchangeRates)
            .map(([c, r]) => `1 ${c} = ${r} ${config.currency}`)
            .join(", ") || "-",
        ],
        ["flag after misses", config.flagAfterMisses],
      ]);
      ctx.out.line();
      ctx.out.line(`Providers (${providers.length}):`);
      ctx.out.table(providers, [
        { header: "ID", value: (p) => p.id },
        { header: "NAME", value: (p) => p.name },
        { header: "DIALECT", value: (p) => p.dialect },
        { header: "URL", value: (p) => p.url },
        { header: "CUR", value: (p) => p.currency },
        { header: "RATE", value: (p) => p.exchangeRate, align: "right" },
        { header: "LIMIT", value: (p) => `${p.rateLimit.requests}/${p.rateLimit.intervalMs}ms` },
        { header: "CONC", value: (p) => p.concurrency, align: "right" },
        { header: "TIMEOUT", value: (p) => `${p.timeoutMs}ms`, align: "right" },
      ]);
      ctx.out.line();
      ctx.out.line(`Services (${services.length}):`);
      ctx.out.table(services, [
        { header: "ID", value: (s) => s.id, align: "right" },
        { header: "PROVIDER", value: (s) => s.provider },
        { header: "UPSTREAM", value: (s) => s.upstreamService, align: "right" },
        { header: "NAME", value: (s) => s.name ?? "(upstream)" },
        { header: "CATEGORY", value: (s) => s.category ?? "(upstream)" },
        { header: "PRICING", value: (s) => pricingText(s.pricing) },
        { header: "MIN", value: (s) => s.min ?? "(upstream)", align: "right" },
        { header: "MAX", value: (s) => s.max ?? "(upstream)", align: "right" },
        { header: "ENABLED", value: (s) => s.enabled },
      ]);
    });
}
