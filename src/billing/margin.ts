/**
 * What each local service earns (issue #7 `services list`, issue #13 Services page): its cost
 * (upstream rate in our currency per 1000, exact decimal string), sell rate and margin.
 */
import { Decimal } from "decimal.js";
import { asc } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { type Service, services } from "../db/schema.js";
import { formatRate, minorToDecimal } from "./money.js";

/** Margin figures of a sell rate (minor units per 1000) over a cost (decimal string per 1000). */
export interface Margin {
  /** rate − cost, exact decimal string (negative when selling below cost). */
  margin: string;
  /** margin / rate × 100, 2 decimals (half-up); null when the rate is 0. */
  marginPercent: string | null;
}

export function marginOf(rate: number, cost: string): Margin {
  const sell = minorToDecimal(rate);
  const margin = sell.minus(new Decimal(cost));
  return {
    margin: margin.toFixed(),
    marginPercent: sell.isZero() ? null : margin.dividedBy(sell).times(100).toFixed(2, Decimal.ROUND_HALF_UP),
  };
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

/** Orders two margins (exact), e.g. to sort services by what they earn. */
export function compareMargins(a: string, b: string): number {
  return new Decimal(a).comparedTo(new Decimal(b));
}
