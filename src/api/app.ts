/**
 * The customer-facing HTTP surface: API v2 at `/api/v2` (and `/api/v2/`, never a redirect;
 * one handler, `v2-handler.ts`), `GET /healthz`, `GET /readyz`, `GET /metrics` (bearer token),
 * the operator dashboard at `/admin` (`admin/app.tsx`, only with an admin token), JSON 404s.
 * Data flows one way: HTTP → fields → key check → action (a verb in `orders/`) → answer;
 * every failure goes through the error table (`errors.ts`).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import { rateLimiter } from "hono-rate-limiter";
import { createAdminApp } from "../admin/app.js";
import type { ActiveAlert } from "../alerts/alerter.js";
import type { KeyHolder } from "../customers/key-cache.js";
import { readiness, storeWritable } from "../observability/health.js";
import { createMetrics, type Metrics } from "../observability/metrics.js";
import { DomainError } from "../orders/errors.js";
import type { AppContext } from "../runtime/context.js";
import type { ProviderStats } from "../upstream/types.js";
import { clientIp } from "./client-ip.js";
import { statusFor, toErrorAnswer } from "./errors.js";
import { requestHeader, requestIdMiddleware, requestIdOf } from "./request-headers.js";
import { type ApiEnv, createApiHandler } from "./v2-handler.js";

export interface ApiOptions {
  /** Requests per minute per client IP; 0 = off (seed `003_*`: 1000). */
  rateLimitIpPerMin: number;
  /** Requests per minute per API key; 0 = off. */
  rateLimitKeyPerMin: number;
  /**
   * Trusted reverse proxies in front of the server (`TRUST_PROXY`): the client IP is the N-th
   * `X-Forwarded-For` address from the right; 0 or false = the socket's address. true = 1.
   */
  trustProxy: number | boolean;
  /** Largest accepted body, bytes (default 1 MB). */
  maxBodyBytes?: number;
  /** This app's metrics (shared with the provider registry's listener); default: a fresh per-app set. */
  metrics?: Metrics;
  /** Bearer token for `GET /metrics` (`METRICS_TOKEN`); unset = `/metrics` answers 404. */
  metricsToken?: string;
  /** Queue and circuit figures per provider (the registry's `stats`), for `/readyz` and `/metrics`. */
  providerStats?: () => Record<string, ProviderStats>;
  /** The alerter's conditions raised now (`Alerts.current()`), shown on the dashboard's Overview. */
  activeAlerts?: () => ActiveAlert[];
  /** `ADMIN_TOKEN`: mounts the operator dashboard at `/admin`; unset = `/admin/*` answers 404. */
  adminToken?: string;
  /** Webhook URLs on private addresses allowed (`WEBHOOK_ALLOW_PRIVATE`), for the dashboard's webhook form. */
  webhookAllowPrivate?: boolean;
  /** Server-wide default for HTTP error codes (`HTTP_ERRORS`, default true); a customer's own setting wins. */
  httpErrors?: boolean;
  /** False while the server is still starting (recovery, first catalogue sync): API answers 503. Default: ready. */
  ready?: () => boolean;
}

type HonoEnv = ApiEnv;

const MB = 1024 * 1024;
const sha256 = (text: string) => createHash("sha256").update(text).digest();

