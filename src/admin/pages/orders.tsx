/** Orders: newest first, filtered, keyset-paginated (`orders list`); one order (`orders show`, its Idempotency-Key state included). */

import { formatAmount } from "../../billing/money.js";
import type { LedgerEntry, Order } from "../../db/schema.js";
import { SUBMISSION_STATES } from "../../db/schema.js";
import { type OrderKeyState, quotedKey } from "../../orders/key-state.js";
import type { OrderDetail, OrderLabels } from "../../orders/operator-orders.js";
import { FINAL_ORDER_STATUSES, ORDER_STATUSES, type OrderStatus } from "../../panel/statuses.js";
import type { RouteMargin } from "../../sync/service-view.js";
import { SETTLE_STATUSES } from "../../sync/settle.js";
import { Badge, Empty, FormToken, Money, NextPage, Time } from "../components.js";
import { RerouteForm } from "./held.js";

export interface OrderFilterValues {
  customer?: number;
  status?: string;
  state?: string;
  provider?: string;
  /** Link contains (case-insensitive, taken literally: `orders list --link`). */
  link?: string;
  flagged: boolean;
}

export interface OrdersProps {
  orders: Order[];
  labels: OrderLabels;
  filter: OrderFilterValues;
  providerIds: string[];
  nextHref: string | null;
  currency: string;
}

const Filters = ({ filter, providerIds }: { filter: OrderFilterValues; providerIds: string[] }) => (
  <form method="get" action="/admin/orders" class="filters" aria-label="Filter orders">
    <label>
      Customer id
      <input name="customer" inputmode="numeric" pattern="[0-9]*" size={6} value={filter.customer?.toString() ?? ""} />
    </label>
    <label>
      Status
      <select name="status">
        <option value="">any</option>
        {ORDER_STATUSES.map((s) => (
          <option value={s} selected={filter.status === s}>
            {s}
          </option>
        ))}
      </select>
    </label>
    <label>
      Submission
      <select name="state">
        <option value="">any</option>
        {SUBMISSION_STATES.map((s) => (
          <option value={s} selected={filter.state === s}>
            {s}
          </option>
        ))}
      </select>
    </label>
    <label>
      Provider
      <select name="provider">
        <option value="">any</option>
        {providerIds.map((p) => (
          <option value={p} selected={filter.provider === p}>
            {p}
          </option>
        ))}
      </select>
    </label>
    <label>
      Link contains
      <input name="link" type="search" size={24} maxlength={500} value={filter.link ?? ""} />
    </label>
    <label class="check">
      <input type="checkbox" name="flagged" value="1" checked={filter.flagged} />
      Flagged only
    </label>
    <button type="submit">Filter</button>
    <a href="/admin/orders">Clear</a>
  </form>
);

export const OrdersPage = ({ orders, labels, filter, providerIds, nextHref, currency }: OrdersProps) => (
  <>
    <Filters filter={filter} providerIds={providerIds} />
    {orders.length === 0 ? (
      <Empty>No orders match.</Empty>
    ) : (
      <table>
        <caption class="sr-only">Orders, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Order</th>
            <th scope="col">Created</th>
            <th scope="col">Customer</th>
            <th scope="col">Service</th>
            <th scope="col">Provider</th>
            <th scope="col" class="num">
              Quantity
            </th>
            <th scope="col" class="num">
              Charge
            </th>
            <th scope="col" class="num">
              Refunded
            </th>
            <th scope="col">Status</th>
            <th scope="col">Submission</th>
            <th scope="col">Flag</th>
          </tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr>
              <td>
                <a href={`/admin/orders/${o.id}`}>#{o.id}</a>
              </td>
              <td>
                <Time ms={o.createdAt} />
              </td>
              <td>
                <a href={`/admin/customers/${o.customerId}`}>
                  {labels.customers.get(o.customerId) ?? `#${o.customerId}`}
                </a>
              </td>
              <td>
                {labels.services.get(o.serviceId) ?? "-"} <span class="muted">#{o.serviceId}</span>
              </td>
              <td>{o.providerId}</td>
              <td class="num">{o.quantity}</td>
              <td class="num">
                <Money minor={o.charge} />
              </td>
              <td class="num">
                <Money minor={o.refunded} />
              </td>
              <td>
                <Badge text={o.status} />
              </td>
              <td>
                <Badge text={o.submission} />
              </td>
              <td class="error-text">{o.flag ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <p class="hint">Amounts in {currency}.</p>
    <NextPage href={nextHref} label="Older orders" />
  </>
);

function paramsOf(text: string): Array<[string, string]> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null) {
      return Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]);
    }
  } catch {
    // shown raw below
  }
  return [["raw", text]];
}

/**
 * The state's sentence (`orderKeyState`'s `meaning`, as `orders show` prints it), with the other
 * order it names (rebound, reused) as a link to that order's page.
 */
