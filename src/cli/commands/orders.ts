/**
 * `orders ...`: list, show, resolve (issue #7), reroute (issue #12). `list`/`show` read the
 * store (`show` lists every upstream attempt); `resolve` settles an order whose upstream
 * placement is `unknown`, either by linking the upstream order id the operator found on the
 * panel or by refunding it; `reroute` places a failed (or confirmed-absent unknown) order again
 * on another route, charged once. Amounts print as 5-decimal strings.
 */
import { type Command, Option } from "commander";
import { eq } from "drizzle-orm";
import { formatAmount } from "../../billing/money.js";
import type { Db } from "../../db/client.js";
import {
  customers,
  type LedgerEntry,
  type Order,
  type OrderAttempt,
  type Refill,
  SUBMISSION_STATES,
  type SubmissionState,
} from "../../db/schema.js";
import { type KeyStateKind, type OrderKeyState, orderKeyState, quotedKey } from "../../orders/key-state.js";
import { getOrderDetail, listOrders } from "../../orders/operator-orders.js";
import { type RouteChoice, rerouteOrder } from "../../orders/reroute.js";
import { ORDER_STATUSES } from "../../panel/statuses.js";
import { type ResolveAction, resolveHeldOrder } from "../../sync/resolve.js";
import { SETTLE_STATUSES, type SettleStatus, settleOrder } from "../../sync/settle.js";
import { withAppContext } from "../app-context.js";
import type { CliContext } from "../context.js";
import { CliUsageError } from "../errors.js";
import { isoTime, type LedgerJson, ledgerJson } from "../output.js";
import { parseCount, parseId } from "../parsers.js";

const JSON_FLAG = ["--json", "print machine-readable JSON"] as const;

/** JSON shape of an order in `orders list` (and the head of `orders show`). */
export interface OrderJson {
  id: number;
  customerId: number;
  serviceId: number;
  providerId: string;
  upstreamService: string;
  upstreamOrderId: string | null;
  quantity: number;
  charge: string;
  refunded: string;
  status: string;
  submission: SubmissionState;
  flag: string | null;
  createdAt: string | null;
}

export interface RefillJson {
  id: number;
  upstreamRefillId: string | null;
  status: string;
  rawStatus: string | null;
  lastError: string | null;
  missCount: number;
  flag: string | null;
  syncedAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

/** JSON of `orders show`. */
export interface OrderDetailJson extends OrderJson {
  params: Record<string, unknown>;
  /** Sell rate used at placement, per 1000. */
  rate: string;
  exchangeRate: string;
  /** Upstream charge in our currency as last synced, or null. */
  cost: string | null;
  startCount: number | null;
  remains: number | null;
  rawStatus: string | null;
  lastError: string | null;
  missCount: number;
  submitStartedAt: string | null;
  /** While a re-ask of the held order is out: when its claim ends (resolve, reroute and settle refuse it until then). */
  reaskLeaseUntil: string | null;
  syncedAt: string | null;
  updatedAt: string | null;
  /** The customer's `Idempotency-Key` of the add that placed it, and who holds it now. */
  idempotency: IdempotencyJson;
  ledger: LedgerJson[];
  refills: RefillJson[];
  attempts: AttemptJson[];
}

/** The order's customer `Idempotency-Key` in `orders show` (see `orders/key-state.ts`). */
export interface IdempotencyJson {
  /** none, unknown, bound, expired, rebound, reused, in_progress or released. */
  state: KeyStateKind;
  /** The key exactly as the customer sent it; null when none or unknown. */
  key: string | null;
  /** The order a repeat with the key answers now (this one when bound, another when rebound/reused); else null. */
  orderId: number | null;
  /** bound/expired: when a repeat stops answering this order, ISO 8601; else null. */
  until: string | null;
  /** What it means and, where something is to do, what. */
  meaning: string;
}

function idempotencyJson(k: OrderKeyState): IdempotencyJson {
  return { state: k.kind, key: k.key, orderId: k.orderId, until: isoTime(k.until), meaning: k.meaning };
}

/** An upstream `add` attempt in `orders show`. */
export interface AttemptJson {
  /** The service's route index (0 = reference). */
  route: number;
  providerId: string;
  upstreamService: string;
  /** `add` (a placement's send to the route) or `reask` (a held order's add sent again with its Idempotency-Key). */
  kind: string;
  /** `sending` (in flight), `ok`, `rejected`, `not_sent`, `rate_limited` or `ambiguous`. */
  outcome: string;
  error: string | null;
  sentAt: string | null;
  finishedAt: string | null;
}

function attemptJson(a: OrderAttempt): AttemptJson {
  return {
    route: a.routeIndex,
    providerId: a.providerId,
    upstreamService: a.upstreamService,
    kind: a.kind,
    outcome: a.outcome,
    error: a.error,
    sentAt: isoTime(a.sentAt),
    finishedAt: isoTime(a.finishedAt),
  };
}

export function orderJson(o: Order): OrderJson {
  return {
    id: o.id,
    customerId: o.customerId,
    serviceId: o.serviceId,
    providerId: o.providerId,
    upstreamService: o.upstreamService,
    upstreamOrderId: o.upstreamOrderId,
    quantity: o.quantity,
    charge: formatAmount(o.charge),
    refunded: formatAmount(o.refunded),
    status: o.status,
    submission: o.submission,
    flag: o.flag,
    createdAt: isoTime(o.createdAt),
  };
}

function parseParams(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : { value };
  } catch {
    return { raw: text };
  }
}

