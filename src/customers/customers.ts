/**
 * The customer verbs shared by the admin CLI and the API. Each verb owns its transaction
 * (`inTransaction`, synchronous) and writes its ledger rows inside it through
 * `applyBalanceChange`, the only way a balance changes.
 *
 * Views returned here never contain a key hash or the webhook secret; the raw API key and
 * the webhook secret are returned only by the verb that creates them, to be shown once.
 */
import { randomBytes } from "node:crypto";
import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from "drizzle-orm";
import { applyBalanceChange } from "../billing/ledger.js";
import type { Minor } from "../billing/money.js";
import { type Db, inTransaction } from "../db/client.js";
import {
  API_STYLES,
  type ApiStyle,
  apiKeys,
  type Customer,
  customers,
  type LedgerEntry,
  ledgerEntries,
} from "../db/schema.js";
import { type ApiKeyView, insertApiKey, listApiKeys } from "./api-keys.js";
import { InvalidCustomerInputError, UnknownCustomerError } from "./errors.js";
import { validateWebhookUrl, type WebhookUrlOptions } from "./webhook-url.js";

export const MAX_NAME_LENGTH = 100;
export const MAX_NOTE_LENGTH = 500;
export const DEFAULT_LEDGER_LIMIT = 10;

/** A customer as shown to operators (no webhook secret). Amounts in minor units. */
export interface CustomerView {
  id: number;
  name: string;
  currency: string;
  balance: Minor;
  /** The customer's own HTTP error codes setting; null = the server's `HTTP_ERRORS`. */
  httpErrors: boolean | null;
  /** Answer style of `cancel`: `panel` (seed 003) or `perfectpanel` (seed 000). */
  apiStyle: ApiStyle;
  webhookUrl: string | null;
  /** When the account was suspended (epoch ms), or null while active. */
  suspendedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface CustomerSummary extends CustomerView {
  /** Keys not revoked. */
  activeKeys: number;
}

export interface CustomerDetails {
  customer: CustomerView;
  /** Every key, newest first (prefix only). */
  keys: ApiKeyView[];
  /** The last ledger rows, newest first. */
  ledger: LedgerEntry[];
}

export interface CreateCustomerInput {
  name: string;
  /** Opening balance in minor units (>= 0); a positive one is written as a `topup` ledger row. */
  balance?: Minor;
  /** Answer API errors with HTTP error codes; false = always HTTP 200. Default: the server's `HTTP_ERRORS`. */
  httpErrors?: boolean;
  /** Answer style of `cancel` (default `panel`). */
  apiStyle?: ApiStyle;
  /** 3-letter code, normally the config file's `currency`. */
  currency: string;
}

export interface IssuedKey {
  customerId: number;
  keyId: number;
  /** The raw key: shown once, never stored. */
  apiKey: string;
  prefix: string;
}

export interface RotatedKey extends IssuedKey {
  /** How many previously active keys were revoked. */
  revoked: number;
}

export interface TopUpResult {
  customerId: number;
  amount: Minor;
  /** Balance after the change. */
  balance: Minor;
  entry: LedgerEntry;
}

export interface WebhookResult {
  customer: CustomerView;
  /** The new signing secret (shown once), or null when the webhook was removed. */
  webhookSecret: string | null;
}

export function toCustomerView(row: Customer): CustomerView {
  return {
    id: row.id,
    name: row.name,
    currency: row.currency,
    balance: row.balance,
    httpErrors: row.httpErrorsSet ? row.httpErrors : null,
    apiStyle: row.apiStyle,
    webhookUrl: row.webhookUrl,
    suspendedAt: row.suspendedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/**
 * Creates a customer and its first API key; a positive opening balance is a `topup` ledger row.
 * @throws InvalidCustomerInputError for an empty/long name, a bad currency or a negative balance.
 */
export function createCustomer(db: Db, input: CreateCustomerInput): { customer: CustomerView; apiKey: string } {
  const name = checkName(input.name);
  if (!/^[A-Z]{3}$/.test(input.currency)) {
    throw new InvalidCustomerInputError("currency", `expected a 3-letter currency code, got "${input.currency}"`);
  }
  const balance = input.balance ?? 0;
  if (!Number.isSafeInteger(balance) || balance < 0) {
    throw new InvalidCustomerInputError("balance", "must not be negative");
  }
  return inTransaction(db, () => {
    const at = Date.now();
    const row = db
      .insert(customers)
      .values({
        name,
        currency: input.currency,
        balance: 0,
        httpErrors: input.httpErrors ?? true,
        httpErrorsSet: input.httpErrors !== undefined,
        apiStyle: checkApiStyle(input.apiStyle ?? "panel"),
        createdAt: at,
        updatedAt: at,
      })
      .returning()
      .get();
    const { apiKey } = insertApiKey(db, row.id, at);
    if (balance > 0) {
      applyBalanceChange(db, { customerId: row.id, amount: balance, kind: "topup", note: "opening balance", at });
    }
    return { customer: toCustomerView(requireCustomer(db, row.id)), apiKey };
  });
}

/**
 * Revokes every active key of the customer and issues a new one.
 * @throws UnknownCustomerError
 */
export function rotateKey(db: Db, customerId: number): RotatedKey {
  return inTransaction(db, () => {
    requireCustomer(db, customerId);
    const at = Date.now();
    const revoked = db
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.customerId, customerId), isNull(apiKeys.revokedAt)))
      .run().changes;
    const issued = insertApiKey(db, customerId, at);
    return { customerId, ...issued, revoked };
  });
}

