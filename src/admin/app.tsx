/**
 * The operator dashboard (issue #13), mounted at `/admin` when `ADMIN_TOKEN` is set:
 * server-rendered pages (hono/jsx, one `jsxRenderer` layout) over the same verbs as the CLI.
 *
 * Access: `GET/POST /admin/login` (the token; failures rate-limited per IP), a session in a
 * signed cookie (HttpOnly, SameSite=Strict, Secure over https, 12 h), `POST /admin/logout`.
 * Every state change is a POST checked twice: Hono's `csrf` (Origin / Sec-Fetch-Site) and
 * the session's form token (`_csrf`); either missing → 403. Actions redirect (303) back to a
 * page that shows their outcome once. CSS and JS are served from `/admin/assets/`.
 */
import { readFileSync } from "node:fs";
import { type Context, Hono } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { rateLimiter } from "hono-rate-limiter";
import { z } from "zod";
import { clientIp } from "../api/client-ip.js";
import { formatAmount, parseAmount } from "../billing/money.js";
import { createCustomer, getCustomer, listCustomers, rotateKey, setWebhook, topUp } from "../customers/index.js";
import { SUBMISSION_STATES } from "../db/schema.js";
import { attentionCounts, getOrderDetail, listHeldOrders, listOrders, orderLabels } from "../orders/operator-orders.js";
import { longestPlacementMs } from "../orders/recover.js";
import { ORDER_STATUSES } from "../panel/statuses.js";
import { dailyReport } from "../reports/daily-totals.js";
import type { AppContext } from "../runtime/context.js";
import { checkProviders } from "../sync/balances.js";
import { listProviderStates } from "../sync/provider-state.js";
import { resolveHeldOrder } from "../sync/resolve.js";
import type { ProviderStats } from "../upstream/types.js";
import { operatorError } from "./errors.js";
import { layout, type PageProps, type Section } from "./layout.js";
import { CustomerPage, CustomersPage } from "./pages/customers.js";
import { HeldPage } from "./pages/held.js";
import { LoginPage } from "./pages/login.js";
import { OrderPage, OrdersPage } from "./pages/orders.js";
import { OverviewPage, type ProviderTile } from "./pages/overview.js";
import { ProvidersPage } from "./pages/providers.js";
import { ServicesPage } from "./pages/services.js";
import { servicesSorted } from "./services-view.js";
import { type Flash, SESSION_COOKIE, SESSION_TTL_MS, type Session, SessionStore, sameToken } from "./session.js";

export interface AdminOptions {
  /** `ADMIN_TOKEN`: the one secret that signs an operator in. */
  token: string;
  /** Behind a trusted reverse proxy: client IP, https and origin come from X-Forwarded-*. */
  trustProxy: boolean;
  /** Live queue and circuit figures per provider (the registry's `stats`). */
  providerStats?: () => Record<string, ProviderStats>;
  /** Allow webhook URLs on private addresses (`WEBHOOK_ALLOW_PRIVATE`). */
  webhookAllowPrivate?: boolean;
  /** Failed sign-ins allowed per IP in 15 minutes (default 10). */
  loginAttemptsPer15Min?: number;
}

type AdminEnv = { Variables: { session: Session } };

const ORDERS_PAGE = 50;
const CUSTOMERS_PAGE = 100;
const LEDGER_PAGE = 50;
const SERVICES_PAGE = 200;

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), "utf8");

const id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const optionalId = z.preprocess((v) => (v === "" ? undefined : v), id.optional());
const orderQuery = z.object({
  customer: optionalId,
  status: z.preprocess((v) => (v === "" ? undefined : v), z.enum(ORDER_STATUSES).optional()),
  state: z.preprocess((v) => (v === "" ? undefined : v), z.enum(SUBMISSION_STATES).optional()),
  provider: z.preprocess((v) => (v === "" ? undefined : v), z.string().max(100).optional()),
  flagged: z.preprocess((v) => v === "1" || v === "on", z.boolean()),
  before: optionalId,
});

function isHttps(c: Context, trustProxy: boolean): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  return trustProxy && c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}

function bodyText(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === "string" ? value : "";
}

