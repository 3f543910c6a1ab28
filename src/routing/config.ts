/**
 * The providers file's routing vocabulary (issue #12): the routes of a service (several
 * upstreams per local service), its routing policy, and import rules that generate services
 * from a provider's catalogue. Pure zod schemas and checks; `config/providers-file.ts` composes
 * them into the file schema. Every problem is one line naming its JSON path.
 */
import { z } from "zod";

/** Order in which a service's routes are tried: `priority` = as listed; `cheapest` = lowest current cost first. */
export const ROUTING_POLICIES = ["priority", "cheapest"] as const;
export type RoutingPolicy = (typeof ROUTING_POLICIES)[number];

export const routingPolicySchema = z.enum(ROUTING_POLICIES, {
  error: `expected one of ${ROUTING_POLICIES.join(", ")}`,
});

/** An upstream service id as written in the file (number or string), kept as a string. */
export const upstreamServiceId = z
  .union(
    [
      z.number().int().nonnegative(),
      z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "expected the upstream service id (number or string)"),
    ],
    { error: "expected the upstream service id (number or string)" },
  )
  .transform((v) => String(v));

/** One route: the provider and its upstream service that can serve a local service. */
export const routeSchema = z.strictObject({
  provider: z.string({ error: "expected a provider id" }),
  upstreamService: upstreamServiceId,
});
export type RouteConfig = z.infer<typeof routeSchema>;

/** A service type string as upstream catalogues send it ("Default", "Custom Comments"). */
const typeName = z.string().min(1, "expected a service type name");

/**
 * An import rule: every upstream service of `provider` that passes the filters becomes the
 * local service `idOffset + upstream id` (numeric upstream ids only).
 */
export function importRuleSchema<M extends z.ZodType>(markup: M) {
  return z.strictObject({
    provider: z.string({ error: "expected a provider id" }),
    idOffset: z
      .number({ error: "expected a non-negative integer id offset" })
      .int("expected a non-negative integer id offset")
      .nonnegative("expected a non-negative integer id offset"),
    /** Category patterns, `*` wildcard, case-insensitive; absent = every category. */
    categories: z.array(z.string().min(1, "expected a category pattern")).optional(),
    /** Upstream type strings (exact, case-insensitive); absent = every type. */
    types: z.array(typeName).optional(),
    /** Upstream service ids never imported. */
    exclude: z.array(upstreamServiceId).default([]),
    markup: markup.optional(),
  });
}

/**
 * Checks a service's routes: `routes` and `provider`/`upstreamService` are exclusive, one of
 * them is given, each route names a known provider, no route is listed twice.
 * @param at the service's path, e.g. `["services", 2]`.
 * @returns the path-named problems (empty when fine).
 */
export function checkServiceRoutes(
  service: { provider?: string | undefined; upstreamService?: string | undefined; routes?: RouteConfig[] | undefined },
  providerIds: ReadonlySet<string>,
): Array<{ path: PropertyKey[]; message: string }> {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  const shorthand = service.provider !== undefined || service.upstreamService !== undefined;
  if (service.routes !== undefined && shorthand) {
    problems.push({ path: ["routes"], message: "give either routes or provider + upstreamService, not both" });
    return problems;
  }
  if (service.routes === undefined) {
    if (service.provider === undefined) {
      problems.push({ path: ["provider"], message: "expected a provider id (or routes)" });
    } else if (!providerIds.has(service.provider)) {
      problems.push({ path: ["provider"], message: `unknown provider "${service.provider}"` });
    }
    if (service.upstreamService === undefined) {
      problems.push({ path: ["upstreamService"], message: "expected the upstream service id (number or string)" });
    }
    return problems;
  }
  const seen = new Map<string, number>();
  service.routes.forEach((route, j) => {
    if (!providerIds.has(route.provider)) {
      problems.push({ path: ["routes", j, "provider"], message: `unknown provider "${route.provider}"` });
    }
    const key = `${route.provider}\u0000${route.upstreamService}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ path: ["routes", j], message: `route listed twice (same as routes[${first}])` });
    } else seen.set(key, j);
  });
  return problems;
}

/**
 * Checks the import rules: known providers, and no two rules with the same provider and
 * offset (they would produce the same ids).
 */
export function checkImportRules(
  rules: ReadonlyArray<{ provider: string; idOffset: number }>,
  providerIds: ReadonlySet<string>,
): Array<{ path: PropertyKey[]; message: string }> {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    if (!providerIds.has(rule.provider)) {
      problems.push({ path: ["imports", i, "provider"], message: `unknown provider "${rule.provider}"` });
    }
    const key = `${rule.provider}\u0000${rule.idOffset}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({
        path: ["imports", i, "idOffset"],
        message: `same provider and idOffset as imports[${first}]: both would produce the same ids`,
      });
    } else seen.set(key, i);
  });
  return problems;
}
