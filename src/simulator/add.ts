/**
 * The `add` action: per-type parameter checks (`SIM_TYPES`, seed `003_*` "The add
 * action accepts different parameter sets"), min/max, drip-feed (`runs`/`interval`, seed
 * `002_*`), balance, then `{"order": 23501}` (seed `000_*` "Add order").
 */
import { Decimal } from "decimal.js";
import { type Answer, type DialectSpec, errorAnswer, MESSAGES } from "./dialects.js";
import type { SimStore } from "./store.js";
import { simTypeSpec } from "./vocabulary.js";

const POSITIVE_INT = /^\d{1,9}$/;

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !POSITIVE_INT.test(text.trim())) return undefined;
  const n = Number.parseInt(text.trim(), 10);
  return n > 0 ? n : undefined;
}

function nonEmptyLines(text: string): number {
  return text.split(/\r?\n/).filter((line) => line.trim() !== "").length;
}

export function addOrder(spec: DialectSpec, store: SimStore, params: Record<string, string>): Answer {
  const serviceId = positiveInt(params.service);
  if (serviceId === undefined) return errorAnswer(spec, "shape", MESSAGES.badService);
  const service = store.service(serviceId);
  if (service === undefined) return errorAnswer(spec, "not_found", MESSAGES.badService);
  const type = service.type;
  if (type === "Subscriptions") return errorAnswer(spec, "shape", MESSAGES.subscriptionsApi);
  const typeSpec = simTypeSpec(type);

  for (const name of typeSpec.required) {
    if ((params[name] ?? "").trim() === "") {
      return errorAnswer(spec, "shape", name === "link" ? MESSAGES.badLink : `Incorrect ${name}`);
    }
  }

  let quantity: number;
  if (typeSpec.quantity === "field") {
    const parsed = positiveInt(params.quantity);
    if (parsed === undefined) return errorAnswer(spec, "shape", "Incorrect quantity");
    quantity = parsed;
  } else if (typeSpec.quantity === "package") {
    quantity = 1;
  } else {
    quantity = nonEmptyLines(params[typeSpec.quantity.linesOf] ?? "");
  }
  if (type === "Poll" && positiveInt(params.answer_number) === undefined) {
    return errorAnswer(spec, "shape", "Incorrect answer_number");
  }
  if (typeSpec.quantity !== "package") {
    if (quantity < service.min) return errorAnswer(spec, "shape", `Quantity less than minimal ${service.min}`);
    if (quantity > service.max) return errorAnswer(spec, "shape", `Quantity more than maximal ${service.max}`);
  }

  let total = quantity;
  if (params.runs !== undefined || params.interval !== undefined) {
    if (!typeSpec.dripfeed || !service.dripfeed) return errorAnswer(spec, "shape", MESSAGES.noDripfeed);
    const runs = positiveInt(params.runs);
    if (runs === undefined) return errorAnswer(spec, "shape", "Incorrect runs");
    if (positiveInt(params.interval) === undefined) return errorAnswer(spec, "shape", "Incorrect interval");
    total = quantity * runs;
  }

  const rate = new Decimal(service.rate);
  const charge = (typeSpec.quantity === "package" ? rate : rate.times(total).dividedBy(1000)).toDecimalPlaces(
    5,
    Decimal.ROUND_UP,
  );
  if (charge.greaterThan(store.balance)) return errorAnswer(spec, "funds", MESSAGES.funds);

  const order = store.createOrder(service.service, params, total, charge);
  return { status: 200, body: { order: order.id } };
}
