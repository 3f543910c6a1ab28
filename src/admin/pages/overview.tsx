/**
 * Overview: the alerts raised now, what needs the operator, today and the last 30 days, a chart
 * per day, one tile per provider.
 */
import type { ActiveAlert, AlertType } from "../../alerts/alerter.js";
import { formatAmount } from "../../billing/money.js";
import type { AttentionCounts } from "../../orders/operator-orders.js";
import type { DailyReport, DayFigures, PeriodFigures } from "../../reports/daily-totals.js";
import type { ProviderStateView } from "../../sync/provider-state.js";
import type { ProviderStats } from "../../upstream/types.js";
import { age, Badge, Money, Time } from "../components.js";

export interface ProviderTile {
  state: ProviderStateView;
  /** Live queue and circuit figures (absent when the server has no client for it). */
  stats: ProviderStats | undefined;
}

export interface OverviewProps {
  /** The alerter's conditions raised now; `undefined` when this process runs no alerter. */
  alerts: ActiveAlert[] | undefined;
  /** Epoch ms, for the alerts' ages. */
  now: number;
  report: DailyReport;
  counts: AttentionCounts;
  tiles: ProviderTile[];
  currency: string;
}

const Figures = ({ label, f, currency }: { label: string; f: PeriodFigures; currency: string }) => (
  <section class="card" aria-label={label}>
    <h2>{label}</h2>
    <dl class="figures">
      <dt>Orders</dt>
      <dd class="num">{f.orders}</dd>
      <dt>Revenue</dt>
      <dd>
        <Money minor={f.revenue} currency={currency} />
      </dd>
      <dt>Upstream cost</dt>
      <dd>
        <Money minor={f.cost} currency={currency} />
      </dd>
      <dt>Profit</dt>
      <dd class={f.profit < 0 ? "neg" : ""}>
        <Money minor={f.profit} currency={currency} />
      </dd>
      <dt>Refunds</dt>
      <dd>
        <Money minor={f.refunds} currency={currency} />
      </dd>
    </dl>
  </section>
);

const W = 900;
const H = 220;
const PAD = { left: 48, right: 90, top: 16, bottom: 28 };

