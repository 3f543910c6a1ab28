/**
 * A provider client (issue #3): one per configured provider, generic over its dialect. Every
 * call goes through the provider's {@link ProviderQueue} (priorities, rate limit, bounded wait)
 * and {@link CircuitBreaker}, is sent by {@link postForm} over the provider's undici `Agent`,
 * classified into exactly one {@link CallOutcome}, and retried only when that is safe.
 */
import { Agent, type Dispatcher } from "undici";
import type { ProviderConfig } from "../config/providers-file.js";
import { type Admission, type CallHealth, CircuitBreaker, type CircuitOptions } from "./circuit.js";
import { classifyAnswer } from "./classify.js";
import { dialectSpec } from "./dialects/index.js";
import type { ActionSpec, UpstreamAction } from "./dialects/types.js";
import { safeListener, type UpstreamEventListener } from "./events.js";
import { postForm } from "./http.js";
import { ProviderQueue, type QueueRefusal, type RateSlot } from "./queue.js";
import { redact } from "./redact.js";
import { backoffMs, isRetryable, type RetryOptions } from "./retry.js";
import {
  type CallOptions,
  type CallOutcome,
  type CallPriority,
  MAX_IDS_PER_CALL,
  type NotSentReason,
  type ProviderClient,
} from "./types.js";

/** What a client needs from a provider's config. */
export type UpstreamProviderConfig = Pick<
  ProviderConfig,
  "id" | "dialect" | "url" | "key" | "rateLimit" | "concurrency" | "timeoutMs"
> & {
  /** Provider currency, used when a `balance` answer has none. */
  currency?: string;
};

export interface ProviderClientOptions {
  /** Every finished attempt and every circuit change. */
  onEvent?: UpstreamEventListener;
  retry?: RetryOptions;
  circuit?: Pick<CircuitOptions, "failureThreshold" | "coolDownMs">;
  queue?: {
    /** Waiting calls beyond which new ones fail with `queue_full`. Default 1000. */
    maxQueued?: number;
    /** Safety margin added to the rate window, ms (see {@link ProviderQueue}). */
    rateMarginMs?: number;
  };
  /**
   * Least time a request is sent with, ms: a call with less budget left when its turn comes
   * fails as `queue_timeout` rather than being sent doomed. Default min(100, timeoutMs / 2).
   */
  minSendMs?: number;
  /**
   * Least time a call that creates something upstream ({@link CREATING_ACTIONS}: add, refill,
   * multiRefill, cancel) is sent with, ms. Such a call sent short of a panel's real answer
   * time would time out as `ambiguous` (an `unknown` order needing manual resolution); with
   * less budget left when its turn comes it fails as `not_sent`/`queue_timeout` instead (safe:
   * nothing was placed), and it is not retried (after a 429) into less. Default
   * ceil(timeoutMs / 2); never below `minSendMs`. Such a call's default budget is
   * timeoutMs + minCreateSendMs, so a wait in line or for a Retry-After of up to
   * minCreateSendMs still leaves it a full timeoutMs.
   */
  minCreateSendMs?: number;
  /** TCP+TLS connect timeout, ms. Default min(10 000, timeoutMs). */
  connectTimeoutMs?: number;
  /** Largest answer body, bytes. */
  maxBodyBytes?: number;
  /** Use this dispatcher instead of a new keep-alive `Agent` (it is then not closed by the client). */
  dispatcher?: Dispatcher;
}

/** Default queue priority per action (issue #3): customer-facing above sync above catalogue. */
export const DEFAULT_PRIORITY: Readonly<Record<UpstreamAction, CallPriority>> = {
  add: "customer",
  refill: "customer",
  multiRefill: "customer",
  cancel: "customer",
  status: "sync",
  multiStatus: "sync",
  refillStatus: "sync",
  multiRefillStatus: "sync",
  services: "catalogue",
  balance: "catalogue",
};

/** Actions that create or change something upstream: sent only with a real answer time left. */
export const CREATING_ACTIONS: ReadonlySet<UpstreamAction> = new Set<UpstreamAction>([
  "add",
  "refill",
  "multiRefill",
  "cancel",
]);

const ID = /^[^\s,]+$/;

