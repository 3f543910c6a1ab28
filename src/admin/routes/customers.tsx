/** Customers: list, Add customer, one customer with its ledger, Top up, Rotate key, webhook (`customers ...`). */
import type { Hono } from "hono";
import { formatAmount, parseAmount } from "../../billing/money.js";
import {
  createCustomer,
  getCustomer,
  listCustomers,
  rotateKey,
  setApiStyle,
  setHttpErrors,
  setSuspended,
  setWebhook,
  topUp,
} from "../../customers/index.js";
import { httpErrorsText } from "../components.js";
import { type AdminEnv, type AdminKit, bodyText, optionalId } from "../kit.js";
import { CustomerPage, CustomersPage } from "../pages/customers.js";
import type { Flash } from "../session.js";

const CUSTOMERS_PAGE = 100;

/** The HTTP errors select: `on`, `off`, or the server's default (anything else). */
function httpErrorsChoice(value: string): boolean | null {
  return value === "on" ? true : value === "off" ? false : null;
}

function httpErrorsInput(value: string): { httpErrors?: boolean } {
  const choice = httpErrorsChoice(value);
  return choice === null ? {} : { httpErrors: choice };
}
const LEDGER_PAGE = 50;

export function registerCustomerRoutes(app: Hono<AdminEnv>, kit: AdminKit): void {
  const { ctx, page, act, currency } = kit;
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
          ...httpErrorsInput(bodyText(body, "httpErrors")),
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
  for (const [path, suspended] of [
    ["suspend", true],
    ["resume", false],
  ] as const) {
    app.post(`/customers/:id{[0-9]+}/${path}`, (c) => {
      const customerId = Number(c.req.param("id"));
      return act(
        c,
        `/admin/customers/${customerId}`,
        (): Flash => {
          const after = setSuspended(ctx.db, customerId, suspended, ctx.now());
          return {
            kind: "ok",
            text: after.suspendedAt === null ? `${after.name} resumed` : `${after.name} suspended: its keys answer 403`,
          };
        },
        { customerId, suspended },
      );
    });
  }
  app.post("/customers/:id{[0-9]+}/answers", async (c) => {
    const customerId = Number(c.req.param("id"));
    const body = await c.req.parseBody();
    return act(
      c,
      `/admin/customers/${customerId}`,
      (): Flash => {
        setHttpErrors(ctx.db, customerId, httpErrorsChoice(bodyText(body, "httpErrors")));
        const after = setApiStyle(ctx.db, customerId, bodyText(body, "apiStyle"));
        return {
          kind: "ok",
          text: `Answers: HTTP errors ${httpErrorsText(after.httpErrors)}, API style ${after.apiStyle}`,
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
          allowPrivate: kit.options.webhookAllowPrivate === true,
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
}
