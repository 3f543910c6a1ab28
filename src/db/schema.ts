/**
 * The store: drizzle schema for SQLite (better-sqlite3). camelCase keys over snake_case
 * columns; every timestamp is integer epoch milliseconds; every amount is an integer of
 * minor units (1/100000 of the currency, see `billing/money.ts`); upstream decimals that
 * must stay exact (upstream rates, exchange rates) are TEXT decimal strings.
 *
 * Migrations are generated from this file by `npm run db:generate` into `migrations/`.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const timestamps = {
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
};

/** Answer styles a customer can be given (`customers.api_style`). */
export const API_STYLES = ["panel", "perfectpanel"] as const;
export type ApiStyle = (typeof API_STYLES)[number];

/** A reseller's customer: balance in minor units of `currency`. */
export const customers = sqliteTable("customers", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull(),
  currency: text("currency").notNull(),
  balance: integer("balance").notNull().default(0),
  /** When false, API errors are answered with HTTP 200 (clients that throw on non-2xx). Applies only when `httpErrorsSet`. */
  httpErrors: integer("http_errors", { mode: "boolean" }).notNull().default(true),
  /**
   * True when the customer's own `httpErrors` applies; false: the server's `HTTP_ERRORS`
   * default (issue #11). Migration 0003 sets it for customers created with HTTP errors off.
   */
  httpErrorsSet: integer("http_errors_set", { mode: "boolean" }).notNull().default(false),
  /**
   * Answer style of the one answer that differs between the panels: `cancel`. `panel` (seed
   * 003, the default) or `perfectpanel` (seed 000: `{"order": 2, "cancel": 1}`).
   */
  apiStyle: text("api_style").$type<ApiStyle>().notNull().default("panel"),
  webhookUrl: text("webhook_url"),
  /** HMAC secret for webhook signatures (seed 003 webhooks; issue #5). */
  webhookSecret: text("webhook_secret"),
  /** Set while the operator has suspended the account: its keys answer 403 (issue #15). */
  suspendedAt: integer("suspended_at"),
  ...timestamps,
});

/** Customer API keys: only the SHA-256 hash (hex) is stored; `prefix` helps operators tell keys apart. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    customerId: integer("customer_id")
      .notNull()
      .references(() => customers.id),
    keyHash: text("key_hash").notNull(),
    prefix: text("prefix").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_key_hash_idx").on(t.keyHash), index("api_keys_customer_idx").on(t.customerId)],
);

/** Runtime state of each configured provider (the config file owns its settings). */
export const providers = sqliteTable("providers", {
  id: text("id").primaryKey(),
  dialect: text("dialect").notNull(),
  currency: text("currency").notNull(),
  /** Last `balance` answer, a decimal string in the provider's currency. */
  balance: text("balance"),
  balanceCheckedAt: integer("balance_checked_at"),
  catalogueSyncedAt: integer("catalogue_synced_at"),
  lastError: text("last_error"),
  ...timestamps,
});

/** The upstream catalogue cache, as the provider's `services` last answered it. */
export const upstreamServices = sqliteTable(
  "upstream_services",
  {
    providerId: text("provider_id").notNull(),
    upstreamService: text("upstream_service").notNull(),
    name: text("name").notNull(),
    type: text("type").notNull(),
    category: text("category").notNull(),
    /** Price per 1000 in the provider's currency, exact decimal string as sent. */
    rate: text("rate").notNull(),
    min: integer("min").notNull(),
    max: integer("max").notNull(),
    refill: integer("refill", { mode: "boolean" }).notNull(),
    cancel: integer("cancel", { mode: "boolean" }).notNull(),
    dripfeed: integer("dripfeed", { mode: "boolean" }).notNull(),
    /** False when the last successful catalogue fetch no longer listed it. */
    present: integer("present", { mode: "boolean" }).notNull().default(true),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.providerId, t.upstreamService] })],
);

/** Local services as sold to customers; ids come from the config file. */
export const services = sqliteTable(
  "services",
  {
    id: integer("id").primaryKey(),
    providerId: text("provider_id").notNull(),
    upstreamService: text("upstream_service").notNull(),
    name: text("name").notNull(),
    type: text("type").notNull(),
    category: text("category").notNull(),
    /** Sell rate, minor units per 1000 (a Package: the price of one package). */
    rate: integer("rate").notNull(),
    /** Upstream rate converted into our currency, exact decimal string per 1000. */
    cost: text("cost").notNull(),
    min: integer("min").notNull(),
    max: integer("max").notNull(),
    refill: integer("refill", { mode: "boolean" }).notNull(),
    cancel: integer("cancel", { mode: "boolean" }).notNull(),
    dripfeed: integer("dripfeed", { mode: "boolean" }).notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull(),
    /** Why a service is disabled (upstream gone, below cost, removed from config). */
    disabledReason: text("disabled_reason"),
    /** Order in which its routes are tried (`priority` | `cheapest`, issue #12). */
    routing: text("routing").$type<"priority" | "cheapest">().notNull().default("priority"),
    /** Index of the import rule that generated it; null for a service listed in the file. */
    importRule: integer("import_rule"),
    ...timestamps,
  },
  (t) => [index("services_provider_idx").on(t.providerId, t.upstreamService)],
);

