/** Services: cost, sell rate and margin of every service (`services list`), sortable by margin. */
import type { Hono } from "hono";
import type { AdminEnv, AdminKit } from "../kit.js";
import { ServicesPage } from "../pages/services.js";
import { servicesSorted } from "../services-view.js";

const SERVICES_PAGE = 200;

export function registerServiceRoutes(app: Hono<AdminEnv>, kit: AdminKit): void {
  const { ctx, page, currency } = kit;
  app.get("/services", (c) => {
    const sortParam = c.req.query("sort");
    const sort = sortParam === "margin" || sortParam === "margin-percent" ? sortParam : "id";
    const rows = servicesSorted(ctx.db, sort);
    const pageNo = Math.max(1, Math.min(Number.parseInt(c.req.query("page") ?? "1", 10) || 1, 1_000_000));
    const first = (pageNo - 1) * SERVICES_PAGE;
    const link = (n: number) => `/admin/services?${new URLSearchParams({ sort, page: String(n) }).toString()}`;
    return page(c, "Services", "services", () => (
      <ServicesPage
        services={rows.slice(first, first + SERVICES_PAGE)}
        total={rows.length}
        first={first}
        prevHref={pageNo > 1 ? link(pageNo - 1) : null}
        nextHref={first + SERVICES_PAGE < rows.length ? link(pageNo + 1) : null}
        sort={sort}
        currency={currency()}
      />
    ));
  });
}
