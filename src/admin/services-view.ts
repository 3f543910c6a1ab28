/**
 * The Services page's rows (every service with its margin, in the three orders the page
 * offers), kept per store until the services change (`servicesFingerprint`), so a page of a
 * 2,000-service catalogue costs one aggregate query instead of reading and pricing every row.
 */
import { sortByMargin } from "../billing/margin.js";
import type { Db } from "../db/client.js";
import { listServiceMargins, type ServiceMargin, servicesFingerprint } from "../sync/service-view.js";

export type ServiceSort = "id" | "margin" | "margin-percent";

interface View {
  fingerprint: string;
  sorted: Partial<Record<ServiceSort, ServiceMargin[]>>;
}

const views = new WeakMap<Db, View>();

/** Every local service with its margin, sorted as asked (highest margin first for the margin sorts). */
export function servicesSorted(db: Db, sort: ServiceSort): ServiceMargin[] {
  const fingerprint = servicesFingerprint(db);
  let view = views.get(db);
  if (view === undefined || view.fingerprint !== fingerprint) {
    view = { fingerprint, sorted: { id: listServiceMargins(db) } };
    views.set(db, view);
  }
  const byId = view.sorted.id ?? [];
  const sorted =
    view.sorted[sort] ?? (sort === "margin" ? sortByMargin(byId, "margin") : sortByMargin(byId, "marginPercent"));
  view.sorted[sort] = sorted;
  return sorted;
}
