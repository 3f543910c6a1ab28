/**
 * `config check`: validates PROVIDERS_FILE (resolving `${NAME}` key references from the
 * environment) and prints what it declares. Provider keys are never printed.
 *
 * What depends on the upstream catalogues (issue #12) is checked against the catalogues cached
 * in the database by the last price sync: the routes of a service must agree on the service
 * type (a route naming the path is refused otherwise), and each import rule's count of services
 * produced (skipped, overridden by an explicit service), with ids produced by two rules refused.
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError, loadProvidersFile, type Markup, type ServiceConfig } from "../../config/providers-file.js";
import { catalogueProblems, loadCachedCatalogues } from "../../routing/catalogue-check.js";
import type { CatalogueEntry } from "../../routing/imports.js";
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

/**
 * The cached catalogues (empty before the first price sync). A database that does not exist yet
 * is not created: `config check` stays usable before `migrate`.
 */
function cachedCatalogues(ctx: CliContext): Map<string, CatalogueEntry[]> {
  const path = ctx.env().DATABASE_PATH;
  if (path === ":memory:" || !existsSync(path)) return new Map();
  return loadCachedCatalogues(ctx.db());
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
      const catalogues = cachedCatalogues(ctx);
      const checked = catalogueProblems(config, catalogues);
      if (checked.problems.length > 0) throw new ConfigError(checked.problems);
      const imports = config.imports.map((rule, i) => ({
        rule: i,
        provider: rule.provider,
        idOffset: rule.idOffset,
        categories: rule.categories ?? null,
        types: rule.types ?? null,
        exclude: rule.exclude,
        produced: checked.counts[i]?.produced ?? 0,
        skipped: checked.counts[i]?.skipped ?? 0,
        overridden: checked.counts[i]?.overridden ?? 0,
        catalogueCached: catalogues.has(rule.provider),
      }));
      const providers = config.providers.map((p) => ({
        ...providerSettingsJson(p),
        timeoutMs: p.timeoutMs,
        balanceWarning: p.balanceWarning ?? null,
      }));
      const services = config.services.map((s) => ({
        id: s.id,
        provider: s.provider,
        upstreamService: s.upstreamService,
        routes: s.routes,
        routing: s.routing,
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
          imports,
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
      const multi = services.filter((s) => s.routes.length > 1);
      if (multi.length > 0) {
        ctx.out.line();
        ctx.out.line("Routes (first = pricing reference):");
        ctx.out.table(multi, [
          { header: "SERVICE", value: (s) => s.id, align: "right" },
          { header: "ROUTING", value: (s) => s.routing },
          { header: "ROUTES", value: (s) => s.routes.map((r) => `${r.provider}/${r.upstreamService}`).join(", ") },
        ]);
      }
      if (imports.length > 0) {
        ctx.out.line();
        ctx.out.line(`Import rules (${imports.length}), counted over the catalogues cached by the last price sync:`);
        ctx.out.table(imports, [
          { header: "RULE", value: (r) => `imports[${r.rule}]` },
          { header: "PROVIDER", value: (r) => r.provider },
          { header: "ID OFFSET", value: (r) => r.idOffset, align: "right" },
          { header: "SERVICES", value: (r) => (r.catalogueCached ? r.produced : "(no sync yet)"), align: "right" },
          { header: "SKIPPED", value: (r) => r.skipped, align: "right" },
          { header: "OVERRIDDEN", value: (r) => r.overridden, align: "right" },
        ]);
      }
    });
}
