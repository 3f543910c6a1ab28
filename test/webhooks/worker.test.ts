import { eq } from "drizzle-orm";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setWebhook } from "../../src/customers/customers.js";
import { type WebhookDelivery, webhookDeliveries } from "../../src/db/schema.js";
import type { AppContext } from "../../src/runtime/context.js";
import { verifyWebhook } from "../../src/webhooks/signature.js";
import type { HostLookup } from "../../src/webhooks/url-guard.js";
import { createWebhookWorker, defaultBackoff, type WebhookWorker } from "../../src/webhooks/worker.js";
import { addCustomer, makeContext, testConfig } from "../helpers/context.js";
import { type ReceivedRequest, type Receiver, startReceiver } from "./receiver.js";

const T0 = 1_700_000_000_000;
const SEED_BODY = '{"order_id":1487,"status":"Completed","remains":0,"start_count":8421,"charge":4.5}';

let clock: number;
let ctx: AppContext;
let receiver: Receiver;
let logs: Record<string, unknown>[];
const workers: WebhookWorker[] = [];

beforeEach(async () => {
  clock = T0;
  logs = [];
  ctx = makeContext(
    testConfig({
      currency: "USD",
      markup: { percent: 25 },
      providers: [{ id: "p1", dialect: "jap", url: "https://p1.example/api/v2", key: "upstream-secret" }],
      services: [],
    }),
    [],
  );
  ctx.now = () => clock;
  ctx.logger = pino({ level: "debug" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  receiver = await startReceiver();
});

afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop();
  await receiver.close();
  ctx.db.$client.close();
});

function worker(options: Parameters<typeof createWebhookWorker>[1] = {}): WebhookWorker {
  const w = createWebhookWorker(ctx, { allowPrivate: true, timeoutMs: 2_000, ...options });
  workers.push(w);
  return w;
}

/** A customer whose webhook points at `url` (default: the receiver); returns its id and secret. */
function customerWithWebhook(url = `${receiver.url}/hooks/smm`): { id: number; secret: string } {
  const { id } = addCustomer(ctx, "0.00000");
  const { webhookSecret } = setWebhook(ctx.db, id, url, { allowPrivate: true });
  if (webhookSecret === null) throw new Error("no secret");
  return { id, secret: webhookSecret };
}

function payload(orderId: number, status: string, remains = 100): string {
  return `{"order_id":${orderId},"status":${JSON.stringify(status)},"remains":${remains},"start_count":3572,"charge":0.27819}`;
}

/** Inserts an outbox row as `outbox.ts` does (pending, due now). */
function enqueue(customerId: number, orderId: number, body: string, url = `${receiver.url}/hooks/smm`): number {
  return ctx.db
    .insert(webhookDeliveries)
    .values({
      customerId,
      orderId,
      url,
      payload: body,
      state: "pending",
      attempts: 0,
      nextAttemptAt: clock,
      createdAt: clock,
    })
    .returning({ id: webhookDeliveries.id })
    .get().id;
}

function row(id: number): WebhookDelivery {
  const found = ctx.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get();
  if (!found) throw new Error(`no delivery ${id}`);
  return found;
}

/** What a receiver does: verifies the raw body against the two headers. */
function verifyRequest(secret: string, request: ReceivedRequest, now: number): boolean {
  const { "x-timestamp": timestamp, "x-signature": signature } = request.headers;
  if (typeof timestamp !== "string" || typeof signature !== "string") return false;
  return verifyWebhook(secret, timestamp, request.body, signature, { now });
}

const bodies = () => receiver.requests.map((r) => r.body.toString("utf8"));