/**
 * Issues one more key for the customer, keeping the others active.
 * @throws UnknownCustomerError
 */
export function addApiKey(db: Db, customerId: number): IssuedKey {
  return inTransaction(db, () => {
    requireCustomer(db, customerId);
    return { customerId, ...insertApiKey(db, customerId, Date.now()) };
  });
}

/**
 * Credits (`topup`) or, with a negative amount, corrects (`adjustment`) a balance.
 * @throws InvalidCustomerInputError for a zero/non-integer amount or a note too long.
 * @throws InsufficientFundsError when a correction would take the balance below zero.
 * @throws UnknownCustomerError
 */
export function topUp(db: Db, customerId: number, amountMinor: Minor, note?: string | null): TopUpResult {
  if (!Number.isSafeInteger(amountMinor) || amountMinor === 0) {
    throw new InvalidCustomerInputError("amount", "must be a non-zero amount");
  }
  const cleanNote = note?.trim() || null;
  if (cleanNote !== null && cleanNote.length > MAX_NOTE_LENGTH) {
    throw new InvalidCustomerInputError("note", `longer than ${MAX_NOTE_LENGTH} characters`);
  }
  return inTransaction(db, () => {
    const balance = applyBalanceChange(db, {
      customerId,
      amount: amountMinor,
      kind: amountMinor > 0 ? "topup" : "adjustment",
      note: cleanNote,
    });
    const entry = db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.customerId, customerId))
      .orderBy(desc(ledgerEntries.id))
      .limit(1)
      .get();
    if (!entry) throw new Error("ledger row missing after a balance change");
    return { customerId, amount: amountMinor, balance, entry };
  });
}

/**
 * Sets (with a new signing secret) or removes (`null`) the customer's webhook.
 * @throws InvalidWebhookUrlError
 * @throws UnknownCustomerError
 */
export function setWebhook(
  db: Db,
  customerId: number,
  url: string | null,
  options: WebhookUrlOptions = {},
): WebhookResult {
  const webhookUrl = url === null ? null : validateWebhookUrl(url, options);
  const webhookSecret = webhookUrl === null ? null : randomBytes(32).toString("hex");
  return inTransaction(db, () => {
    requireCustomer(db, customerId);
    db.update(customers)
      .set({ webhookUrl, webhookSecret, updatedAt: Date.now() })
      .where(eq(customers.id, customerId))
      .run();
    return { customer: toCustomerView(requireCustomer(db, customerId)), webhookSecret };
  });
}

/**
 * Suspends (`true`) or resumes (`false`) a customer's account. While suspended, every key of the
 * customer answers 403 `Account suspended`; its open orders still sync, refund and notify.
 * Suspending a suspended account keeps its first `suspendedAt`.
 * @returns the customer after the change.
 * @throws UnknownCustomerError
 */
export function setSuspended(db: Db, customerId: number, suspended: boolean, at = Date.now()): CustomerView {
  return inTransaction(db, () => {
    const row = requireCustomer(db, customerId);
    const suspendedAt = suspended ? (row.suspendedAt ?? at) : null;
    if (suspendedAt !== row.suspendedAt) {
      db.update(customers).set({ suspendedAt, updatedAt: at }).where(eq(customers.id, customerId)).run();
    }
    return toCustomerView(requireCustomer(db, customerId));
  });
}

