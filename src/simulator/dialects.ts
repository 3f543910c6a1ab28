/**
 * Everything that differs between the simulated dialects, one table per dialect.
 *
 * - `jap` (seeds `000_*`, `001_*`), `morethanpanel` (`002_*`), `justprovider` (`004_*`):
 *   numeric service ids, refill/cancel flags, multi-status via `status&orders=`, errors as
 *   `{"error": ".."}` in an HTTP 200, cancel items `{"order", "cancel": 1 | {"error"}}`.
 * - `panel` (`003_*`): string service ids and no flags, `multiStatus`, errors with the HTTP
 *   codes of its table (400/401/402/404/429), cancel items `{"order", "cancel": {"status":
 *   "success"}}` or `{"order", "error"}`.
 */

import type { SimService } from "./types.js";
import type { SimDialect as Dialect } from "./vocabulary.js";

/** Why a request failed; each dialect maps it to an HTTP status. */
export type ErrorKind = "shape" | "key" | "funds" | "not_found" | "rate";

/** An answer before serialisation. */
export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface DialectSpec {
  readonly name: Dialect;
  readonly firstOrderId: number;
  readonly firstRefillId: number;
  /** The action that takes `orders=1,2,3` for statuses. */
  readonly multiStatusAction: "status" | "multiStatus";
  /** HTTP status of an error answer of this kind. */
  errorStatus(kind: ErrorKind): number;
  formatService(service: SimService): Record<string, unknown>;
  cancelAccepted(order: number | string): Record<string, unknown>;
  cancelRefused(order: number | string, message: string): Record<string, unknown>;
}

/** The JAP-like `services` entry (seed `000_*` "Service list"), with `dripfeed` added. */
function perfectPanelService(s: SimService): Record<string, unknown> {
  return {
    service: s.service,
    name: s.name,
    type: s.type,
    category: s.category,
    rate: s.rate,
    min: String(s.min),
    max: String(s.max),
    refill: s.refill,
    cancel: s.cancel,
    dripfeed: s.dripfeed,
  };
}

function perfectPanel(name: Dialect, firstOrderId: number, firstRefillId: number): DialectSpec {
  return {
    name,
    firstOrderId,
    firstRefillId,
    multiStatusAction: "status",
    errorStatus: (kind) => (kind === "rate" ? 429 : 200),
    formatService: perfectPanelService,
    cancelAccepted: (order) => ({ order, cancel: 1 }),
    cancelRefused: (order, message) => ({ order, cancel: { error: message } }),
  };
}

const PANEL_ERROR_STATUS: Readonly<Record<ErrorKind, number>> = {
  shape: 400,
  key: 401,
  funds: 402,
  not_found: 404,
  rate: 429,
};

/** Seed `003_*`: string ids, no flags, HTTP error codes, its own cancel form. */
const panel: DialectSpec = {
  name: "panel",
  firstOrderId: 1487,
  firstRefillId: 601,
  multiStatusAction: "multiStatus",
  errorStatus: (kind) => PANEL_ERROR_STATUS[kind],
  formatService: (s) => ({
    service: String(s.service),
    name: s.name,
    type: s.type,
    rate: s.rate,
    min: String(s.min),
    max: String(s.max),
    category: s.category,
  }),
  cancelAccepted: (order) => ({ order, cancel: { status: "success" } }),
  cancelRefused: (order, message) => ({ order, error: message }),
};

export const DIALECT_SPECS: Readonly<Record<Dialect, DialectSpec>> = {
  jap: perfectPanel("jap", 23501, 5001),
  morethanpanel: perfectPanel("morethanpanel", 410001, 8001),
  justprovider: perfectPanel("justprovider", 7700001, 3001),
  panel,
};

/** `{"error": message}` with the dialect's HTTP status for `kind`. */
export function errorAnswer(spec: DialectSpec, kind: ErrorKind, message: string): Answer {
  return { status: spec.errorStatus(kind), body: { error: message } };
}

/** Error messages, shared by every dialect (seed `000_*`, `003_*`). */
export const MESSAGES = {
  badKey: "Invalid API key",
  badRequest: "Incorrect request",
  badService: "Incorrect service ID",
  badOrder: "Incorrect order ID",
  badLink: "Incorrect link",
  funds: "Not enough funds on balance",
  refillNotFound: "Refill not found",
  rateLimited: "Rate limit exceeded",
  tooManyIds: "Too many IDs, up to 100 allowed",
  subscriptionsApi: "Subscriptions cannot be created through the API; order them on the website",
  noRefill: "Refill is not available for this service",
  refillNotEligible: "Order is not eligible for refill",
  noCancel: "Cancel is not available for this service",
  cancelNotEligible: "Order cannot be canceled in its current status",
  noDripfeed: "Drip-feed is not available for this service",
} as const;
