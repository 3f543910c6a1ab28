/** The transport: msw really intercepts our calls, and in production the per-provider Agent pools connections. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HttpResponse, http as mswHttp } from "msw";
import { describe, expect, it } from "vitest";
import { createProviderRegistry } from "../../src/upstream/registry.js";
import { formOf, KEY, providerConfig, useClients, useMsw } from "./helpers.js";

const server = useMsw();
const makeClient = useClients();

describe("msw interception", () => {
  it("answers a call to a host that does not exist (fails if interception were off)", async () => {
    const seen: { form: Record<string, string>; contentType: string | null }[] = [];
    server.use(
      mswHttp.post("https://no-such-host.invalid/api/v2", async ({ request }) => {
        seen.push({ form: await formOf(request), contentType: request.headers.get("content-type") });
        return HttpResponse.json({ balance: "42.00", currency: "EUR" });
      }),
    );
    const { client } = makeClient(providerConfig("jap", { url: "https://no-such-host.invalid/api/v2" }));
    expect(await client.balance()).toEqual({ kind: "ok", value: { balance: "42.00", currency: "EUR" } });
    expect(seen).toEqual([
      { form: { action: "balance", key: KEY }, contentType: "application/x-www-form-urlencoded;charset=UTF-8" },
    ]);
  });
});

describe("real sockets (msw lets 127.0.0.1 through)", () => {
  async function startServer(handle: (body: string) => string) {
    let connections = 0;
    let active = 0;
    let peak = 0;
    const srv = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        active++;
        peak = Math.max(peak, active);
        setTimeout(() => {
          active--;
          res.setHeader("content-type", "application/json");
          res.end(handle(body));
        }, 30);
      });
    });
    srv.on("connection", () => connections++);
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const { port } = srv.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/api/v2`,
      stats: () => ({ connections, peak }),
      close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
    };
  }

  it("keeps connections alive and opens at most `concurrency` of them", async () => {
    const srv = await startServer(() => JSON.stringify({ status: "Completed" }));
    const { client } = makeClient(providerConfig("jap", { url: srv.url, concurrency: 2 }));
    expect((await client.status("1")).kind).toBe("ok");
    expect((await client.status("2")).kind).toBe("ok");
    expect(srv.stats().connections).toBe(1);
    const outcomes = await Promise.all(["3", "4", "5", "6"].map((id) => client.status(id)));
    expect(outcomes.map((o) => o.kind)).toEqual(["ok", "ok", "ok", "ok"]);
    expect(srv.stats()).toEqual({ connections: 2, peak: 2 });
    await client.close();
    await srv.close();
  });

  it("the registry builds one client per provider and closes them all", async () => {
    const srv = await startServer((body) =>
      JSON.stringify(new URLSearchParams(body).get("action") === "balance" ? { balance: "7", currency: "USD" } : {}),
    );
    const events: string[] = [];
    const registry = createProviderRegistry(
      [
        providerConfig("jap", { url: srv.url }),
        providerConfig("panel", { id: "p2", url: srv.url }),
        providerConfig("morethanpanel"),
        providerConfig("justprovider"),
      ],
      { onEvent: (e) => events.push(`${e.provider}:${e.type}`) },
    );
    expect(registry.all().map((c) => c.id)).toEqual(["jap", "p2", "morethanpanel", "justprovider"]);
    expect(registry.get("nope")).toBeUndefined();
    expect(await registry.get("p2")?.balance()).toEqual({ kind: "ok", value: { balance: "7", currency: "USD" } });
    expect(events).toEqual(["p2:call"]);
    expect(registry.stats()).toEqual({
      jap: { queued: 0, inFlight: 0, circuit: "closed" },
      p2: { queued: 0, inFlight: 0, circuit: "closed" },
      morethanpanel: { queued: 0, inFlight: 0, circuit: "closed" },
      justprovider: { queued: 0, inFlight: 0, circuit: "closed" },
    });
    await registry.close(100);
    expect(await registry.get("jap")?.balance()).toMatchObject({ kind: "not_sent", reason: "queue_full" });
    expect(() => createProviderRegistry([providerConfig("jap"), providerConfig("jap")])).toThrow(
      'duplicate provider id "jap"',
    );
    await srv.close();
  });
});
