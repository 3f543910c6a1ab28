/**
 * What only the cached upstream catalogues reveal about a providers file (issue #12): routes
 * whose upstream type differs from their reference route's, and local ids produced by two
 * import rules. Used by `config check` and by a reload (a file with such problems is refused,
 * the old one stays). One line per problem, naming its JSON path.
 */
import type { ProvidersConfig } from "../config/providers-file.js";
import type { Db } from "../db/client.js";
import { upstreamServices } from "../db/schema.js";
import { type CatalogueEntry, expandImports, type ImportCount } from "./imports.js";

/** Every cached upstream service (listed or not), by provider id. */
export function loadCachedCatalogues(db: Db): Map<string, CatalogueEntry[]> {
  const out = new Map<string, CatalogueEntry[]>();
  for (const row of db
    .select({
      providerId: upstreamServices.providerId,
      service: upstreamServices.upstreamService,
      category: upstreamServices.category,
      type: upstreamServices.type,
    })
    .from(upstreamServices)
    .all()) {
    let list = out.get(row.providerId);
    if (list === undefined) {
      list = [];
      out.set(row.providerId, list);
    }
    list.push({ service: row.service, category: row.category, type: row.type });
  }
  return out;
}

/**
 * @returns the problems (empty when none) and what each import rule produces over `catalogues`.
 */
export function catalogueProblems(
  config: Pick<ProvidersConfig, "services" | "imports">,
  catalogues: ReadonlyMap<string, readonly CatalogueEntry[]>,
): { problems: string[]; counts: ImportCount[] } {
  const problems: string[] = [];
  const types = new Map<string, string>();
  for (const [provider, entries] of catalogues) {
    for (const e of entries) types.set(`${provider}\u0000${e.service}`, e.type);
  }
  const typeOf = (provider: string, upstream: string) => types.get(`${provider}\u0000${upstream}`);
  config.services.forEach((service, i) => {
    const reference = service.routes[0];
    const referenceType = reference === undefined ? undefined : typeOf(reference.provider, reference.upstreamService);
    if (referenceType === undefined) return;
    service.routes.forEach((route, j) => {
      const type = typeOf(route.provider, route.upstreamService);
      if (j > 0 && type !== undefined && type !== referenceType) {
        problems.push(
          `services[${i}].routes[${j}]: type "${type}" differs from the reference route's "${referenceType}"`,
        );
      }
    });
  });
  const expanded = expandImports(
    config.imports,
    (p) => catalogues.get(p) ?? [],
    new Set(config.services.map((s) => s.id)),
  );
  for (const conflict of expanded.conflicts) problems.push(conflict.message);
  return { problems, counts: expanded.counts };
}