/** Orders per day as bars, profit per day as a line (its own scale), server-rendered SVG. */
const Chart = ({ days, currency }: { days: DayFigures[]; currency: string }) => {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const maxOrders = Math.max(1, ...days.map((d) => d.orders));
  const maxProfit = Math.max(0, ...days.map((d) => d.profit));
  const minProfit = Math.min(0, ...days.map((d) => d.profit));
  const span = maxProfit - minProfit || 1;
  const step = plotW / days.length;
  const x = (i: number) => PAD.left + i * step;
  const yOrders = (n: number) => PAD.top + plotH - (n / maxOrders) * plotH;
  const yProfit = (p: number) => PAD.top + plotH - ((p - minProfit) / span) * plotH;
  const line = days.map((d, i) => `${(x(i) + step / 2).toFixed(1)},${yProfit(d.profit).toFixed(1)}`).join(" ");
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Orders and profit per day over the last ${days.length} days`}
      >
        <line class="axis" x1={PAD.left} y1={PAD.top + plotH} x2={PAD.left + plotW} y2={PAD.top + plotH} />
        <text class="tick" x={PAD.left - 6} y={PAD.top + 4} text-anchor="end">
          {maxOrders}
        </text>
        <text class="tick" x={PAD.left - 6} y={PAD.top + plotH} text-anchor="end">
          0
        </text>
        <text class="tick profit" x={PAD.left + plotW + 6} y={PAD.top + 4}>
          {formatAmount(maxProfit)}
        </text>
        <text class="tick profit" x={PAD.left + plotW + 6} y={PAD.top + plotH}>
          {formatAmount(minProfit)}
        </text>
        {days.map((d, i) => (
          <rect
            class="bar"
            x={x(i) + 1}
            y={yOrders(d.orders)}
            width={Math.max(1, step - 2)}
            height={PAD.top + plotH - yOrders(d.orders)}
          >
            <title>{`${d.date}: ${d.orders} orders, profit ${formatAmount(d.profit)} ${currency}`}</title>
          </rect>
        ))}
        {minProfit < 0 ? (
          <line class="zero-line" x1={PAD.left} y1={yProfit(0)} x2={PAD.left + plotW} y2={yProfit(0)} />
        ) : null}
        <polyline class="profit-line" points={line} />
        {days.map((d, i) =>
          i % 5 === days.length % 5 || i === days.length - 1 ? (
            <text class="tick" x={x(i) + step / 2} y={H - 8} text-anchor="middle">
              {d.date.slice(5)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption>
        <span class="key bar-key" /> orders per day (left scale) <span class="key line-key" /> profit per day in{" "}
        {currency} (right scale); UTC days
      </figcaption>
    </figure>
  );
};

const Tile = ({ tile }: { tile: ProviderTile }) => {
  const { state, stats } = tile;
  return (
    <section class="card tile" aria-label={`Provider ${state.id}`}>
      <h3>
        <a href="/admin/providers">{state.name}</a> <span class="muted">{state.id}</span>
      </h3>
      <dl class="kv">
        <dt>Circuit</dt>
        <dd>
          <Badge text={stats?.circuit ?? "no client"} />
        </dd>
        <dt>Queue</dt>
        <dd class="num">{stats === undefined ? "-" : `${stats.queued} waiting, ${stats.inFlight} in flight`}</dd>
        <dt>Balance</dt>
        <dd>
          {state.balance === null ? (
            <span class="muted">never checked</span>
          ) : (
            <>
              <span class="num">{`${state.balance} ${state.currency}`}</span> <Time ms={state.balanceCheckedAt} />
            </>
          )}
        </dd>
        <dt>Last error</dt>
        <dd class={state.lastError ? "error-text" : "muted"}>{state.lastError ?? "none"}</dd>
      </dl>
    </section>
  );
};

/** Where the operator acts on an alert of each type: the page and its link text. */
const ACT_ON: Readonly<Record<AlertType, { href: string; label: string }>> = {
  orders_unknown: { href: "/admin/held", label: "Held orders" },
  orders_flagged: { href: "/admin/orders?flagged=1", label: "Flagged orders" },
  refund_burst: { href: "/admin/orders", label: "Recent orders" },
  ledger_mismatch: { href: "/admin/customers", label: "Customer balances" },
  provider_out_of_funds: { href: "/admin/providers", label: "Providers" },
  provider_balance_low: { href: "/admin/providers", label: "Providers" },
  circuit_open: { href: "/admin/providers", label: "Providers" },
};

/** The alerter's raised conditions (docs/operations.md, Alerts), or a line saying there are none. */
const ActiveAlerts = ({ alerts, now }: { alerts: ActiveAlert[] | undefined; now: number }) => (
  <section class="card alerts" aria-labelledby="active-alerts">
    <h2 id="active-alerts">Active alerts</h2>
    {alerts === undefined ? (
      <p class="muted">This process watches no alerts.</p>
    ) : alerts.length === 0 ? (
      <p class="ok-text">No active alerts</p>
    ) : (
      <table>
        <caption class="sr-only">Alerts raised now, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Alert</th>
            <th scope="col">Message</th>
            <th scope="col">Since</th>
            <th scope="col">Act on it</th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => {
            const act = ACT_ON[a.type];
            return (
              <tr class={`alert-${a.severity}`}>
                <td>
                  <span class={`badge sev-${a.severity}`}>{a.type}</span>
                </td>
                <td>{a.text}</td>
                <td>
                  <Time ms={a.since} /> <span class="muted">{`(${age(a.since, now)} ago)`}</span>
                </td>
                <td>
                  <a href={act.href}>{act.label}</a>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    )}
  </section>
);

export const OverviewPage = ({ alerts, now, report, counts, tiles, currency }: OverviewProps) => (
  <>
    <ActiveAlerts alerts={alerts} now={now} />
    <section class="attention" aria-label="Needs attention">
      <a class={`count ${counts.held > 0 ? "warn" : ""}`} href="/admin/held">
        <strong>{counts.held}</strong> held orders
      </a>
      <a class={`count ${counts.flagged > 0 ? "warn" : ""}`} href="/admin/orders?flagged=1">
        <strong>{counts.flagged}</strong> flagged orders
      </a>
    </section>
    <div class="cards">
      <Figures label={`Today (${report.today.date} UTC)`} f={report.today} currency={currency} />
      <Figures label={`Last ${report.days.length} days`} f={report.period} currency={currency} />
    </div>
    <Chart days={report.days} currency={currency} />
    <h2>Providers</h2>
    <div class="tiles">
      {tiles.map((t) => (
        <Tile tile={t} />
      ))}
    </div>
  </>
);
