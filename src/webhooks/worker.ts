/**
 * The webhook delivery worker (seed 003 webhooks; issue #5). Sends the `pending` rows of the
 * `webhook_deliveries` outbox (written by `outbox.ts` in the order-change transaction):
 *
 * - in order per order: a delivery is sent only when no earlier (lower id) delivery of the
 *   same order is still pending; different orders go in parallel (bounded concurrency);
 * - POST of the stored payload byte-for-byte, `Content-Type: application/json`,
 *   `X-Timestamp` (unix seconds), `X-Signature: sha256=<hex>` (see `signature.ts`, keyed with
 *   the customer's current secret), `User-Agent: smm-proxy`; no redirects followed;
 * - to the customer's current webhook URL, checked before each attempt (`url-guard.ts`) and
 *   again at connect time; a customer without a webhook any more, or a blocked address,
 *   fails the delivery permanently;
 * - 2xx → `delivered`; anything else (status, network error, timeout) → retried after
 *   `backoff(attempts)`, until the delivery is `maxAgeMs` old: then `failed` ("webhook give-up").
 *
 * Delivery is at least once: a receiver may see a payload twice (e.g. after a crash mid-send).
 * Time comes from `ctx.now()`, so tests drive backoff and give-up with `tick()`.
 */
import type Sqlite from "better-sqlite3";
import { Agent } from "undici";
import type { AppContext } from "../runtime/context.js";
import { OPERATOR_CHANNEL } from "./outbox.js";
import { signWebhook } from "./signature.js";
import {
  BLOCKED_ADDRESS_CODE,
  checkWebhookTarget,
  createGuardedLookup,
  errorCode,
  type HostLookup,
  systemLookup,
} from "./url-guard.js";

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_POLL_MS = 1_000;
export const DEFAULT_MAX_AGE_MS = 24 * 3_600_000;
export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_BATCH_SIZE = 100;
/** Longest `last_error` stored, characters. */
const MAX_ERROR_LENGTH = 200;

/**
 * Default retry delay after the `attempts`-th failed attempt (1, 2, ...), ms:
 * 10 s × 2^(attempts − 1), capped at 1 h (10 s, 20 s, 40 s, ... 1 h, 1 h, ...).
 */
