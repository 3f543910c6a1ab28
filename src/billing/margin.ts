/**
 * What each local service earns (issue #7 `services list`, issue #13 Services page): its cost
 * (upstream rate in our currency per 1000, exact decimal string), sell rate and margin.
 */
import { Decimal } from "decimal.js";
import { asc, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { type Service, services } from "../db/schema.js";
import { formatRate } from "./money.js";

/** Margin figures of a sell rate (minor units per 1000) over a cost (decimal string per 1000). */
export interface Margin {
  /** rate − cost, exact decimal string (negative when selling below cost). */
  margin: string;
  /** margin / rate × 100, 2 decimals (half-up); null when the rate is 0. */
  marginPercent: string | null;
}

/**
 * Exact margin of `rate` (minor units per 1000) over `cost` (decimal string per 1000, any
 * number of decimals), in BigInt: the same values as decimal.js gives (`margin`: shortest exact
 * decimal; `marginPercent`: margin / rate × 100 rounded half away from zero to 2 decimals), at a
 * fraction of the cost, so a page of 2,000 services stays fast.
 * @throws Error when `cost` is not a plain decimal string.
 */
export function marginOf(rate: number, cost: string): Margin {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(cost.trim());
  if (!match) throw new Error(`invalid cost "${cost}"`);
  const [, sign = "", whole = "0", frac = ""] = match;
  const scale = Math.max(MINOR_DECIMALS, frac.length);
  const costScaled = BigInt(`${sign}${whole}${frac.padEnd(scale, "0")}`);
  const sellScaled = BigInt(rate) * 10n ** BigInt(scale - MINOR_DECIMALS);
  const margin = sellScaled - costScaled;
  return {
    margin: decimalText(margin, scale),
    marginPercent: sellScaled === 0n ? null : percentText(margin, sellScaled),
  };
}

const MINOR_DECIMALS = 5;

/** `value / 10^scale` as the shortest exact decimal ("2", "0.225", "-0.05"). */
function decimalText(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, "");
  const text = frac === "" ? whole : `${whole}.${frac}`;
  return negative && text !== "0" ? `-${text}` : text;
}

/** margin / sell × 100 with 2 decimals, half away from zero (decimal.js ROUND_HALF_UP). */
function percentText(margin: bigint, sell: bigint): string {
  const negative = margin < 0n !== sell < 0n && margin !== 0n;
  const num = (margin < 0n ? -margin : margin) * 10_000n;
  const den = sell < 0n ? -sell : sell;
  let hundredths = num / den;
  if ((num % den) * 2n >= den) hundredths += 1n;
  const text = decimalText(hundredths, 2);
  const [whole, frac = ""] = text.split(".");
  const fixed = `${whole}.${frac.padEnd(2, "0")}`;
  return negative && hundredths !== 0n ? `-${fixed}` : fixed;
}

/** A local service with its sell rate printed panel-style and its margin. */
export interface ServiceMargin extends Margin {
  id: number;
  name: string;
  category: string;
  providerId: string;
  upstreamService: string;
  type: string;
  /** Upstream rate in our currency per 1000, exact decimal string. */
  cost: string;
  /** Sell rate per 1000 (panel style: at least 2 decimals). */
  rate: string;
  min: number;
  max: number;
  enabled: boolean;
  disabledReason: string | null;
}

export function serviceMargin(s: Service): ServiceMargin {
  return {
    id: s.id,
    name: s.name,
    category: s.category,
    providerId: s.providerId,
    upstreamService: s.upstreamService,
    type: s.type,
    cost: s.cost,
    rate: formatRate(s.rate),
    ...marginOf(s.rate, s.cost),
    min: s.min,
    max: s.max,
    enabled: s.enabled,
    disabledReason: s.disabledReason,
  };
}

/** Every local service as last recomputed by the catalogue sync, by id, with its margin. */
export function listServiceMargins(db: Db): ServiceMargin[] {
  return db.select().from(services).orderBy(asc(services.id)).all().map(serviceMargin);
}

/**
 * Sorts services highest first by `margin` or `marginPercent` (exact; a null percent last),
 * then by id. Each value is parsed once, so 2,000 services sort in about a millisecond.
 */
export function sortByMargin(list: readonly ServiceMargin[], by: "margin" | "marginPercent"): ServiceMargin[] {
  const keyed = list.map((s) => ({ s, key: s[by] === null ? null : new Decimal(s[by]) }));
  keyed.sort((a, b) => {
    if (a.key === null || b.key === null) return (a.key === null ? 1 : 0) - (b.key === null ? 1 : 0) || a.s.id - b.s.id;
    return b.key.comparedTo(a.key) || a.s.id - b.s.id;
  });
  return keyed.map((k) => k.s);
}

/**
 * A fingerprint of the stored services (count and last update): it changes whenever the
 * catalogue sync, a reload or the CLI rewrites a service, so a view built from the rows can be
 * kept until it does. One aggregate over the services table.
 */
export function servicesFingerprint(db: Db): string {
  const row = db
    .select({ count: sql<number>`count(*)`, last: sql<number | null>`max(${services.updatedAt})` })
    .from(services)
    .get();
  return `${row?.count ?? 0}:${row?.last ?? 0}`;
}
