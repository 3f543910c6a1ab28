/** Services: what each local service costs, sells for and earns (`services list`), sortable by margin. */
import type { ServiceMargin } from "../../sync/service-view.js";
import { Badge } from "../components.js";

export interface ServicesProps {
  /** This page of the sorted services. */
  services: ServiceMargin[];
  total: number;
  /** Index of the first service shown in the sorted list. */
  first: number;
  prevHref: string | null;
  nextHref: string | null;
  sort: "id" | "margin" | "margin-percent";
  currency: string;
}

const SortLink = ({ sort, current, label }: { sort: ServicesProps["sort"]; current: string; label: string }) =>
  sort === current ? (
    <strong aria-current="true">{label}</strong>
  ) : (
    <a href={`/admin/services?sort=${sort}`}>{label}</a>
  );

const Pager = ({ prevHref, nextHref }: { prevHref: string | null; nextHref: string | null }) =>
  prevHref === null && nextHref === null ? null : (
    <nav class="pager" aria-label="Pages">
      {prevHref === null ? null : (
        <a href={prevHref} rel="prev">
          ← Previous page
        </a>
      )}{" "}
      {nextHref === null ? null : (
        <a href={nextHref} rel="next">
          Next page →
        </a>
      )}
    </nav>
  );

export const ServicesPage = ({ services, total, first, prevHref, nextHref, sort, currency }: ServicesProps) => (
  <>
    <p class="sort">
      Sort by: <SortLink sort="id" current={sort} label="id" /> ·{" "}
      <SortLink sort="margin" current={sort} label="margin (highest first)" /> ·{" "}
      <SortLink sort="margin-percent" current={sort} label="margin % (highest first)" />
      <span class="muted">
        {" "}
        · services {total === 0 ? 0 : first + 1}–{first + services.length} of {total}
      </span>
    </p>
    <table>
      <caption class="sr-only">Services</caption>
      <thead>
        <tr>
          <th scope="col">Service</th>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Route(s)</th>
          <th scope="col" class="num">
            Cost
          </th>
          <th scope="col" class="num">
            Sell rate
          </th>
          <th scope="col" class="num">
            Margin
          </th>
          <th scope="col" class="num">
            Margin %
          </th>
          <th scope="col">Enabled</th>
        </tr>
      </thead>
      <tbody>
        {services.map((s) => (
          <tr class={s.enabled ? "" : "disabled"}>
            <td>#{s.id}</td>
            <td>
              {s.name} <span class="muted">{s.category}</span>
            </td>
            <td>{s.type}</td>
            <td>
              {s.routes.length <= 1 ? (
                <>
                  {s.providerId} <span class="muted">service {s.upstreamService}</span>
                </>
              ) : (
                <>
                  <span class="muted">{s.routing}:</span>
                  <ol class="routes" start={0}>
                    {s.routes.map((r) => (
                      <li class={r.usable ? "" : "unusable"}>
                        {r.providerId} <span class="muted">service {r.upstreamService}</span>{" "}
                        <span class="num">{r.cost === null ? "not listed" : `cost ${r.cost}, margin ${r.margin}`}</span>
                        {r.usable ? null : <span class="error-text"> · {r.whyNot}</span>}
                      </li>
                    ))}
                  </ol>
                </>
              )}
            </td>
            <td class="num">{s.cost ?? "-"}</td>
            <td class="num">{s.rate ?? "-"}</td>
            <td class={`num ${s.margin?.startsWith("-") ? "neg" : ""}`}>{s.margin ?? "-"}</td>
            <td class={`num ${s.marginPercent?.startsWith("-") ? "neg" : ""}`}>{s.marginPercent ?? "-"}</td>
            <td>
              {s.enabled ? (
                <Badge text="enabled" />
              ) : (
                <span class="error-text">disabled: {s.disabledReason ?? "?"}</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
    <Pager prevHref={prevHref} nextHref={nextHref} />
    <p class="hint">
      Cost, sell rate and margin per 1000 in {currency} (of the reference route, route 0); a Package is priced per
      package. Routes are numbered from 0; a route can be unusable (not listed, another type, no margin). A provider's
      circuit state is on Providers.
    </p>
  </>
);
