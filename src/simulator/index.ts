/**
 * A simulated upstream SMM panel speaking one dialect (`jap`, `morethanpanel`, `justprovider`,
 * `panel`), as a real loopback HTTP server, for integration tests, benchmarks, the chaos soak
 * and `npm run demo`. See `dialects.ts` for what differs per dialect and `control-route.ts`
 * for the HTTP control API.
 */
import type { AddressInfo } from "node:net";
import { type HttpBindings, serve } from "@hono/node-server";
import { Hono } from "hono";
import { mountApi } from "./api-route.js";
import { controlErrorHandler, mountControl } from "./control-route.js";
import { SimulatorCore } from "./core.js";
import { money } from "./store.js";
import type { Simulator, SimulatorOptions } from "./types.js";

export { defaultCatalogue, generatedCatalogue } from "./catalogue.js";
export { DIALECT_SPECS, MESSAGES } from "./dialects.js";
export type * from "./types.js";
export { FAULT_KINDS } from "./types.js";

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/** Starts a simulated panel; resolves once it listens. */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const core = new SimulatorCore(options);
  const app = new Hono<{ Bindings: HttpBindings }>();
  mountApi(app, core);
  mountControl(app, core);
  app.onError(controlErrorHandler);

  const host = options.host ?? "127.0.0.1";
  const server = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: host });
  await new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once("listening", () => resolve());
    server.once("error", (error) => {
      core.shutdown();
      reject(error);
    });
  });
  const port = (server.address() as AddressInfo).port;
  const base = `http://${urlHost(host)}:${port}`;
  const { store } = core;
  let closing: Promise<void> | undefined;

  return {
    dialect: core.dialect,
    url: `${base}/api/v2`,
    controlUrl: `${base}/__sim`,
    port,
    apiKey: core.apiKey,
    get orders() {
      return store.orders;
    },
    get refills() {
      return store.refills;
    },
    get services() {
      return store.services;
    },
    get log() {
      return core.log;
    },
    get balance() {
      return money(store.balance);
    },
    setOrder: (id, patch) => store.setOrder(id, patch),
    setRefill: (id, patch) => store.setRefill(id, patch),
    injectFaults: (action, count, fault) => core.faults.add(action, count, fault),
    clearFaults: () => core.faults.clear(),
    clearLog: () => core.clearLog(),
    setServices: (list) => store.setServices(list),
    updateService: (id, patch) => store.updateService(id, patch),
    removeService: (id) => store.removeService(id),
    setBalance: (balance) => store.setBalance(balance),
    advance: (ticks) => core.advance(ticks),
    close() {
      closing ??= new Promise<void>((resolve) => {
        core.shutdown();
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
      return closing;
    },
  };
}
