/** Providers: settings (never keys), live queue and circuit, last balance and error, and Check now (`providers check`). */
import { Badge, FormToken, Time } from "../components.js";
import type { ProviderTile } from "./overview.js";

export const ProvidersPage = ({ tiles, formToken }: { tiles: ProviderTile[]; formToken: string }) => (
  <>
    <form method="post" action="/admin/providers/check" class="actions">
      <FormToken token={formToken} />
      <button type="submit">Check now</button>
      <span class="hint">Calls balance on every provider now and stores the answers.</span>
    </form>
    <table>
      <caption class="sr-only">Providers</caption>
      <thead>
        <tr>
          <th scope="col">Provider</th>
          <th scope="col">Dialect</th>
          <th scope="col">URL</th>
          <th scope="col">Circuit</th>
          <th scope="col" class="num">
            Queue
          </th>
          <th scope="col">Limit</th>
          <th scope="col" class="num">
            Balance
          </th>
          <th scope="col">Balance checked</th>
          <th scope="col">Catalogue synced</th>
          <th scope="col">Last error</th>
        </tr>
      </thead>
      <tbody>
        {tiles.map(({ state: p, stats }) => (
          <tr>
            <td>
              {p.name} <span class="muted">{p.id}</span>
            </td>
            <td>{p.dialect}</td>
            <td class="wrap">{p.url}</td>
            <td>
              <Badge text={stats?.circuit ?? "no client"} />
            </td>
            <td class="num">{stats === undefined ? "-" : `${stats.queued} + ${stats.inFlight} in flight`}</td>
            <td>{`${p.rateLimit.requests}/${p.rateLimit.intervalMs} ms, ${p.concurrency} at once`}</td>
            <td class="num">{p.balance === null ? "-" : `${p.balance} ${p.currency}`}</td>
            <td>
              <Time ms={p.balanceCheckedAt} />
            </td>
            <td>
              <Time ms={p.catalogueSyncedAt} />
            </td>
            <td class="error-text">{p.lastError ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </>
);
