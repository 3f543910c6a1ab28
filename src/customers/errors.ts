/**
 * Domain errors of the customer verbs. They know nothing of HTTP or of the CLI: the API maps
 * them to its error answers, the CLI prints their one-line `message`.
 *
 * `UnknownCustomerError` and `InsufficientFundsError` live with the ledger (which throws them
 * first) and are re-exported here, so callers import every customer error from one place.
 */
export { InsufficientFundsError, UnknownCustomerError } from "../billing/ledger.js";

/** A webhook URL we refuse (not http(s), malformed, private address when not allowed...). */
export class InvalidWebhookUrlError extends Error {
  override name = "InvalidWebhookUrlError";
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`invalid webhook URL: ${reason}`);
  }
}

/** A bad input to a customer verb (empty name, negative opening balance, zero top-up...). */
export class InvalidCustomerInputError extends Error {
  override name = "InvalidCustomerInputError";
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