/**
 * The routes of each local service (issue #12), as last recomputed from the config and the
 * cached catalogues: route 0 is the pricing reference. `usable` is what the catalogue says
 * (listed upstream, same type as the reference, a cost that leaves a margin); placement adds
 * what only the moment knows (circuit, quantity).
 */
export const serviceRoutes = sqliteTable(
  "service_routes",
  {
    serviceId: integer("service_id").notNull(),
    /** Position in the service's `routes` (0 = reference). */
    routeIndex: integer("route_index").notNull(),
    providerId: text("provider_id").notNull(),
    upstreamService: text("upstream_service").notNull(),
    /** Upstream rate in our currency per 1000, exact decimal string; null when not listed upstream. */
    cost: text("cost"),
    type: text("type"),
    min: integer("min"),
    max: integer("max"),
    refill: integer("refill", { mode: "boolean" }).notNull().default(false),
    cancel: integer("cancel", { mode: "boolean" }).notNull().default(false),
    dripfeed: integer("dripfeed", { mode: "boolean" }).notNull().default(false),
    usable: integer("usable", { mode: "boolean" }).notNull(),
    /** Why the catalogue makes it unusable (not listed, other type, no margin). */
    unusableReason: text("unusable_reason"),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.serviceId, t.routeIndex] })],
);

/** Outcome class of an upstream `add` attempt; `sending` while it is in flight (or was, at a crash). */
export const ATTEMPT_OUTCOMES = ["sending", "ok", "rejected", "not_sent", "rate_limited", "ambiguous"] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * What an `add` attempt was: `add`, a placement's send to a route (first send, failover or
 * `orders reroute`); `reask`, a held order's `add` sent again with its `Idempotency-Key`
 * (`sync/held-orders.ts`), which can only answer for the order already sent, never place another.
 */
export const ATTEMPT_KINDS = ["add", "reask"] as const;
export type AttemptKind = (typeof ATTEMPT_KINDS)[number];

/**
 * Submission state of an order towards its upstream:
 * `queued` (charged, not yet confirmed), `submitted` (upstream id known), `unknown` (the
 * upstream may or may not have it: held for the operator), `failed` (never placed; refunded).
 */
export const SUBMISSION_STATES = ["queued", "submitted", "unknown", "failed"] as const;
export type SubmissionState = (typeof SUBMISSION_STATES)[number];

