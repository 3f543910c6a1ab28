/**
 * The webhook outbox (seed `003_*` webhooks, issue #5): a change of an order's status,
 * remains or start count is recorded as a `webhook_deliveries` row IN THE SAME TRANSACTION
 * as the change, so a committed change always has its notification and a rolled-back one
 * never does. The delivery worker sends pending rows later (at least once).
 *
 * Payload (compact JSON text, numbers as JSON numbers, seed `003_*`):
 * `{"order_id":1487,"status":"Completed","remains":0,"start_count":8421,"charge":4.5}`
 * where `charge` is the order's charge net of refunds, written as an exact decimal token.
 */
import type Sqlite from "better-sqlite3";
import { formatAmount, type Minor } from "../billing/money.js";
import type { Order } from "../db/schema.js";
import type { AppContext } from "../runtime/context.js";

/** The order fields a webhook payload is built from (values after the change). */
export type WebhookOrder = Pick<
  Order,
  "id" | "customerId" | "status" | "submission" | "remains" | "startCount" | "quantity" | "charge" | "refunded"
>;

interface OutboxStatements {
  webhookUrl: Sqlite.Statement<[number], { webhook_url: string | null }>;
  insert: Sqlite.Statement<[number, number, string, string, number, number]>;
}

const cache = new WeakMap<Sqlite.Database, OutboxStatements>();

function statements(db: Sqlite.Database): OutboxStatements {
  let s = cache.get(db);
  if (s === undefined) {
    s = {
      webhookUrl: db.prepare("SELECT webhook_url FROM customers WHERE id = ?"),
      insert: db.prepare(
        `INSERT INTO webhook_deliveries (customer_id, order_id, url, payload, state, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`,
      ),
    };
    cache.set(db, s);
  }
  return s;
}

/**
 * Minor units as an exact JSON number token: `formatAmount` with trailing zeros (and a bare
 * point) trimmed, e.g. 450000 → `4.5`, 400000 → `4`, 0 → `0`, 27819 → `0.27819`. No float.
 */
export function amountJsonToken(minor: Minor): string {
  const text = formatAmount(minor);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/**
 * The payload text for `order` as the customer sees it: an order still `queued`/`unknown`
 * shows `Pending`, missing remains show the quantity, a missing start count shows 0.
 */
export function orderWebhookPayload(order: WebhookOrder): string {
  const status = order.submission === "unknown" || order.submission === "queued" ? "Pending" : order.status;
  const remains = order.remains ?? order.quantity;
  const startCount = order.startCount ?? 0;
  return `{"order_id":${order.id},"status":${JSON.stringify(status)},"remains":${remains},"start_count":${startCount},"charge":${amountJsonToken(order.charge - order.refunded)}}`;
}

/**
 * Queues a notification of `order`'s current state to its customer's webhook URL, as a
 * `pending` delivery due at `at` (epoch ms). Call inside the transaction that changed the
 * order. Does nothing when the customer has no webhook URL.
 * @param webhookUrl the customer's current URL when the caller already read it in this
 * transaction (null: none); omitted, it is read now.
 * @returns the new delivery id, or null when the customer has no webhook.
 */
export function enqueueOrderWebhook(
  ctx: Pick<AppContext, "db">,
  order: WebhookOrder,
  at: number,
  webhookUrl?: string | null,
): number | null {
  const s = statements(ctx.db.$client);
  const url = webhookUrl === undefined ? (s.webhookUrl.get(order.customerId)?.webhook_url ?? null) : webhookUrl;
  if (url === null || url === "") return null;
  const info = s.insert.run(order.customerId, order.id, url, orderWebhookPayload(order), at, at);
  return Number(info.lastInsertRowid);
}

/**
 * `customer_id` (and `order_id`) of the operator's own deliveries: alerts to
 * `ALERT_WEBHOOK_URL` (`src/alerts/`). They share the outbox, its retries and its in-order
 * rule (alerts go out one after another), and are signed with the alert secret.
 */
export const OPERATOR_CHANNEL = 0;

/**
 * Queues `payload` (JSON text) for the operator's alert URL `url`, due at `at` (epoch ms).
 * @returns the new delivery id.
 */
export function enqueueOperatorEvent(ctx: Pick<AppContext, "db">, url: string, payload: string, at: number): number {
  const info = statements(ctx.db.$client).insert.run(OPERATOR_CHANNEL, OPERATOR_CHANNEL, url, payload, at, at);
  return Number(info.lastInsertRowid);
}
