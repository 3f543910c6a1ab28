import { readBalance } from "../../billing/ledger.js";
import { formatAmount } from "../../billing/money.js";
import { invalidKey } from "../../orders/errors.js";
import type { ActionHandler } from "./types.js";

/**
 * `balance` → `{"balance": "100.84292", "currency": "USD"}` (seed `000_*` "User balance"),
 * the balance read from the store on every request (never from a cache).
 */
export const balance: ActionHandler = ({ ctx, customer }) => {
  const amount = readBalance(ctx.db, customer.id);
  if (amount === undefined) throw invalidKey();
  return { balance: formatAmount(amount), currency: customer.currency };
};
