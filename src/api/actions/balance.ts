import { formatAmount } from "../../billing/money.js";
import type { ActionHandler } from "./types.js";

/** `balance` → `{"balance": "100.84292", "currency": "USD"}` (seed `000_*` "User balance"). */
export const balance: ActionHandler = ({ customer }) => ({
  balance: formatAmount(customer.balance),
  currency: customer.currency,
});
