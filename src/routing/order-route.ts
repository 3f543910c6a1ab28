/**
 * The route that took an order (issue #12), and the flags it offers the order: refill and
 * cancel come from that route's upstream service, not from the service's reference route.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { type Order, serviceRoutes, services } from "../db/schema.js";

/** The stored route `order` was placed on (its provider and upstream service), if any. */
export function findOrderRoute(
  db: Db,
  order: Pick<Order, "serviceId" | "providerId" | "upstreamService">,
): { routeIndex: number; refill: boolean; cancel: boolean } | undefined {
  return db
    .select({ routeIndex: serviceRoutes.routeIndex, refill: serviceRoutes.refill, cancel: serviceRoutes.cancel })
    .from(serviceRoutes)
    .where(
      and(
        eq(serviceRoutes.serviceId, order.serviceId),
        eq(serviceRoutes.providerId, order.providerId),
        eq(serviceRoutes.upstreamService, order.upstreamService),
      ),
    )
    .get();
}

/**
 * `refill`/`cancel` of the route `order` was placed on (its provider and upstream service);
 * the service's own flags when no stored route matches (an order from before routes, or a
 * route since removed from the config).
 */
export function orderRouteFlags(
  db: Db,
  order: Pick<Order, "serviceId" | "providerId" | "upstreamService">,
): { refill: boolean; cancel: boolean } {
  const route = findOrderRoute(db, order);
  if (route !== undefined) return { refill: route.refill, cancel: route.cancel };
  const service = db
    .select({ refill: services.refill, cancel: services.cancel })
    .from(services)
    .where(eq(services.id, order.serviceId))
    .get();
  return service ?? { refill: false, cancel: false };
}
