/**
 * The ledger: the only way a customer's balance changes. Each change writes one
 * `ledger_entries` row in the same transaction as the balance update, so
 * `customers.balance == sum(ledger_entries.amount)` always holds (issue #2).
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { preparedFor } from "../db/prepared.js";
import { customers, type LedgerKind, ledgerEntries } from "../db/schema.js";
import type { Minor } from "./money.js";

/** A debit larger than the balance. Domain error: `api/errors.ts` maps it to 402. */
export class InsufficientFundsError extends Error {
  override name = "InsufficientFundsError";
  constructor(
    readonly customerId: number,
    readonly balance: Minor,
    readonly needed: Minor,
  ) {
    super("Not enough funds on balance");
  }
}

/** The customer does not exist. */
export class UnknownCustomerError extends Error {
  override name = "UnknownCustomerError";
  constructor(readonly customerId: number) {
    super(`unknown customer ${customerId}`);
  }
}

export interface BalanceChange {
  customerId: number;
  /** Signed minor units: negative debits. Zero is refused (no empty ledger rows). */
  amount: Minor;
  kind: LedgerKind;
  orderId?: number | null;
  note?: string | null;
  /** Epoch ms; defaults to now. */
  at?: number;
}

/**
 * A customer's balance as stored now (minor units), undefined for an unknown customer. The
 * API's `balance` reads it here on every request: balances are never cached (issue #14).
 */
export function readBalance(db: Db, customerId: number): Minor | undefined {
  return statementsFor(db).balance.get({ id: customerId })?.balance;
}

/**
 * Applies one balance change and its ledger row. MUST be called inside a transaction
 * (`inTransaction`), so the change and the row commit together. Its UPDATE sets the balance
 * and `updated_at` only: the store's trigger then leaves the API key cache alone (migration
 * 0005); a verb changing other customer columns does so in its own UPDATE.
 * @returns the new balance (minor units).
 * @throws InsufficientFundsError when the balance would go below zero.
 * @throws UnknownCustomerError when the customer does not exist.
 */
export function applyBalanceChange(db: Db, change: BalanceChange): Minor {
  if (!Number.isSafeInteger(change.amount) || change.amount === 0) {
    throw new RangeError(`ledger amount must be a non-zero integer, got ${change.amount}`);
  }
  const statements = statementsFor(db);
  const row = statements.balance.get({ id: change.customerId });
  if (!row) throw new UnknownCustomerError(change.customerId);
  const after = row.balance + change.amount;
  if (after < 0) throw new InsufficientFundsError(change.customerId, row.balance, -change.amount);
  if (!Number.isSafeInteger(after)) throw new RangeError("balance out of range");
  const at = change.at ?? Date.now();
  statements.credit.run({ id: change.customerId, amount: change.amount, at });
  statements.entry.run({
    customerId: change.customerId,
    orderId: change.orderId ?? null,
    kind: change.kind,
    amount: change.amount,
    balanceAfter: after,
    note: change.note ?? null,
    createdAt: at,
  });
  return after;
}

/** The three statements of a balance change, prepared once per store (refund-heavy sync ticks call this thousands of times). */
const statementsFor = preparedFor((db: Db) => ({
  balance: db
    .select({ balance: customers.balance })
    .from(customers)
    .where(eq(customers.id, sql.placeholder("id")))
    .prepare(),
  credit: db
    .update(customers)
    .set({
      balance: sql`${customers.balance} + ${sql.placeholder("amount")}`,
      updatedAt: sql`${sql.placeholder("at")}`,
    })
    .where(eq(customers.id, sql.placeholder("id")))
    .prepare(),
  entry: db
    .insert(ledgerEntries)
    .values({
      customerId: sql.placeholder("customerId"),
      orderId: sql.placeholder("orderId"),
      kind: sql.placeholder("kind"),
      amount: sql.placeholder("amount"),
      balanceAfter: sql.placeholder("balanceAfter"),
      note: sql.placeholder("note"),
      createdAt: sql.placeholder("createdAt"),
    })
    .prepare(),
}));