/** Splits ids into lists of at most `size` (for multi-id calls: `chunk(ids, 100)`). */
export function chunk<T>(items: readonly T[], size: number = MAX_IDS_PER_CALL): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function checkId(id: string, what: string): void {
  if (typeof id !== "string" || !ID.test(id)) throw new RangeError(`invalid ${what} id ${JSON.stringify(id)}`);
}

/** Validates and de-duplicates a multi-id list. @throws RangeError beyond 100 ids or on a bad id. */
function checkIds(ids: readonly string[], what: string): string[] {
  const unique = [...new Set(ids)];
  if (unique.length > MAX_IDS_PER_CALL) {
    throw new RangeError(`at most ${MAX_IDS_PER_CALL} ${what} ids per call, got ${unique.length}; use chunk()`);
  }
  for (const id of unique) checkId(id, what);
  return unique;
}

function healthOf(outcome: CallOutcome<unknown>): CallHealth {
  switch (outcome.kind) {
    case "ok":
    case "rejected":
    case "rate_limited":
      return "success";
    case "ambiguous":
      return "failure";
    case "not_sent":
      return outcome.reason === "connect_failed" ? "failure" : "neutral";
  }
}

const REFUSAL_MESSAGES: Readonly<Record<QueueRefusal, string>> = {
  queue_full: "too many calls waiting for this provider",
  queue_timeout: "the call's time budget ran out before its turn",
  circuit_open: "provider circuit is open after repeated failures",
  closed: "provider client is closed",
};

function notSent<T>(reason: NotSentReason, message: string, retryAfterMs?: number): CallOutcome<T> {
  return retryAfterMs === undefined
    ? { kind: "not_sent", reason, failure: { message } }
    : { kind: "not_sent", reason, failure: { message }, retryAfterMs };
}

interface Attempt<T> {
  outcome: CallOutcome<T>;
  httpStatus?: number;
  queuedMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The provider's keep-alive pool: `concurrency` sockets, connect timeout, generous backstop timeouts. */
function createAgent(config: UpstreamProviderConfig, options: ProviderClientOptions): Agent {
  return new Agent({
    connections: config.concurrency,
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connect: { timeout: options.connectTimeoutMs ?? Math.min(10_000, config.timeoutMs) },
    // Backstops only: AbortSignal.timeout(timeoutMs) in postForm is the exact deadline.
    headersTimeout: config.timeoutMs + 1000,
    bodyTimeout: config.timeoutMs + 1000,
  });
}

/** Builds the client for one provider. Call {@link ProviderClient.close} at shutdown. */
export function createProviderClient(
  config: UpstreamProviderConfig,
  options: ProviderClientOptions = {},
): ProviderClient {
  const dialect = dialectSpec(config.dialect);
  const emit = safeListener(options.onEvent);
  const secrets = [config.key];
  const minSendMs = options.minSendMs ?? Math.min(100, Math.floor(config.timeoutMs / 2));
  const minCreateSendMs = Math.max(minSendMs, options.minCreateSendMs ?? Math.ceil(config.timeoutMs / 2));
  /** Least budget `action` is sent with, ms. */
  const minSendFor = (action: UpstreamAction) => (CREATING_ACTIONS.has(action) ? minCreateSendMs : minSendMs);
  const maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 4);
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher: Dispatcher = options.dispatcher ?? createAgent(config, options);
  const queue = new ProviderQueue({
    concurrency: config.concurrency,
    intervalCap: config.rateLimit.requests,
    intervalMs: config.rateLimit.intervalMs,
    ...(options.queue?.maxQueued === undefined ? {} : { maxQueued: options.queue.maxQueued }),
    ...(options.queue?.rateMarginMs === undefined ? {} : { rateMarginMs: options.queue.rateMarginMs }),
  });
  const circuit = new CircuitBreaker({
    ...options.circuit,
    onChange: (state, consecutiveFailures) => {
      emit({ type: "circuit", provider: config.id, state, consecutiveFailures });
      if (state === "open") queue.failWaiting("circuit_open", circuit.retryAfterMs);
    },
  });

