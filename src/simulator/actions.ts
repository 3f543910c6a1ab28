/**
 * The API v2 actions (seed `000_*` and `003_*`): key check, dispatch, and the answers of
 * services, status / multi-status, refill, refill_status, cancel and balance. Pure with
 * respect to HTTP: every handler returns an {@link Answer}.
 */
import { addOrder } from "./add.js";
import { type Answer, type DialectSpec, errorAnswer, MESSAGES } from "./dialects.js";
import { money, SIM_FINAL_STATUSES, type SimStore } from "./store.js";
import type { SimOrder } from "./types.js";
import { SIM_MAX_IDS } from "./vocabulary.js";

export interface ActionContext {
  spec: DialectSpec;
  store: SimStore;
  apiKey: string;
  /** Called when a cancel was accepted; the order turns Canceled later. */
  onCancelAccepted(order: SimOrder): void;
}

type Params = Record<string, string>;

/** Parses "1,2, 3" → ["1","2","3"]; null when over 100 ids. */
function idList(text: string): string[] | null {
  const ids = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return ids.length > SIM_MAX_IDS ? null : ids;
}

function numericId(text: string): number | undefined {
  return /^\d{1,15}$/.test(text) ? Number.parseInt(text, 10) : undefined;
}

/** How an id is echoed back in list answers: a number when numeric (seed `000_*`). */
function echoId(text: string): number | string {
  return numericId(text) ?? text;
}

function orderState(store: SimStore, order: SimOrder): Record<string, string> {
  return {
    charge: order.charge,
    start_count: order.start_count,
    status: order.status,
    remains: order.remains,
    currency: store.currency,
  };
}

function lookupOrder(store: SimStore, text: string | undefined): SimOrder | undefined {
  const id = text === undefined ? undefined : numericId(text.trim());
  return id === undefined ? undefined : store.orders.get(id);
}

/** Seed `000_*` "Order status" / "Multiple orders status"; `003_*` `multiStatus`. */
function status(ctx: ActionContext, params: Params, multi: boolean): Answer {
  const { spec, store } = ctx;
  if (multi) {
    if (params.orders === undefined) return errorAnswer(spec, "shape", MESSAGES.badOrder);
    const ids = idList(params.orders);
    if (ids === null) return errorAnswer(spec, "shape", MESSAGES.tooManyIds);
    const body: Record<string, unknown> = {};
    for (const id of ids) {
      const order = lookupOrder(store, id);
      body[id] = order === undefined ? { error: MESSAGES.badOrder } : orderState(store, order);
    }
    return { status: 200, body };
  }
  if (params.order === undefined) return errorAnswer(spec, "shape", MESSAGES.badOrder);
  const order = lookupOrder(store, params.order);
  if (order === undefined) return errorAnswer(spec, "not_found", MESSAGES.badOrder);
  return { status: 200, body: orderState(store, order) };
}

/** Why `order` cannot be refilled, or undefined when it can. */
function refillRefusal(store: SimStore, order: SimOrder | undefined): string | undefined {
  if (order === undefined) return MESSAGES.badOrder;
  if (store.service(order.service)?.refill !== true) return MESSAGES.noRefill;
  if (order.status !== "Completed" && order.status !== "Partial") return MESSAGES.refillNotEligible;
  return undefined;
}

/** Seed `000_*` "Create refill" / "Create multiple refill". */
function refill(ctx: ActionContext, params: Params): Answer {
  const { spec, store } = ctx;
  if (params.orders !== undefined) {
    const ids = idList(params.orders);
    if (ids === null) return errorAnswer(spec, "shape", MESSAGES.tooManyIds);
    const body = ids.map((id) => {
      const order = lookupOrder(store, id);
      const refusal = refillRefusal(store, order);
      if (order === undefined || refusal !== undefined) return { order: echoId(id), refill: { error: refusal } };
      return { order: echoId(id), refill: store.createRefill(order.id).id };
    });
    return { status: 200, body };
  }
  if (params.order === undefined) return errorAnswer(spec, "shape", MESSAGES.badOrder);
  const order = lookupOrder(store, params.order);
  const refusal = refillRefusal(store, order);
  if (order === undefined || refusal !== undefined) {
    return errorAnswer(spec, order === undefined ? "not_found" : "shape", refusal ?? MESSAGES.badOrder);
  }
  return { status: 200, body: { refill: String(store.createRefill(order.id).id) } };
}

/** Seed `000_*` "Get refill status" / "Get multiple refill status". */
function refillStatus(ctx: ActionContext, params: Params): Answer {
  const { spec, store } = ctx;
  const find = (text: string) => {
    const id = numericId(text.trim());
    return id === undefined ? undefined : store.refills.get(id);
  };
  if (params.refills !== undefined) {
    const ids = idList(params.refills);
    if (ids === null) return errorAnswer(spec, "shape", MESSAGES.tooManyIds);
    const body = ids.map((id) => ({
      refill: echoId(id),
      status: find(id)?.status ?? { error: MESSAGES.refillNotFound },
    }));
    return { status: 200, body };
  }
  if (params.refill === undefined) return errorAnswer(spec, "shape", MESSAGES.refillNotFound);
  const found = find(params.refill);
  if (found === undefined) return errorAnswer(spec, "not_found", MESSAGES.refillNotFound);
  return { status: 200, body: { status: found.status } };
}

/** Seed `000_*` "Create cancel" (jap family) and `003_*` cancel (panel): per-order items. */
function cancel(ctx: ActionContext, params: Params): Answer {
  const { spec, store } = ctx;
  const list = params.orders ?? params.order;
  if (list === undefined) return errorAnswer(spec, "shape", MESSAGES.badOrder);
  const ids = idList(list);
  if (ids === null) return errorAnswer(spec, "shape", MESSAGES.tooManyIds);
  const body = ids.map((id) => {
    const order = lookupOrder(store, id);
    if (order === undefined) return spec.cancelRefused(echoId(id), MESSAGES.badOrder);
    if (store.service(order.service)?.cancel !== true) return spec.cancelRefused(echoId(id), MESSAGES.noCancel);
    if (SIM_FINAL_STATUSES.has(order.status) || order.cancelRequested) {
      return spec.cancelRefused(echoId(id), MESSAGES.cancelNotEligible);
    }
    order.cancelRequested = true;
    ctx.onCancelAccepted(order);
    return spec.cancelAccepted(echoId(id));
  });
  return { status: 200, body };
}

/** Answers one API request whose parameters were already parsed. */
export function handleAction(ctx: ActionContext, params: Params): Answer {
  const { spec, store } = ctx;
  if (params.key !== ctx.apiKey) return errorAnswer(spec, "key", MESSAGES.badKey);
  switch (params.action) {
    case "services":
      return { status: 200, body: store.services.map((s) => spec.formatService(s)) };
    case "add": {
      const { key: _key, action: _action, ...rest } = params;
      return addOrder(spec, store, rest);
    }
    case "status":
      return status(ctx, params, spec.multiStatusAction === "status" && params.orders !== undefined);
    case "refill":
      return refill(ctx, params);
    case "refill_status":
      return refillStatus(ctx, params);
    case "cancel":
      return cancel(ctx, params);
    case "balance":
      return { status: 200, body: { balance: money(store.balance), currency: store.currency } };
    default:
      if (params.action === "multiStatus" && spec.multiStatusAction === "multiStatus") {
        return status(ctx, params, true);
      }
      return errorAnswer(spec, "shape", MESSAGES.badRequest);
  }
}
