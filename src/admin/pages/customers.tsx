/** Customers: list with balances and the Add customer form; one customer with its ledger, Top up, Rotate key, webhook. */
import type { ApiKeyView, CustomerSummary, CustomerView } from "../../customers/index.js";
import { API_STYLES, type LedgerEntry } from "../../db/schema.js";
import { Empty, FormToken, HttpErrorsField, httpErrorsText, Money, NextPage, Time } from "../components.js";
import { LedgerTable } from "./orders.js";

export interface CustomersProps {
  customers: CustomerSummary[];
  /** The name search, "" for none. */
  query: string;
  nextHref: string | null;
  formToken: string;
  currency: string;
}

export const CustomersPage = ({ customers, query, nextHref, formToken, currency }: CustomersProps) => (
  <>
    <form method="get" action="/admin/customers" class="filters" aria-label="Find customers">
      <label>
        Name contains
        <input name="q" type="search" value={query} maxlength={100} />
      </label>
      <button type="submit">Find</button>
      {query === "" ? null : <a href="/admin/customers">Clear</a>}
    </form>
    <details class="card form-card" open={customers.length === 0}>
      <summary>Add customer</summary>
      <form method="post" action="/admin/customers" aria-label="Add customer">
        <FormToken token={formToken} />
        <label>
          Name
          <input name="name" required maxlength={100} />
        </label>
        <label>
          Balance
          <input name="balance" inputmode="decimal" placeholder="0.00" pattern="[0-9]+(\.[0-9]{1,5})?" />
        </label>
        <HttpErrorsField value={null} />
        <span class="hint">No: API errors are answered with HTTP 200 (clients that throw on non-2xx).</span>
        <button type="submit">Add customer</button>
      </form>
    </details>
    {customers.length === 0 ? (
      <Empty>{query === "" ? "No customers yet." : `No customer's name contains "${query}".`}</Empty>
    ) : (
      <table>
        <caption class="sr-only">Customers</caption>
        <thead>
          <tr>
            <th scope="col">Customer</th>
            <th scope="col">Name</th>
            <th scope="col" class="num">
              Balance ({currency})
            </th>
            <th scope="col">HTTP errors</th>
            <th scope="col" class="num">
              Keys
            </th>
            <th scope="col">Webhook</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {customers.map((c) => (
            <tr>
              <td>
                <a href={`/admin/customers/${c.id}`}>#{c.id}</a>
              </td>
              <td>
                <a href={`/admin/customers/${c.id}`}>{c.name}</a>
                {c.suspendedAt === null ? null : <span class="badge b-suspended">suspended</span>}
              </td>
              <td class="num">
                <Money minor={c.balance} />
              </td>
              <td>{httpErrorsText(c.httpErrors)}</td>
              <td class="num">{c.activeKeys}</td>
              <td class="wrap">{c.webhookUrl ?? ""}</td>
              <td>
                <Time ms={c.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <NextPage href={nextHref} label="More customers" />
  </>
);

export interface CustomerProps {
  customer: CustomerView;
  keys: ApiKeyView[];
  ledger: LedgerEntry[];
  nextHref: string | null;
  formToken: string;
}

export const CustomerPage = ({ customer: c, keys, ledger, nextHref, formToken }: CustomerProps) => (
  <>
    <div class="cards">
      <section class="card" aria-label="Customer">
        <h2>Balance</h2>
        <p class="big" data-testid="balance">
          <Money minor={c.balance} currency={c.currency} />
        </p>
        <dl class="kv">
          <dt>Customer id</dt>
          <dd>#{c.id}</dd>
          <dt>HTTP errors</dt>
          <dd>{httpErrorsText(c.httpErrors)}</dd>
          <dt>API style</dt>
          <dd>{c.apiStyle}</dd>
          <dt>Created</dt>
          <dd>
            <Time ms={c.createdAt} />
          </dd>
          <dt>Orders</dt>
          <dd>
            <a href={`/admin/orders?customer=${c.id}`}>this customer's orders</a>
          </dd>
        </dl>
      </section>
      <section class="card" aria-label="Account">
        <h2>Account</h2>
        {c.suspendedAt === null ? (
          <form
            method="post"
            action={`/admin/customers/${c.id}/suspend`}
            data-confirm={`Suspend ${c.name}? Every key answers 403 Account suspended; open orders still sync.`}
          >
            <FormToken token={formToken} />
            <p>
              <span class="badge b-active">active</span>
            </p>
            <span class="hint">
              Suspended: every key answers 403 "Account suspended"; open orders still sync and refund.
            </span>
            <button type="submit" class="danger">
              Suspend
            </button>
          </form>
        ) : (
          <form method="post" action={`/admin/customers/${c.id}/resume`}>
            <FormToken token={formToken} />
            <p>
              <span class="badge b-suspended">suspended</span> since <Time ms={c.suspendedAt} />
            </p>
            <button type="submit">Resume</button>
          </form>
        )}
      </section>
      <section class="card" aria-label="Top up">
        <h2>Top up</h2>
        <form method="post" action={`/admin/customers/${c.id}/topup`}>
          <FormToken token={formToken} />
          <label>
            Amount
            <input name="amount" required inputmode="decimal" pattern="-?[0-9]+(\.[0-9]{1,5})?" placeholder="25.00" />
          </label>
          <label>
            Note
            <input name="note" maxlength={500} />
          </label>
          <span class="hint">A negative amount is a correction; the balance never goes below zero.</span>
          <button type="submit">Top up</button>
        </form>
      </section>
      <section class="card" aria-label="API keys">
        <h2>API keys</h2>
        <ul class="keys">
          {keys.map((k) => (
            <li>
              <code>{k.prefix}…</code> created <Time ms={k.createdAt} />
              {k.revokedAt === null ? (
                <span class="badge b-active">active</span>
              ) : (
                <>
                  {" "}
                  revoked <Time ms={k.revokedAt} />
                </>
              )}
            </li>
          ))}
        </ul>
        <form
          method="post"
          action={`/admin/customers/${c.id}/rotate-key`}
          data-confirm={`Revoke every API key of ${c.name}? Their clients stop working until they get the new key.`}
        >
          <FormToken token={formToken} />
          <span class="hint">Revokes every key of this customer and shows a new one once.</span>
          <button type="submit" class="danger">
            Rotate key
          </button>
        </form>
      </section>
      <section class="card" aria-label="Answers">
        <h2>Answers</h2>
        <form method="post" action={`/admin/customers/${c.id}/answers`}>
          <FormToken token={formToken} />
          <HttpErrorsField value={c.httpErrors} />
          <label>
            API style
            <select name="apiStyle">
              {API_STYLES.map((style) => (
                <option value={style} selected={c.apiStyle === style}>
                  {style}
                </option>
              ))}
            </select>
          </label>
          <span class="hint">API style: how cancel answers (panel: seed 003; perfectpanel: seed 000).</span>
          <button type="submit">Save answers</button>
        </form>
      </section>
      <section class="card" aria-label="Webhook">
        <h2>Webhook</h2>
        <p class="wrap">{c.webhookUrl ?? <span class="muted">none</span>}</p>
        <form method="post" action={`/admin/customers/${c.id}/webhook`}>
          <FormToken token={formToken} />
          <label>
            Webhook URL
            <input name="url" type="url" placeholder="https://..." value={c.webhookUrl ?? ""} />
          </label>
          <span class="hint">A new signing secret is shown once. Empty removes the webhook.</span>
          <button type="submit">Save webhook</button>
        </form>
      </section>
    </div>
    <h2>Ledger</h2>
    <LedgerTable rows={ledger} showOrder={true} />
    <NextPage href={nextHref} label="Older rows" />
  </>
);
