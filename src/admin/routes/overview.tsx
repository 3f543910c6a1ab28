/** Overview and Held orders (the `orders resolve` verb: Refund, Link). */
import type { Hono } from "hono";
import { formatAmount } from "../../billing/money.js";
import { attentionCounts, listHeldOrders } from "../../orders/operator-orders.js";
import { dailyReport } from "../../reports/daily-totals.js";
import { resolveHeldOrder } from "../../sync/resolve.js";
import { type AdminEnv, type AdminKit, bodyText } from "../kit.js";
import { HeldPage } from "../pages/held.js";
import { OverviewPage } from "../pages/overview.js";

export function registerOverviewRoutes(app: Hono<AdminEnv>, kit: AdminKit): void {
  const { ctx, page, act, currency } = kit;
  app.get("/", (c) => {
    const now = ctx.now();
    return page(c, "Overview", "overview", () => (
      <OverviewPage
        report={dailyReport(ctx.db, now)}
        counts={attentionCounts(ctx.db, { now, budgetMs: kit.budgetMs })}
        tiles={kit.tiles()}
        currency={currency()}
      />
    ));
  });

  app.get("/held", (c) => {
    const now = ctx.now();
    return page(c, "Held orders", "held", () => (
      <HeldPage
        held={listHeldOrders(ctx.db, { now, budgetMs: kit.budgetMs })}
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
      () => {
        const r = resolveHeldOrder(ctx, orderId, { refund: true });
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
      () => {
        const r = resolveHeldOrder(ctx, orderId, { upstreamOrder });
        return {
          kind: "ok",
          text: `Order #${orderId} linked to upstream order ${r.order.upstreamOrderId ?? "-"}: status sync takes it over`,
        };
      },
      { orderId, resolve: "link" },
    );
  });
}
