/**
 * Sign in (the admin token; failures rate-limited per IP), the session check every other
 * route sits behind (a POST also needs the session's form token), and Sign out.
 */
import type { Context, Hono } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import { rateLimiter } from "hono-rate-limiter";
import { clientIp } from "../../api/client-ip.js";
import { type AdminEnv, type AdminKit, bodyText } from "../kit.js";
import { LoginPage } from "../pages/login.js";
import { SESSION_COOKIE, SESSION_TTL_MS, type Session, sameToken } from "../session.js";

function isHttps(c: Context, trustProxy: number | boolean): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  return (
    trustProxy !== false && trustProxy !== 0 && c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https"
  );
}

/** Registers /login and the session gate; routes registered after it need a session. */
export function registerAuthRoutes(app: Hono<AdminEnv>, kit: AdminKit): void {
  const { options, sessions, log: adminLog } = kit;
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
}
