/**
 * The customer-facing HTTP surface: API v2 at `/api/v2` (and `/api/v2/`, never a redirect),
 * `GET /healthz`, `GET /readyz`, `GET /metrics` (bearer token), the operator dashboard at `/admin`
 * (`admin/app.tsx`, only with an admin token), JSON 404s. One log line and
 * one metrics observation per API request, after the answer (issue #7). Data flows one way: HTTP → fields → key check → action
 * (a verb in `orders/`) → answer; every failure goes through `onError` and `toErrorAnswer`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import { rateLimiter } from "hono-rate-limiter";
import { createAdminApp } from "../admin/app.js";
import { customerByApiKey, type KeyHolder } from "../customers/key-cache.js";
import { readiness, storeWritable } from "../observability/health.js";
import { createMetrics, type Metrics } from "../observability/metrics.js";
import { accountSuspended, badRequest, DomainError, invalidKey } from "../orders/errors.js";
import type { AppContext } from "../runtime/context.js";
import type { ProviderStats } from "../upstream/types.js";
import { ACTIONS, resolveAction } from "./actions/index.js";
import { bodyWithinLimit } from "./body.js";
import { clientIp } from "./client-ip.js";
import { statusFor, toErrorAnswer } from "./errors.js";
import { chooseCoding, PrecompressedJson } from "./precompressed.js";
import { PresetAnswer } from "./preset-answer.js";
import { type Fields, readFields } from "./request-fields.js";
import { requestHeader, requestIdMiddleware } from "./request-headers.js";

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
  /** `ADMIN_TOKEN`: mounts the operator dashboard at `/admin`; unset = `/admin/*` answers 404. */
  adminToken?: string;
  /** Webhook URLs on private addresses allowed (`WEBHOOK_ALLOW_PRIVATE`), for the dashboard's webhook form. */
  webhookAllowPrivate?: boolean;
  /** Server-wide default for HTTP error codes (`HTTP_ERRORS`, default true); a customer's own setting wins. */
  httpErrors?: boolean;
  /** False while the server is still starting (recovery, first catalogue sync): API answers 503. Default: ready. */
  ready?: () => boolean;
}

type Vars = { fields: Fields; customer: KeyHolder; requestId: string };
type HonoEnv = { Variables: Vars };

const MB = 1024 * 1024;
/** The API's own paths: `/api/v2` and `/api/v2/`. */
const API_PATH = /^\/api\/v2\/?$/;

/** Metrics label of a request's action: a known action, `unknown`, or `none` (fields never read). */
function actionLabel(fields: Fields | undefined): string {
  if (fields === undefined) return "none";
  const name = resolveAction(fields);
  return name !== undefined && Object.hasOwn(ACTIONS, name) ? name : "unknown";
}

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

/**
 * A precompressed answer (`services`): the form `Accept-Encoding` asks for, with its strong
 * ETag and `Vary: Accept-Encoding`; 304 without a body when `If-None-Match` names the current
 * bytes, for GET and for POST alike (the panel API reads with POST; a client sending the
 * header asks for exactly this).
 */
function precompressedAnswer(c: Context<HonoEnv>, answer: PrecompressedJson): Response {
  const form = answer.form(chooseCoding(requestHeader(c, "accept-encoding")));
  const headers: Record<string, string> = {
    ETag: form.etag,
    Vary: "Accept-Encoding",
    "Cache-Control": "private, no-cache",
  };
  if (answer.notModified(requestHeader(c, "if-none-match"))) return c.body(null, 304, headers);
  headers["Content-Type"] = "application/json";
  if (form.coding !== "identity") headers["Content-Encoding"] = form.coding;
  return c.body(form.bytes, 200, headers);
}

