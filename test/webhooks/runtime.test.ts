/**
 * End to end over the running proxy: an order's upstream status change, picked up by the
 * status sync, reaches the customer's webhook signed; `close()` flushes a send in flight.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { formatAmount } from "../../src/billing/money.js";
import { loadEnv } from "../../src/config/env.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import { setWebhook } from "../../src/customers/customers.js";
import { openDb } from "../../src/db/client.js";
import { orders, webhookDeliveries } from "../../src/db/schema.js";
import { silentLogger } from "../../src/observability/logger.js";
import { type Runtime, start } from "../../src/runtime/start.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { verifyWebhook } from "../../src/webhooks/signature.js";
import { addCustomer } from "../helpers/context.js";
import { type Receiver, startReceiver } from "./receiver.js";

let sim: Simulator;
let proxy: Runtime;
let receiver: Receiver;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "smm-webhooks-"));
  sim = await startSimulator({ dialect: "jap", apiKey: "k", progress: false });
  receiver = await startReceiver();
  const config = parseProvidersConfig(
    {
      providers: [{ id: "jap", dialect: "jap", url: sim.url, key: "k" }],
      services: [{ id: 1, provider: "jap", upstreamService: 1 }],
      markup: { percent: 10 },
    },
    {},
  );
  proxy = await start(
    loadEnv({
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_PATH: join(dir, "proxy.db"),
      STATUS_SYNC_INTERVAL_MS: "50",
      WEBHOOK_ALLOW_PRIVATE: "1",
    }),
    { config, logger: silentLogger() },
  );
});

afterAll(async () => {
  await proxy?.close(2000);
  await receiver?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("POSTs the order's new state, signed, when the status sync sees it change; close() flushes", async () => {
  const customer = addCustomer(proxy.ctx, "10.00000");
  const { webhookSecret } = setWebhook(proxy.ctx.db, customer.id, `${receiver.url}/hooks/smm`, { allowPrivate: true });
  if (webhookSecret === null) throw new Error("no secret");

  const answer = await fetch(`${proxy.url}/api/v2`, {
    method: "POST",
    body: new URLSearchParams({
      key: customer.apiKey,
      action: "add",
      service: "1",
      link: "https://ig.com/a",
      quantity: "1000",
    }),
  });
  const { order } = (await answer.json()) as { order: number };
  const row = proxy.ctx.db.select().from(orders).where(eq(orders.id, order)).get();
  if (!row?.upstreamOrderId) throw new Error("order not submitted");

  // Hold the answer to the Completed notification until close() has started.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived: () => void = () => {};
  const completed = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  receiver.respond = async (request) => {
    if (!request.body.toString().includes('"Completed"')) return 200;
    arrived();
    await held;
    return 200;
  };
  sim.setOrder(Number(row.upstreamOrderId), { status: "Completed", remains: 0, start_count: 8421 });
  await completed;

  const closing = proxy.close(5000);
  setTimeout(release, 20);
  await closing;

  const last = receiver.requests.at(-1);
  if (!last) throw new Error("no request");
  const body = last.body.toString("utf8");
  const charge = formatAmount(row.charge).replace(/0+$/, "").replace(/\.$/, "");
  expect(body).toBe(`{"order_id":${order},"status":"Completed","remains":0,"start_count":8421,"charge":${charge}}`);
  expect(
    verifyWebhook(webhookSecret, String(last.headers["x-timestamp"]), last.body, String(last.headers["x-signature"])),
  ).toBe(true);

  const db = openDb(join(dir, "proxy.db"));
  try {
    const rows = db.select().from(webhookDeliveries).where(eq(webhookDeliveries.orderId, order)).all();
    const final = rows.find((r) => r.payload === body);
    expect(final).toMatchObject({ state: "delivered", attempts: 1, customerId: customer.id });
    expect(rows.every((r) => r.state === "delivered")).toBe(true);
  } finally {
    db.$client.close();
  }
});
