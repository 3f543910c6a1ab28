import { asc, eq } from "drizzle-orm";
import { formatRate } from "../../billing/money.js";
import { readCacheGenerations } from "../../db/cache-generations.js";
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
  /** The store's `catalogue` counter when built; undefined when the store has no counter row. */
  generation: number | undefined;
  /** Without a counter row only: `ctx.catalogueVersion` (this process's own catalogue writes). */
  version: number;
  /** Without a counter row only: SQLite `data_version` (moves when another connection commits). */
  dataVersion: number;
  /** The serialised catalogue and its gzip and brotli forms (being made, then made). */
  answer: Promise<PrecompressedJson>;
}

const cache = new WeakMap<AppContext, CachedCatalogue>();

/**
 * `services`: the catalogue, rebuilt (serialised and compressed, see `precompressed.ts`) only
 * when it changed, since every customer sees the same list; the API handler picks the form by
 * `Accept-Encoding` and answers 304 to a matching `If-None-Match` (issue #14). A change is seen
 * on the next request whoever wrote it (a price sync here or by the CLI): the store's
 * `catalogue` counter moves with every change to what the answer shows (migration 0009), and the
 * API handler reads it with the key cache's counter in one statement. In a store without that
 * row (edited by hand) the answer is rebuilt whenever this process changed the catalogue or
 * another connection committed anything. Requests arriving while a new catalogue is compressed
 * wait for that one compression.
 */
export const services: ActionHandler = ({ ctx, generations }) => {
  const generation = (generations ?? readCacheGenerations(ctx.db)).catalogue;
  const hit = cache.get(ctx);
  if (generation !== undefined) {
    if (hit !== undefined && hit.generation === generation) return hit.answer;
    return build(ctx, generation, 0);
  }
  const version = dataVersion(ctx.db);
  if (
    hit !== undefined &&
    hit.generation === undefined &&
    hit.version === ctx.catalogueVersion &&
    hit.dataVersion === version
  ) {
    return hit.answer;
  }
  return build(ctx, undefined, version);
};

function build(ctx: AppContext, generation: number | undefined, version: number): Promise<PrecompressedJson> {
  const entry: CachedCatalogue = {
    generation,
    version: ctx.catalogueVersion,
    dataVersion: version,
    answer: precompress(JSON.stringify(listServiceViews(ctx))),
  };
  cache.set(ctx, entry);
  // A failed compression (out of memory) is not kept: the next request builds again.
  entry.answer.catch(() => {
    if (cache.get(ctx) === entry) cache.delete(ctx);
  });
  return entry.answer;
}