const KeyMeaning = ({ k, self }: { k: OrderKeyState; self: number }) => {
  const at =
    k.orderId === null || k.orderId === self ? -1 : k.meaning.search(new RegExp(`order ${k.orderId}(?![0-9])`));
  if (at < 0) return <>{k.meaning}</>;
  const named = `order ${k.orderId}`;
  return (
    <>
      {k.meaning.slice(0, at)}
      <a href={`/admin/orders/${k.orderId}`}>{named}</a>
      {k.meaning.slice(at + named.length)}
    </>
  );
};

/**
 * The order's customer Idempotency-Key (`orders show`'s `idempotency key:` and `key state:`):
 * the key JSON-quoted and escaped (`quotedKey`), "unknown" for a failed order from before orders
 * remembered their key, "none" when the add carried none; then the state's sentence.
 */
const KeySection = ({ k, self }: { k: OrderKeyState; self: number }) => (
  <section class="card" aria-label="Idempotency-Key">
    <h2>Idempotency-Key</h2>
    <dl class="kv">
      <dt>Key</dt>
      <dd class="wrap">{k.kind === "none" ? "none" : k.key === null ? k.kind : <code>{quotedKey(k.key)}</code>}</dd>
      {k.kind === "none" ? null : (
        <>
          <dt>State</dt>
          <dd>
            <KeyMeaning k={k} self={self} />
          </dd>
        </>
      )}
    </dl>
  </section>
);

/** Settle (`orders settle`): the operator's final word on an open order. */
const SettleForm = ({ orderId, quantity, formToken }: { orderId: number; quantity: number; formToken: string }) => (
  <section class="card" aria-label="Settle">
    <h2>Settle</h2>
    <form
      method="post"
      action={`/admin/orders/${orderId}/settle`}
      data-confirm={`Settle order #${orderId} with the chosen final status? Its refund follows the status.`}
    >
      <FormToken token={formToken} />
      <label>
        Final status
        <select name="status">
          {SETTLE_STATUSES.map((status) => (
            <option value={status}>{status}</option>
          ))}
        </select>
      </label>
      <label>
        Remains
        <input name="remains" inputmode="numeric" pattern="[0-9]*" placeholder={`0..${quantity}, for Partial`} />
      </label>
      <span class="hint">
        Completed refunds nothing, Partial charge × remains / quantity (rounded down), Canceled the whole charge; status
        sync stops following it.
      </span>
      <button type="submit" class="danger">
        Settle
      </button>
    </form>
  </section>
);

