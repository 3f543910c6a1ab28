/** Overview and Held orders (the `orders resolve` verb: Refund, Link). */
import type { Hono } from "hono";
import { formatAmount } from "../../billing/money.js";
import { attentionCounts, listHeldOrders } from "../../orders/operator-orders.js";
import { rerouteOrder } from "../../orders/reroute.js";
import { dailyReport } from "../../reports/daily-totals.js";
import { resolveHeldOrder } from "../../sync/resolve.js";
import { type AdminEnv, type AdminKit, bodyText } from "../kit.js";
import { HeldPage } from "../pages/held.js";
import { OverviewPage } from "../pages/overview.js";
import { servicesSorted } from "../services-view.js";
import type { Flash } from "../session.js";

export function registerOverviewRoutes(app: Hono<AdminEnv>, kit: AdminKit): void {
  const { ctx, page, act, currency } = kit;
  app.get("/", (c) => {
    const now = ctx.now();
    return page(c, "Overview", "overview", () => (
      <OverviewPage
        alerts={kit.options.activeAlerts?.()}
        now={now}
        report={dailyReport(ctx.db, now)}
        counts={attentionCounts(ctx.db, { isStuck: kit.isStuck })}
        tiles={kit.tiles()}
        currency={currency()}
      />
    ));
  });

  app.get("/held", (c) => {
    const now = ctx.now();
    const services = new Map(servicesSorted(ctx.db, "id").map((s) => [s.id, s.routes]));
    const routesOf = (serviceId: number) => services.get(serviceId) ?? [];
    return page(c, "Held orders", "held", () => (
      <HeldPage
        held={listHeldOrders(ctx.db, { isStuck: kit.isStuck })}
        routesOf={routesOf}
        now={now}
        formToken={c.get("session").formToken}
        currency={currency()}
      />
    ));
  });
  app.post("/held/:id{[0-9]+}/refund", (c) => {
    const orderId = Number(c.req.param("id"));
    return act(
      c,
      "/admin/held",
      async (): Promise<Flash> => {
        const r = await resolveHeldOrder(ctx, orderId, { refund: true });
        return {
          kind: "ok",
          text: `Order #${orderId} refunded ${formatAmount(r.refundedNow)}: ${r.order.status}; customer #${r.order.customerId} balance ${formatAmount(r.balance)}`,
        };
      },
      { orderId, resolve: "refund" },
    );
  });
  app.post("/held/:id{[0-9]+}/link", async (c) => {
    const orderId = Number(c.req.param("id"));
    const upstreamOrder = bodyText(await c.req.parseBody(), "upstreamOrder");
    return act(
      c,
      "/admin/held",
      async (): Promise<Flash> => {
        const r = await resolveHeldOrder(ctx, orderId, { upstreamOrder });
        return {
          kind: "ok",
          text: `Order #${orderId} linked to upstream order ${r.order.upstreamOrderId ?? "-"}: status sync takes it over`,
        };
      },
      { orderId, resolve: "link" },
    );
  });
  app.post("/held/:id{[0-9]+}/reroute", async (c) => {
    const orderId = Number(c.req.param("id"));
    const body = await c.req.parseBody();
    const route = Number(bodyText(body, "route"));
    return act(
      c,
      "/admin/held",
      async (): Promise<Flash> => {
        const r = await rerouteOrder(
          ctx,
          orderId,
          { route: Number.isSafeInteger(route) ? route : -1 },
          { confirmedAbsent: bodyText(body, "confirmedAbsent") === "1" },
        );
        const where = `route ${r.route.routeIndex} (${r.route.providerId})`;
        return r.error === undefined
          ? {
              kind: "ok",
              text: `Order #${orderId} placed on ${where}: ${r.order.submission}, upstream order ${r.order.upstreamOrderId ?? "-"}`,
            }
          : {
              kind: "error",
              text: `Order #${orderId} not placed on ${where}: ${r.error.message}; now ${r.order.submission}`,
            };
      },
      { orderId, reroute: route },
    );
  });
}