describe("webhook worker: a delivery", () => {
  it("POSTs the stored payload byte-for-byte with a verifiable signature and marks it delivered", async () => {
    const { id: customerId, secret } = customerWithWebhook();
    const id = enqueue(customerId, 1487, SEED_BODY);

    expect(await worker().tick()).toEqual({ sent: 1, failed: 0, retried: 0 });

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    if (!request) throw new Error("no request");
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/hooks/smm");
    expect(request.body.equals(Buffer.from(SEED_BODY, "utf8"))).toBe(true);
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["user-agent"]).toBe("smm-proxy");
    expect(request.headers["x-timestamp"]).toBe("1700000000");
    expect(request.headers["x-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyRequest(secret, request, clock)).toBe(true);
    expect(verifyRequest("wrong", request, clock)).toBe(false);
    expect(row(id)).toMatchObject({ state: "delivered", attempts: 1, deliveredAt: T0, lastError: null });

    expect(await worker().tick()).toEqual({ sent: 0, failed: 0, retried: 0 });
    expect(receiver.requests).toHaveLength(1);
  });

  it("fails twice (500, then a hang past the timeout) and is delivered on the 3rd attempt, respecting backoff", async () => {
    const { id: customerId, secret } = customerWithWebhook();
    const id = enqueue(customerId, 7, payload(7, "In progress"));
    const script: ("hang" | number)[] = [500, "hang", 204];
    receiver.respond = (_req, index) => script[index] ?? 200;
    const w = worker({ timeoutMs: 300 });

    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 1 });
    expect(row(id)).toMatchObject({ state: "pending", attempts: 1, lastError: "HTTP 500", nextAttemptAt: T0 + 10_000 });

    clock = T0 + 9_999;
    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 0 });
    expect(receiver.requests).toHaveLength(1);

    clock = T0 + 10_000;
    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 1 });
    expect(receiver.requests).toHaveLength(2);
    expect(row(id)).toMatchObject({
      state: "pending",
      attempts: 2,
      lastError: "timeout after 300 ms",
      nextAttemptAt: T0 + 10_000 + 20_000,
    });

    clock = T0 + 29_999;
    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 0 });
    clock = T0 + 30_000;
    expect(await w.tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    expect(row(id)).toMatchObject({ state: "delivered", attempts: 3, deliveredAt: T0 + 30_000, lastError: null });

    expect(bodies()).toEqual([payload(7, "In progress"), payload(7, "In progress"), payload(7, "In progress")]);
    expect(receiver.requests.map((r) => r.headers["x-timestamp"])).toEqual(["1700000000", "1700000010", "1700000030"]);
    for (const r of receiver.requests) {
      expect(verifyRequest(secret, r, Number(r.headers["x-timestamp"]) * 1000)).toBe(true);
    }
  });

  it("goes to the customer's current webhook URL and secret; fails when the webhook was removed", async () => {
    const { id: customerId } = customerWithWebhook();
    const moved = enqueue(customerId, 1, payload(1, "Pending"), "http://127.0.0.1:9/old");
    const { webhookSecret } = setWebhook(ctx.db, customerId, `${receiver.url}/new`, { allowPrivate: true });
    expect(await worker().tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    expect(receiver.requests.map((r) => r.path)).toEqual(["/new"]);
    const [request] = receiver.requests;
    if (!request || webhookSecret === null) throw new Error("no request");
    expect(verifyRequest(webhookSecret, request, clock)).toBe(true);
    expect(row(moved)).toMatchObject({ state: "delivered", url: `${receiver.url}/new` });

    const orphan = enqueue(customerId, 2, payload(2, "Pending"));
    setWebhook(ctx.db, customerId, null);
    expect(await worker().tick()).toEqual({ sent: 0, failed: 1, retried: 0 });
    expect(row(orphan)).toMatchObject({ state: "failed", attempts: 1, lastError: "customer has no webhook" });
    expect(receiver.requests).toHaveLength(1);
  });

  it("treats 3xx and 4xx answers as failures (no redirect followed)", async () => {
    const { id: customerId } = customerWithWebhook();
    const a = enqueue(customerId, 1, payload(1, "Pending"));
    const b = enqueue(customerId, 2, payload(2, "Pending"));
    receiver.respond = (req) => (req.body.toString().includes('"order_id":1,') ? 302 : 404);
    expect(await worker().tick()).toEqual({ sent: 0, failed: 0, retried: 2 });
    expect(row(a).lastError).toBe("HTTP 302");
    expect(row(b).lastError).toBe("HTTP 404");
    expect(receiver.requests).toHaveLength(2);
  });

  it("reports a refused connection as a temporary failure", async () => {
    const closed = await startReceiver();
    await closed.close();
    const url = `${closed.url}/closed`;
    const { id: customerId } = customerWithWebhook(url);
    const id = enqueue(customerId, 1, payload(1, "Pending"), url);
    expect(await worker().tick()).toEqual({ sent: 0, failed: 0, retried: 1 });
    expect(row(id)).toMatchObject({ state: "pending", attempts: 1, nextAttemptAt: T0 + 10_000 });
    expect(row(id).lastError).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(row(id).lastError).not.toContain("/closed");
  });
});

