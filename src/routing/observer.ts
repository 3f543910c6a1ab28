/**
 * What placement reports about routing (issue #12), for metrics: every `add` attempt with its
 * outcome class, every failover to a next route, and the route that took each order.
 */
import type { CallOutcome } from "../upstream/types.js";

export interface RoutingObserver {
  /** One upstream `add` attempt ended with `outcome`. */
  attempt(providerId: string, outcome: CallOutcome<unknown>["kind"]): void;
  /** An order of `serviceId` moved on to its next route after a definite failure. */
  failover(serviceId: number): void;
  /** Route `routeIndex` (on `providerId`) of `serviceId` took an order. */
  placed(serviceId: number, routeIndex: number, providerId: string): void;
}
