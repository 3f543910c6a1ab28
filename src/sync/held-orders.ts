/**
 * Automatic resolution of held orders (issue #11) for providers with `idempotencyKeys` (an
 * upstream that honours `Idempotency-Key`, as another smm-proxy does).
 *
 * Each status sync tick re-asks every held order of such a provider once: `unknown`, no
 * upstream id yet, its `add` sent with a key (`upstream_idempotency_key`), created less than
 * {@link REASK_WINDOW_MS} ago (the upstream keeps a key's answer for 24 h). The same `add` is
 * sent with the same key, so the upstream answers its first order instead of placing another:
 * - an order id (`ok`) → linked: `submitted` with that id; status sync takes it over;
 * - `ambiguous` with an order id in the answer → the id is stored, the order stays held and
 *   status sync follows it;
 * - a refusal the upstream gives only once it looked the key up and found no order for it
 *   ({@link refusalProvesNoOrder}: HTTP 400/402/404/502 `{"error"}`, not about the key itself
 *   nor a path it does not serve) → Canceled and refunded in full, visible to the customer with
 *   a webhook (as the operator's `orders resolve --refund`);
 * - anything else (409 "still processing", a timeout, our own back-pressure, and any refusal
 *   that can come before the key is looked up: 401 key, 429 or an error answered with HTTP
 *   200 by an upstream with HTTP errors off) → kept held, asked again next tick: such a refusal
 *   does not prove the upstream holds no order, and the order is never refunded on it.
 * Without the option nothing is ever resent.
 */
import type Sqlite from "better-sqlite3";
import type { Logger } from "../observability/logger.js";
import { DUPLICATE_UPSTREAM_ID_FLAG, isUniqueViolation } from "../orders/place-order.js";
import type { AddParams } from "../panel/service-types.js";
import type { AppContext } from "../runtime/context.js";
import type { ProviderClient, UpstreamFailure } from "../upstream/types.js";
import { forEachBounded } from "./pool.js";
import { providerConcurrency } from "./providers.js";
import { resolveUnknownOrder } from "./resolve.js";

/** How long after its creation a held order is re-asked, ms (the upstream's key lifetime). */
export const REASK_WINDOW_MS = 24 * 60 * 60 * 1000;

/** What the re-asks of one tick did. */
export interface HeldReaskResult {
  /** Held orders re-asked. */
  asked: number;
  /** Linked to the upstream's order id (now submitted, or held and followed by status sync). */
  linked: number;
  /** Refused by the upstream: canceled and refunded. */
  refunded: number;
}

interface HeldRow {
  id: number;
  upstream_service: string;
  params: string;
  upstream_idempotency_key: string;
}

interface HeldStatements {
  held: Sqlite.Statement<[string, number], HeldRow>;
  link: Sqlite.Statement<[string, number, number]>;
  follow: Sqlite.Statement<[string, string, number, number]>;
  note: Sqlite.Statement<[string, number, number]>;
}

const cache = new WeakMap<Sqlite.Database, HeldStatements>();

function statements(db: Sqlite.Database): HeldStatements {
  let s = cache.get(db);
  if (s === undefined) {
    s = {
      held: db.prepare(
        `SELECT id, upstream_service, params, upstream_idempotency_key FROM orders
         WHERE provider_id = ? AND submission = 'unknown' AND upstream_order_id IS NULL
           AND upstream_idempotency_key IS NOT NULL AND created_at > ?
         ORDER BY id`,
      ),
      link: db.prepare(
        `UPDATE orders SET submission = 'submitted', upstream_order_id = ?, flag = NULL, last_error = NULL,
                miss_count = 0, synced_at = NULL, updated_at = ?
         WHERE id = ? AND submission = 'unknown' AND upstream_order_id IS NULL`,
      ),
      follow: db.prepare(
        `UPDATE orders SET upstream_order_id = ?, last_error = ?, updated_at = ?
         WHERE id = ? AND submission = 'unknown' AND upstream_order_id IS NULL`,
      ),
      note: db.prepare("UPDATE orders SET last_error = ?, updated_at = ? WHERE id = ? AND submission = 'unknown'"),
    };
    cache.set(db, s);
  }
  return s;
}

/**
 * Statuses another smm-proxy answers an `add` with only after its `Idempotency-Key` lookup found
 * no order for the key (seed 003 table: 400 bad parameters, 402 funds, 404 unknown service, 502
 * its upstream refused). 401 (our key), 409, 413, 429 and errors answered with HTTP 200 can come
 * before the lookup, while it holds the first order.
 */
const REFUSED_AFTER_KEY_LOOKUP: ReadonlySet<number> = new Set([400, 402, 404, 502]);

/**
 * Whether a re-ask's refusal proves the upstream holds no order for the key (see the module
 * doc): a status from {@link REFUSED_AFTER_KEY_LOOKUP} whose error is not about the key itself
 * (used with other parameters, malformed) nor the 404 of a path it does not serve.
 */
