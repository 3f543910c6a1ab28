/**
 * The baseline server: bare Hono routes on the same stack as smm-proxy (@hono/node-server),
 * no middleware, no store.
 * - `POST /api/v2` answers a constant small JSON (the `status` and `services` baseline);
 * - `POST /api/v2-end-of-turn` answers the same JSON at the end of the event-loop turn, as the
 *   proxy's API does (`src/api/end-of-turn.ts`): how much of that gain any route gets on this
 *   machine (information);
 * - `POST /catalogue` answers a constant JSON text set by the `setCatalogue` command (the same
 *   bytes as the proxy's `services` answer, serialised once), for the same-size comparison;
 * - `POST /catalogue-gzip` answers constant gzip bytes (`Content-Encoding: gzip`) set by the
 *   `setCatalogueGzip` command (base64): the proxy's own gzip form of `services`.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { endOfTurn } from "../../src/api/end-of-turn.js";
import { failStart, serveCommands } from "../lib/ipc.js";

const CONSTANT = { charge: "0.27819", start_count: "3572", status: "Partial", remains: "157", currency: "USD" };

async function main(): Promise<void> {
  let catalogue = "[]";
  let catalogueGzip = new Uint8Array(0);
  const app = new Hono();
  app.post("/api/v2", (c) => c.json(CONSTANT));
  app.post("/api/v2-end-of-turn", async (c) => {
    await endOfTurn();
    return c.json(CONSTANT);
  });
  app.post("/catalogue", (c) => c.body(catalogue, 200, { "Content-Type": "application/json" }));
  app.post("/catalogue-gzip", (c) =>
    c.body(catalogueGzip, 200, { "Content-Type": "application/json", "Content-Encoding": "gzip" }),
  );
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  serveCommands(
    { url: `http://127.0.0.1:${port}` },
    {
      setCatalogue: (text: string) => {
        catalogue = text;
        return text.length;
      },
      setCatalogueGzip: (base64: string) => {
        catalogueGzip = new Uint8Array(Buffer.from(base64, "base64"));
        return catalogueGzip.byteLength;
      },
    },
  );
}

main().catch(failStart);