/** Constant-time check of an `Authorization: Bearer <token>` header. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match?.[1]) return false;
  return timingSafeEqual(sha256(match[1]), sha256(token));
}

function limiter(limitPerMin: number, keyOf: (c: Context<HonoEnv>) => string) {
  return rateLimiter<HonoEnv>({
    windowMs: 60_000,
    limit: limitPerMin,
    standardHeaders: "draft-6",
    keyGenerator: keyOf,
    handler: (c) => {
      const retryAfter = Number(c.res.headers.get("Retry-After") ?? requestHeader(c, "retry-after") ?? "60");
      throw new DomainError("rate_limited", "Too many requests", {}, Number.isFinite(retryAfter) ? retryAfter : 60);
    },
  });
}

/** Builds the Hono app over a context. The server (`runtime/start.ts`) or a test serves it. */
export function createApp(ctx: AppContext, options: ApiOptions): Hono<HonoEnv> {
  // strict: false → `/api/v2` and `/api/v2/` are the same route (never a redirect).
  const app = new Hono<HonoEnv>({ strict: false });
  const serverHttpErrors = options.httpErrors ?? true;

  const metrics = options.metrics ?? createMetrics({ db: ctx.db, providerStats: options.providerStats, now: ctx.now });
  // Placement reports routing figures to these metrics unless the context already reports elsewhere.
  ctx.routing ??= metrics.routing;

  // The request id on every route beside the API (whose handler sets its own, with no middleware before it).
  for (const path of ["/healthz", "/readyz", "/metrics", "/admin", "/admin/*"]) app.use(path, requestIdMiddleware());
  app.get("/healthz", (c) => {
    c.header("Cache-Control", "no-store");
    if (!storeWritable(ctx.db)) return c.json({ status: "error", error: "store not writable" }, 503);
    return c.json({ status: "ok" });
  });
  app.get("/readyz", (c) => {
    c.header("Cache-Control", "no-store");
    const state = readiness(ctx.db, ctx.config, options.providerStats, options.ready?.() ?? true);
    return c.json(
      { status: state.ready ? "ready" : "not ready", checks: state.checks, providers: state.providers },
      state.ready ? 200 : 503,
    );
  });
  app.get("/metrics", async (c) => {
    const token = options.metricsToken;
    if (token === undefined || token === "") return c.json({ error: "Not found" }, 404);
    c.header("Cache-Control", "no-store");
    if (!bearerMatches(c.req.header("authorization"), token)) {
      c.header("WWW-Authenticate", 'Bearer realm="metrics"');
      return c.json({ error: "Unauthorized" }, 401);
    }
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { "Content-Type": contentType });
  });

  /** Any thrown value as the answer of the error table (`errors.ts`); unexpected ones logged with the request id. */
  const errorResponse = (error: unknown, c: Context<HonoEnv>): Response => {
    const answer = toErrorAnswer(error);
    if (answer.unexpected) {
      ctx.logger.error({ err: error, requestId: c.get("requestId") }, "unexpected error answering a request");
    }
    if (answer.retryAfter !== undefined) c.header("Retry-After", String(answer.retryAfter));
    return c.json(answer.body, statusFor(c.get("customer") as KeyHolder | undefined, answer.status, serverHttpErrors));
  };

  // The request line is built from fixed fields only (never a request field but the bounded
  // action label), so it skips the wildcard redaction that costs ~4× a plain line.
  const accessLog = ctx.logger.child({}, { redact: { paths: ["key", "apiKey"], censor: "[redacted]" } });
  const apiHandler = createApiHandler(ctx, {
    maxBodyBytes: options.maxBodyBytes ?? MB,
    httpErrors: serverHttpErrors,
    ready: options.ready,
    ipLimiter:
      options.rateLimitIpPerMin > 0
        ? limiter(options.rateLimitIpPerMin, (c) => `ip:${clientIp(c, options.trustProxy)}`)
        : undefined,
    keyLimiter:
      options.rateLimitKeyPerMin > 0
        ? limiter(options.rateLimitKeyPerMin, (c) => `customer:${c.get("customer").id}`)
        : undefined,
    metrics,
    accessLog,
    logger: ctx.logger,
  });
  // `/api/v2` and `/api/v2/` (strict: false); any longer path is the JSON 404 below, with no key check.
  app.on(["GET", "POST"], "/api/v2", apiHandler);
  if (options.adminToken !== undefined && options.adminToken !== "") {
    app.route(
      "/admin",
      createAdminApp(ctx, {
        token: options.adminToken,
        trustProxy: options.trustProxy,
        ...(options.providerStats ? { providerStats: options.providerStats } : {}),
        ...(options.activeAlerts ? { activeAlerts: options.activeAlerts } : {}),
        webhookAllowPrivate: options.webhookAllowPrivate === true,
      }),
    );
  }

  app.notFound((c) => c.json({ error: "Not found" }, 404, { "X-Request-Id": c.get("requestId") ?? requestIdOf(c) }));
  app.onError(errorResponse);
  return app;
}