export function refusalProvesNoOrder(failure: UpstreamFailure): boolean {
  if (failure.httpStatus === undefined || !REFUSED_AFTER_KEY_LOOKUP.has(failure.httpStatus)) return false;
  const error = failure.upstreamError ?? "";
  if (/idempotency/i.test(error)) return false;
  return !(failure.httpStatus === 404 && /^\s*not found\s*$/i.test(error));
}

/** Flag of an order the upstream answered for after it stopped being held (refunded or rerouted meanwhile). */
export const ANSWERED_AFTER_SETTLED_FLAG = "upstream holds an order settled meanwhile";

/**
 * Stores an upstream id on a held order; a duplicate id flags it instead, and so does an order
 * settled meanwhile (the operator refunded or rerouted it while the re-ask was out: the upstream
 * holds an order we no longer follow). @returns whether linked.
 */
function store(
  ctx: AppContext,
  write: () => Sqlite.RunResult,
  orderId: number,
  upstreamOrderId: string,
  log: Logger,
): boolean {
  try {
    if (write().changes > 0) return true;
    const row = ctx.db.$client
      .prepare<[number], { upstream_order_id: string | null }>("SELECT upstream_order_id FROM orders WHERE id = ?")
      .get(orderId);
    if (row === undefined || row.upstream_order_id === upstreamOrderId) return false;
    ctx.db.$client
      .prepare("UPDATE orders SET flag = ?, last_error = ?, updated_at = ? WHERE id = ?")
      .run(
        ANSWERED_AFTER_SETTLED_FLAG,
        `upstream answered with its order ${upstreamOrderId} after the order stopped being held`,
        ctx.now(),
        orderId,
      );
    log.error({ orderId, upstreamOrderId }, "held order re-ask answered after the order was settled; flagged");
    return false;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const s = ctx.db.$client.prepare("UPDATE orders SET flag = ?, last_error = ?, updated_at = ? WHERE id = ?");
    s.run(
      DUPLICATE_UPSTREAM_ID_FLAG,
      `upstream order id ${upstreamOrderId} is already recorded on another order`,
      ctx.now(),
      orderId,
    );
    return false;
  }
}

/**
 * Re-asks the held orders of `providerId` once (see the module doc). Does nothing unless the
 * provider's config has `idempotencyKeys`. Never throws for an upstream failure.
 */
export async function reaskHeldOrders(
  ctx: AppContext,
  providerId: string,
  client: ProviderClient,
): Promise<HeldReaskResult> {
  const result: HeldReaskResult = { asked: 0, linked: 0, refunded: 0 };
  const provider = ctx.config.providers.find((p) => p.id === providerId);
  if (!provider?.idempotencyKeys) return result;
  const s = statements(ctx.db.$client);
  const held = s.held.all(providerId, ctx.now() - REASK_WINDOW_MS);
  const log = ctx.logger.child({ providerId, job: "held-orders" });
  await forEachBounded(held, providerConcurrency(ctx, providerId), async (order) => {
    result.asked++;
    try {
      await reaskOne(ctx, client, s, order, result, log);
    } catch (error) {
      log.error({ err: error, orderId: order.id }, "held order re-ask could not be recorded; asked again next tick");
    }
  });
  return result;
}

async function reaskOne(
  ctx: AppContext,
  client: ProviderClient,
  s: HeldStatements,
  order: HeldRow,
  result: HeldReaskResult,
  log: Logger,
): Promise<void> {
  const params = JSON.parse(order.params) as AddParams;
  const outcome = await client.add(
    { service: order.upstream_service, ...params },
    { priority: "sync", idempotencyKey: order.upstream_idempotency_key },
  );
  const now = ctx.now();
  switch (outcome.kind) {
    case "ok": {
      const id = outcome.value.order;
      if (store(ctx, () => s.link.run(id, now, order.id), order.id, id, log)) {
        result.linked++;
        log.info({ orderId: order.id, upstreamOrderId: id }, "held order linked by its idempotency key");
      }
      return;
    }
    case "rejected": {
      if (!refusalProvesNoOrder(outcome.failure)) {
        s.note.run(`re-asked, refused before its key was looked up: ${outcome.failure.message}`, now, order.id);
        log.warn({ orderId: order.id, failure: outcome.failure }, "held order re-ask refused; kept held");
        return;
      }
      resolveUnknownOrder(ctx, order.id, {
        refund: true,
        reason: `upstream refused the order when re-asked: ${outcome.failure.message}`,
      });
      result.refunded++;
      log.info({ orderId: order.id, failure: outcome.failure }, "held order refused upstream; canceled and refunded");
      return;
    }
    case "ambiguous": {
      const id = outcome.failure.upstreamOrderId;
      if (
        id !== undefined &&
        store(ctx, () => s.follow.run(id, outcome.failure.message, now, order.id), order.id, id, log)
      ) {
        result.linked++;
        return;
      }
      s.note.run(`re-asked: ${outcome.failure.message}`, now, order.id);
      return;
    }
    default:
      s.note.run(`re-asked: ${outcome.failure.message}`, now, order.id);
  }
}
