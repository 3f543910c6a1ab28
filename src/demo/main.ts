/**
 * `npm run demo`: smm-proxy in front of simulated upstream panels, with no keys needed.
 * Starts one simulated panel per dialect on loopback, a proxy whose providers file maps
 * services of each, a demo customer with a balance and a webhook receiver, prints the key and
 * ready-to-paste curl lines, then follows one order from `add` to a refunded `Partial`, and
 * shows a failover: service 9 has two routes (justprovider, then panel); justprovider dies
 * midway and orders keep flowing through the second route (issue #12).
 *
 * Flags: `--exit-when-done` stops after the followed order's refund and webhook and the
 * failover (used by tests).
 * Environment: `PORT` (default 8080; 0 = any free port, the one taken is printed).
 * Its store lives in a temporary folder, removed when the demo exits (Ctrl-C, SIGTERM, done).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatAmount, parseAmount } from "../billing/money.js";
import { loadEnv } from "../config/env.js";
import { type Dialect, parseProvidersConfig } from "../config/providers-file.js";
import { createCustomer, setWebhook } from "../customers/customers.js";
import type { Db } from "../db/client.js";
import { createLogger } from "../observability/logger.js";
import { getOrderDetail } from "../orders/operator-orders.js";
import { start } from "../runtime/start.js";
import { type Simulator, startSimulator } from "../simulator/index.js";
import { startWebhookReceiver } from "./webhook-receiver.js";

const DIALECTS: ReadonlyArray<{ dialect: Dialect; name: string }> = [
  { dialect: "jap", name: "Just Another Panel (simulated)" },
  { dialect: "morethanpanel", name: "MoreThanPanel (simulated)" },
  { dialect: "justprovider", name: "JustProvider (simulated)" },
  { dialect: "panel", name: "Generic panel (simulated)" },
];

const out = (line = "") => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "exit-when-done": { type: "boolean", default: false } } });
  const exitWhenDone = values["exit-when-done"] === true;
  const sims: Simulator[] = [];
  for (const [i, d] of DIALECTS.entries()) {
    sims.push(
      await startSimulator({
        dialect: d.dialect,
        apiKey: `demo-${d.dialect}`,
        balance: "5000.00000",
        seed: i + 1,
        // jap is scripted by the demo (the followed order); the others progress on their own.
        progress: d.dialect === "jap" ? false : { tickMs: 4000, partialProbability: 0.3, cancelProbability: 0.05 },
      }),
    );
  }
  const config = parseProvidersConfig(
    {
      currency: "USD",
      markup: { percent: 30 },
      exchangeRates: { EUR: "1.08" },
      providers: DIALECTS.map((d, i) => ({
        id: d.dialect,
        name: d.name,
        dialect: d.dialect,
        url: sims[i]?.url,
        key: `demo-${d.dialect}`,
        currency: d.dialect === "morethanpanel" ? "EUR" : "USD",
        rateLimit: { requests: 20, intervalMs: 1000 },
        timeoutMs: 5000,
      })),
      services: [
        { id: 1, provider: "jap", upstreamService: 1, name: "Instagram Followers", markup: { percent: 30 } },
        { id: 2, provider: "jap", upstreamService: 2, name: "Instagram Custom Comments" },
        {
          id: 3,
          provider: "morethanpanel",
          upstreamService: 1,
          name: "Instagram Followers (EU)",
          markup: { fixed: "0.50" },
        },
        { id: 4, provider: "morethanpanel", upstreamService: 15, name: "Website Traffic" },
        { id: 5, provider: "justprovider", upstreamService: 3, name: "Instagram Likes", rate: "0.40" },
        { id: 6, provider: "justprovider", upstreamService: 19, name: "TikTok Views" },
        { id: 7, provider: "panel", upstreamService: "4", name: "YouTube 1000 Views Package" },
        { id: 8, provider: "panel", upstreamService: "14", name: "Twitter Poll Votes" },
        {
          id: 9,
          name: "Instagram Followers (two routes)",
          routes: [
            { provider: "justprovider", upstreamService: "1" },
            { provider: "panel", upstreamService: "1" },
          ],
        },
      ],
    },
    {},
  );
  const receiver = await startWebhookReceiver((delivery) => {
    out(`  webhook  ${delivery.body}  signature ${delivery.signatureValid ? "valid" : "INVALID"}`);
  });
  const dir = mkdtempSync(join(tmpdir(), "smm-proxy-demo-"));
  // However the demo ends (done, a signal, a failure), its store goes with it.
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const env = loadEnv({
    ...process.env,
    PORT: process.env.PORT ?? "8080",
    HOST: "127.0.0.1",
    DATABASE_PATH: join(dir, "demo.db"),
    STATUS_SYNC_INTERVAL_MS: "3000",
    PRICE_SYNC_INTERVAL_MS: "300000",
    WEBHOOK_ALLOW_PRIVATE: "1",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    // The operator dashboard, on with a throw-away token unless one is given.
    ADMIN_TOKEN: process.env.ADMIN_TOKEN || randomBytes(18).toString("base64url"),
  });
  const runtime = await start(env, { config, logger: createLogger(env.LOG_LEVEL, { pretty: false }) });
  const { customer, apiKey } = createCustomer(runtime.ctx.db, {
    name: "Demo customer",
    balance: 100_00000,
    currency: "USD",
  });
  const hook = setWebhook(runtime.ctx.db, customer.id, receiver.url, { allowPrivate: true });
  receiver.secret = hook.webhookSecret ?? "";

  const api = `${runtime.url}/api/v2`;
  out("smm-proxy demo: simulated upstreams, no keys needed");
  for (const [i, d] of DIALECTS.entries()) out(`  upstream ${d.dialect.padEnd(14)} ${sims[i]?.url}  ${d.name}`);
  out(`  proxy                   ${api}`);
  out(`  webhook receiver        ${receiver.url}`);
  out(`  database                ${env.DATABASE_PATH}`);
  out(`  customer key            ${apiKey}   (balance 100.00000 USD)`);
  out(`  dashboard               ${runtime.url}/admin   (admin token ${env.ADMIN_TOKEN})`);
  out();
  out("Try it:");
  out(`  curl -s ${api} -d key=${apiKey} -d action=services`);
  out(
    `  curl -s ${api} -d key=${apiKey} -d action=add -d service=3 -d link=https://instagram.com/demo -d quantity=500`,
  );
  out(`  curl -s ${api} -d key=${apiKey} -d action=status -d order=1`);
  out(`  curl -s ${api} -d key=${apiKey} -d action=balance`);
  out();

  let stopping = false;
  const stopped = new Set<Simulator>();
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await runtime.close(3000);
    await Promise.all([...sims.filter((s) => !stopped.has(s)).map((s) => s.close()), receiver.close()]);
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  await followOneOrder(api, apiKey, sims[0], receiver);
  const justprovider = sims[2];
  if (justprovider) {
    await showFailover(api, apiKey, runtime.ctx.db, async () => {
      stopped.add(justprovider);
      await justprovider.close();
    });
  }
  if (exitWhenDone) await stop(0);
  else out("\nThe proxy keeps running; press Ctrl-C to stop.");
}

type Post = (fields: Record<string, string>) => Promise<Record<string, unknown>>;

/** Places one order and prints its life until it ends Partial and the refund lands. */
async function followOneOrder(
  api: string,
  apiKey: string,
  jap: Simulator | undefined,
  receiver: { received: string[] },
): Promise<void> {
  const post: Post = async (fields) => {
    const res = await fetch(api, { method: "POST", body: new URLSearchParams({ key: apiKey, ...fields }) });
    return (await res.json()) as Record<string, unknown>;
  };
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`;
  const balance = async () => String((await post({ action: "balance" })).balance);
  out("Following one order from add to a refunded Partial:");
  const before = await balance();
  const added = await post({ action: "add", service: "1", link: "https://instagram.com/demo", quantity: "1000" });
  const order = Number(added.order);
  const afterAdd = await balance();
  out(`  ${stamp()} add service=1 quantity=1000 → ${JSON.stringify(added)}   balance ${before} → ${afterAdd}`);
  // Script the upstream so the story is the same every run: In progress, then Partial.
  const upstreamId = jap ? [...jap.orders.keys()].at(-1) : undefined;
  let last = "";
  let scripted = 0;
  for (let i = 0; i < 120; i++) {
    const status = await post({ action: "status", order: String(order) });
    const line = `status ${status.status}  start_count ${status.start_count}  remains ${status.remains}  charge ${status.charge}`;
    if (line !== last) {
      out(`  ${stamp()} ${line}`);
      last = line;
    }
    if (status.status === "Partial") {
      const final = await balance();
      const charged = parseAmount(before) - parseAmount(afterAdd);
      const refunded = parseAmount(final) - parseAmount(afterAdd);
      out(
        `  ${stamp()} refund landed: balance ${final}: charged ${formatAmount(charged)}, ` +
          `${status.remains} of 1000 undelivered → ${formatAmount(refunded)} back (charge × remains / quantity, rounded down)`,
      );
      break;
    }
    if (jap && upstreamId !== undefined) {
      if (scripted === 0 && i >= 2) {
        jap.setOrder(upstreamId, { status: "In progress", start_count: "3572", remains: "1000" });
        scripted = 1;
      } else if (scripted === 1 && i >= 8) {
        jap.setOrder(upstreamId, { status: "Partial", remains: "400" });
        scripted = 2;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  // The webhook worker sends the Partial notification right after the sync that saw it.
  const partialArrived = () => receiver.received.some((body) => body.includes('"status":"Partial"'));
  for (let i = 0; i < 40 && !partialArrived(); i++) await new Promise((resolve) => setTimeout(resolve, 250));
}

/** Places orders of service 9 while its first route's provider dies, printing which route took each. */
async function showFailover(api: string, apiKey: string, db: Db, kill: () => Promise<void>): Promise<void> {
  const post = async (fields: Record<string, string>) => {
    const res = await fetch(api, { method: "POST", body: new URLSearchParams({ key: apiKey, ...fields }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const placeOne = async (n: number) => {
    const res = await post({
      action: "add",
      service: "9",
      link: `https://instagram.com/failover${n}`,
      quantity: "500",
    });
    const id = Number(res.body.order);
    if (!Number.isInteger(id)) {
      out(`  add service=9 → HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return;
    }
    const { order, attempts } = getOrderDetail(db, id);
    const tried = attempts.map((a) => `${a.providerId} ${a.outcome}`).join(", ");
    out(
      `  add service=9 → HTTP ${res.status} ${JSON.stringify(res.body)}   taken by ${order.providerId} (attempts: ${tried})`,
    );
  };
  out();
  out("Failover: service 9 is routed to justprovider first, then panel.");
  await placeOne(1);
  out("  justprovider goes down (its simulator stops)");
  await kill();
  for (let n = 2; n <= 4; n++) await placeOne(n);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
