/**
 * Held orders: every `unknown` order and every `queued` order stuck past its provider's longest
 * placement, each with Refund and Link (the upstream order id the operator found on the panel):
 * the `orders resolve` verb. An order whose re-ask is out (`orders/reask-claim.ts`) says so and
 * until when: its buttons are refused until then.
 */

import { formatAmount } from "../../billing/money.js";
import type { HeldOrder } from "../../orders/operator-orders.js";
import type { RouteMargin } from "../../sync/service-view.js";
import { age, Badge, Empty, FormToken, Money, Time } from "../components.js";

export interface HeldProps {
  held: HeldOrder[];
  /** Routes of each service with several (issue #12), for Reroute. */
  routesOf: (serviceId: number) => RouteMargin[];
  now: number;
  formToken: string;
  currency: string;
}

/**
 * Reroute (`orders reroute`): a held order, only for a service with several routes and an order
 * with no upstream id, after the operator checked its panel (`--not-on-upstream`); or a failed
 * order (every route refused it, charge refunded), placed again on the chosen route and charged
 * again (`placeAgain`: from the order page). `keyCheck`: a failed order from before orders
 * remembered their Idempotency-Key: the operator ticks that they checked the customer's orders
 * since and none repeats it (`--key-checked`), or the verb refuses it.
 */
export const RerouteForm = ({
  orderId,
  routes,
  formToken,
  placeAgain,
  keyCheck,
}: {
  orderId: number;
  routes: RouteMargin[];
  formToken: string;
  placeAgain?: { charge: string; currency: string; customer: string };
  keyCheck?: { customerId: number };
}) => (
  <form
    method="post"
    action={placeAgain ? `/admin/orders/${orderId}/reroute` : `/admin/held/${orderId}/reroute`}
    class="inline reroute"
    data-confirm={
      placeAgain
        ? `Charge ${placeAgain.customer} ${placeAgain.charge} ${placeAgain.currency} again and place order #${orderId} on the chosen route?`
        : undefined
    }
  >
    <FormToken token={formToken} />
    <label>
      Route
      <select name="route">
        {routes.map((r) => (
          <option value={String(r.route)} disabled={!r.usable}>
            {`${r.route}: ${r.providerId} service ${r.upstreamService}${r.usable ? "" : ` (${r.whyNot ?? "unusable"})`}`}
          </option>
        ))}
      </select>
    </label>
    {keyCheck ? (
      <label class="check">
        <input type="checkbox" name="keyChecked" value="1" required />
        {`I checked customer ${keyCheck.customerId}'s orders since: none repeats this one (--key-checked)`}
      </label>
    ) : null}
    {placeAgain ? null : (
      <label class="check">
        <input type="checkbox" name="confirmedAbsent" value="1" required />
        Not on its panel
      </label>
    )}
    <button type="submit" aria-label={`${placeAgain ? "Place again" : "Reroute"} order ${orderId}`}>
      {placeAgain ? "Place again" : "Reroute"}
    </button>
  </form>
);

export const HeldPage = ({ held, routesOf, now, formToken, currency }: HeldProps) =>
  held.length === 0 ? (
    <Empty>No held orders: every order's placement is known.</Empty>
  ) : (
    <>
      <p class="hint">
        Look each order up on its provider's panel. Found it: <strong>Link</strong> its upstream order id (status sync
        takes it over). Not there: <strong>Refund</strong> (Canceled, the whole charge back to the customer), or, for a
        service with several routes, <strong>Reroute</strong> it to another route (its held charge is reused).
      </p>
      <table>
        <caption class="sr-only">Held orders</caption>
        <thead>
          <tr>
            <th scope="col">Order</th>
            <th scope="col">Customer</th>
            <th scope="col">Service</th>
            <th scope="col">Provider</th>
            <th scope="col" class="num">
              Charge
            </th>
            <th scope="col">Age</th>
            <th scope="col">State</th>
            <th scope="col">Last error</th>
            <th scope="col">Settle</th>
          </tr>
        </thead>
        <tbody>
          {held.map(({ order: o, customerName, serviceName, reason }) => (
            <tr>
              <td>
                <a href={`/admin/orders/${o.id}`}>#{o.id}</a>
              </td>
              <td>
                <a href={`/admin/customers/${o.customerId}`}>{customerName ?? `#${o.customerId}`}</a>
              </td>
              <td>
                {serviceName ?? "-"} <span class="muted">#{o.serviceId}</span>
              </td>
              <td>{o.providerId}</td>
              <td class="num">
                <Money minor={o.charge} currency={currency} />
              </td>
              <td>
                <span title={new Date(o.createdAt).toISOString()}>{age(o.createdAt, now)}</span>
              </td>
              <td>
                <Badge text={o.submission} />
                {reason === "queued" ? (
                  <span class="hint">
                    {" "}
                    stuck since <Time ms={o.createdAt} />
                  </span>
                ) : null}
                {o.reaskLeaseUntil !== null && o.reaskLeaseUntil > now ? (
                  <span class="hint">
                    {" "}
                    re-ask at {o.providerId} in flight until <Time ms={o.reaskLeaseUntil} />
                  </span>
                ) : null}
              </td>
              <td class="error-text">{o.lastError ?? o.flag ?? ""}</td>
              <td>
                <div class="settle">
                  <form
                    method="post"
                    action={`/admin/held/${o.id}/refund`}
                    data-confirm={`Cancel order #${o.id} and refund ${formatAmount(o.charge)} ${currency} to ${customerName ?? `customer #${o.customerId}`}?`}
                  >
                    <FormToken token={formToken} />
                    <button type="submit" class="danger" aria-label={`Refund order ${o.id}`}>
                      Refund
                    </button>
                  </form>
                  <form method="post" action={`/admin/held/${o.id}/link`} class="inline">
                    <FormToken token={formToken} />
                    <label>
                      Upstream order id
                      <input name="upstreamOrder" required maxlength={64} pattern="[^\s,]+" size={10} />
                    </label>
                    <button type="submit" aria-label={`Link order ${o.id}`}>
                      Link
                    </button>
                  </form>
                  {o.submission === "unknown" && o.upstreamOrderId === null && routesOf(o.serviceId).length > 1 ? (
                    <RerouteForm orderId={o.id} routes={routesOf(o.serviceId)} formToken={formToken} />
                  ) : null}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