function refillJson(r: Refill): RefillJson {
  return {
    id: r.id,
    upstreamRefillId: r.upstreamRefillId,
    status: r.status,
    rawStatus: r.rawStatus,
    lastError: r.lastError,
    missCount: r.missCount,
    flag: r.flag,
    syncedAt: isoTime(r.syncedAt),
    createdAt: isoTime(r.createdAt),
    updatedAt: isoTime(r.updatedAt),
  };
}

function orderDetailJson(
  order: Order,
  keyState: OrderKeyState,
  ledger: LedgerEntry[],
  refills: Refill[],
  attempts: OrderAttempt[],
): OrderDetailJson {
  return {
    ...orderJson(order),
    params: parseParams(order.params),
    rate: formatAmount(order.rate),
    exchangeRate: order.exchangeRate,
    cost: order.cost === null ? null : formatAmount(order.cost),
    startCount: order.startCount,
    remains: order.remains,
    rawStatus: order.rawStatus,
    lastError: order.lastError,
    missCount: order.missCount,
    submitStartedAt: isoTime(order.submitStartedAt),
    reaskLeaseUntil: isoTime(order.reaskLeaseUntil),
    syncedAt: isoTime(order.syncedAt),
    updatedAt: isoTime(order.updatedAt),
    idempotency: idempotencyJson(keyState),
    ledger: ledger.map(ledgerJson),
    refills: refills.map(refillJson),
    attempts: attempts.map(attemptJson),
  };
}

/** The key as `orders show` prints it (see `orders/key-state.ts`; the dashboard shows it the same). */
export { quotedKey };

/**
 * The `orders show` lines of the order's Idempotency-Key: the key quoted ({@link quotedKey}),
 * then what holds it; one line when the add carried none.
 */
function idempotencyLines(k: IdempotencyJson): Array<readonly [string, string]> {
  if (k.state === "none") return [["idempotency key", `none (${k.meaning})`]];
  return [
    ["idempotency key", k.key === null ? k.state : quotedKey(k.key)],
    ["key state", k.meaning],
  ];
}

/** JSON of `orders settle`: the order after the change, what this settle refunded, the customer's balance. */
export interface SettleJson extends OrderJson {
  /** Units not delivered, as settled. */
  remains: number;
  refundedNow: string;
  balance: string;
}

