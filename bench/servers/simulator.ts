/**
 * A panel simulator in its own process (so it never shares the proxy's event loop).
 * argv[2]: JSON {@link SimulatorOptions}. Commands: `setOrders` (create or overwrite a range of
 * orders), `clearLog`, `log` (time and action of each request since `since`).
 */

import { type OrderPatch, type SimulatorOptions, startSimulator } from "../../src/simulator/index.js";
import { failStart, serveCommands } from "../lib/ipc.js";

export interface SetOrdersPayload {
  firstId: number;
  count: number;
  patch: OrderPatch;
}

export interface LogSummary {
  /** Every logged request, oldest first: epoch ms received, action, HTTP status answered. */
  entries: Array<{ at: number; action: string; status: number | null; ids: number }>;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as SimulatorOptions;
  const sim = await startSimulator(options);
  serveCommands(
    { url: sim.url },
    {
      setOrders: ({ firstId, count, patch }: SetOrdersPayload) => {
        for (let i = 0; i < count; i++) sim.setOrder(firstId + i, patch);
        return count;
      },
      clearLog: () => {
        sim.clearLog();
        return true;
      },
      log: ({ since }: { since: number }): LogSummary => ({
        entries: sim.log
          .filter((e) => e.at >= since)
          .map((e) => ({
            at: e.at,
            action: e.action,
            status: e.status,
            ids: e.params.orders === undefined ? 0 : e.params.orders.split(",").length,
          })),
      }),
    },
    () => sim.close(),
  );
}

main().catch(failStart);
