/**
 * What the dashboard tells the operator when a verb refuses: the verb's own one-line message
 * (the same the CLI prints) and the HTTP status of the page. Anything not listed is unexpected:
 * logged, and shown as "Internal error" without details.
 */
import { formatAmount, InvalidAmountError } from "../billing/money.js";
import {
  InsufficientFundsError,
  InvalidCustomerInputError,
  InvalidWebhookUrlError,
  UnknownCustomerError,
} from "../customers/index.js";
import { DomainError } from "../orders/errors.js";
import { RerouteError } from "../orders/reroute.js";
import { ResolveOrderError } from "../sync/resolve.js";
import { SettleOrderError } from "../sync/settle.js";

export interface OperatorError {
  status: 400 | 404 | 409;
  message: string;
}

export function operatorError(error: unknown): OperatorError | undefined {
  if (error instanceof UnknownCustomerError) return { status: 404, message: error.message };
  if (error instanceof DomainError) {
    return { status: error.code.startsWith("unknown_") ? 404 : 400, message: error.message };
  }
  if (error instanceof SettleOrderError) {
    return { status: error.reason === "unknown_order" ? 404 : 409, message: error.message };
  }
  if (error instanceof RerouteError) {
    return { status: error.reason === "unknown_order" ? 404 : 409, message: error.message };
  }
  if (error instanceof ResolveOrderError) {
    return { status: error.reason === "unknown_order" ? 404 : 409, message: error.message };
  }
  if (error instanceof InsufficientFundsError) {
    return {
      status: 409,
      message: `refused: customer ${error.customerId}: balance ${formatAmount(error.balance)} is less than ${formatAmount(error.needed)}`,
    };
  }
  if (
    error instanceof InvalidCustomerInputError ||
    error instanceof InvalidWebhookUrlError ||
    error instanceof InvalidAmountError
  ) {
    return { status: 400, message: error.message };
  }
  return undefined;
}
