import { asc, eq, sql } from "drizzle-orm";
import { formatRate } from "../../billing/money.js";
import { services as servicesTable } from "../../db/schema.js";
import type { AppContext } from "../../runtime/context.js";
import { JsonText } from "../json-text.js";
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

const cache = new WeakMap<AppContext, { version: string; body: JsonText }>();

/**
 * A cheap fingerprint of the local catalogue: this process's `catalogueVersion` plus the
 * count and last update of the services rows, so a change written by another process
 * (`npm run cli -- sync prices`) is seen on the next request too.
 */
function catalogueFingerprint(ctx: AppContext): string {
  const row = ctx.db
    .select({ count: sql<number>`count(*)`, last: sql<number | null>`max(${servicesTable.updatedAt})` })
    .from(servicesTable)
    .get();
  return `${ctx.catalogueVersion}:${row?.count ?? 0}:${row?.last ?? 0}`;
}

/**
 * `services`: the catalogue, rebuilt (and serialised) only when it changed, since every
 * customer sees the same list.
 */
export const services: ActionHandler = ({ ctx }) => {
  const version = catalogueFingerprint(ctx);
  const hit = cache.get(ctx);
  if (hit && hit.version === version) return hit.body;
  const body = new JsonText(JSON.stringify(listServiceViews(ctx)));
  cache.set(ctx, { version, body });
  return body;
};