/** Builds the Hono app over a context. The server (`runtime/start.ts`) or a test serves it. */
export function createApp(ctx: AppContext, options: ApiOptions): Hono<HonoEnv> {
  // strict: false → `/api/v2` and `/api/v2/` are the same route (never a redirect).
  const app = new Hono<HonoEnv>({ strict: false });
  const maxBytes = options.maxBodyBytes ?? MB;
  const serverHttpErrors = options.httpErrors ?? true;

  const metrics = options.metrics ?? createMetrics({ db: ctx.db, providerStats: options.providerStats, now: ctx.now });
  // Placement reports routing figures to these metrics unless the context already reports elsewhere.
  ctx.routing ??= metrics.routing;

  app.use(requestIdMiddleware());
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

  // The request line is built here from fixed fields only (never a request field but the
  // bounded action label), so it skips the wildcard redaction that costs ~4× a plain line.
  const accessLog = ctx.logger.child({}, { redact: { paths: ["key", "apiKey"], censor: "[redacted]" } });

  const api = new Hono<HonoEnv>({ strict: false });
  const isReady = options.ready;
  // One middleware, not three (issue #14: each Hono middleware is a promise and a closure call per
  // request): only `/api/v2` and `/api/v2/` are the API, any longer path is a JSON 404 (never a key
  // check, no log line); then one log line and one metrics observation per request, after the
  // answer (errors included); a server still starting answers 503 (logged like any answer).
  api.use(async (c, next) => {
    if (!API_PATH.test(c.req.path)) return c.json({ error: "Not found" }, 404);
    const started = performance.now();
    let early: Response | undefined;
    try {
      if (isReady !== undefined && !isReady()) {
        early = errorResponse(
          new DomainError("upstream_unavailable", "Service is starting, try again later", {}, 1),
          c,
        );
        return early;
      }
      await next();
    } finally {
      const durationMs = performance.now() - started;
      const action = actionLabel(c.get("fields") as Fields | undefined);
      const status = early === undefined ? c.res.status : early.status;
      metrics.observeRequest(action, status, durationMs);
      const customer = c.get("customer") as KeyHolder | undefined;
      accessLog.info(
        {
          requestId: c.get("requestId"),
          action,
          customerId: customer?.id ?? null,
          status,
          durationMs: Math.round(durationMs * 10) / 10,
        },
        "request",
      );
    }
  });
  api.use(
    bodyWithinLimit(maxBytes, () => {
      throw new DomainError("payload_too_large", `Request body too large (limit ${maxBytes} bytes)`);
    }),
  );
  if (options.rateLimitIpPerMin > 0) {
    api.use(limiter(options.rateLimitIpPerMin, (c) => `ip:${clientIp(c, options.trustProxy)}`));
  }
  api.use(async (c, next) => {
    const fields = await readFields(c);
    c.set("fields", fields);
    const key = fields.key;
    const customer = key ? customerByApiKey(ctx.db, key) : undefined;
    if (!customer) throw invalidKey();
    c.set("customer", customer);
    if (customer.suspendedAt !== null) throw accountSuspended();
    await next();
  });
  if (options.rateLimitKeyPerMin > 0) {
    api.use(limiter(options.rateLimitKeyPerMin, (c) => `customer:${c.get("customer").id}`));
  }
  const dispatch = async (c: Context<HonoEnv>) => {
    const fields = c.get("fields");
    const name = resolveAction(fields);
    const handler = name === undefined ? undefined : Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
    if (!handler) throw badRequest();
    const answer = await handler({
      ctx,
      customer: c.get("customer"),
      fields,
      header: (h) => requestHeader(c, h),
    });
    if (answer instanceof PrecompressedJson) return precompressedAnswer(c, answer);
    if (answer instanceof PresetAnswer) {
      return c.json(answer.body as object, statusFor(c.get("customer"), answer.statusCode, serverHttpErrors));
    }
    return c.json(answer as object);
  };
  api.on(["GET", "POST"], "/", dispatch);

  app.route("/api/v2", api);
  if (options.adminToken !== undefined && options.adminToken !== "") {
    app.route(
      "/admin",
      createAdminApp(ctx, {
        token: options.adminToken,
        trustProxy: options.trustProxy,
        ...(options.providerStats ? { providerStats: options.providerStats } : {}),
        webhookAllowPrivate: options.webhookAllowPrivate === true,
      }),
    );
  }

  app.notFound((c) => c.json({ error: "Not found" }, 404));
  app.onError(errorResponse);
  return app;
}