describe("webhook worker: ordering and concurrency", () => {
  it("sends the deliveries of one order in id order, holding later ones while an earlier one is retried", async () => {
    const { id: customerId } = customerWithWebhook();
    const first = enqueue(customerId, 7, payload(7, "In progress", 900));
    const second = enqueue(customerId, 7, payload(7, "In progress", 400));
    const third = enqueue(customerId, 7, payload(7, "Completed", 0));
    const other = enqueue(customerId, 8, payload(8, "Pending", 50));
    let failedOnce = false;
    receiver.respond = (req) => {
      if (!failedOnce && req.body.toString().includes('"remains":900')) {
        failedOnce = true;
        return 503;
      }
      return 200;
    };
    const w = worker();

    expect(await w.tick()).toEqual({ sent: 1, failed: 0, retried: 1 });
    expect(row(first).state).toBe("pending");
    expect(row(other).state).toBe("delivered");
    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 0 });
    expect(row(second)).toMatchObject({ state: "pending", attempts: 0 });

    clock = T0 + 10_000;
    expect(await w.tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    expect(await w.tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    expect(await w.tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 0 });

    const order7 = bodies().filter((b) => b.includes('"order_id":7,'));
    expect(order7).toEqual([
      payload(7, "In progress", 900),
      payload(7, "In progress", 900),
      payload(7, "In progress", 400),
      payload(7, "Completed", 0),
    ]);
    expect([first, second, third].map((id) => row(id).state)).toEqual(["delivered", "delivered", "delivered"]);
  });

  it("sends the next delivery of an order once the earlier one is given up", async () => {
    const { id: customerId } = customerWithWebhook();
    const first = enqueue(customerId, 7, payload(7, "In progress"));
    const second = enqueue(customerId, 7, payload(7, "Completed", 0));
    receiver.respond = (req) => (req.body.toString().includes("In progress") ? 500 : 200);
    const w = worker({ maxAgeMs: 15_000 });
    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 1 });
    clock = T0 + 10_000;
    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 1 });
    clock = T0 + 30_000;
    expect(await w.tick()).toEqual({ sent: 0, failed: 1, retried: 0 });
    expect(row(first)).toMatchObject({ state: "failed", attempts: 3, lastError: "HTTP 500" });
    expect(await w.tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    expect(row(second).state).toBe("delivered");
  });

  it("sends different orders in parallel, up to the concurrency", async () => {
    const { id: customerId } = customerWithWebhook();
    for (const orderId of [1, 2, 3, 4]) enqueue(customerId, orderId, payload(orderId, "Pending"));
    // Answer nothing until 3 requests are in: only parallel sends get there.
    receiver.respond = async () => {
      await receiver.waitFor(3);
      return 200;
    };
    const w = worker({ concurrency: 3, timeoutMs: 30_000 });
    expect(await w.tick()).toEqual({ sent: 4, failed: 0, retried: 0 });
    expect(receiver.requests).toHaveLength(4);
  });
});

describe("webhook worker: give-up", () => {
  it("retries with exponential backoff for at least a day, then fails the delivery and logs it", async () => {
    const { id: customerId, secret } = customerWithWebhook();
    const id = enqueue(customerId, 9, payload(9, "Partial"));
    receiver.respond = () => 503;
    const w = worker();
    const attemptTimes: number[] = [];
    let last = { sent: 0, failed: 0, retried: 0 };
    while (row(id).state === "pending") {
      clock = row(id).nextAttemptAt;
      attemptTimes.push(clock - T0);
      last = await w.tick();
    }
    expect(last).toEqual({ sent: 0, failed: 1, retried: 0 });
    // 10 s, 20 s, ... 2560 s, then 1 h: the first attempt at least 24 h after creation is the last.
    expect(attemptTimes.slice(0, 11)).toEqual([
      0, 10_000, 30_000, 70_000, 150_000, 310_000, 630_000, 1_270_000, 2_550_000, 5_110_000, 8_710_000,
    ]);
    expect(attemptTimes).toHaveLength(33);
    expect(attemptTimes.at(-2)).toBe(84_310_000);
    expect(attemptTimes.at(-1)).toBe(87_910_000);
    expect(receiver.requests).toHaveLength(33);
    expect(row(id)).toMatchObject({ state: "failed", attempts: 33, lastError: "HTTP 503", deliveredAt: null });

    const giveUp = logs.filter((l) => l.msg === "webhook give-up");
    expect(giveUp).toHaveLength(1);
    expect(giveUp[0]).toMatchObject({ deliveryId: id, orderId: 9, customerId, attempts: 33, error: "HTTP 503" });
    const text = JSON.stringify(logs);
    expect(text).not.toContain(secret);
    expect(text).not.toContain("/hooks/smm");

    clock += 10 * 3_600_000;
    expect(await w.tick()).toEqual({ sent: 0, failed: 0, retried: 0 });
  });

  it("defaultBackoff doubles from 10 s and caps at 1 h", () => {
    expect([1, 2, 3, 9, 10, 11, 50].map(defaultBackoff)).toEqual([
      10_000, 20_000, 40_000, 2_560_000, 3_600_000, 3_600_000, 3_600_000,
    ]);
  });
});

