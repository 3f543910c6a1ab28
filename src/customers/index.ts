/** Customer verbs, keys and errors (shared by the CLI and the API). */
export { type ApiKeyView, findCustomerByApiKey, generateApiKey, hashApiKey, listApiKeys } from "./api-keys.js";
export {
  addApiKey,
  type CreateCustomerInput,
  type CustomerDetails,
  type CustomerListOptions,
  type CustomerSummary,
  type CustomerView,
  createCustomer,
  getCustomer,
  type IssuedKey,
  listCustomers,
  type RotatedKey,
  rotateKey,
  setApiStyle,
  setHttpErrors,
  setSuspended,
  setWebhook,
  type TopUpResult,
  toCustomerView,
  topUp,
  type WebhookResult,
} from "./customers.js";
export {
  InsufficientFundsError,
  InvalidCustomerInputError,
  InvalidWebhookUrlError,
  UnknownCustomerError,
} from "./errors.js";
export { isPrivateHost, validateWebhookUrl, type WebhookUrlOptions } from "./webhook-url.js";
