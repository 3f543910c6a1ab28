/**
 * Validates the `add` parameters of one service type (seed `003_*` "add", issue #3's
 * table in `service-types.ts`) and works out the charged quantity.
 * Messages use the panels' wording ("Quantity less than minimal 50", "Incorrect link").
 */
import type { Service } from "../db/schema.js";
import {
  type AddParamName,
  type AddParams,
  isServiceType,
  SERVICE_TYPE_SPECS,
  type ServiceTypeSpec,
} from "../panel/service-types.js";
import { badRequest, DomainError } from "./errors.js";

/**
 * A drip-feed field (`runs`, `interval`) as given, or undefined when it means "no drip-feed":
 * absent, empty, `undefined`, `null` or 0, as published clients send them (issue #11); such
 * values are dropped, never forwarded upstream.
 */
function dripFeedField(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  if (value === undefined || value === "" || /^(undefined|null|0+)$/i.test(value)) return undefined;
  return value;
}

/** Largest quantity (and runs × quantity) accepted, to keep every charge a safe integer. */
export const MAX_QUANTITY = 1_000_000_000;
const MAX_FIELD_LENGTH = 65_536;

export interface ValidatedAdd {
  /** Parameters forwarded upstream, besides `service` (strings, as the form carries them). */
  params: AddParams;
  /** Units charged at the per-1000 rate: quantity × runs, or 1000 for a package (charge = rate). */
  chargedUnits: number;
  /** Quantity stored on the order (package: 1; drip-feed: quantity × runs). */
  quantity: number;
}

const LINK = /^(https?:\/\/[^\s<>"]+|@?[\p{L}\p{N}._-]{1,100})$/u;

/** Service types we do not know are ordered like `Default`. */
function specOf(type: string): ServiceTypeSpec {
  return isServiceType(type) ? SERVICE_TYPE_SPECS[type] : SERVICE_TYPE_SPECS.Default;
}

function positiveInt(raw: string | undefined, name: string): number {
  if (raw === undefined || !/^\d{1,10}$/.test(raw.trim())) throw badRequest(`Incorrect ${name}`);
  const n = Number(raw.trim());
  if (n < 1 || n > MAX_QUANTITY) throw badRequest(`Incorrect ${name}`);
  return n;
}

function checkRange(quantity: number, service: Pick<Service, "min" | "max">): void {
  if (quantity < service.min) throw badRequest(`Quantity less than minimal ${service.min}`);
  if (quantity > service.max) throw badRequest(`Quantity more than maximal ${service.max}`);
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/**
 * @param service the local service (type, min, max, dripfeed).
 * @param input the request's fields (strings).
 * @throws DomainError `bad_request` with the panel wording for each problem.
 */
export function validateAdd(
  service: Pick<Service, "type" | "min" | "max" | "dripfeed">,
  input: Readonly<Record<string, string>>,
): ValidatedAdd {
  if (service.type === "Subscriptions") {
    throw new DomainError(
      "bad_request",
      "Subscription orders must be created from the customer site; API creation is not supported",
    );
  }
  const spec = specOf(service.type);
  const params: AddParams = {};
  for (const name of spec.params) {
    const value = input[name]?.trim();
    if (value === undefined || value === "") {
      if (name === "link") throw badRequest("Incorrect link");
      if (name === "quantity") throw badRequest("Incorrect quantity");
      throw badRequest(`Missing parameter: ${name}`);
    }
    if (value.length > MAX_FIELD_LENGTH) throw badRequest(`Parameter too long: ${name}`);
    params[name] = value;
  }
  if (params.link !== undefined && (params.link.length > 2048 || !LINK.test(params.link))) {
    throw badRequest("Incorrect link");
  }
  if (params.answer_number !== undefined)
    params.answer_number = String(positiveInt(params.answer_number, "answer_number"));

  const runsRaw = dripFeedField(input.runs);
  const intervalRaw = dripFeedField(input.interval);
  const dripfeed = runsRaw !== undefined || intervalRaw !== undefined;
  if (dripfeed && !(spec.dripfeed && service.dripfeed)) {
    throw badRequest("Drip-feed is not available for this service");
  }

  if (spec.quantity === "package") {
    return { params, chargedUnits: 1000, quantity: 1 };
  }
  if (typeof spec.quantity === "object") {
    const listName: AddParamName = spec.quantity.linesOf;
    const list = lines(params[listName] ?? "");
    if (list.length === 0) throw badRequest(`Missing parameter: ${listName}`);
    params[listName] = list.join("\n");
    checkRange(list.length, service);
    return { params, chargedUnits: list.length, quantity: list.length };
  }
  const quantity = positiveInt(params.quantity, "quantity");
  params.quantity = String(quantity);
  checkRange(quantity, service);
  if (!dripfeed) return { params, chargedUnits: quantity, quantity };

  const runs = positiveInt(runsRaw, "runs");
  const interval = positiveInt(intervalRaw, "interval");
  const total = quantity * runs;
  if (total > MAX_QUANTITY) throw badRequest("Incorrect runs");
  params.runs = String(runs);
  params.interval = String(interval);
  return { params, chargedUnits: total, quantity: total };
}