describe("webhook worker: address guard", () => {
  it("refuses a loopback IP and a host resolving to loopback when private addresses are not allowed", async () => {
    const { id: customerId } = customerWithWebhook();
    const literal = enqueue(customerId, 1, payload(1, "Pending"));
    const w = worker({ allowPrivate: false });
    expect(await w.tick()).toEqual({ sent: 0, failed: 1, retried: 0 });
    expect(row(literal)).toMatchObject({
      state: "failed",
      attempts: 1,
      lastError: "refused loopback address 127.0.0.1",
    });

    setWebhook(ctx.db, customerId, `http://localhost:${receiver.port}/hooks/smm`, { allowPrivate: true });
    const named = enqueue(customerId, 2, payload(2, "Pending"));
    expect(await w.tick()).toEqual({ sent: 0, failed: 1, retried: 0 });
    expect(row(named).state).toBe("failed");
    expect(row(named).lastError).toMatch(/^refused loopback address (127\.0\.0\.1|::1)$/);
    expect(receiver.requests).toHaveLength(0);
    expect(logs.filter((l) => l.msg === "webhook refused")).toHaveLength(2);
  });

  it("refuses a host that resolves to a private address with an injected resolver", async () => {
    const { id: customerId } = customerWithWebhook();
    setWebhook(ctx.db, customerId, `http://hooks.example.test:${receiver.port}/x`, { allowPrivate: true });
    const id = enqueue(customerId, 1, payload(1, "Pending"));
    const lookup: HostLookup = async () => ["93.184.216.34", "192.168.0.10"];
    expect(await worker({ allowPrivate: false, lookup }).tick()).toEqual({ sent: 0, failed: 1, retried: 0 });
    expect(row(id).lastError).toBe("refused private address 192.168.0.10");
  });

  it("refuses at connect time a host that re-resolves to loopback after the check (DNS rebinding)", async () => {
    const { id: customerId } = customerWithWebhook();
    setWebhook(ctx.db, customerId, `http://rebind.example.test:${receiver.port}/x`, { allowPrivate: true });
    const id = enqueue(customerId, 1, payload(1, "Pending"));
    let calls = 0;
    const lookup: HostLookup = async () => (calls++ === 0 ? ["93.184.216.34"] : ["127.0.0.1"]);
    expect(await worker({ allowPrivate: false, lookup }).tick()).toEqual({ sent: 0, failed: 1, retried: 0 });
    expect(calls).toBe(2);
    expect(row(id)).toMatchObject({ state: "failed", lastError: "refused loopback address 127.0.0.1" });
    expect(receiver.requests).toHaveLength(0);
  });

  it("delivers to loopback, by IP and by name, when private addresses are allowed", async () => {
    const { id: customerId } = customerWithWebhook();
    enqueue(customerId, 1, payload(1, "Pending"));
    const w = worker({ allowPrivate: true });
    expect(await w.tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    setWebhook(ctx.db, customerId, `http://localhost:${receiver.port}/hooks/smm`, { allowPrivate: true });
    enqueue(customerId, 2, payload(2, "Pending"));
    expect(await w.tick()).toEqual({ sent: 1, failed: 0, retried: 0 });
    expect(receiver.requests).toHaveLength(2);
  });
});

describe("webhook worker: start/stop", () => {
  it("polls on start() and stop() waits for the send in flight", async () => {
    const { id: customerId } = customerWithWebhook();
    const id = enqueue(customerId, 1, payload(1, "Pending"));
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    receiver.respond = async () => {
      await held;
      return 200;
    };
    const w = worker({ pollMs: 10 });
    w.start();
    await receiver.waitFor(1);
    const stopped = w.stop();
    expect(row(id).state).toBe("pending");
    release();
    await stopped;
    expect(row(id)).toMatchObject({ state: "delivered", attempts: 1 });
  });
});