/** A customer's order. `quantity` is the total charged units (drip-feed: quantity × runs). */
export const orders = sqliteTable(
  "orders",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    customerId: integer("customer_id")
      .notNull()
      .references(() => customers.id),
    serviceId: integer("service_id").notNull(),
    providerId: text("provider_id").notNull(),
    upstreamService: text("upstream_service").notNull(),
    upstreamOrderId: text("upstream_order_id"),
    /** The `add` parameters as forwarded (JSON object of strings). */
    params: text("params").notNull(),
    quantity: integer("quantity").notNull(),
    /** Sell rate used at placement, minor units per 1000. */
    rate: integer("rate").notNull(),
    /** Exchange rate (provider currency → ours) used at placement, decimal string. */
    exchangeRate: text("exchange_rate").notNull(),
    charge: integer("charge").notNull(),
    refunded: integer("refunded").notNull().default(0),
    /** Upstream's charge converted into our currency (minor), as last synced. */
    cost: integer("cost"),
    status: text("status").notNull(),
    /** The last upstream status string that matched no canonical status. */
    rawStatus: text("raw_status"),
    startCount: integer("start_count"),
    remains: integer("remains"),
    submission: text("submission").$type<SubmissionState>().notNull(),
    /** Set, durably, just before the upstream `add` is sent (crash recovery, issue #8). */
    submitStartedAt: integer("submit_started_at"),
    /**
     * The `Idempotency-Key` the upstream `add` was sent with (providers with `idempotencyKeys`,
     * issue #11): a held order is re-asked with it by status sync. Null when sent without one.
     */
    upstreamIdempotencyKey: text("upstream_idempotency_key"),
    /**
     * The lease of a held order's re-ask (`sync/held-orders.ts`): set by one conditional write
     * right before the re-ask's request leaves, to the epoch ms until which that re-ask owns the
     * order (its provider's `add` budget plus a margin). While it is in the future `orders
     * resolve`, `orders reroute` and `orders settle` refuse the order; the re-ask's outcome is
     * applied only while the order still carries this value, and clears it. A value in the past
     * (a crash) claims nothing: the next tick or the operator takes the order over.
     */
    reaskLeaseUntil: integer("reask_lease_until"),
    /**
     * The customer's `Idempotency-Key` of the `add` that placed it (null: sent without one),
     * written with its charge, in the transaction that binds the key to it: `orders reroute`
     * refuses a failed order whose key another request claimed since, and re-binds it otherwise.
     */
    idempotencyKey: text("idempotency_key"),
    /** The hash of that request's fields (`hashRequest`), to re-bind the key as the request made it. */
    idempotencyRequestHash: text("idempotency_request_hash"),
    /**
     * True for an order that had failed before orders remembered their key (migration 0011): it
     * may have been sent with a key since released and retried, so `orders reroute` refuses it
     * until the operator checked (`--key-checked`).
     */
    idempotencyKeyUnknown: integer("idempotency_key_unknown", { mode: "boolean" }).notNull().default(false),
    lastError: text("last_error"),
    /** Consecutive sync answers of "Incorrect order ID" for this order. */
    missCount: integer("miss_count").notNull().default(0),
    /** Why the operator should look at this order (null when nothing to see). */
    flag: text("flag"),
    syncedAt: integer("synced_at"),
    ...timestamps,
  },
  (t) => [
    index("orders_customer_idx").on(t.customerId),
    index("orders_sync_idx").on(t.providerId, t.submission, t.status, t.syncedAt),
    index("orders_submission_idx").on(t.submission),
    /** Operator views filter by status or provider, newest first (keyset on id). */
    index("orders_status_idx").on(t.status),
    index("orders_provider_idx").on(t.providerId),
    /** Flagged orders newest first (the dashboard's flagged list): a partial index in id order. */
    index("orders_flagged_idx").on(t.id).where(sql`${t.flag} IS NOT NULL`),
    /** Flagged orders only (few): the alert check reads them every status interval. */
    index("orders_flag_idx").on(t.flag).where(sql`${t.flag} IS NOT NULL`),
    /**
     * A customer's orders sent with one `Idempotency-Key` (`keyBindingOf`: `orders show`, the
     * order page, `orders reroute`): a lookup, not a walk over all of the customer's orders.
     */
    index("orders_idempotency_key_idx").on(t.customerId, t.idempotencyKey).where(sql`${t.idempotencyKey} IS NOT NULL`),
    /** One local order per upstream order: a reused upstream id must never settle two orders. */
    uniqueIndex("orders_upstream_order_idx")
      .on(t.providerId, t.upstreamOrderId)
      .where(sql`${t.upstreamOrderId} IS NOT NULL`),
  ],
);

/**
 * Every upstream `add` attempt of an order (issue #12): written durably right before the
 * request leaves (`sending`), settled with its outcome class. Of its `add` attempts at most one
 * is ever `ok` or `ambiguous`: failover follows only a definite failure. The re-asks of a held
 * order (`kind` `reask`) repeat that one attempt's request with its key, on the same route.
 */
export const orderAttempts = sqliteTable(
  "order_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    orderId: integer("order_id")
      .notNull()
      .references(() => orders.id),
    routeIndex: integer("route_index").notNull(),
    providerId: text("provider_id").notNull(),
    upstreamService: text("upstream_service").notNull(),
    outcome: text("outcome").$type<AttemptOutcome>().notNull(),
    kind: text("kind").$type<AttemptKind>().notNull().default("add"),
    /** Up to 200 characters: the failure's message (keys redacted), or the upstream order id when ok. */
    error: text("error"),
    sentAt: integer("sent_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("order_attempts_order_idx").on(t.orderId, t.id)],
);

/** A refill request on an order. */
export const refills = sqliteTable(
  "refills",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    orderId: integer("order_id")
      .notNull()
      .references(() => orders.id),
    customerId: integer("customer_id")
      .notNull()
      .references(() => customers.id),
    providerId: text("provider_id").notNull(),
    upstreamRefillId: text("upstream_refill_id"),
    status: text("status").notNull(),
    rawStatus: text("raw_status"),
    lastError: text("last_error"),
    missCount: integer("miss_count").notNull().default(0),
    flag: text("flag"),
    syncedAt: integer("synced_at"),
    ...timestamps,
  },
  (t) => [index("refills_customer_idx").on(t.customerId), index("refills_sync_idx").on(t.providerId, t.status)],
);

