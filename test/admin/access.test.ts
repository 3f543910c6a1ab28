/**
 * Dashboard access (issue #13), in-process: the session cookie's flags, the security headers,
 * the sign-in rate limit, and POSTs refused without a session or its form token.
 */
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { harness } from "../api/app-harness.js";
import { addCustomer, balanceOf } from "../helpers/context.js";

const TOKEN = "a-long-admin-token-for-tests";

function adminApp(trustProxy = false) {
  const { ctx } = harness();
  const app = createApp(ctx, { rateLimitIpPerMin: 0, rateLimitKeyPerMin: 0, trustProxy, adminToken: TOKEN });
  const signIn = (token: string, origin = "http://admin.test", headers: Record<string, string> = {}) =>
    app.request(`${origin}/admin/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin, ...headers },
      body: new URLSearchParams({ token }).toString(),
    });
  return { ctx, app, signIn };
}

describe("the session cookie", () => {
  it("is signed, HttpOnly, SameSite=Strict, 12 h, scoped to /admin, and not Secure over http", async () => {
    const res = await adminApp().signIn(TOKEN);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^smm_admin=[^;]+\.[^;]+; Max-Age=43200; Path=\/admin; HttpOnly; SameSite=Strict$/);
  });

  it("is Secure over https, and behind a trusted proxy that says https", async () => {
    const direct = await adminApp().signIn(TOKEN, "https://admin.test");
    expect(direct.headers.get("set-cookie")).toContain("; Secure");
    const proxied = await adminApp(true).signIn(TOKEN, "http://admin.test", { "x-forwarded-proto": "https" });
    expect(proxied.headers.get("set-cookie")).toContain("; Secure");
    const untrusted = await adminApp(false).signIn(TOKEN, "http://admin.test", { "x-forwarded-proto": "https" });
    expect(untrusted.headers.get("set-cookie")).not.toContain("Secure");
  });

  it("opens nothing when tampered with", async () => {
    const { app, signIn } = adminApp();
    const cookie = ((await signIn(TOKEN)).headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const tampered = cookie.replace(/=(.)/, (_m, c: string) => `=${c === "A" ? "B" : "A"}`);
    const res = await app.request("http://admin.test/admin", { headers: { cookie: tampered } });
    expect([res.status, res.headers.get("location")]).toEqual([302, "/admin/login"]);
  });
});

describe("pages", () => {
  it("carry a self-only Content-Security-Policy, no framing, and no caching", async () => {
    const res = await adminApp().app.request("http://admin.test/admin/login");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("Overview and Orders without a live server", () => {
  it("Overview says the process watches no alerts when it runs no alerter; a Link contains over 500 characters answers 400", async () => {
    const { app, signIn } = adminApp();
    const cookie = ((await signIn(TOKEN)).headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const overview = await app.request("http://admin.test/admin", { headers: { cookie } });
    expect(overview.status).toBe(200);
    const html = await overview.text();
    expect(html).toContain('<p class="muted">This process watches no alerts.</p>');
    expect(html).not.toContain("No active alerts");
    const long = await app.request(`http://admin.test/admin/orders?link=${"a".repeat(501)}`, { headers: { cookie } });
    expect(long.status).toBe(400);
    expect(await long.text()).toContain('<p class="flash error" role="alert">link: at most 500 characters</p>');
  });
});

describe("signing in", () => {
  it("allows 10 failed attempts per IP in 15 minutes, then answers 429 even to the right token", async () => {
    const { signIn } = adminApp();
    for (let i = 0; i < 10; i++) expect((await signIn("wrong-token")).status).toBe(401);
    const locked = await signIn(TOKEN);
    expect(locked.status).toBe(429);
    expect(await locked.text()).toContain("Too many failed sign-ins");
    expect(locked.headers.get("set-cookie")).toBeNull();
  });

  it("does not count successful sign-ins towards the limit", async () => {
    const { signIn } = adminApp();
    for (let i = 0; i < 12; i++) expect((await signIn(TOKEN)).status).toBe(303);
  });
});

describe("POSTs", () => {
  it("are refused with 403 without a session, and change nothing", async () => {
    const { ctx, app } = adminApp();
    const customer = addCustomer(ctx, "1.00000");
    const res = await app.request(`http://admin.test/admin/customers/${customer.id}/topup`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://admin.test" },
      body: "amount=5",
    });
    expect(res.status).toBe(403);
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 100_000, ledger: 100_000 });
  });

  it("are refused with 403 with a wrong form token, and change nothing", async () => {
    const { ctx, app, signIn } = adminApp();
    const customer = addCustomer(ctx, "1.00000");
    const cookie = ((await signIn(TOKEN)).headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const res = await app.request(`http://admin.test/admin/customers/${customer.id}/topup`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://admin.test", cookie },
      body: "amount=5&_csrf=not-the-token",
    });
    expect(res.status).toBe(403);
    expect(balanceOf(ctx, customer.id)).toEqual({ balance: 100_000, ledger: 100_000 });
  });
});
