/**
 * The operator's config file (`PROVIDERS_FILE`): upstream providers and the local services
 * mapped onto them, validated with zod at start and on reload (issue #2).
 *
 * Every error is one line naming the JSON path, e.g.
 * `services[2].provider: unknown provider "jpp"`.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { parseAmount } from "../billing/money.js";
import {
  checkImportRules,
  checkServiceRoutes,
  importRuleSchema,
  type RouteConfig,
  type RoutingPolicy,
  routeSchema,
  routingPolicySchema,
  upstreamServiceId,
} from "../routing/config.js";

export const DIALECTS = ["jap", "morethanpanel", "justprovider", "panel"] as const;
export type Dialect = (typeof DIALECTS)[number];

const decimalString = (what: string) =>
  z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .refine((v) => /^\d+(\.\d+)?$/.test(v), { message: `expected a non-negative decimal ${what}` });

/** Amount in our currency with at most 5 decimals, kept as its decimal string. */
const amountString = (what: string) =>
  decimalString(what).refine(
    (v) => {
      try {
        parseAmount(v);
        return true;
      } catch {
        return false;
      }
    },
    { message: `expected ${what} with at most 5 decimals` },
  );

const currencyCode = z.string().regex(/^[A-Z]{3}$/, "expected a 3-letter currency code like USD");

/** Markup rule: `percent` (rate × (1 + p/100)) or `fixed` (rate + amount per 1000, in our currency). */
export const markupSchema = z.union(
  [z.strictObject({ percent: decimalString("percent") }), z.strictObject({ fixed: amountString("amount") })],
  { error: 'expected {"percent": N} or {"fixed": "0.50"}' },
);
export type Markup = z.infer<typeof markupSchema>;

const positiveInt = (what: string) =>
  z
    .number({ error: `expected ${what}` })
    .int(`expected ${what}`)
    .positive(`expected ${what}`);

const providerSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "expected an id of lowercase letters, digits, - or _"),
  name: z.string().min(1).optional(),
  dialect: z.enum(DIALECTS, { error: `expected one of ${DIALECTS.join(", ")}` }),
  url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }),
  /** Upstream API key; `${NAME}` references an environment variable. Never logged. */
  key: z.string().min(1, "expected the provider's API key"),
  currency: currencyCode.optional(),
  rateLimit: z
    .strictObject({ requests: positiveInt("a positive integer"), intervalMs: positiveInt("a positive integer") })
    .default({ requests: 60, intervalMs: 60_000 }),
  concurrency: positiveInt("a positive integer").default(4),
  timeoutMs: positiveInt("a positive integer").default(30_000),
  /** Log a warning when the provider's balance falls below this (provider currency). */
  balanceWarning: decimalString("amount").optional(),
  /**
   * The upstream honours `Idempotency-Key` (another smm-proxy does): every `add` carries one
   * derived from our order id, and held orders are re-asked with it by status sync (issue #11).
   */
  idempotencyKeys: z.boolean().default(false),
});

const serviceSchema = z
  .strictObject({
    id: positiveInt("a positive integer service id"),
    /** Shorthand for one route: `provider` + `upstreamService`. */
    provider: z.string().optional(),
    upstreamService: upstreamServiceId.optional(),
    /** The upstreams that can serve this service; the first is the pricing reference (issue #12). */
    routes: z.array(routeSchema).min(1, "list at least one route").optional(),
    routing: routingPolicySchema.default("priority"),
    name: z.string().min(1).optional(),
    category: z.string().min(1).optional(),
    markup: markupSchema.optional(),
    /** Fixed sell rate per 1000 (Package: per package) in our currency. */
    rate: decimalString("rate")
      .refine((v) => !/^\d+(\.\d+)?$/.test(v) || /^\d{1,12}(\.\d{1,4})?$/.test(v), {
        message: "expected a rate with at most 4 decimals (sell rates are kept to 4 decimals)",
      })
      .optional(),
    min: positiveInt("a positive integer").optional(),
    max: positiveInt("a positive integer").optional(),
    enabled: z.boolean().default(true),
  })
  .refine((s) => !(s.rate !== undefined && s.markup !== undefined), {
    message: "give either rate or markup, not both",
  })
  .refine((s) => s.min === undefined || s.max === undefined || s.min <= s.max, {
    message: "min must not exceed max",
  });

