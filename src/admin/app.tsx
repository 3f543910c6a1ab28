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
import { existsSync, readFileSync } from "node:fs";
import { type Context, Hono } from "hono";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { AppContext } from "../runtime/context.js";
import { operatorError } from "./errors.js";
import { type AdminEnv, type AdminOptions, createKit } from "./kit.js";
import { layout, type PageProps } from "./layout.js";
import { registerAuthRoutes } from "./routes/auth.js";
import { registerCustomerRoutes } from "./routes/customers.js";
import { registerOrderRoutes } from "./routes/orders.js";
import { registerOverviewRoutes } from "./routes/overview.js";
import { registerProviderRoutes } from "./routes/providers.js";
import { registerServiceRoutes } from "./routes/services.js";
import { type Session, SessionStore } from "./session.js";

export type { AdminOptions } from "./kit.js";

/**
 * An asset of the dashboard, read once at start: beside this module (`src/admin/assets/`, or
 * `dist/admin/assets/` where `npm run build` copies them), else from the source tree next to
 * `dist/` (a build made with `tsc` alone, which copies no CSS).
 */
function asset(name: string): string {
  const beside = new URL(`./assets/${name}`, import.meta.url);
  const source = new URL(`../../src/admin/assets/${name}`, import.meta.url);
  return readFileSync(existsSync(beside) ? beside : source, "utf8");
}

/** Builds the dashboard app; the API app mounts it at `/admin` (see `api/app.ts`). */
export function createAdminApp(ctx: AppContext, options: AdminOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>({ strict: false });
  const sessions = new SessionStore();
  const css = asset("admin.css");
  const js = asset("admin.js");
  const kit = createKit(ctx, options, sessions);

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

  registerAuthRoutes(app, kit);
  registerOverviewRoutes(app, kit);
  registerOrderRoutes(app, kit);
  registerCustomerRoutes(app, kit);
  registerServiceRoutes(app, kit);
  registerProviderRoutes(app, kit);

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
