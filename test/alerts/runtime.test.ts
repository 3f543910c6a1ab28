/**
 * Alerts in the running server (issue #15): provider balances are fetched at start, so a
 * balance under `balanceWarning` reaches ALERT_WEBHOOK_URL without waiting for the price
 * schedule; an upstream out of funds reaches it on the refused order. Deliveries are signed.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { silentLogger } from "../../src/observability/logger.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { verifyWebhook } from "../../src/webhooks/signature.js";
import { addCustomer } from "../helpers/context.js";
import { apiCall } from "../ops/helpers.js";
import { type Receiver, startReceiver } from "../webhooks/receiver.js";

const SECRET = "alert-secret-for-tests-42";
let sim: Simulator;
let receiver: Receiver;
let proxy: Runtime;

beforeAll(async () => {
  sim = await startSimulator({ dialect: "jap", apiKey: "k-jap", progress: false, balance: "12.50000" });
  receiver = await startReceiver();
  proxy = await start(
    loadEnv({
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_PATH: ":memory:",
      RATE_LIMIT_IP_PER_MIN: "0",
      STATUS_SYNC_INTERVAL_MS: "3600000",
      PRICE_SYNC_INTERVAL_MS: "3600000",
      ALERT_WEBHOOK_URL: `${receiver.url}/relay`,
      ALERT_WEBHOOK_SECRET: SECRET,
    }),
    {
      config: parseProvidersConfig(
        {
          markup: { percent: 10 },
          providers: [{ id: "jap", dialect: "jap", url: sim.url, key: "k-jap", balanceWarning: "50" }],
          services: [{ id: 1, provider: "jap", upstreamService: 1 }],
        },
        {},
      ),
      logger: silentLogger(),
      initialSyncTimeoutMs: 5000,
    },
  );
});

afterAll(async () => {
  await proxy?.close(2000);
  await Promise.all([sim?.close(), receiver?.close()]);
});

const received = () => receiver.requests.map((r) => JSON.parse(r.body.toString("utf8")) as Record<string, unknown>);

it("alerts a low provider balance found at start, then an upstream out of funds, each signed", async () => {
  await receiver.waitFor(1);
  expect(received()[0]).toMatchObject({
    type: "provider_balance_low",
    state: "raised",
    severity: "warning",
    text: "smm-proxy: provider jap balance 12.50000 USD is below its balanceWarning 50: top it up",
    condition: "provider_balance_low:jap",
    details: { provider: "jap", balance: "12.50000", currency: "USD", balanceWarning: "50" },
  });

  const customer = addCustomer(proxy.ctx, "10.00000");
  sim.injectFaults("add", 1, { kind: "error", message: "Not enough funds on balance" });
  const answer = await apiCall(proxy.url, {
    key: customer.apiKey,
    action: "add",
    service: 1,
    link: "https://instagram.com/x",
    quantity: 100,
  });
  expect(answer).toEqual({ status: 502, body: { error: "Upstream provider error" } });
  await receiver.waitFor(2);
  expect(received()[1]).toMatchObject({
    type: "provider_out_of_funds",
    state: "raised",
    severity: "critical",
    condition: "provider_out_of_funds:jap",
    text: "smm-proxy: provider jap refused a call for lack of funds on our account (Not enough funds on balance): customers' orders to it fail until it is topped up",
  });
  // An add the upstream did not confirm is held: alerted about a second later, not at the next interval.
  sim.injectFaults("add", 1, "drop_answer");
  const held = await apiCall(proxy.url, {
    key: customer.apiKey,
    action: "add",
    service: 1,
    link: "https://instagram.com/y",
    quantity: 100,
  });
  const heldId = (held.body as { order: number }).order;
  await receiver.waitFor(3);
  expect(received().slice(2)).toEqual([
    expect.objectContaining({
      type: "orders_unknown",
      state: "raised",
      details: { count: 1, orders: [heldId] },
    }),
  ]);
  for (const request of receiver.requests) {
    const { "x-timestamp": timestamp, "x-signature": signature } = request.headers;
    expect(verifyWebhook(SECRET, String(timestamp), request.body.toString("utf8"), String(signature))).toBe(true);
  }
});
