/**
 * Import rules (issue #12): local services generated from providers' cached catalogues.
 * Pure: given the rules, each provider's catalogue as last synced and the ids listed
 * explicitly in the file, returns the services the rules produce and what each rule did.
 *
 * - local id = `idOffset` + upstream id; upstream ids that are not plain integers (or that
 *   would not make a safe positive id) are skipped and counted;
 * - `categories`: `*` wildcard patterns, case-insensitive; `types`: case-insensitive names;
 *   `exclude`: upstream ids; absent filters let everything through;
 * - a service listed explicitly with the same id wins (counted as `overridden`);
 * - an id produced by two rules is a config error: it is reported in `conflicts` and produced
 *   by neither (the caller disables it with the conflict as its reason).
 * Entries no longer listed upstream (`present: false`) still produce their service, so the
 * catalogue sync disables it (as for an explicit service) rather than forgetting it.
 */
import type { ImportRule, ServiceConfig } from "../config/providers-file.js";

/** What an import rule needs of a cached upstream service. */
export interface CatalogueEntry {
  service: string;
  category: string;
  type: string;
}

/** What one rule produced. */
export interface ImportCount {
  /** Index of the rule in `imports`. */
  rule: number;
  provider: string;
  /** Services produced (explicit overrides and conflicts not included). */
  produced: number;
  /** Matching upstream services whose id is not a plain integer. */
  skipped: number;
  /** Matching upstream services whose local id an explicit service holds. */
  overridden: number;
}

export interface ImportConflict {
  id: number;
  /** Indexes of the rules producing `id`. */
  rules: number[];
  /** One line naming the rules, e.g. `imports[1]: local id 100015 is also produced by imports[0]`. */
  message: string;
}

export interface ExpandedImports {
  services: ServiceConfig[];
  /** Local id → index of the rule that produced it. */
  ruleOf: Map<number, number>;
  counts: ImportCount[];
  conflicts: ImportConflict[];
}

const patternCache = new Map<string, RegExp>();

/** `Instagram*` → /^Instagram.*$/i; every other character literal. */
export function categoryPattern(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    const body = pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${body}$`, "i");
    if (patternCache.size > 1000) patternCache.clear();
    patternCache.set(pattern, re);
  }
  return re;
}

/** Whether `entry` passes the rule's filters (categories, types, exclude). */
export function ruleMatches(rule: ImportRule, entry: CatalogueEntry): boolean {
  if (rule.exclude.includes(entry.service)) return false;
  if (rule.categories !== undefined && !rule.categories.some((p) => categoryPattern(p).test(entry.category))) {
    return false;
  }
  if (rule.types !== undefined) {
    const type = entry.type.toLowerCase();
    if (!rule.types.some((t) => t.toLowerCase() === type)) return false;
  }
  return true;
}

/** The local id of `upstreamId` under `idOffset`, or undefined when it cannot make one. */
export function importedId(idOffset: number, upstreamId: string): number | undefined {
  if (!/^\d{1,15}$/.test(upstreamId)) return undefined;
  const id = idOffset + Number(upstreamId);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/**
 * Expands `rules` over the catalogues.
 * @param catalogueOf the cached catalogue of a provider (every entry, listed or not).
 * @param explicitIds ids of the services listed in the file.
 */
export function expandImports(
  rules: readonly ImportRule[],
  catalogueOf: (providerId: string) => readonly CatalogueEntry[],
  explicitIds: ReadonlySet<number>,
): ExpandedImports {
  const produced = new Map<number, { rule: number; service: ServiceConfig }>();
  const conflicting = new Map<number, number[]>();
  const counts: ImportCount[] = rules.map((rule, i) => ({
    rule: i,
    provider: rule.provider,
    produced: 0,
    skipped: 0,
    overridden: 0,
  }));
  rules.forEach((rule, i) => {
    const count = counts[i] as ImportCount;
    for (const entry of catalogueOf(rule.provider)) {
      if (!ruleMatches(rule, entry)) continue;
      const id = importedId(rule.idOffset, entry.service);
      if (id === undefined) {
        count.skipped++;
        continue;
      }
      if (explicitIds.has(id)) {
        count.overridden++;
        continue;
      }
      const clash = conflicting.get(id);
      if (clash !== undefined) {
        clash.push(i);
        continue;
      }
      const first = produced.get(id);
      if (first !== undefined) {
        conflicting.set(id, [first.rule, i]);
        produced.delete(id);
        (counts[first.rule] as ImportCount).produced--;
        continue;
      }
      const route = { provider: rule.provider, upstreamService: entry.service };
      const service: ServiceConfig = {
        id,
        provider: rule.provider,
        upstreamService: entry.service,
        routes: [route],
        routing: "priority",
        enabled: true,
        ...(rule.markup === undefined ? {} : { markup: rule.markup }),
      };
      produced.set(id, { rule: i, service });
      count.produced++;
    }
  });
  const conflicts = [...conflicting].map(([id, ruleIndexes]) => {
    const [first, ...others] = ruleIndexes;
    return {
      id,
      rules: ruleIndexes,
      message: `imports[${others[0] ?? first}]: local id ${id} is also produced by imports[${first}]`,
    };
  });
  const services = [...produced.values()].map((p) => p.service).sort((a, b) => a.id - b.id);
  const ruleOf = new Map([...produced].map(([id, p]) => [id, p.rule]));
  return { services, ruleOf, counts, conflicts };
}
