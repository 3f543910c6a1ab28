/**
 * `config check`: validates PROVIDERS_FILE (resolving `${NAME}` key references from the
 * environment) and prints what it declares. Provider keys are never printed.
 */
import type { Command } from "commander";
import {
  loadProvidersFile,
  type Markup,
  type ProvidersConfig,
  type ServiceConfig,
} from "../../config/providers-file.js";
import { type MissingUpstreamService, missingUpstreamServices } from "../../sync/catalogue.js";
import { createProviderRegistry } from "../../upstream/registry.js";
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
    .option(
      "--online",
      "also fetch every provider's catalogue and check each upstreamService is listed (exit 1 if not)",
    )
    .option("--json", "print machine-readable JSON")
    .action(async (opts: { json?: boolean; online?: boolean }) => {
      const file = ctx.env().PROVIDERS_FILE;
      const config = loadProvidersFile(file, ctx.envSource);
      const online = opts.online ? await checkCatalogues(config) : undefined;
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
          ...(online ? { catalogues: online } : {}),
        });
        failIfMissing(online);
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
      if (online) {
        ctx.out.line();
        ctx.out.line("Upstream catalogues:");
        ctx.out.table(online, [
          { header: "PROVIDER", value: (c) => c.providerId },
          { header: "OK", value: (c) => c.ok },
          { header: "UPSTREAM SERVICES", value: (c) => c.upstreamServices, align: "right" },
          { header: "NOT LISTED", value: (c) => c.missing.map((m) => m.path).join(", ") || null },
          { header: "ERROR", value: (c) => c.error },
        ]);
      }
      failIfMissing(online);
    });
}

/** One provider's catalogue as `config check --online` saw it. */
export interface CatalogueCheckJson {
  providerId: string;
  ok: boolean;
  /** Services the catalogue lists (0 when it could not be fetched). */
  upstreamServices: number;
  /** Configured services of this provider that its catalogue does not list. */
  missing: MissingUpstreamService[];
  /** `"<outcome>: <message>"` when the catalogue could not be fetched. */
  error: string | null;
}

/** Fetches every provider's `services` (in parallel) and lists the configured ids they lack. */
async function checkCatalogues(config: ProvidersConfig): Promise<CatalogueCheckJson[]> {
  const registry = createProviderRegistry(config.providers);
  try {
    return await Promise.all(
      config.providers.map(async (p): Promise<CatalogueCheckJson> => {
        const outcome = await registry.get(p.id)?.services({ priority: "catalogue" });
        if (outcome === undefined || outcome.kind !== "ok") {
          const error = outcome ? `${outcome.kind}: ${outcome.failure.message}` : "no client";
          return { providerId: p.id, ok: false, upstreamServices: 0, missing: [], error };
        }
        const listed = new Set(outcome.value.map((s) => s.service));
        const missing = missingUpstreamServices({ config }, p.id, listed);
        return { providerId: p.id, ok: true, upstreamServices: listed.size, missing, error: null };
      }),
    );
  } finally {
    await registry.close(5_000);
  }
}

/** @throws Error naming every unlisted service by its JSON path, and every unreachable catalogue. */
function failIfMissing(online: CatalogueCheckJson[] | undefined): void {
  if (online === undefined) return;
  const problems = online.flatMap((c) =>
    c.ok
      ? c.missing.map((m) => `${m.path}: ${m.upstreamService} is not in ${m.providerId}'s catalogue`)
      : [`provider ${c.providerId}: catalogue not fetched (${c.error})`],
  );
  if (problems.length > 0) throw new Error(problems.join("; "));
}
