/**
 * Prometheus metrics (issue #7) on a per-app prom-client `Registry` (never the global one, so
 * several apps can live in one process). Request and upstream figures are counted as they
 * happen; queue, circuit and store figures are read at scrape time (`collect`), so the
 * request path does no extra work beyond a counter and a histogram observation.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Db } from "../db/client.js";
import type { RoutingObserver } from "../routing/observer.js";
import type { UpstreamEvent } from "../upstream/events.js";
import type { ProviderStats } from "../upstream/types.js";
import { readStoreFigures } from "./store-figures.js";

/** Minor units per currency unit (see `billing/money.ts`). */
const MINOR_PER_UNIT = 100_000;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CIRCUIT_STATES = ["closed", "half_open", "open"] as const;

export interface MetricsSources {
  db: Db;
  /** Queue and circuit figures per provider (the provider registry's `stats`). */
  providerStats?: () => Record<string, ProviderStats>;
  /** Epoch ms. */
  now?: () => number;
}

export interface Metrics {
  readonly registry: Registry;
  /** Counts one answered API request. `action`: a known action name, `unknown` or `none`. */
  observeRequest(action: string, code: number, durationMs: number): void;
  /** Counts one upstream attempt (call events); circuit events are read from stats at scrape. */
  observeUpstream(event: UpstreamEvent): void;
  /** Routing figures from placement (issue #12): attempts, failovers, orders by route. */
  readonly routing: RoutingObserver;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Builds the metrics of one app over its store and provider registry. */
export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const now = sources.now ?? Date.now;