export const OrderPage = ({
  detail,
  keyState,
  customerName,
  serviceName,
  currency,
  formToken,
  routes,
}: {
  detail: OrderDetail;
  /** Its customer Idempotency-Key now (`orderKeyState`). */
  keyState: OrderKeyState;
  customerName: string | null;
  serviceName: string | null;
  currency: string;
  formToken: string;
  /** The service's routes, for Place again of a failed order. */
  routes: RouteMargin[];
}) => {
  const o = detail.order;
  const open =
    !FINAL_ORDER_STATUSES.has(o.status as OrderStatus) && (o.submission === "submitted" || o.submission === "unknown");
  return (
    <>
      <div class="cards">
        <section class="card" aria-label="Order">
          <h2>Order</h2>
          <dl class="kv">
            <dt>Customer</dt>
            <dd>
              <a href={`/admin/customers/${o.customerId}`}>{customerName ?? `#${o.customerId}`}</a>
            </dd>
            <dt>Service</dt>
            <dd>
              {serviceName ?? "-"} <span class="muted">#{o.serviceId}</span>
            </dd>
            <dt>Status</dt>
            <dd>
              <Badge text={o.status} />
              {o.rawStatus ? <span class="muted"> (upstream said "{o.rawStatus}")</span> : null}
            </dd>
            <dt>Quantity</dt>
            <dd class="num">{o.quantity}</dd>
            <dt>Start count</dt>
            <dd class="num">{o.startCount ?? "-"}</dd>
            <dt>Remains</dt>
            <dd class="num">{o.remains ?? "-"}</dd>
            <dt>Rate (per 1000)</dt>
            <dd>
              <Money minor={o.rate} currency={currency} />
            </dd>
            <dt>Charge</dt>
            <dd>
              <Money minor={o.charge} currency={currency} />
            </dd>
            <dt>Refunded</dt>
            <dd>
              <Money minor={o.refunded} currency={currency} />
            </dd>
            <dt>Upstream cost</dt>
            <dd>
              <Money minor={o.cost} currency={currency} />
            </dd>
            <dt>Created</dt>
            <dd>
              <Time ms={o.createdAt} />
            </dd>
            <dt>Last synced</dt>
            <dd>
              <Time ms={o.syncedAt} />
            </dd>
          </dl>
        </section>
        <section class="card" aria-label="Route">
          <h2>Route</h2>
          <dl class="kv">
            <dt>Provider</dt>
            <dd>{o.providerId}</dd>
            <dt>Upstream service</dt>
            <dd>{o.upstreamService}</dd>
            <dt>Upstream order</dt>
            <dd>{o.upstreamOrderId ?? <span class="muted">none</span>}</dd>
            <dt>Submission</dt>
            <dd>
              <Badge text={o.submission} />
              {o.submission === "unknown" ? (
                <>
                  {" "}
                  <a href="/admin/held">settle it on Held orders</a>
                </>
              ) : null}
            </dd>
            <dt>Exchange rate</dt>
            <dd class="num">{o.exchangeRate}</dd>
            <dt>Sync misses</dt>
            <dd class="num">{o.missCount}</dd>
            <dt>Last error</dt>
            <dd class="error-text">{o.lastError ?? ""}</dd>
            <dt>Flag</dt>
            <dd class="error-text">{o.flag ?? ""}</dd>
          </dl>
          <h3>Parameters</h3>
          <dl class="kv">
            {paramsOf(o.params).map(([k, v]) => (
              <>
                <dt>{k}</dt>
                <dd class="wrap">{v}</dd>
              </>
            ))}
          </dl>
        </section>
        <KeySection k={keyState} self={o.id} />
      </div>
      {open ? <SettleForm orderId={o.id} quantity={o.quantity} formToken={formToken} /> : null}
      {o.submission === "failed" && routes.length > 0 ? (
        <section class="card" aria-label="Place again">
          <h2>Place again</h2>
          <p class="hint">
            Every route refused this order and its charge went back to the customer. Once a route can take it, place it
            again there: the customer is charged again (refused if the balance does not cover it).
          </p>
          {keyState.kind === "none" ? null : (
            <p class="hint">
              Idempotency-Key: <KeyMeaning k={keyState} self={o.id} />.
              {keyState.kind === "unknown" ? (
                <>
                  {" "}
                  <a href={`/admin/orders?customer=${o.customerId}`}>Customer {o.customerId}'s orders</a>
                </>
              ) : null}
            </p>
          )}
          <RerouteForm
            {...(keyState.kind === "unknown" ? { keyCheck: { customerId: o.customerId } } : {})}
            orderId={o.id}
            routes={routes}
            formToken={formToken}
            placeAgain={{
              charge: formatAmount(o.charge),
              currency,
              customer: customerName ?? `customer #${o.customerId}`,
            }}
          />
        </section>
      ) : null}
      <h2>Upstream attempts</h2>
      {detail.attempts.length === 0 ? (
        <Empty>No upstream attempt recorded.</Empty>
      ) : (
        <table>
          <caption class="sr-only">Upstream attempts: one per route tried, and each re-ask of a held order</caption>
          <thead>
            <tr>
              <th scope="col">Route</th>
              <th scope="col">Provider</th>
              <th scope="col">Upstream service</th>
              <th scope="col">Kind</th>
              <th scope="col">Outcome</th>
              <th scope="col">Sent</th>
              <th scope="col">Finished</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {detail.attempts.map((a) => (
              <tr>
                <td>{a.routeIndex === 0 ? "0 (reference)" : a.routeIndex}</td>
                <td>{a.providerId}</td>
                <td>{a.upstreamService}</td>
                <td>{a.kind === "reask" ? "re-ask" : "add"}</td>
                <td>
                  <Badge text={a.outcome} />
                </td>
                <td>
                  <Time ms={a.sentAt} />
                </td>
                <td>
                  <Time ms={a.finishedAt} />
                </td>
                <td class={a.outcome === "ok" ? undefined : "error-text"}>{a.error ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Ledger rows</h2>
      <LedgerTable rows={detail.ledger} showOrder={false} />
      <h2>Refills</h2>
      {detail.refills.length === 0 ? (
        <Empty>No refills.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Refill</th>
              <th scope="col">Upstream id</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {detail.refills.map((r) => (
              <tr>
                <td>#{r.id}</td>
                <td>{r.upstreamRefillId ?? "-"}</td>
                <td>
                  <Badge text={r.status} />
                </td>
                <td>
                  <Time ms={r.createdAt} />
                </td>
                <td class="error-text">{r.lastError ?? r.flag ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
};

/** Ledger rows, as given (newest first on a customer page, oldest first on an order page). */
export const LedgerTable = ({ rows, showOrder }: { rows: LedgerEntry[]; showOrder: boolean }) =>
  rows.length === 0 ? (
    <Empty>No ledger rows.</Empty>
  ) : (
    <table>
      <thead>
        <tr>
          <th scope="col">Row</th>
          <th scope="col">Time</th>
          <th scope="col">Kind</th>
          <th scope="col" class="num">
            Amount
          </th>
          <th scope="col" class="num">
            Balance after
          </th>
          {showOrder ? <th scope="col">Order</th> : null}
          <th scope="col">Note</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((e) => (
          <tr>
            <td>#{e.id}</td>
            <td>
              <Time ms={e.createdAt} />
            </td>
            <td>{e.kind}</td>
            <td class={`num ${e.amount < 0 ? "neg" : ""}`}>
              <Money minor={e.amount} />
            </td>
            <td class="num">
              <Money minor={e.balanceAfter} />
            </td>
            {showOrder ? (
              <td>{e.orderId === null ? "" : <a href={`/admin/orders/${e.orderId}`}>#{e.orderId}</a>}</td>
            ) : null}
            <td>{e.note ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