  /** Sends one request (the job run by the queue); tells `slot` when it went out and came back. */
  async function send<I, T>(
    spec: ActionSpec<I, T>,
    form: Record<string, string>,
    deadline: number,
    minSend: number,
    admission: Admission,
    beforeSend: () => void,
    idempotencyKey: string | undefined,
    slot: RateSlot,
  ): Promise<{ outcome: CallOutcome<T>; httpStatus?: number }> {
    if (!circuit.stillAllows(admission)) {
      slot.release();
      return { outcome: notSent("circuit_open", REFUSAL_MESSAGES.circuit_open, circuit.retryAfterMs) };
    }
    const timeoutMs = Math.min(config.timeoutMs, deadline - Date.now());
    if (timeoutMs < minSend) {
      slot.release();
      return { outcome: notSent("queue_timeout", REFUSAL_MESSAGES.queue_timeout, 1000) };
    }
    try {
      beforeSend();
    } catch (error) {
      slot.release();
      throw error;
    }
    const result = await postForm({
      url: config.url,
      form,
      dispatcher,
      timeoutMs,
      ...(idempotencyKey === undefined ? {} : { headers: { "idempotency-key": idempotencyKey } }),
      ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    });
    if (result.headersAt !== undefined) slot.answered(result.sentAt, result.headersAt);
    if (!result.ok) {
      const { failure } = result;
      const message = redact(failure.message, secrets);
      if (failure.kind === "not_sent")
        return { outcome: { kind: "not_sent", reason: "connect_failed", failure: { message } } };
      return failure.httpStatus === undefined
        ? { outcome: { kind: "ambiguous", failure: { message } } }
        : {
            outcome: { kind: "ambiguous", failure: { message, httpStatus: failure.httpStatus } },
            httpStatus: failure.httpStatus,
          };
    }
    const outcome = classifyAnswer(result.answer, (body) => spec.parse(body), secrets, Date.now(), {
      definedErrorStatuses: dialect.definedErrorStatuses,
      linksOrder: spec === dialect.add,
    });
    if (
      idempotencyKey !== undefined &&
      outcome.kind === "rejected" &&
      (result.answer.status === 409 || /idempotency/i.test(outcome.failure.upstreamError ?? ""))
    ) {
      // The upstream still processes the first request with this key (409), or refused the key
      // itself (used with other parameters): it may hold an order under it.
      return { outcome: { kind: "ambiguous", failure: outcome.failure }, httpStatus: result.answer.status };
    }
    return { outcome, httpStatus: result.answer.status };
  }

  async function attemptOnce<I, T>(
    spec: ActionSpec<I, T>,
    form: Record<string, string>,
    priority: CallPriority,
    deadline: number,
    minSend: number,
    beforeSend: () => void,
    idempotencyKey: string | undefined,
  ): Promise<Attempt<T>> {
    const admission: Admission = circuit.admit();
    if (!admission.allowed) {
      return { outcome: notSent("circuit_open", REFUSAL_MESSAGES.circuit_open, admission.retryAfterMs), queuedMs: 0 };
    }
    const queued = await queue.run(
      (slot) => send(spec, form, deadline, minSend, admission, beforeSend, idempotencyKey, slot),
      {
        priority,
        startBy: deadline - minSend,
      },
    );
    if (!queued.ran) {
      circuit.record(admission, "neutral");
      const reason: NotSentReason = queued.reason === "closed" ? "queue_full" : queued.reason;
      return {
        outcome: notSent(reason, REFUSAL_MESSAGES[queued.reason], queued.retryAfterMs),
        queuedMs: queued.waitedMs,
      };
    }
    circuit.record(admission, healthOf(queued.value.outcome));
    return { ...queued.value, queuedMs: queued.waitedMs };
  }