export const providersFileSchema = z
  .strictObject({
    currency: currencyCode.default("USD"),
    markup: markupSchema.default({ percent: "0" }),
    /** Value of one unit of that currency in ours, e.g. {"EUR": "1.08"}. */
    exchangeRates: z.record(currencyCode, decimalString("exchange rate")).default({}),
    /** Consecutive "Incorrect order ID" sync answers before an order is flagged. */
    flagAfterMisses: positiveInt("a positive integer").default(5),
    providers: z.array(providerSchema).min(1, "declare at least one provider"),
    services: z.array(serviceSchema).default([]),
    /** Import rules: services generated from a provider's catalogue at every price sync (issue #12). */
    imports: z.array(importRuleSchema(markupSchema)).default([]),
  })
  .superRefine((file, ctx) => {
    const providerIds = new Set<string>();
    file.providers.forEach((p, i) => {
      if (providerIds.has(p.id)) {
        ctx.addIssue({ code: "custom", path: ["providers", i, "id"], message: `duplicate provider id "${p.id}"` });
      }
      providerIds.add(p.id);
      const currency = p.currency ?? file.currency;
      if (currency !== file.currency && file.exchangeRates[currency] === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["providers", i, "currency"],
          message: `no exchangeRates entry for ${currency}`,
        });
      }
    });
    const serviceIds = new Set<number>();
    file.services.forEach((s, i) => {
      if (serviceIds.has(s.id)) {
        ctx.addIssue({ code: "custom", path: ["services", i, "id"], message: `duplicate service id ${s.id}` });
      }
      serviceIds.add(s.id);
      for (const problem of checkServiceRoutes(s, providerIds)) {
        ctx.addIssue({ code: "custom", path: ["services", i, ...problem.path], message: problem.message });
      }
    });
    for (const problem of checkImportRules(file.imports, providerIds)) {
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
    }
  });

type ParsedFile = z.infer<typeof providersFileSchema>;
export type ProviderConfig = Omit<ParsedFile["providers"][number], "currency" | "name"> & {
  name: string;
  currency: string;
  /** Value of one unit of the provider's currency in ours (decimal string; "1" when equal). */
  exchangeRate: string;
};
type FileService = ParsedFile["services"][number];
/**
 * A local service as configured, its routes normalised: `routes` always lists at least one
 * route, and `provider`/`upstreamService` name the first (the pricing reference).
 */
export type ServiceConfig = Omit<FileService, "provider" | "upstreamService" | "routes"> & {
  provider: string;
  upstreamService: string;
  routes: RouteConfig[];
  routing: RoutingPolicy;
};
export type ImportRule = ParsedFile["imports"][number];
export type ProvidersConfig = Omit<ParsedFile, "providers" | "services"> & {
  providers: ProviderConfig[];
  services: ServiceConfig[];
};

/** The service with its shorthand turned into `routes` (the schema checked one of them is given). */
function normaliseService(s: FileService): ServiceConfig {
  const routes = s.routes ?? [{ provider: s.provider ?? "", upstreamService: s.upstreamService ?? "" }];
  const { routes: _r, provider: _p, upstreamService: _u, ...rest } = s;
  const reference = routes[0] ?? { provider: "", upstreamService: "" };
  return { ...rest, provider: reference.provider, upstreamService: reference.upstreamService, routes };
}

/** A config file that cannot be used; `message` is one line per problem, each naming its path. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

/** `["services", 2, "provider"]` → `services[2].provider`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(file)" : out;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Validates an already-parsed JSON value and resolves `${NAME}` references in provider keys.
 * @throws ConfigError listing every problem with its path.
 */
export function parseProvidersConfig(
  raw: unknown,
  env: Record<string, string | undefined> = process.env,
): ProvidersConfig {
  const result = providersFileSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  }
  const file = result.data;
  const problems: string[] = [];
  const providers = file.providers.map((p, i): ProviderConfig => {
    const key = p.key.replace(ENV_REF, (_m, name: string) => {
      const value = env[name];
      if (value === undefined || value === "") {
        problems.push(`providers[${i}].key: environment variable ${name} is not set`);
        return "";
      }
      return value;
    });
    const currency = p.currency ?? file.currency;
    return {
      ...p,
      key,
      name: p.name ?? p.id,
      currency,
      exchangeRate: currency === file.currency ? "1" : (file.exchangeRates[currency] ?? "1"),
    };
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...file, providers, services: file.services.map(normaliseService) };
}

/**
 * Where JSON.parse stopped, as " at line L column C", or "" when the parser does not say.
 * The parser's own message is not repeated: it may quote the file, and the file holds keys.
 */
function jsonErrorPlace(text: string, error: unknown): string {
  const match = /position (\d+)/.exec(error instanceof Error ? error.message : "");
  if (!match) return error instanceof Error && /end of JSON/.test(error.message) ? " (unexpected end of file)" : "";
  const before = text.slice(0, Number(match[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return ` at line ${line} column ${column}`;
}

/**
 * Reads and validates the config file at `path`.
 * @throws ConfigError (`<path>: cannot read ...`, `<path>: invalid JSON ...`, or path-named problems).
 */
export function loadProvidersFile(
  path: string,
  env: Record<string, string | undefined> = process.env,
): ProvidersConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([
      `${path}: cannot read the providers file (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    ]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${path}: invalid JSON${jsonErrorPlace(text, error)}`]);
  }
  return parseProvidersConfig(raw, env);
}

/**
 * Ids of the services priced with a zero markup (their own, or the file's default of 0%):
 * they would sell at cost, so margin protection refuses their orders. Logged at start.
 */
export function zeroMarkupServices(config: Pick<ProvidersConfig, "markup" | "services">): number[] {
  return config.services
    .filter((s) => s.rate === undefined)
    .filter((s) => {
      const markup = s.markup ?? config.markup;
      return "percent" in markup ? /^0+(\.0+)?$/.test(markup.percent) : parseAmount(markup.fixed) === 0;
    })
    .map((s) => s.id);
}
