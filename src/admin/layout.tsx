/**
 * The one page layout of the dashboard (`jsxRenderer`): head with the proxy's own CSS and
 * script, the nav (Overview, Held orders, Orders, Customers, Services, Providers, Sign out),
 * the session's one-time messages, then the page. Pages call `c.render(<Page/>, { title })`.
 */
import { jsxRenderer } from "hono/jsx-renderer";
import { Flashes, FormToken } from "./components.js";
import type { Flash } from "./session.js";

export interface PageProps {
  title: string;
  /** Nav entry to mark as current. */
  section?: Section;
  /** Absent on the sign-in page (no nav, no sign-out). */
  formToken?: string;
  flash?: Flash[];
}

declare module "hono" {
  interface ContextRenderer {
    // biome-ignore lint/style/useShorthandFunctionType: declaration merging needs an interface
    (content: string | Promise<string>, props: PageProps): Response | Promise<Response>;
  }
}

export const NAV = [
  ["overview", "Overview", "/admin"],
  ["held", "Held orders", "/admin/held"],
  ["orders", "Orders", "/admin/orders"],
  ["customers", "Customers", "/admin/customers"],
  ["services", "Services", "/admin/services"],
  ["providers", "Providers", "/admin/providers"],
] as const;

export type Section = (typeof NAV)[number][0];

export const layout = jsxRenderer(
  ({ children, title, section, formToken, flash }) => (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · smm-proxy admin`}</title>
        <link rel="stylesheet" href="/admin/assets/admin.css" />
        <script src="/admin/assets/admin.js" defer />
      </head>
      <body>
        <header class="top">
          <span class="brand">smm-proxy</span>
          {formToken !== undefined ? (
            <>
              <nav aria-label="Main">
                {NAV.map(([key, label, href]) => (
                  <a href={href} aria-current={key === section ? "page" : undefined}>
                    {label}
                  </a>
                ))}
              </nav>
              <form method="post" action="/admin/logout" class="logout">
                <FormToken token={formToken} />
                <button type="submit">Sign out</button>
              </form>
            </>
          ) : null}
        </header>
        <main>
          <h1>{title}</h1>
          <Flashes flash={flash ?? []} />
          {children}
        </main>
      </body>
    </html>
  ),
  { docType: true },
);
