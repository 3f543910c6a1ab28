import { eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyBalanceChange, InsufficientFundsError, UnknownCustomerError } from "../../src/billing/ledger.js";
import { type Db, inTransaction, openDb } from "../../src/db/client.js";
import { customers, type LedgerKind, ledgerEntries } from "../../src/db/schema.js";

let db: Db;
beforeAll(() => {
  db = openDb(":memory:");
});
afterAll(() => db.$client.close());

function newCustomer(balance = 0): number {
  const now = Date.now();
  const row = db
    .insert(customers)
    .values({ name: "c", currency: "USD", balance: 0, createdAt: now, updatedAt: now })
    .returning({ id: customers.id })
    .get();
  if (balance > 0)
    inTransaction(db, () => applyBalanceChange(db, { customerId: row.id, amount: balance, kind: "topup" }));
  return row.id;
}

function state(customerId: number): { balance: number; sum: number; rows: number } {
  const balance = db.select({ b: customers.balance }).from(customers).where(eq(customers.id, customerId)).get()?.b;
  const agg = db
    .select({ sum: sql<number>`coalesce(sum(${ledgerEntries.amount}), 0)`, rows: sql<number>`count(*)` })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.customerId, customerId))
    .get();
  if (balance === undefined || !agg) throw new Error("customer missing");
  return { balance, sum: Number(agg.sum), rows: Number(agg.rows) };
}

type Op = { kind: LedgerKind; amount: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant<LedgerKind>("topup"), amount: fc.integer({ min: 1, max: 10_000_000 }) }),
  fc.record({ kind: fc.constant<LedgerKind>("charge"), amount: fc.integer({ min: -10_000_000, max: -1 }) }),
  fc.record({ kind: fc.constant<LedgerKind>("refund"), amount: fc.integer({ min: 1, max: 5_000_000 }) }),
  fc.record({
    kind: fc.constant<LedgerKind>("adjustment"),
    amount: fc.integer({ min: -5_000_000, max: 5_000_000 }).filter((n) => n !== 0),
  }),
);

describe("ledger invariant", () => {
  it("balance == sum(ledger) after any sequence; a refused debit changes nothing", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const id = newCustomer();
        let model = 0;
        for (const o of ops) {
          const before = state(id);
          if (model + o.amount < 0) {
            expect(() => inTransaction(db, () => applyBalanceChange(db, { customerId: id, ...o }))).toThrow(
              InsufficientFundsError,
            );
            expect(state(id)).toEqual(before);
          } else {
            const after = inTransaction(db, () => applyBalanceChange(db, { customerId: id, ...o }));
            model += o.amount;
            expect(after).toBe(model);
            expect(state(id)).toEqual({ balance: model, sum: model, rows: before.rows + 1 });
          }
          const s = state(id);
          expect(s.balance).toBe(s.sum);
          expect(s.balance).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("writes balanceAfter as the running balance", () => {
    const id = newCustomer(1_000_000);
    inTransaction(db, () => applyBalanceChange(db, { customerId: id, amount: -250_000, kind: "charge", note: "o1" }));
    inTransaction(db, () => applyBalanceChange(db, { customerId: id, amount: 100_000, kind: "refund" }));
    const rows = db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.customerId, id))
      .orderBy(ledgerEntries.id)
      .all();
    expect(rows.map((r) => [r.kind, r.amount, r.balanceAfter, r.note])).toEqual([
      ["topup", 1_000_000, 1_000_000, null],
      ["charge", -250_000, 750_000, "o1"],
      ["refund", 100_000, 850_000, null],
    ]);
  });

  it("rolls back earlier changes of a transaction whose later debit fails", () => {
    const id = newCustomer(500);
    const before = state(id);
    expect(() =>
      inTransaction(db, () => {
        applyBalanceChange(db, { customerId: id, amount: 100, kind: "topup" });
        applyBalanceChange(db, { customerId: id, amount: -10_000, kind: "charge" });
      }),
    ).toThrow(InsufficientFundsError);
    expect(state(id)).toEqual(before);
  });

  it("reports the balance and the amount needed", () => {
    const id = newCustomer(500);
    try {
      inTransaction(db, () => applyBalanceChange(db, { customerId: id, amount: -501, kind: "charge" }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InsufficientFundsError);
      expect(error).toMatchObject({
        customerId: id,
        balance: 500,
        needed: 501,
        message: "Not enough funds on balance",
      });
    }
  });

  it("allows a debit down to exactly zero", () => {
    const id = newCustomer(500);
    expect(inTransaction(db, () => applyBalanceChange(db, { customerId: id, amount: -500, kind: "charge" }))).toBe(0);
  });

  it("refuses zero, fractional amounts and unknown customers", () => {
    const id = newCustomer(500);
    expect(() => inTransaction(db, () => applyBalanceChange(db, { customerId: id, amount: 0, kind: "topup" }))).toThrow(
      RangeError,
    );
    expect(() =>
      inTransaction(db, () => applyBalanceChange(db, { customerId: id, amount: 1.5, kind: "topup" })),
    ).toThrow(RangeError);
    expect(() =>
      inTransaction(db, () => applyBalanceChange(db, { customerId: 999_999, amount: 1, kind: "topup" })),
    ).toThrow(UnknownCustomerError);
    expect(state(id)).toEqual({ balance: 500, sum: 500, rows: 1 });
  });
});
