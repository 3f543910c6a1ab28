/** Providers: runtime state and Check now (`providers list`, `providers check`). */
import type { Hono } from "hono";
import { checkProviders } from "../../sync/balances.js";
import type { AdminEnv, AdminKit } from "../kit.js";
import { ProvidersPage } from "../pages/providers.js";
import type { Flash } from "../session.js";

export function registerProviderRoutes(app: Hono<AdminEnv>, kit: AdminKit): void {
  const { ctx, page, act } = kit;
  app.get("/providers", (c) =>
    page(c, "Providers", "providers", () => (
      <ProvidersPage tiles={kit.tiles()} formToken={c.get("session").formToken} />
    )),
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
}
