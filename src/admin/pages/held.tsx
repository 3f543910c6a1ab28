/**
 * Held orders: every `unknown` order and every `queued` order stuck past its provider's longest
 * placement, each with Refund and Link (the upstream order id the operator found on the panel):
 * the `orders resolve` verb.
 */
import { formatAmount } from "../../billing/money.js";
import type { HeldOrder } from "../../orders/operator-orders.js";
import { age, Badge, Empty, FormToken, Money, Time } from "../components.js";

export interface HeldProps {
  held: HeldOrder[];
  now: number;
  formToken: string;
  currency: string;
}

export const HeldPage = ({ held, now, formToken, currency }: HeldProps) =>
  held.length === 0 ? (
    <Empty>No held orders: every order's placement is known.</Empty>
  ) : (
    <>
      <p class="hint">
        Look each order up on its provider's panel. Found it: <strong>Link</strong> its upstream order id (status sync
        takes it over). Not there: <strong>Refund</strong> (Canceled, the whole charge back to the customer).
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
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