function checkApiStyle(style: string): ApiStyle {
  if (!(API_STYLES as readonly string[]).includes(style)) {
    throw new InvalidCustomerInputError("apiStyle", `expected one of ${API_STYLES.join(", ")}, got "${style}"`);
  }
  return style as ApiStyle;
}

/**
 * Sets the customer's answer style (`panel` or `perfectpanel`, see {@link CustomerView.apiStyle}).
 * @throws InvalidCustomerInputError for another style
 * @throws UnknownCustomerError
 */
export function setApiStyle(db: Db, customerId: number, style: string): CustomerView {
  const apiStyle = checkApiStyle(style);
  return inTransaction(db, () => {
    requireCustomer(db, customerId);
    db.update(customers).set({ apiStyle, updatedAt: Date.now() }).where(eq(customers.id, customerId)).run();
    return toCustomerView(requireCustomer(db, customerId));
  });
}

/**
 * Sets the customer's own HTTP error codes setting: true (error codes), false (always HTTP
 * 200), or null (the server's `HTTP_ERRORS`).
 * @throws UnknownCustomerError
 */
export function setHttpErrors(db: Db, customerId: number, value: boolean | null): CustomerView {
  return inTransaction(db, () => {
    requireCustomer(db, customerId);
    db.update(customers)
      .set({ httpErrors: value ?? true, httpErrorsSet: value !== null, updatedAt: Date.now() })
      .where(eq(customers.id, customerId))
      .run();
    return toCustomerView(requireCustomer(db, customerId));
  });
}

export interface CustomerListOptions {
  /** Keyset pagination: only customers with a larger id (the last id of the previous page). */
  afterId?: number;
  /** Only customers whose name contains this text (case-insensitive for ASCII). */
  nameContains?: string;
  /** Most customers returned; default all. */
  limit?: number;
}

/** Customers by id (every one, or a page of them) with their count of active keys. */
export function listCustomers(db: Db, options: CustomerListOptions = {}): CustomerSummary[] {
  const page = db
    .select()
    .from(customers)
    .where(
      and(
        options.afterId === undefined ? undefined : gt(customers.id, options.afterId),
        options.nameContains ? sql`instr(lower(${customers.name}), lower(${options.nameContains})) > 0` : undefined,
      ),
    )
    .orderBy(asc(customers.id))
    .limit(options.limit ?? -1)
    .all();
  const ids = page.map((row) => row.id);
  const counts = new Map(
    (ids.length === 0
      ? []
      : db
          .select({ customerId: apiKeys.customerId, n: sql<number>`count(*)` })
          .from(apiKeys)
          .where(
            and(isNull(apiKeys.revokedAt), options.limit === undefined ? undefined : inArray(apiKeys.customerId, ids)),
          )
          .groupBy(apiKeys.customerId)
          .all()
    ).map((r) => [r.customerId, Number(r.n)]),
  );
  return page.map((row) => ({ ...toCustomerView(row), activeKeys: counts.get(row.id) ?? 0 }));
}

/**
 * One customer with its keys and its last `ledgerLimit` ledger rows (newest first; with
 * `ledgerBeforeId`, the rows before that id: keyset pagination).
 * @throws UnknownCustomerError
 */
export function getCustomer(
  db: Db,
  customerId: number,
  options: { ledgerLimit?: number; ledgerBeforeId?: number } = {},
): CustomerDetails {
  const limit = Math.max(0, Math.floor(options.ledgerLimit ?? DEFAULT_LEDGER_LIMIT));
  const customer = toCustomerView(requireCustomer(db, customerId));
  const ledger =
    limit === 0
      ? []
      : db
          .select()
          .from(ledgerEntries)
          .where(
            and(
              eq(ledgerEntries.customerId, customerId),
              options.ledgerBeforeId === undefined ? undefined : lt(ledgerEntries.id, options.ledgerBeforeId),
            ),
          )
          .orderBy(desc(ledgerEntries.id))
          .limit(limit)
          .all();
  return { customer, keys: listApiKeys(db, customerId), ledger };
}

function requireCustomer(db: Db, customerId: number): Customer {
  const row = db.select().from(customers).where(eq(customers.id, customerId)).get();
  if (!row) throw new UnknownCustomerError(customerId);
  return row;
}

function checkName(input: string): string {
  const name = input.trim();
  if (name.length === 0) throw new InvalidCustomerInputError("name", "must not be empty");
  if (name.length > MAX_NAME_LENGTH)
    throw new InvalidCustomerInputError("name", `longer than ${MAX_NAME_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name))
    throw new InvalidCustomerInputError("name", "must not contain control characters");
  return name;
}
