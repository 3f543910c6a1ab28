/**
 * Orders: list with filters and keyset pages (`orders list`), one order (`orders show`, with its
 * customer Idempotency-Key state), Place again (`orders reroute`, its key check as
 * `--key-checked`) and Settle (`orders settle`).
 */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { formatAmount } from "../../billing/money.js";
import { SUBMISSION_STATES } from "../../db/schema.js";
import { orderKeyState } from "../../orders/key-state.js";
import { getOrderDetail, listOrders, orderLabels } from "../../orders/operator-orders.js";
import { rerouteOrder } from "../../orders/reroute.js";
import { ORDER_STATUSES } from "../../panel/statuses.js";
import { serviceRouteMargins } from "../../sync/service-view.js";
import { SETTLE_STATUSES, SettleOrderError, type SettleStatus, settleOrder } from "../../sync/settle.js";
import { type AdminEnv, type AdminKit, bodyText, optionalId } from "../kit.js";
import { OrderPage, OrdersPage } from "../pages/orders.js";
import type { Flash } from "../session.js";

const ORDERS_PAGE = 50;

const orderQuery = z.object({
  customer: optionalId,
  status: z.preprocess((v) => (v === "" ? undefined : v), z.enum(ORDER_STATUSES).optional()),
  state: z.preprocess((v) => (v === "" ? undefined : v), z.enum(SUBMISSION_STATES).optional()),
  provider: z.preprocess((v) => (v === "" ? undefined : v), z.string().max(100).optional()),
  flagged: z.preprocess((v) => v === "1" || v === "on", z.boolean()),
  /** Link contains this text (as typed: `orders list --link`); "" = no filter. */
  link: z.preprocess((v) => (v === "" ? undefined : v), z.string().max(500, "at most 500 characters").optional()),
  before: optionalId,
});

export function registerOrderRoutes(app: Hono<AdminEnv>, kit: AdminKit): void {
  const { ctx, page, act, currency } = kit;
  app.get("/orders", (c) => {
    const parsed = orderQuery.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HTTPException(400, { message: `${issue?.path.join(".") ?? "filter"}: ${issue?.message ?? "invalid"}` });
    }
    const q = parsed.data;
    const rows = listOrders(ctx.db, {
      ...(q.customer === undefined ? {} : { customerId: q.customer }),
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.state === undefined ? {} : { submission: q.state }),
      ...(q.provider === undefined ? {} : { providerId: q.provider }),
      ...(q.link === undefined ? {} : { link: q.link }),
      ...(q.before === undefined ? {} : { beforeId: q.before }),
      flagged: q.flagged,
      limit: ORDERS_PAGE + 1,
    });
    const shown = rows.slice(0, ORDERS_PAGE);
    const last = shown[shown.length - 1];
    let nextHref: string | null = null;
    if (rows.length > ORDERS_PAGE && last !== undefined) {
      const next = new URLSearchParams();
      if (q.customer !== undefined) next.set("customer", String(q.customer));
      if (q.status !== undefined) next.set("status", q.status);
      if (q.state !== undefined) next.set("state", q.state);
      if (q.provider !== undefined) next.set("provider", q.provider);
      if (q.flagged) next.set("flagged", "1");
      if (q.link !== undefined) next.set("link", q.link);
      next.set("before", String(last.id));
      nextHref = `/admin/orders?${next.toString()}`;
    }
    return page(c, "Orders", "orders", () => (
      <OrdersPage
        orders={shown}
        labels={orderLabels(ctx.db, shown)}
        filter={{
          flagged: q.flagged,
          ...(q.customer === undefined ? {} : { customer: q.customer }),
          ...(q.status === undefined ? {} : { status: q.status }),
          ...(q.state === undefined ? {} : { state: q.state }),
          ...(q.provider === undefined ? {} : { provider: q.provider }),
          ...(q.link === undefined ? {} : { link: q.link }),
        }}
        providerIds={ctx.config.providers.map((p) => p.id)}
        nextHref={nextHref}
        currency={currency()}
      />
    ));
  });
  app.get("/orders/:id{[0-9]+}", (c) => {
    const detail = getOrderDetail(ctx.db, Number(c.req.param("id")));
    const labels = orderLabels(ctx.db, [detail.order]);
    const keyState = orderKeyState(ctx.db, detail.order, ctx.now());
    return page(c, `Order #${detail.order.id}`, "orders", () => (
      <OrderPage
        detail={detail}
        keyState={keyState}
        customerName={labels.customers.get(detail.order.customerId) ?? null}
        serviceName={labels.services.get(detail.order.serviceId) ?? null}
        currency={currency()}
        formToken={c.get("session").formToken}
        routes={detail.order.submission === "failed" ? serviceRouteMargins(ctx.db, detail.order.serviceId) : []}
      />
    ));
  });
  app.post("/orders/:id{[0-9]+}/reroute", async (c) => {
    const orderId = Number(c.req.param("id"));
    const body = await c.req.parseBody();
    const route = Number(bodyText(body, "route"));
    // The operator's tick for a failed order whose Idempotency-Key is unknown (`--key-checked`).
    const keyChecked = bodyText(body, "keyChecked") === "1";
    return act(
      c,
      `/admin/orders/${orderId}`,
      async (): Promise<Flash> => {
        const r = await rerouteOrder(ctx, orderId, { route: Number.isSafeInteger(route) ? route : -1 }, { keyChecked });
        const where = `route ${r.route.routeIndex} (${r.route.providerId})`;
        return r.error === undefined
          ? {
              kind: "ok",
              text: `Order #${orderId} placed again on ${where}: ${r.order.submission}, upstream order ${r.order.upstreamOrderId ?? "-"}`,
            }
          : {
              kind: "error",
              text: `Order #${orderId} not placed on ${where}: ${r.error.message}; now ${r.order.submission}`,
            };
      },
      { orderId, reroute: route, keyChecked },
    );
  });
  app.post("/orders/:id{[0-9]+}/settle", async (c) => {
    const orderId = Number(c.req.param("id"));
    const body = await c.req.parseBody();
    const status = bodyText(body, "status");
    const remainsText = bodyText(body, "remains").trim();
    return act(
      c,
      `/admin/orders/${orderId}`,
      (): Flash => {
        if (!(SETTLE_STATUSES as readonly string[]).includes(status)) {
          throw new SettleOrderError("bad_remains", `final status must be one of ${SETTLE_STATUSES.join(", ")}`);
        }
        const remains = remainsText === "" ? undefined : Number(remainsText);
        if (remains !== undefined && !Number.isSafeInteger(remains)) {
          throw new SettleOrderError("bad_remains", `remains must be a whole number, got "${remainsText}"`);
        }
        const r = settleOrder(ctx, orderId, {
          status: status as SettleStatus,
          ...(remains === undefined ? {} : { remains }),
        });
        return {
          kind: "ok",
          text: `Order #${orderId} settled ${r.order.status}: refunded ${formatAmount(r.refundedNow)} now`,
        };
      },
      { orderId, settle: status },
    );
  });
}
