/**
 * The routing overhead of `add` (issue #12), apart from any upstream's own time: `placeOrder`
 * in this process over a WAL file store, with upstream clients that answer at once without
 * any HTTP (an accepted order, or a refusal), so the CPU measured is the proxy's own work per
 * order: candidate selection, the charge, each attempt's durable records and settlement.
 * Command `run` {databasePath, orders} → CPU ms per order with 1 route, and with 3 routes where
 * the first two refuse.
 */
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { createCustomer } from "../../src/customers/customers.js";
import { openDb } from "../../src/db/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { placeOrder } from "../../src/orders/place-order.js";
import type { AppContext } from "../../src/runtime/context.js";
import { applyCatalogue } from "../../src/sync/catalogue.js";
import type { CallOutcome, ProviderClient, UpstreamService } from "../../src/upstream/types.js";
import { failStart, serveCommands } from "../lib/ipc.js";

export interface RoutingProbeAnswer {
  orders: number;
  oneRouteCpuMs: number;
  threeRoutesCpuMs: number;
  perExtraAttemptCpuMs: number;
}

const SERVICE: UpstreamService = {
  service: "1",
  name: "Followers",
  type: "Default",
  category: "Instagram",
  rate: "0.90",
  min: 10,
  max: 100000,
  refill: true,
  cancel: true,
  dripfeed: false,
};

/** A client that answers `add` at once (calling `onSend` first, like a real send). */
function instantClient(id: string, refuse: boolean): ProviderClient {
  let next = 1;
  const unused = () => Promise.reject(new Error("not used by the probe"));
  return {
    id,
    services: async () => ({ kind: "ok", value: [SERVICE] }),
    add: async (_request, options) => {
      options?.onSend?.();
      const outcome: CallOutcome<{ order: string }> = refuse
        ? { kind: "rejected", failure: { message: "upstream error: Not enough funds on balance" } }
        : { kind: "ok", value: { order: String(next++) } };
      return outcome;
    },
    status: unused,
    multiStatus: unused,
    refill: unused,
    multiRefill: unused,
    refillStatus: unused,
    multiRefillStatus: unused,
    cancel: unused,
    balance: unused,
    stats: () => ({ queued: 0, inFlight: 0, circuit: "closed" }),
    close: async () => undefined,
  };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function run({ databasePath, orders }: { databasePath: string; orders: number }): Promise<RoutingProbeAnswer> {
  const ids = ["ok", "refuse1", "refuse2"];
  const config = parseProvidersConfig(
    {
      currency: "USD",
      markup: { percent: 20 },
      providers: ids.map((id) => ({ id, dialect: "jap", url: `http://127.0.0.1:9/${id}`, key: "k" })),
      services: [
        { id: 1, provider: "ok", upstreamService: 1 },
        {
          id: 2,
          routes: [
            { provider: "refuse1", upstreamService: 1 },
            { provider: "refuse2", upstreamService: 1 },
            { provider: "ok", upstreamService: 1 },
          ],
        },
      ],
    },
    {},
  );
  const clients = new Map(ids.map((id) => [id, instantClient(id, id !== "ok")]));
  const ctx: AppContext = {
    db: openDb(databasePath),
    config,
    providers: { get: (id) => clients.get(id) },
    logger: silentLogger(),
    now: Date.now,
    catalogueVersion: 0,
  };
  for (const id of ids) applyCatalogue(ctx, id, [SERVICE]);
  const { customer } = createCustomer(ctx.db, { name: "probe", balance: 1_000_000_000_00000, currency: "USD" });
  const place = (service: string) =>
    placeOrder(ctx, { customerId: customer.id, fields: { service, link: "https://ig.com/p", quantity: "100" } });
  // Warm-up, then interleaved rounds so both see the same noise.
  for (let i = 0; i < 200; i++) {
    await place("1");
    await place("2");
  }
  let one = 0;
  let three = 0;
  const rounds = 10;
  const per = Math.max(1, Math.floor(orders / rounds));
  for (let r = 0; r < rounds; r++) {
    let t = cpuMs();
    for (let i = 0; i < per; i++) await place("1");
    one += cpuMs() - t;
    t = cpuMs();
    for (let i = 0; i < per; i++) await place("2");
    three += cpuMs() - t;
  }
  ctx.db.$client.close();
  const n = per * rounds;
  const oneRouteCpuMs = one / n;
  const threeRoutesCpuMs = three / n;
  return { orders: n, oneRouteCpuMs, threeRoutesCpuMs, perExtraAttemptCpuMs: (threeRoutesCpuMs - oneRouteCpuMs) / 2 };
}

try {
  serveCommands({}, { run });
} catch (error) {
  failStart(error);
}
