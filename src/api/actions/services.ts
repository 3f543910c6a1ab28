import { asc, eq, sql } from "drizzle-orm";
import { formatRate } from "../../billing/money.js";
import { dataVersion } from "../../db/data-version.js";
import { services as servicesTable } from "../../db/schema.js";
import type { AppContext } from "../../runtime/context.js";
import { type PrecompressedJson, precompress } from "../precompressed.js";
import type { ActionHandler } from "./types.js";

/** One catalogue entry as customers see it (seed `000_*` "Service list"; booleans and id as JSON values, rate/min/max strings). */
export interface ServiceView {
  service: number;
  name: string;
  type: string;
  category: string;
  rate: string;
  min: string;
  max: string;
  refill: boolean;
  cancel: boolean;
  dripfeed: boolean;
}

/** The enabled local services with our sell rates, by id. */
export function listServiceViews(ctx: AppContext): ServiceView[] {
  return ctx.db
    .select()
    .from(servicesTable)
    .where(eq(servicesTable.enabled, true))
    .orderBy(asc(servicesTable.id))
    .all()
    .map((s) => ({
      service: s.id,
      name: s.name,
      type: s.type,
      category: s.category,
      rate: formatRate(s.rate),
      min: String(s.min),
      max: String(s.max),
      refill: s.refill,
      cancel: s.cancel,
      dripfeed: s.dripfeed,
    }));
}

interface CachedCatalogue {
  /** `ctx.catalogueVersion` when built: this process's own catalogue writes bump it. */
  version: number;
  /** SQLite `data_version` when last checked: it moves when another connection commits. */
  dataVersion: number;
  /** Count and last update of the stored services rows when built. */
  fingerprint: string;
  /** The serialised catalogue and its gzip and brotli forms (being made, then made). */
  answer: Promise<PrecompressedJson>;
}

const cache = new WeakMap<AppContext, CachedCatalogue>();

/**
 * A fingerprint of the stored catalogue (count and last update of the services rows), so a
 * change written by another process (`npm run cli -- sync prices`) is seen too.
 */
function catalogueFingerprint(ctx: AppContext): string {
  const row = ctx.db
    .select({ count: sql<number>`count(*)`, last: sql<number | null>`max(${servicesTable.updatedAt})` })
    .from(servicesTable)
    .get();
  return `${row?.count ?? 0}:${row?.last ?? 0}`;
}

/**
 * `services`: the catalogue, rebuilt (serialised and compressed, see `precompressed.ts`) only
 * when it changed, since every customer sees the same list; `app.ts` picks the form by
 * `Accept-Encoding` and answers 304 to a matching `If-None-Match` (issue #14). While nothing
 * was written the check costs one pragma read; the stored fingerprint is read only after
 * another connection committed something (a price sync by the CLI is seen on the next request).
 * Requests arriving while a new catalogue is compressed wait for that one compression.
 */
export const services: ActionHandler = ({ ctx }) => {
  const version = dataVersion(ctx.db);
  const hit = cache.get(ctx);
  if (hit && hit.version === ctx.catalogueVersion) {
    if (hit.dataVersion === version) return hit.answer;
    if (hit.fingerprint === catalogueFingerprint(ctx)) {
      hit.dataVersion = version;
      return hit.answer;
    }
  }
  const entry: CachedCatalogue = {
    version: ctx.catalogueVersion,
    dataVersion: version,
    fingerprint: catalogueFingerprint(ctx),
    answer: precompress(JSON.stringify(listServiceViews(ctx))),
  };
  cache.set(ctx, entry);
  // A failed compression (out of memory) is not kept: the next request builds again.
  entry.answer.catch(() => {
    if (cache.get(ctx) === entry) cache.delete(ctx);
  });
  return entry.answer;
};