  /**
   * One call: up to `maxAttempts` attempts within `budgetMs` (default the provider's
   * timeoutMs; timeoutMs + minCreateSendMs for {@link CREATING_ACTIONS}), each queued anew. Resolves to one outcome; rejects only if the caller's own
   * `onSend` throws (then nothing is sent).
   */
  async function execute<I, T>(
    action: UpstreamAction,
    spec: ActionSpec<I, T>,
    input: I,
    callOptions: CallOptions = {},
  ): Promise<CallOutcome<T>> {
    const priority = callOptions.priority ?? DEFAULT_PRIORITY[action];
    const minSend = minSendFor(action);
    const defaultBudget = CREATING_ACTIONS.has(action) ? config.timeoutMs + minCreateSendMs : config.timeoutMs;
    const deadline = Date.now() + (callOptions.budgetMs ?? defaultBudget);
    const form = { ...spec.form(input), key: config.key };
    let sent = false;
    const beforeSend = () => {
      if (sent) return;
      sent = true;
      callOptions.onSend?.();
    };
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const { outcome, httpStatus, queuedMs } = await attemptOnce(
        spec,
        form,
        priority,
        deadline,
        minSend,
        beforeSend,
        callOptions.idempotencyKey,
      );
      let delay = 0;
      let willRetry = false;
      if (isRetryable(outcome) && attempt < maxAttempts) {
        delay = backoffMs(attempt, outcome, options.retry);
        willRetry = Date.now() + delay + minSend <= deadline;
      }
      emit({
        type: "call",
        provider: config.id,
        action,
        outcome: outcome.kind,
        ...(outcome.kind === "not_sent" ? { reason: outcome.reason } : {}),
        attempt,
        willRetry,
        priority,
        queuedMs,
        durationMs: Math.round(performance.now() - started),
        ...(httpStatus === undefined ? {} : { httpStatus }),
        ...(outcome.kind !== "ok" && outcome.failure.outOfFunds ? { outOfFunds: true as const } : {}),
        ...(outcome.kind === "rejected" && outcome.failure.upstreamError !== undefined
          ? { upstreamError: outcome.failure.upstreamError }
          : {}),
      });
      if (!willRetry) return outcome;
      await sleep(delay);
    }
  }

  const withCurrency = (outcome: CallOutcome<{ balance: string; currency: string | null }>) =>
    outcome.kind === "ok"
      ? {
          kind: "ok" as const,
          value: { balance: outcome.value.balance, currency: outcome.value.currency ?? config.currency ?? "" },
        }
      : outcome;

  let closing: Promise<void> | undefined;

  return {
    id: config.id,
    services: (o) => execute("services", dialect.services, undefined, o),
    add: (request, o) => execute("add", dialect.add, request, o),
    status(order, o) {
      checkId(order, "order");
      return execute("status", dialect.status, order, o);
    },
    multiStatus(orders, o) {
      const ids = checkIds(orders, "order");
      if (ids.length === 0) return Promise.resolve({ kind: "ok", value: new Map() });
      return execute("multiStatus", dialect.multiStatus, ids, o);
    },
    refill(order, o) {
      checkId(order, "order");
      return execute("refill", dialect.refill, order, o);
    },
    multiRefill(orders, o) {
      const ids = checkIds(orders, "order");
      if (ids.length === 0) return Promise.resolve({ kind: "ok", value: new Map() });
      return execute("multiRefill", dialect.multiRefill, ids, o);
    },
    refillStatus(refill, o) {
      checkId(refill, "refill");
      return execute("refillStatus", dialect.refillStatus, refill, o);
    },
    multiRefillStatus(refills, o) {
      const ids = checkIds(refills, "refill");
      if (ids.length === 0) return Promise.resolve({ kind: "ok", value: new Map() });
      return execute("multiRefillStatus", dialect.multiRefillStatus, ids, o);
    },
    cancel(orders, o) {
      const ids = checkIds(orders, "order");
      if (ids.length === 0) return Promise.resolve({ kind: "ok", value: new Map() });
      return execute("cancel", dialect.cancel, ids, o);
    },
    balance: async (o) => withCurrency(await execute("balance", dialect.balance, undefined, o)),
    stats() {
      const state = circuit.state;
      const base = { queued: queue.queued, inFlight: queue.inFlight, circuit: state };
      if (state !== "open") return base;
      const openUntil = circuit.openUntil;
      return {
        ...base,
        retryAfterMs: circuit.retryAfterMs,
        ...(openUntil === undefined ? {} : { openUntil: new Date(openUntil).toISOString() }),
      };
    },
    close(timeoutMs = 5000) {
      closing ??= (async () => {
        await queue.close(timeoutMs);
        if (!ownsDispatcher) return;
        if (queue.inFlight > 0) await dispatcher.destroy();
        else await dispatcher.close();
      })();
      return closing;
    },
  };
}
