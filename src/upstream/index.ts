/** Upstream provider clients: the public surface of `src/upstream`. */
export type { CircuitState } from "./circuit.js";
export {
  chunk,
  createProviderClient,
  DEFAULT_PRIORITY,
  type ProviderClientOptions,
  type UpstreamProviderConfig,
} from "./client.js";
export { DIALECT_SPECS, dialectSpec, UPSTREAM_ACTIONS, type UpstreamAction } from "./dialects/index.js";
export type { CallEvent, CircuitEvent, OutcomeKind, UpstreamEvent, UpstreamEventListener } from "./events.js";
export { redact } from "./redact.js";
export { createProviderRegistry, type ProviderRegistry } from "./registry.js";
export type { RetryOptions } from "./retry.js";
export * from "./types.js";
