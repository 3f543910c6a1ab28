/**
 * The PerfectPanel-style API v2 shared by `jap` (seeds `000_*`, `001_*`), `morethanpanel`
 * (`002_*`) and `justprovider` (`004_*`): errors as HTTP 200 `{"error": ..}`, multi-status as
 * `action=status&orders=`, cancel items `{"order": 2, "cancel": 1}` / `{"cancel": {"error": ..}}`.
 */
import { z } from "zod";
import type { Dialect } from "../../config/providers-file.js";
import type { ItemError, UpstreamOrderState, UpstreamService } from "../types.js";
import { fastMultiStatus } from "./multi-status.js";
import {
  decimalString,
  emptyArrayAsObject,
  flag,
  idString,
  integer,
  itemError,
  orderState,
  parseWith,
  refillState,
} from "./schemas.js";
import { fastServiceEntry } from "./service-list.js";
import type { DialectSpec, Form, Parsed } from "./types.js";

/** Comma-joined id list as the seeds' `orders`/`refills` fields take it. */
export function idList(ids: readonly string[]): string {
  return ids.join(",");
}

/**
 * `add` form: `service` plus exactly the parameters given (the API layer validated them per
 * service type, seed `003_*`). `key` and `action` can never be overridden by a parameter.
 */
export function addForm(request: { service: string } & Record<string, string | undefined>): Form {
  const form: Form = {};
  for (const [name, value] of Object.entries(request)) {
    if (value !== undefined && name !== "key" && name !== "action") form[name] = value;
  }
  return { action: "add", ...form };
}

/** One catalogue entry (seed `000_*` "Service list"); flags absent → false (seed `003_*`). */
export const serviceEntry = z
  .object({
    service: idString,
    name: z.string(),
    type: z.string().default("Default"),
    category: z.string().nullish(),
    rate: decimalString,
    min: integer,
    max: integer,
    refill: flag,
    cancel: flag,
    dripfeed: flag,
  })
  .transform(
    (v): UpstreamService => ({
      service: v.service,
      name: v.name,
      type: v.type,
      category: v.category ?? "",
      rate: v.rate,
      min: v.min,
      max: v.max,
      refill: v.refill,
      cancel: v.cancel,
      dripfeed: v.dripfeed,
    }),
  );

const servicesSchema = z.array(serviceEntry);

/**
 * Service list (seed `000_*` "Service list"): an array of entries, read one entry at a time with
 * the fast reader (`service-list.ts`, same checks and values), an entry it is unsure about with
 * `serviceEntry`; only the compact results are kept while reading (issue #14's memory goal). An
 * entry the schema refuses sends the whole list through `servicesSchema` for its problem text.
 * Same values and problem texts as `parseWith(servicesSchema, body)`.
 */
export function parseServices(body: unknown): Parsed<UpstreamService[]> {
  if (!Array.isArray(body)) return parseWith(servicesSchema, body);
  const services: UpstreamService[] = new Array(body.length);
  for (let i = 0; i < body.length; i++) {
    const fast = fastServiceEntry(body[i]);
    if (fast !== undefined) {
      services[i] = fast;
      continue;
    }
    const parsed = parseWith(serviceEntry, body[i]);
    if (!parsed.ok) return parseWith(servicesSchema, body);
    services[i] = parsed.value;
  }
  return { ok: true, value: services };
}
const addSchema = z.object({ order: idString }).transform((v) => ({ order: v.order }));

/** Why one multi-status entry could not be read: its first problem, as one line. */
function unreadableEntry(input: unknown): ItemError {
  const result = orderState.safeParse(input);
  const issue = result.success ? undefined : result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  const value =
    issue && issue.path.length === 1 && typeof input === "object" && input !== null
      ? ` ${JSON.stringify((input as Record<string, unknown>)[String(issue.path[0])])?.slice(0, 40)}`
      : "";
  return { error: `unreadable status entry (${where}${issue?.message ?? "not an order state"}${value})` };
}

/**
 * One multi-status entry: a state, `{"error": ..}`, or, when it cannot be read (`remains:
 * "12.5"`, `start_count: 1e20`, `charge: "0,52"`), an item error of its own (issue #11): one bad
 * entry is a miss on its own order, never the whole batch's failure.
 */
const multiStatusEntry = z.union([itemError, orderState]).catch((ctx): ItemError => unreadableEntry(ctx.value));