export const LEDGER_KINDS = ["topup", "adjustment", "charge", "refund"] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** Every balance change, written in the same transaction as the change: balance == sum(amount). */
export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    customerId: integer("customer_id")
      .notNull()
      .references(() => customers.id),
    orderId: integer("order_id").references(() => orders.id),
    kind: text("kind").$type<LedgerKind>().notNull(),
    /** Signed minor units: negative for charges. */
    amount: integer("amount").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    note: text("note"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("ledger_customer_idx").on(t.customerId, t.id), index("ledger_order_idx").on(t.orderId)],
);

/** `Idempotency-Key` answers kept for 24 h (issue #4). */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    customerId: integer("customer_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    statusCode: integer("status_code"),
    body: text("body"),
    /**
     * The order this key placed, written in the transaction of the order's charge (issue #11):
     * once set, the key answers with that order whatever fails afterwards.
     */
    orderId: integer("order_id"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.customerId, t.key] })],
);

/**
 * The server's exclusive hold on the database (issue #11): one row while a server runs, its
 * heartbeat refreshed periodically. A second server refuses to start while the row is fresh.
 */
export const instanceLock = sqliteTable("instance_lock", {
  /** Always 1: one row at most. */
  id: integer("id").primaryKey(),
  /** Random id of the holding process. */
  owner: text("owner").notNull(),
  pid: integer("pid").notNull(),
  hostname: text("hostname").notNull(),
  startedAt: integer("started_at").notNull(),
  heartbeatAt: integer("heartbeat_at").notNull(),
});

/** Webhook outbox: written in the same transaction as the order change (seed 003 webhooks). */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    customerId: integer("customer_id").notNull(),
    orderId: integer("order_id").notNull(),
    url: text("url").notNull(),
    payload: text("payload").notNull(),
    state: text("state").$type<"pending" | "delivered" | "failed">().notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    lastError: text("last_error"),
    deliveredAt: integer("delivered_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("webhook_due_idx").on(t.state, t.nextAttemptAt), index("webhook_order_idx").on(t.orderId, t.id)],
);

/** History of sell rate and cost changes per local service (issue #5). */
export const priceChanges = sqliteTable(
  "price_changes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    serviceId: integer("service_id").notNull(),
    field: text("field").$type<"rate" | "cost">().notNull(),
    oldValue: text("old_value"),
    newValue: text("new_value").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("price_changes_service_idx").on(t.serviceId, t.createdAt)],
);

/**
 * Totals per UTC day (day = floor(epoch ms / 86 400 000)), maintained by SQLite triggers in
 * the same transaction as the row that changes them (migration 0007), so the operator's
 * overview reads at most 30 rows instead of scanning orders:
 * - `orders`: orders created that day;
 * - `charges` / `refunds`: minor units of `charge` / `refund` ledger rows written that day
 *   (positive sums);
 * - `cost`: upstream cost (minor) of the orders created that day, as last synced.
 */
export const dailyTotals = sqliteTable("daily_totals", {
  day: integer("day").primaryKey(),
  orders: integer("orders").notNull().default(0),
  charges: integer("charges").notNull().default(0),
  refunds: integer("refunds").notNull().default(0),
  cost: integer("cost").notNull().default(0),
});

/**
 * Generation counters of in-memory caches, bumped by triggers (migration 0005) whatever
 * process or connection writes: `customers` moves when an API key is added, revoked or
 * deleted, or a customer row changes in anything but its balance (the API key cache,
 * `customers/key-cache.ts`, starts over when it moved).
 */
export const cacheGenerations = sqliteTable("cache_generations", {
  name: text("name").primaryKey(),
  value: integer("value").notNull().default(0),
});

export type Customer = typeof customers.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type ProviderState = typeof providers.$inferSelect;
export type UpstreamServiceRow = typeof upstreamServices.$inferSelect;
export type Service = typeof services.$inferSelect;
export type Order = typeof orders.$inferSelect;
export type NewOrder = typeof orders.$inferInsert;
export type Refill = typeof refills.$inferSelect;
export type LedgerEntry = typeof ledgerEntries.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
export type PriceChange = typeof priceChanges.$inferSelect;
export type DailyTotals = typeof dailyTotals.$inferSelect;
export type ServiceRoute = typeof serviceRoutes.$inferSelect;
export type OrderAttempt = typeof orderAttempts.$inferSelect;