function customerBalance(db: Db, customerId: number): number {
  return (
    db.select({ balance: customers.balance }).from(customers).where(eq(customers.id, customerId)).get()?.balance ?? 0
  );
}

/** JSON of `orders resolve`: the order after the change, what this run refunded, the customer's balance. */
export interface ResolveJson extends OrderJson {
  action: "linked" | "refunded";
  /** Amount refunded by this resolve (0.00000 when linked). */
  refundedNow: string;
  /** The customer's balance after the resolve. */
  balance: string;
}

interface ListOptions {
  customer?: number;
  provider?: string;
  status?: string;
  state?: SubmissionState;
  flagged?: boolean;
  link?: string;
  limit: number;
  json?: boolean;
}

export function registerOrderCommands(program: Command, ctx: CliContext): void {
  const group = program
    .command("orders")
    .description("inspect orders, resolve orders held as unknown, settle open orders");

  group
    .command("list")
    .description("list orders, newest first")
    .option("--customer <id>", "only this customer's orders", parseId)
    .option("--provider <id>", "only orders sent to this provider")
    .addOption(new Option("--status <status>", "only orders with this status").choices(ORDER_STATUSES))
    .addOption(new Option("--state <state>", "only orders in this submission state").choices(SUBMISSION_STATES))
    .option("--flagged", "only orders flagged for the operator")
    .option("--link <text>", "only orders whose link contains TEXT (case-insensitive)")
    .option("--limit <n>", "orders to show", parseCount, 50)
    .option(...JSON_FLAG)
    .action((opts: ListOptions) => {
      const rows = listOrders(ctx.db(), {
        ...(opts.customer === undefined ? {} : { customerId: opts.customer }),
        ...(opts.provider === undefined ? {} : { providerId: opts.provider }),
        ...(opts.status === undefined ? {} : { status: opts.status }),
        ...(opts.state === undefined ? {} : { submission: opts.state }),
        flagged: opts.flagged === true,
        ...(opts.link === undefined ? {} : { link: opts.link }),
        limit: opts.limit,
      });
      if (opts.json) {
        ctx.out.json(rows.map(orderJson));
        return;
      }
      ctx.out.table(rows.map(orderJson), [
        { header: "ID", value: (o) => o.id, align: "right" },
        { header: "CUSTOMER", value: (o) => o.customerId, align: "right" },
        { header: "SERVICE", value: (o) => o.serviceId, align: "right" },
        { header: "PROVIDER", value: (o) => o.providerId },
        { header: "UPSTREAM ID", value: (o) => o.upstreamOrderId },
        { header: "QTY", value: (o) => o.quantity, align: "right" },
        { header: "CHARGE", value: (o) => o.charge, align: "right" },
        { header: "REFUNDED", value: (o) => o.refunded, align: "right" },
        { header: "STATUS", value: (o) => o.status },
        { header: "STATE", value: (o) => o.submission },
        { header: "FLAG", value: (o) => o.flag },
        { header: "CREATED", value: (o) => o.createdAt },
      ]);
    });

  group
    .command("show")
    .description("show an order: parameters, upstream state and errors, ledger rows, refills")
    .argument("<id>", "order id", parseId)
    .option(...JSON_FLAG)
    .action((id: number, opts: { json?: boolean }) => {
      const db = ctx.db();
      const detail = getOrderDetail(db, id);
      const keyState = orderKeyState(db, detail.order, Date.now());
      const o = orderDetailJson(detail.order, keyState, detail.ledger, detail.refills, detail.attempts);
      if (opts.json) {
        ctx.out.json(o);
        return;
      }
      ctx.out.keyValues([
        ["id", o.id],
        ["customer", o.customerId],
        ["service", `${o.serviceId} (${o.providerId} service ${o.upstreamService})`],
        ["upstream order", o.upstreamOrderId],
        ["quantity", o.quantity],
        ["rate", `${o.rate}/1000`],
        ["charge", o.charge],
        ["refunded", o.refunded],
        ["cost", o.cost],
        ["status", o.status],
        ["submission", o.submission],
        ["start count", o.startCount],
        ["remains", o.remains],
        ["raw status", o.rawStatus],
        ["last error", o.lastError],
        ["miss count", o.missCount],
        ["flag", o.flag],
        ...(o.reaskLeaseUntil === null ? [] : ([["re-ask in flight until", o.reaskLeaseUntil]] as const)),
        ...idempotencyLines(o.idempotency),
        ["created", o.createdAt],
        ["synced", o.syncedAt],
      ]);
      ctx.out.line();
      ctx.out.line("Parameters:");
      ctx.out.keyValues(Object.entries(o.params).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
      ctx.out.line();
      ctx.out.line("Ledger rows:");
      ctx.out.table(o.ledger, [
        { header: "ID", value: (e) => e.id, align: "right" },
        { header: "TIME", value: (e) => e.createdAt },
        { header: "KIND", value: (e) => e.kind },
        { header: "AMOUNT", value: (e) => e.amount, align: "right" },
        { header: "BALANCE", value: (e) => e.balanceAfter, align: "right" },
        { header: "NOTE", value: (e) => e.note },
      ]);
      ctx.out.line();
      ctx.out.line("Upstream attempts:");
      ctx.out.table(o.attempts, [
        { header: "ROUTE", value: (a) => a.route, align: "right" },
        { header: "PROVIDER", value: (a) => a.providerId },
        { header: "UPSTREAM", value: (a) => a.upstreamService, align: "right" },
        { header: "KIND", value: (a) => a.kind },
        { header: "OUTCOME", value: (a) => a.outcome },
        { header: "ERROR", value: (a) => a.error },
        { header: "SENT", value: (a) => a.sentAt },
      ]);
      ctx.out.line();
      ctx.out.line("Refills:");
      ctx.out.table(o.refills, [
        { header: "ID", value: (r) => r.id, align: "right" },
        { header: "UPSTREAM ID", value: (r) => r.upstreamRefillId },
        { header: "STATUS", value: (r) => r.status },
        { header: "RAW", value: (r) => r.rawStatus },
        { header: "ERROR", value: (r) => r.lastError },
        { header: "FLAG", value: (r) => r.flag },
        { header: "CREATED", value: (r) => r.createdAt },
      ]);
    });

  group
    .command("resolve")
    .description(
      "settle an order held as unknown: link the upstream order id found on the panel, or cancel and refund it",
    )
    .argument("<id>", "order id", parseId)
    .option("--upstream-order <id>", "the provider's order id: the order becomes submitted and sync takes it over")
    .option("--refund", "set the order Canceled and refund what is not yet refunded of its charge")
    .option(...JSON_FLAG)
    .action(async (id: number, opts: { upstreamOrder?: string; refund?: boolean; json?: boolean }) => {
      if (opts.upstreamOrder !== undefined && opts.refund) {
        throw new CliUsageError("give either --upstream-order or --refund, not both");
      }
      if (opts.upstreamOrder === undefined && !opts.refund) {
        throw new CliUsageError("give --upstream-order ID or --refund");
      }
      const action: ResolveAction =
        opts.upstreamOrder !== undefined ? { upstreamOrder: opts.upstreamOrder } : { refund: true };
      const result = await withAppContext(ctx, async ({ ctx: app }): Promise<ResolveJson> => {
        const outcome = await resolveHeldOrder(app, id, action);
        return {
          ...orderJson(outcome.order),
          action: outcome.action,
          refundedNow: formatAmount(outcome.refundedNow),
          balance: formatAmount(outcome.balance),
        };
      });
      if (opts.json) {
        ctx.out.json(result);
        return;
      }
      ctx.out.line(
        result.action === "linked"
          ? `order ${id}: linked to upstream order ${result.upstreamOrderId ?? "-"}; status sync takes it over`
          : `order ${id}: ${result.status}, refunded ${result.refundedNow}; customer ${result.customerId} balance ${result.balance}`,
      );
    });

  group
    .command("settle")
    .description(
      "give the final status of any open order (lost upstream, held unknown, stuck): refunds what the status calls for, notifies the customer, stops its sync",
    )
    .argument("<id>", "order id", parseId)
    .addOption(new Option("--status <status>", "final status").choices(SETTLE_STATUSES).makeOptionMandatory())
    .option("--remains <n>", "units not delivered (Partial only)", parseCount)
    .option(...JSON_FLAG)
    .action((id: number, opts: { status: SettleStatus; remains?: number; json?: boolean }) => {
      const db = ctx.db();
      const settled = settleOrder({ db, now: () => Date.now() }, id, {
        status: opts.status,
        ...(opts.remains === undefined ? {} : { remains: opts.remains }),
      });
      const result: SettleJson = {
        ...orderJson(settled.order),
        remains: settled.order.remains ?? settled.order.quantity,
        refundedNow: formatAmount(settled.refundedNow),
        balance: formatAmount(customerBalance(db, settled.order.customerId)),
      };
      if (opts.json) {
        ctx.out.json(result);
        return;
      }
      ctx.out.line(
        `order ${id}: ${result.status} (remains ${result.remains}), refunded ${result.refundedNow}; customer ${result.customerId} balance ${result.balance}`,
      );
    });

  group
    .command("reroute")
    .description(
      "place a failed order (or an unknown one confirmed absent upstream) again on another route of its service, charged once",
    )
    .argument("<id>", "order id", parseId)
    .option("--route <n>", "the service's route index (0 = the reference route)", parseCount)
    .option("--provider <id>", "the service's first route on this provider")
    .option("--not-on-upstream", "for an unknown order: you checked its upstream panel and the order is not there")
    .option(
      "--key-checked",
      "for a failed order from before orders remembered their Idempotency-Key: you checked that no later order of its customer repeats it",
    )
    .option(...JSON_FLAG)
    .action(
      async (
        id: number,
        opts: { route?: number; provider?: string; notOnUpstream?: boolean; keyChecked?: boolean; json?: boolean },
      ) => {
        if ((opts.route === undefined) === (opts.provider === undefined)) {
          throw new CliUsageError("give either --route N or --provider ID");
        }
        const choice: RouteChoice =
          opts.route !== undefined ? { route: opts.route } : { provider: opts.provider ?? "" };
        const result = await withAppContext(ctx, async ({ ctx: app }) => {
          const r = await rerouteOrder(app, id, choice, {
            confirmedAbsent: opts.notOnUpstream === true,
            keyChecked: opts.keyChecked === true,
          });
          const json: RerouteJson = {
            ...orderJson(r.order),
            route: r.route.routeIndex,
            chargedNow: formatAmount(r.chargedNow),
            placed: r.error === undefined,
            error: r.error?.message ?? null,
          };
          return json;
        });
        if (opts.json) {
          ctx.out.json(result);
          return;
        }
        const where = `route ${result.route} (${result.providerId} service ${result.upstreamService})`;
        ctx.out.line(
          result.placed
            ? `order ${id}: placed on ${where}, upstream order ${result.upstreamOrderId ?? "-"}; charged now ${result.chargedNow}`
            : `order ${id}: not placed on ${where}: ${result.submission}, ${result.error ?? ""}; refunded ${result.refunded}`,
        );
      },
    );
}

/** JSON of `orders reroute`: the order after the attempt. */
export interface RerouteJson extends OrderJson {
  route: number;
  /** Charged by this reroute (0.00000 when the held charge was reused). */
  chargedNow: string;
  /** Whether the route took the order. */
  placed: boolean;
  /** The placement's answer when not placed. */
  error: string | null;
}
