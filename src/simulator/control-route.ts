/**
 * The JSON control API under `/__sim`, so another process (benchmarks, soak) can drive the
 * same test hooks as the in-process {@link Simulator}. Never rate-limited, delayed or faulted.
 *
 * GET    /__sim/state                everything: dialect, balance, currency, services, orders, refills
 * GET    /__sim/orders[/:id]         store inspection
 * POST   /__sim/orders/:id           {status?, remains?, start_count?, charge?, service?, quantity?}
 * GET    /__sim/refills[/:id]
 * POST   /__sim/refills/:id          {status, order?}
 * POST   /__sim/faults               {action, count, fault}   fault: "reset" or {kind, message?, httpStatus?}
 * DELETE /__sim/faults
 * GET    /__sim/log                  DELETE /__sim/log
 * GET    /__sim/services             POST /__sim/services  [SimService, ...] (replaces the catalogue)
 * POST   /__sim/services/:id         {rate?, min?, max?, name?, type?, category?, refill?, cancel?, dripfeed?}
 * DELETE /__sim/services/:id
 * POST   /__sim/balance              {balance: "12.5"}
 * POST   /__sim/advance              {ticks?: 1}
 */
import type { HttpBindings } from "@hono/node-server";
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { SimulatorCore } from "./core.js";
import { money } from "./store.js";
import { FAULT_KINDS } from "./types.js";

type Env = { Bindings: HttpBindings };

const idParam = z.coerce.number().int().nonnegative();
const decimalText = z.union([z.string(), z.number()]).transform(String);

const orderPatch = z.strictObject({
  status: z.string().optional(),
  remains: decimalText.optional(),
  start_count: decimalText.optional(),
  charge: decimalText.optional(),
  service: z.number().int().optional(),
  quantity: z.number().int().positive().optional(),
});

const faultKind = z.enum(FAULT_KINDS);
const faultBody = z.strictObject({
  action: z.string().min(1),
  count: z.number().int().positive(),
  fault: z.union([
    faultKind,
    z.strictObject({ kind: faultKind, message: z.string().optional(), httpStatus: z.number().int().optional() }),
  ]),
});

const serviceFields = {
  name: z.string(),
  type: z.string(),
  category: z.string(),
  rate: z.string().regex(/^\d+(\.\d+)?$/),
  min: z.number().int().positive(),
  max: z.number().int().positive(),
  refill: z.boolean(),
  cancel: z.boolean(),
  dripfeed: z.boolean(),
};
const service = z.strictObject({ service: z.number().int().positive(), ...serviceFields });
const servicePatch = z.strictObject(serviceFields).partial();

async function body<T>(c: Context<Env>, schema: z.ZodType<T>): Promise<T> {
  const raw: unknown = await c.req.json().catch(() => ({}));
  return schema.parse(raw);
}

/** Mounts the control API of `core` on `app` under `/__sim`. */
export function mountControl(app: Hono<Env>, core: SimulatorCore): void {
  const { store } = core;
  const state = () => ({
    dialect: core.dialect,
    balance: money(store.balance),
    currency: store.currency,
    services: store.services,
    orders: [...store.orders.values()],
    refills: [...store.refills.values()],
  });

  app.get("/__sim/state", (c) => c.json(state()));
  app.get("/__sim/orders", (c) => c.json([...store.orders.values()]));
  app.get("/__sim/orders/:id", (c) => {
    const order = store.orders.get(idParam.parse(c.req.param("id")));
    return order === undefined ? c.json({ error: "no such order" }, 404) : c.json(order);
  });
  app.post("/__sim/orders/:id", async (c) =>
    c.json(store.setOrder(idParam.parse(c.req.param("id")), await body(c, orderPatch))),
  );
  app.get("/__sim/refills", (c) => c.json([...store.refills.values()]));
  app.get("/__sim/refills/:id", (c) => {
    const refill = store.refills.get(idParam.parse(c.req.param("id")));
    return refill === undefined ? c.json({ error: "no such refill" }, 404) : c.json(refill);
  });
  app.post("/__sim/refills/:id", async (c) => {
    const patch = await body(c, z.strictObject({ status: z.string(), order: z.number().int().optional() }));
    return c.json(store.setRefill(idParam.parse(c.req.param("id")), patch));
  });
  app.post("/__sim/faults", async (c) => {
    const { action, count, fault } = await body(c, faultBody);
    core.faults.add(action, count, fault);
    return c.json({ ok: true });
  });
  app.delete("/__sim/faults", (c) => {
    core.faults.clear();
    return c.json({ ok: true });
  });
  app.get("/__sim/log", (c) => c.json(core.log));
  app.delete("/__sim/log", (c) => {
    core.clearLog();
    return c.json({ ok: true });
  });
  app.get("/__sim/services", (c) => c.json(store.services));
  app.post("/__sim/services", async (c) => {
    store.setServices(await body(c, z.array(service)));
    return c.json(store.services);
  });
  app.post("/__sim/services/:id", async (c) => {
    const id = idParam.parse(c.req.param("id"));
    const patch = await body(c, servicePatch);
    if (store.service(id) === undefined) return c.json({ error: "no such service" }, 404);
    return c.json(store.updateService(id, patch));
  });
  app.delete("/__sim/services/:id", (c) => {
    const removed = store.removeService(idParam.parse(c.req.param("id")));
    return removed ? c.json({ ok: true }) : c.json({ error: "no such service" }, 404);
  });
  app.post("/__sim/balance", async (c) => {
    const { balance } = await body(c, z.strictObject({ balance: z.string().regex(/^-?\d+(\.\d+)?$/) }));
    store.setBalance(balance);
    return c.json({ balance: money(store.balance) });
  });
  app.post("/__sim/advance", async (c) => {
    const { ticks } = await body(c, z.strictObject({ ticks: z.number().int().positive().max(10_000).default(1) }));
    core.advance(ticks);
    return c.json({ ok: true, ticks });
  });
}

/** Bad control requests answer 400 with the zod message instead of a 500. */
export function controlErrorHandler(error: Error, c: Context<Env>): Response {
  if (error instanceof z.ZodError) {
    return c.json({ error: error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ") }, 400);
  }
  return c.json({ error: error.message }, 500);
}
