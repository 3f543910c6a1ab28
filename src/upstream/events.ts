/**
 * The event hook for logging and metrics (issue #3): one `call` event per upstream attempt
 * (including attempts refused by our queue or circuit) and one `circuit` event per breaker
 * state change. Listeners must be quick; their exceptions are swallowed.
 */
import type { CircuitState } from "./circuit.js";
import type { UpstreamAction } from "./dialects/types.js";
import type { CallOutcome, CallPriority, NotSentReason } from "./types.js";

export type OutcomeKind = CallOutcome<unknown>["kind"];

export interface CallEvent {
  type: "call";
  provider: string;
  action: UpstreamAction;
  outcome: OutcomeKind;
  /** Set when `outcome` is `not_sent`. */
  reason?: NotSentReason;
  /** Attempt number within the call, from 1. */
  attempt: number;
  /** True when another attempt follows this one. */
  willRetry: boolean;
  priority: CallPriority;
  /** Time spent waiting in the queue, ms. */
  queuedMs: number;
  /** Whole attempt, queue wait included, ms. */
  durationMs: number;
  /** HTTP status of the answer, when one came back. */
  httpStatus?: number;
  /** Set when the upstream refused for lack of funds on our account there. */
  outOfFunds?: true;
  /** The upstream's own error text (keys redacted), on a refusal. */
  upstreamError?: string;
}

export interface CircuitEvent {
  type: "circuit";
  provider: string;
  state: CircuitState;
  consecutiveFailures: number;
}

export type UpstreamEvent = CallEvent | CircuitEvent;
export type UpstreamEventListener = (event: UpstreamEvent) => void;

/** Wraps a listener so it can never break a call. */
export function safeListener(listener: UpstreamEventListener | undefined): UpstreamEventListener {
  if (listener === undefined) return () => undefined;
  return (event) => {
    try {
      listener(event);
    } catch {
      // A metrics/logging hook must not affect upstream calls.
    }
  };
}