/** Builds the dashboard app; the API app mounts it at `/admin` (see `api/app.ts`). */
export function createAdminApp(ctx: AppContext, options: AdminOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>({ strict: false });
  const sessions = new SessionStore();
  const css = asset("admin.css");
  const js = asset("admin.js");
  const adminLog = ctx.logger.child({ component: "admin" });
  const currency = () => ctx.config.currency;

  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      referrerPolicy: "same-origin",
      xFrameOptions: "DENY",
    }),
  );
  app.use(
    csrf({
      origin: (origin, c) => {
        if (origin === new URL(c.req.url).origin) return true;
        if (!options.trustProxy) return false;
        const proto = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim();
        const host = c.req.header("x-forwarded-host")?.split(",")[0]?.trim() ?? c.req.header("host");
        return proto !== undefined && host !== undefined && origin === `${proto}://${host}`;
      },
    }),
  );
  app.use(async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });
  app.use(layout);

  app.get("/assets/admin.css", (c) =>
    c.body(css, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=3600" }),
  );
  app.get("/assets/admin.js", (c) =>
    c.body(js, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=3600" }),
  );

  const sessionOf = async (c: Context): Promise<Session | undefined> => {
    const sid = await getSignedCookie(c, sessions.cookieSecret, SESSION_COOKIE);
    return sessions.get(typeof sid === "string" ? sid : undefined);
  };

  // Sign in / out.
  app.get("/login", async (c) => {
    if (await sessionOf(c)) return c.redirect("/admin", 303);
    return c.render(<LoginPage />, { title: "Sign in" });
  });
  app.post(
    "/login",
    rateLimiter<AdminEnv>({
      windowMs: 15 * 60_000,
      limit: options.loginAttemptsPer15Min ?? 10,
      keyGenerator: (c) => `admin-login:${clientIp(c, options.trustProxy)}`,
      skipSuccessfulRequests: true,
      requestWasSuccessful: (c) => c.res.status < 400,
      handler: (c) => {
        c.status(429);
        return c.render(<LoginPage error="Too many failed sign-ins from this address: try again later." />, {
          title: "Sign in",
        });
      },
    }),
    async (c) => {
      const body = await c.req.parseBody();
      if (!sameToken(bodyText(body, "token"), options.token)) {
        adminLog.warn({ event: "admin_sign_in_failed", ip: clientIp(c, options.trustProxy) }, "admin sign-in refused");
        c.status(401);
        return c.render(<LoginPage error="Invalid token" />, { title: "Sign in" });
      }
      const session = sessions.create();
      await setSignedCookie(c, SESSION_COOKIE, session.id, sessions.cookieSecret, {
        httpOnly: true,
        sameSite: "Strict",
        secure: isHttps(c, options.trustProxy),
        path: "/admin",
        maxAge: SESSION_TTL_MS / 1000,
      });
      adminLog.info({ event: "admin_sign_in", ip: clientIp(c, options.trustProxy) }, "admin signed in");
      return c.redirect("/admin", 303);
    },
  );

  // Everything below needs a session; every POST its form token.
  app.use(async (c, next) => {
    const session = await sessionOf(c);
    if (!session) {
      if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect("/admin/login", 302);
      throw new HTTPException(403, { message: "Sign in first" });
    }
    if (c.req.method === "POST") {
      const body = await c.req.parseBody();
      if (!sameToken(bodyText(body, "_csrf"), session.formToken)) {
        throw new HTTPException(403, { message: "This form is out of date or was not sent from this dashboard" });
      }
    }
    c.set("session", session);
    await next();
  });

  app.post("/logout", (c) => {
    sessions.destroy(c.get("session").id);
    deleteCookie(c, SESSION_COOKIE, { path: "/admin" });
    return c.redirect("/admin/login", 303);
  });

  /** Renders `content` in the layout with the session's nav, form token and pending messages. */
  const page = (c: Context<AdminEnv>, title: string, section: Section | undefined, content: () => unknown) => {
    const session = c.get("session");
    const props: PageProps = { title, formToken: session.formToken, flash: sessions.takeFlash(session) };
    if (section !== undefined) props.section = section;
    return c.render(content() as string, props);
  };

  /** Runs an action, keeps its outcome (or the verb's refusal) for the next page, redirects there. */
  const act = async (c: Context<AdminEnv>, back: string, run: () => Flash | Promise<Flash>, what: object) => {
    const session = c.get("session");
    try {
      const flash = await run();
      session.flash.push(flash);
      adminLog.info({ event: "admin_action", path: c.req.path, ...what }, flash.text);
    } catch (error) {
      const known = operatorError(error);
      if (known === undefined) throw error;
      session.flash.push({ kind: "error", text: known.message });
      adminLog.info({ event: "admin_action_refused", path: c.req.path, ...what, reason: known.message }, "refused");
    }
    return c.redirect(back, 303);
  };

  const budgetMs = (providerId: string) => longestPlacementMs(ctx, providerId);

  const tiles = (): ProviderTile[] => {
    const stats = options.providerStats?.() ?? {};
    return listProviderStates(ctx.db, ctx.config).map((state) => ({ state, stats: stats[state.id] }));
  };

  app.get("/", (c) => {
    const now = ctx.now();
    return page(c, "Overview", "overview", () => (
      <OverviewPage
        report={dailyReport(ctx.db, now)}
        counts={attentionCounts(ctx.db, { now, budgetMs })}
        tiles={tiles()}
        currency={currency()}
      />
    ));
  });

  app.get("/held", (c) => {
    const now = ctx.now();
    return page(c, "Held orders", "held", () => (
      <HeldPage
        held={listHeldOrders(ctx.db, { now, budgetMs })}
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
    return page(c, `Order #${detail.order.id}`, "orders", () => (
      <OrderPage
        detail={detail}
        customerName={labels.customers.get(detail.order.customerId) ?? null}
        serviceName={labels.services.get(detail.order.serviceId) ?? null}
        currency={currency()}
      />
    ));
  });

  app.get("/customers", (c) => {
    const after = optionalId.safeParse(c.req.query("after"));
    const q = (c.req.query("q") ?? "").trim().slice(0, 100);
    const rows = listCustomers(ctx.db, {
      ...(after.success && after.data !== undefined ? { afterId: after.data } : {}),
      ...(q === "" ? {} : { nameContains: q }),
      limit: CUSTOMERS_PAGE + 1,
    });
    const shown = rows.slice(0, CUSTOMERS_PAGE);
    const last = shown[shown.length - 1];
    const nextHref =
      rows.length > CUSTOMERS_PAGE && last
        ? `/admin/customers?${new URLSearchParams({ ...(q === "" ? {} : { q }), after: String(last.id) }).toString()}`
        : null;
    return page(c, "Customers", "customers", () => (
      <CustomersPage
        customers={shown}
        query={q}
        nextHref={nextHref}
        formToken={c.get("session").formToken}
        currency={currency()}
      />
    ));
  });
  app.post("/customers", async (c) => {
    const body = await c.req.parseBody();
    let createdId: number | undefined;
    const balanceText = bodyText(body, "balance").trim();
    const response = await act(
      c,
      "/admin/customers",
      () => {
        const balance = balanceText === "" ? 0 : parseAmount(balanceText);
        const { customer, apiKey } = createCustomer(ctx.db, {
          name: bodyText(body, "name"),
          balance,
          httpErrors: body.httpErrors !== undefined,
          currency: currency(),
        });
        createdId = customer.id;
        return {
          kind: "ok",
          text: `Customer #${customer.id} ${customer.name} added with balance ${formatAmount(customer.balance)} ${customer.currency}`,
          secret: { label: "API key", value: apiKey },
        };
      },
      {},
    );
    return createdId === undefined ? response : c.redirect(`/admin/customers/${createdId}`, 303);
  });
  app.get("/customers/:id{[0-9]+}", (c) => {
    const customerId = Number(c.req.param("id"));
    const before = optionalId.safeParse(c.req.query("before"));
    const details = getCustomer(ctx.db, customerId, {
      ledgerLimit: LEDGER_PAGE + 1,
      ...(before.success && before.data !== undefined ? { ledgerBeforeId: before.data } : {}),
    });
    const shown = details.ledger.slice(0, LEDGER_PAGE);
    const last = shown[shown.length - 1];
    const nextHref =
      details.ledger.length > LEDGER_PAGE && last ? `/admin/customers/${customerId}?before=${last.id}` : null;
    return page(c, `Customer #${customerId} ${details.customer.name}`, "customers", () => (
      <CustomerPage
        customer={details.customer}
        keys={details.keys}
        ledger={shown}
        nextHref={nextHref}
        formToken={c.get("session").formToken}
      />
    ));
  });
  app.post("/customers/:id{[0-9]+}/topup", async (c) => {
    const customerId = Number(c.req.param("id"));
    const body = await c.req.parseBody();
    return act(
      c,
      `/admin/customers/${customerId}`,
      () => {
        const r = topUp(ctx.db, customerId, parseAmount(bodyText(body, "amount")), bodyText(body, "note"));
        const what = r.amount > 0 ? "Topped up" : "Corrected by";
        return { kind: "ok", text: `${what} ${formatAmount(r.amount)}: balance ${formatAmount(r.balance)}` };
      },
      { customerId },
    );
  });
  app.post("/customers/:id{[0-9]+}/rotate-key", (c) => {
    const customerId = Number(c.req.param("id"));
    return act(
      c,
      `/admin/customers/${customerId}`,
      () => {
        const r = rotateKey(ctx.db, customerId);
        return {
          kind: "ok",
          text: `Revoked ${r.revoked} key(s); the new key starts ${r.prefix}`,
          secret: { label: "API key", value: r.apiKey },
        };
      },
      { customerId },
    );
  });
  app.post("/customers/:id{[0-9]+}/webhook", async (c) => {
    const customerId = Number(c.req.param("id"));
    const url = bodyText(await c.req.parseBody(), "url").trim();
    return act(
      c,
      `/admin/customers/${customerId}`,
      (): Flash => {
        const r = setWebhook(ctx.db, customerId, url === "" ? null : url, {
          allowPrivate: options.webhookAllowPrivate === true,
        });
        return r.webhookSecret === null
          ? { kind: "ok", text: "Webhook removed" }
          : {
              kind: "ok",
              text: `Webhook set to ${r.customer.webhookUrl ?? ""}`,
              secret: { label: "Signing secret", value: r.webhookSecret },
            };
      },
      { customerId },
    );
  });

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

  app.get("/providers", (c) =>
    page(c, "Providers", "providers", () => <ProvidersPage tiles={tiles()} formToken={c.get("session").formToken} />),
  );
  app.post("/providers/check", (c) =>
    act(
      c,
      "/admin/providers",
      async (): Promise<Flash> => {
        const checks = await checkProviders(ctx);
        const failed = checks.filter((x) => x.error !== null);
        const lines = checks.map((x) =>
          x.error === null
            ? `${x.id}: balance ${x.balance ?? "-"} ${x.currency ?? ""} in ${x.latencyMs} ms`
            : `${x.id}: ${x.error}`,
        );
        return {
          kind: failed.length > 0 ? "error" : "ok",
          text: `Checked ${checks.length} provider(s), ${failed.length} failed. ${lines.join("; ")}`,
        };
      },
      {},
    ),
  );

  /** Nav and form token on error pages too, when the operator is signed in. */
  const chrome = (c: Context<AdminEnv>): Pick<PageProps, "formToken"> => {
    const session = c.get("session") as Session | undefined;
    return session === undefined ? {} : { formToken: session.formToken };
  };
  app.notFound((c) => {
    c.status(404);
    return c.render(<p class="empty">No such page.</p>, { title: "Not found", ...chrome(c) });
  });
  app.onError((error, c) => {
    let status: 400 | 403 | 404 | 409 | 429 | 500 = 500;
    let message = "Internal error";
    if (error instanceof HTTPException) {
      status = ([400, 403, 404, 409, 429] as const).find((s) => s === error.status) ?? 500;
      message = error.message || (status === 403 ? "Forbidden" : "Error");
    } else {
      const known = operatorError(error);
      if (known) {
        status = known.status;
        message = known.message;
      } else {
        ctx.logger.error({ err: error, path: c.req.path }, "unexpected error on an admin page");
      }
    }
    c.status(status);
    return c.render(
      <p class="flash error" role="alert">
        {message}
      </p>,
      { title: status === 403 ? "Forbidden" : status === 404 ? "Not found" : "Error", ...chrome(c) },
    );
  });
  return app;
}
