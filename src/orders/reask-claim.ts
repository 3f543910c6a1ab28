/**
 * The claim a held order's re-ask holds while its request is out (`sync/held-orders.ts`): the
 * order's `reask_lease_until`, set by one conditional write right before the request leaves.
 * While it is in the future the operator's verbs that settle or move the order (`orders
 * resolve`, `orders reroute`, `orders settle`, and the dashboard's buttons, which call the same
 * verbs) refuse it, changing nothing: otherwise the operator could refund an order the re-ask
 * is about to find upstream, or send to a second upstream an order the first one answers for.
 * The claim is a lease: it ends by itself after its provider's `add` budget plus
 * {@link RECOVERY_MARGIN_MS}, so a crash never leaves an order claimed for longer.
 */
import { and, eq } from "drizzle-orm";
import { type Order, orderAttempts } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";
import { RECOVERY_MARGIN_MS } from "./recover.js";

/** The default `timeoutMs` of a provider (providers file). */
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * How long a re-ask of `providerId` owns its order, ms: the longest an `add` call can take once
 * its request leaves (the client's budget for creating calls, timeoutMs + ceil(timeoutMs / 2),
 * see `upstream/client.ts`) plus {@link RECOVERY_MARGIN_MS}.
 */
export function reaskLeaseMs(ctx: Pick<AppContext, "config">, providerId: string): number {
  const timeoutMs = ctx.config.providers.find((p) => p.id === providerId)?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return timeoutMs + Math.ceil(timeoutMs / 2) + RECOVERY_MARGIN_MS;
}

/** Whether a re-ask holds `order` at `now` (epoch ms): its lease is set and not over. */
export function reaskInFlight(order: Pick<Order, "reaskLeaseUntil">, now: number): boolean {
  return order.reaskLeaseUntil !== null && order.reaskLeaseUntil > now;
}

/** The operator's one line for an order a re-ask holds. */
export function reaskInFlightMessage(order: Pick<Order, "id" | "providerId">): string {
  return `order ${order.id} is being re-asked at ${order.providerId} right now; try again in a few seconds`;
}

/**
 * Ends the re-ask attempts of `orderId` still `sending` (their process stopped, or their
 * answer came after their claim ended): `ambiguous`, as recovery ends a placement's attempt
 * left in flight. Called where an expired claim is taken over or the order is settled or moved.
 */
export function endStaleReasks(ctx: Pick<AppContext, "db">, orderId: number, now: number): void {
  ctx.db
    .update(orderAttempts)
    .set({
      outcome: "ambiguous",
      error: "re-ask in flight when its claim ended; its answer not applied",
      finishedAt: now,
    })
    .where(
      and(eq(orderAttempts.orderId, orderId), eq(orderAttempts.kind, "reask"), eq(orderAttempts.outcome, "sending")),
    )
    .run();
}