/** Multi-status (seed `000_*` "Multiple orders status"): id → state or `{"error": ..}`, read entry by entry. */
export const multiStatusSchema = z
  .union([z.record(z.string(), multiStatusEntry), emptyArrayAsObject])
  .transform((v) => new Map(Array.isArray(v) ? [] : Object.entries(v)));

/**
 * Reads a multi-status body with the fast reader (`multi-status.ts`, same checks and values),
 * falling back to `multiStatusSchema` for anything it is unsure about (and for problem texts).
 */
export function parseMultiStatus(body: unknown): Parsed<Map<string, UpstreamOrderState | ItemError>> {
  const fast = fastMultiStatus(body);
  return fast === undefined ? parseWith(multiStatusSchema, body) : { ok: true, value: fast };
}

const refillSchema = z.object({ refill: idString }).transform((v) => ({ refill: v.refill }));

/** Multi-refill (seed `000_*` "Create multiple refill"): `{order, refill: id | {error}}`; `{order, error}` tolerated. */
const multiRefillSchema = z
  .array(
    z.union([
      z.object({ order: idString, refill: z.union([idString, itemError]) }),
      z.object({ order: idString, error: z.string() }),
    ]),
  )
  .transform(
    (items) =>
      new Map<string, { refill: string } | ItemError>(
        items.map((item) => {
          if ("error" in item) return [item.order, { error: item.error }];
          return [item.order, typeof item.refill === "string" ? { refill: item.refill } : item.refill];
        }),
      ),
  );

const refillStatusSchema = z.object({ status: refillState }).transform((v) => v.status);

/** Multi refill status (seed `000_*`): `{refill, status: "Completed" | {error}}`. */
const multiRefillStatusSchema = z
  .array(z.object({ refill: idString, status: z.union([itemError, refillState]) }))
  .transform((items) => new Map(items.map((item) => [item.refill, item.status])));

/** Cancel (seed `000_*` "Create cancel"): `{order, cancel: 1 | {error}}`; `{order, error}` tolerated. */
const cancelSchema = z
  .array(
    z.union([
      z.object({ order: idString, cancel: z.union([itemError, z.union([z.boolean(), z.number(), z.string()])]) }),
      z.object({ order: idString, error: z.string() }),
    ]),
  )
  .transform(
    (items) =>
      new Map<string, { ok: true } | ItemError>(
        items.map((item) => {
          if ("error" in item) return [item.order, { error: item.error }];
          const c = item.cancel;
          if (typeof c === "object") return [item.order, c];
          const accepted = c === true || c === 1 || c === "1";
          return [item.order, accepted ? { ok: true } : { error: `cancel not accepted (${String(c)})` }];
        }),
      ),
  );

const balanceSchema = z
  .object({
    balance: decimalString,
    currency: z
      .string()
      .nullish()
      .transform((v) => (v === undefined || v === null || v.trim() === "" ? null : v.trim())),
  })
  .transform((v) => ({ balance: v.balance, currency: v.currency }));

/** Builds the PerfectPanel dialect under a given name. */
export function perfectPanelDialect(name: Dialect): DialectSpec {
  return {
    name,
    httpErrorCodes: false,
    // Seed 000/001 `add` answers `{"order": 23501}`: a number.
    orderId: { pattern: /^[1-9]\d{0,18}$/, description: "a positive integer such as 23501" },
    services: { form: () => ({ action: "services" }), parse: parseServices },
    add: { form: (request) => addForm(request), parse: (body) => parseWith(addSchema, body) },
    status: { form: (order) => ({ action: "status", order }), parse: (body) => parseWith(orderState, body) },
    multiStatus: {
      form: (orders) => ({ action: "status", orders: idList(orders) }),
      parse: parseMultiStatus,
    },
    refill: { form: (order) => ({ action: "refill", order }), parse: (body) => parseWith(refillSchema, body) },
    multiRefill: {
      form: (orders) => ({ action: "refill", orders: idList(orders) }),
      parse: (body) => parseWith(multiRefillSchema, body),
    },
    refillStatus: {
      form: (refill) => ({ action: "refill_status", refill }),
      parse: (body) => parseWith(refillStatusSchema, body),
    },
    multiRefillStatus: {
      form: (refills) => ({ action: "refill_status", refills: idList(refills) }),
      parse: (body) => parseWith(multiRefillStatusSchema, body),
    },
    cancel: {
      form: (orders) => ({ action: "cancel", orders: idList(orders) }),
      parse: (body) => parseWith(cancelSchema, body),
    },
    balance: { form: () => ({ action: "balance" }), parse: (body) => parseWith(balanceSchema, body) },
  };
}