export function defaultBackoff(attempts: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

export interface WebhookWorkerOptions {
  /** Deliver to loopback/private addresses too (`WEBHOOK_ALLOW_PRIVATE`; tests, demo). */
  allowPrivate?: boolean;
  /** Whole-request deadline per attempt, ms (default 10 000). */
  timeoutMs?: number;
  /** Pause between two polls of the outbox by `start()`, ms (default 1 000). */
  pollMs?: number;
  /** A delivery failing when at least this old (since `created_at`) is given up, ms (default 24 h). */
  maxAgeMs?: number;
  /** Delay before the next attempt after `attempts` failed ones, ms (default {@link defaultBackoff}). */
  backoff?: (attempts: number) => number;
  /** Deliveries sent at the same time (default 8). */
  concurrency?: number;
  /** Deliveries picked per tick at most (default 100). */
  batchSize?: number;
  /** Host resolution used by the URL checks (tests). */
  lookup?: HostLookup;
  /**
   * Signing secret of the operator's alert deliveries (`ALERT_WEBHOOK_SECRET`). Those go to the
   * URL they were queued for, loopback/private allowed (the operator's own relay).
   */
  operatorSecret?: string;
}

/** What one `tick()` did: delivered, permanently failed (given up or refused), rescheduled. */
export interface TickResult {
  sent: number;
  failed: number;
  retried: number;
}

export interface WebhookWorker {
  /** Sends every due delivery that is first in its order's queue; resolves when all were answered. */
  tick(): Promise<TickResult>;
  /** Polls every `pollMs` (at once again after a tick that delivered something) until `stop()`; no-op when started. */
  start(): void;
  /** Stops polling and waits for the sends in flight (shutdown flush). */
  stop(): Promise<void>;
}

interface DueRow {
  id: number;
  customer_id: number;
  order_id: number;
  url: string;
  payload: string;
  attempts: number;
  created_at: number;
  webhook_url: string | null;
  webhook_secret: string | null;
}

interface WorkerStatements {
  due: Sqlite.Statement<[number, number], DueRow>;
  delivered: Sqlite.Statement<[number, string, number]>;
  retry: Sqlite.Statement<[string, number, string, number]>;
  failed: Sqlite.Statement<[string, string, number]>;
}

function prepare(db: Sqlite.Database): WorkerStatements {
  return {
    // Head of each order's queue only; uses webhook_due_idx and webhook_order_idx.
    due: db.prepare(
      `SELECT d.id, d.customer_id, d.order_id, d.url, d.payload, d.attempts, d.created_at,
              c.webhook_url, c.webhook_secret
         FROM webhook_deliveries d LEFT JOIN customers c ON c.id = d.customer_id
        WHERE d.state = 'pending' AND d.next_attempt_at <= ?
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                           WHERE e.order_id = d.order_id AND e.state = 'pending' AND e.id < d.id)
        ORDER BY d.next_attempt_at, d.id
        LIMIT ?`,
    ),
    delivered: db.prepare(
      `UPDATE webhook_deliveries
          SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, url = ?, last_error = NULL
        WHERE id = ? AND state = 'pending'`,
    ),
    retry: db.prepare(
      `UPDATE webhook_deliveries
          SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, url = ?
        WHERE id = ? AND state = 'pending'`,
    ),
    failed: db.prepare(
      `UPDATE webhook_deliveries
          SET state = 'failed', attempts = attempts + 1, last_error = ?, url = ?
        WHERE id = ? AND state = 'pending'`,
    ),
  };
}

type Attempt = { ok: true; url: string } | { ok: false; url: string; permanent: boolean; error: string };

/**
 * Creates the worker over `ctx.db`. Nothing is sent until `tick()` or `start()`.
 * `tick()` may be called while `start()` runs: a delivery in flight is never sent twice.
 */
export function createWebhookWorker(ctx: AppContext, options: WebhookWorkerOptions = {}): WebhookWorker {
  const allowPrivate = options.allowPrivate ?? false;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const backoff = options.backoff ?? defaultBackoff;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const lookup = options.lookup ?? systemLookup;
  const statements = prepare(ctx.db.$client);
  // Connect-time check of the resolved address (DNS rebinding); literal IPs are checked before.
  let agent: Agent | undefined;
  const dispatcher = (): Agent | undefined => {
    if (allowPrivate) return undefined;
    agent ??= new Agent({ connect: { lookup: createGuardedLookup(lookup) } });
    return agent;
  };

  const inFlight = new Set<number>();
  const running = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;
  let started = false;

  /** Where a row goes and with which secret: the customer's current webhook, or the operator's alert URL. */
  function destination(row: DueRow): { url: string; secret: string | null; operator: boolean } {
    if (row.customer_id === OPERATOR_CHANNEL)
      return { url: row.url, secret: options.operatorSecret ?? null, operator: true };
    // The customer's current webhook (the URL may have changed since the row was queued).
    return {
      url: row.webhook_url ?? row.url,
      secret: row.webhook_url === null ? null : row.webhook_secret,
      operator: false,
    };
  }

  async function attempt(row: DueRow): Promise<Attempt> {
    const { url, secret, operator } = destination(row);
    if (secret === null) {
      const error = operator ? "ALERT_WEBHOOK_SECRET is not set" : "customer has no webhook";
      return { ok: false, url, permanent: true, error };
    }
    const target = await checkWebhookTarget(url, { allowPrivate: allowPrivate || operator, lookup });
    if (!target.ok) return { ok: false, url, permanent: target.permanent, error: target.reason };
    const timestamp = Math.floor(ctx.now() / 1000);
    const via = operator ? undefined : dispatcher();
    const init = {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "smm-proxy",
        "X-Timestamp": String(timestamp),
        "X-Signature": signWebhook(secret, timestamp, row.payload),
      },
      body: row.payload,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      // Node's bundled fetch accepts an undici 7 `Agent`; its RequestInit types a different undici copy.
      ...(via ? { dispatcher: via } : {}),
    };
    try {
      const response = await globalThis.fetch(target.url, init as RequestInit);
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { ok: true, url };
      return { ok: false, url, permanent: false, error: `HTTP ${response.status}` };
    } catch (err) {
      const code = errorCode(err);
      if (code === BLOCKED_ADDRESS_CODE) {
        return { ok: false, url, permanent: true, error: innerMessage(err) };
      }
      if (err instanceof Error && (err.name === "TimeoutError" || code === "ABORT_ERR")) {
        return { ok: false, url, permanent: false, error: `timeout after ${timeoutMs} ms` };
      }
      return { ok: false, url, permanent: false, error: shortError(err) };
    }
  }

  /** Sends one delivery and records the outcome; returns which counter it adds to. */
  async function deliver(row: DueRow): Promise<keyof TickResult> {
    const outcome = await attempt(row);
    const now = ctx.now();
    const log = { deliveryId: row.id, orderId: row.order_id, customerId: row.customer_id, attempts: row.attempts + 1 };
    if (outcome.ok) {
      statements.delivered.run(now, outcome.url, row.id);
      ctx.logger.debug(log, "webhook delivered");
      return "sent";
    }
    const error = outcome.error.slice(0, MAX_ERROR_LENGTH);
    if (outcome.permanent) {
      statements.failed.run(error, outcome.url, row.id);
      ctx.logger.warn({ ...log, error }, "webhook refused");
      return "failed";
    }
    if (now - row.created_at >= maxAgeMs) {
      statements.failed.run(error, outcome.url, row.id);
      ctx.logger.warn({ event: "webhook_gave_up", ...log, error, ageMs: now - row.created_at }, "webhook give-up");
      return "failed";
    }
    const delay = Math.max(0, Math.round(backoff(row.attempts + 1)));
    statements.retry.run(error, now + delay, outcome.url, row.id);
    ctx.logger.info({ ...log, error, retryInMs: delay }, "webhook attempt failed");
    return "retried";
  }

  async function tick(): Promise<TickResult> {
    const result: TickResult = { sent: 0, failed: 0, retried: 0 };
    const rows = statements.due
      .all(ctx.now(), batchSize + inFlight.size)
      .filter((row) => !inFlight.has(row.id))
      .slice(0, batchSize);
    for (const row of rows) inFlight.add(row.id);
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let row = rows[next++]; row !== undefined; row = rows[next++]) {
        try {
          result[await deliver(row)]++;
        } catch (err) {
          ctx.logger.error({ deliveryId: row.id, err: shortError(err) }, "webhook delivery error");
        } finally {
          inFlight.delete(row.id);
        }
      }
    };
    const work = Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, lane));
    running.add(work);
    try {
      await work;
    } finally {
      running.delete(work);
    }
    return result;
  }

  function schedule(delayMs: number): void {
    if (!started) return;
    timer = setTimeout(() => {
      timer = undefined;
      tick().then(
        // Again at once when the batch was full or a send unblocked the next delivery of its order.
        (r) => schedule(r.sent > 0 || r.sent + r.failed + r.retried >= batchSize ? 0 : pollMs),
        (err: unknown) => {
          ctx.logger.error({ err: shortError(err) }, "webhook worker tick failed");
          schedule(pollMs);
        },
      );
    }, delayMs);
    timer.unref();
  }

  return {
    tick,
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    async stop() {
      started = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      while (running.size > 0) await Promise.allSettled([...running]);
      const closing = agent;
      agent = undefined;
      await closing?.close().catch(() => undefined);
    },
  };
}

/** The innermost message of an error's `cause` chain (fetch wraps the socket error), URLs masked. */
function innerMessage(err: unknown): string {
  let current = err;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause instanceof Error; depth++) {
    current = current.cause;
  }
  const message = current instanceof Error ? current.message : String(current);
  return message.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, "<url>").slice(0, MAX_ERROR_LENGTH);
}

/** One line naming the error and its code, never a URL, header or body. */
function shortError(err: unknown): string {
  const message = innerMessage(err);
  const code = errorCode(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