  const httpRequests = new Counter({
    name: "smm_http_requests_total",
    help: "API requests answered, by action and HTTP status code",
    labelNames: ["action", "code"],
    registers,
  });
  const httpDuration = new Histogram({
    name: "smm_http_request_duration_seconds",
    help: "API request latency, by action",
    labelNames: ["action"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const upstreamCalls = new Counter({
    name: "smm_upstream_calls_total",
    help: "Upstream call attempts, by provider, action and outcome class",
    labelNames: ["provider", "action", "outcome"],
    registers,
  });
  const upstreamDuration = new Histogram({
    name: "smm_upstream_call_duration_seconds",
    help: "Upstream call attempt latency (queue wait included), by provider and action",
    labelNames: ["provider", "action"],
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const addAttempts = new Counter({
    name: "smm_add_attempts_total",
    help: "Order placement attempts (one per route tried), by provider and outcome class",
    labelNames: ["provider", "outcome"],
    registers,
  });
  const failovers = new Counter({
    name: "smm_failovers_total",
    help: "Orders moved on to their next route after a definite failure, by local service",
    labelNames: ["service"],
    registers,
  });
  const ordersByRoute = new Counter({
    name: "smm_orders_placed_total",
    help: "Orders taken upstream, by local service, route index (0 = reference) and provider",
    labelNames: ["service", "route", "provider"],
    registers,
  });
  const routing: RoutingObserver = {
    attempt: (provider, outcome) => addAttempts.inc({ provider, outcome }),
    failover: (service) => failovers.inc({ service: String(service) }),
    placed: (service, route, provider) =>
      ordersByRoute.inc({ service: String(service), route: String(route), provider }),
  };

  const stats = () => sources.providerStats?.() ?? {};
  new Gauge({
    name: "smm_upstream_queue_depth",
    help: "Calls waiting in each provider's queue",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const [provider, s] of Object.entries(stats())) this.set({ provider }, s.queued);
    },
  });
  new Gauge({
    name: "smm_upstream_in_flight",
    help: "Calls running against each provider",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const [provider, s] of Object.entries(stats())) this.set({ provider }, s.inFlight);
    },
  });
  new Gauge({
    name: "smm_upstream_circuit_state",
    help: "Circuit breaker state per provider: 1 for the current state, 0 for the others",
    labelNames: ["provider", "state"],
    registers,
    collect() {
      this.reset();
      for (const [provider, s] of Object.entries(stats())) {
        for (const state of CIRCUIT_STATES) this.set({ provider, state }, s.circuit === state ? 1 : 0);
      }
    },
  });

  // Store figures: one read per scrape, shared by the gauges below.
  let figures: ReturnType<typeof readStoreFigures> | undefined;
  const store = () => {
    figures ??= readStoreFigures(sources.db, now());
    return figures;
  };
  new Gauge({
    name: "smm_orders_open",
    help: "Orders not yet in a final status, by provider and status",
    labelNames: ["provider", "status"],
    registers,
    collect() {
      this.reset();
      for (const o of store().openOrders) this.set({ provider: o.provider, status: o.status }, o.count);
    },
  });
  new Gauge({
    name: "smm_orders_unknown",
    help: "Orders whose upstream placement is unconfirmed (held for the operator), by provider",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const o of store().unknownOrders) this.set({ provider: o.provider }, o.count);
    },
  });
  new Gauge({
    name: "smm_oldest_open_order_age_seconds",
    help: "Age of the oldest order not yet in a final status, by provider (stuck orders)",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const o of store().oldestOpenAgeMs) this.set({ provider: o.provider }, o.ageMs / 1000);
    },
  });
  new Gauge({
    name: "smm_partial_ratio",
    help: "Share of orders finished in the last day that ended Partial, by provider",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const o of store().finishedLastDay) {
        this.set({ provider: o.provider }, o.finished === 0 ? 0 : o.partial / o.finished);
      }
    },
  });
  new Gauge({
    name: "smm_webhook_outbox_backlog",
    help: "Webhook deliveries still pending",
    registers,
    collect() {
      this.set(store().webhookBacklog);
    },
  });
  new Gauge({
    name: "smm_customer_balances_total",
    help: "Sum of customer balances, in our currency (must equal smm_ledger_total)",
    registers,
    collect() {
      this.set(store().balancesTotal / MINOR_PER_UNIT);
    },
  });
  new Gauge({
    name: "smm_ledger_total",
    help: "Sum of all ledger entries, in our currency",
    registers,
    collect() {
      this.set(store().ledgerTotal / MINOR_PER_UNIT);
    },
  });
  new Gauge({
    name: "smm_ledger_mismatch_minor",
    help: "Customer balances total minus ledger total, minor units (1/100000); anything but 0 is a bug",
    registers,
    collect() {
      const f = store();
      this.set(f.balancesTotal - f.ledgerTotal);
    },
  });
  new Gauge({
    name: "smm_upstream_balance",
    help: "Last known balance at each provider, in its currency",
    labelNames: ["provider", "currency"],
    registers,
    collect() {
      this.reset();
      for (const b of store().upstreamBalances) {
        const value = Number(b.balance);
        if (Number.isFinite(value)) this.set({ provider: b.provider, currency: b.currency }, value);
      }
    },
  });

  // Label children cached: `labels()` hashes its arguments on every call.
  const requestChildren = new Map<string, Counter.Internal>();
  const durationChildren = new Map<string, Histogram.Internal<"action">>();

  return {
    registry,
    routing,
    observeRequest(action, code, durationMs) {
      const key = `${action}\u0000${code}`;
      let counter = requestChildren.get(key);
      if (counter === undefined) {
        counter = httpRequests.labels(action, String(code));
        requestChildren.set(key, counter);
      }
      counter.inc();
      let histogram = durationChildren.get(action);
      if (histogram === undefined) {
        histogram = httpDuration.labels(action);
        durationChildren.set(action, histogram);
      }
      histogram.observe(durationMs / 1000);
    },
    observeUpstream(event) {
      if (event.type !== "call") return;
      upstreamCalls.inc({ provider: event.provider, action: event.action, outcome: event.outcome });
      upstreamDuration.observe({ provider: event.provider, action: event.action }, event.durationMs / 1000);
    },
    async render() {
      figures = undefined;
      try {
        return { contentType: registry.contentType, body: await registry.metrics() };
      } finally {
        figures = undefined;
      }
    },
  };
}
