/**
 * The HTTP face of a simulated panel: `POST /api/v2` (and `/api/v2/`), form-urlencoded
 * `key` + `action` (seed `003_*`: "Send every request as application/x-www-form-urlencoded").
 * Leniently also takes query parameters, multipart and JSON bodies.
 *
 * Order of work per request: log → rate limit → latency → injected fault → action.
 */
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context, Hono } from "hono";
import type { SimulatorCore } from "./core.js";
import { type Answer, MESSAGES } from "./dialects.js";
import { HTML_403, HTML_500, HTML_502, HTML_CHALLENGE } from "./faults.js";
import type { FaultSpec, LogEntry } from "./types.js";

type Env = { Bindings: HttpBindings };

/** Every parameter of the request as strings: query first, then the body. */
export async function readParams(request: Request): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  new URL(request.url).searchParams.forEach((value, name) => {
    out[name] = value;
  });
  if (request.method === "GET" || request.method === "HEAD") return out;
  const type = request.headers.get("content-type") ?? "";
  try {
    if (type.includes("application/json")) {
      const json: unknown = await request.json();
      if (json !== null && typeof json === "object") {
        for (const [name, value] of Object.entries(json)) {
          if (["string", "number", "boolean"].includes(typeof value)) out[name] = String(value);
        }
      }
    } else if (type.includes("multipart/form-data")) {
      (await request.formData()).forEach((value, name) => {
        if (typeof value === "string") out[name] = value;
      });
    } else {
      new URLSearchParams(await request.text()).forEach((value, name) => {
        out[name] = value;
      });
    }
  } catch {
    // A body that does not parse carries no parameters; the key check answers.
  }
  return out;
}

function json(entry: LogEntry, answer: Answer): Response {
  entry.status = answer.status;
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: { "content-type": "application/json; charset=utf-8", ...answer.headers },
  });
}

function html(entry: LogEntry, status: number, body: string): Response {
  entry.status = status;
  return new Response(body, { status, headers: { "content-type": "text/html; charset=UTF-8" } });
}

/** Destroys the connection without an answer. */
function destroy(c: Context<Env>): Response {
  c.env.incoming.socket.destroy();
  return RESPONSE_ALREADY_SENT;
}

async function applyFault(
  core: SimulatorCore,
  c: Context<Env>,
  entry: LogEntry,
  params: Record<string, string>,
  fault: FaultSpec,
): Promise<Response> {
  switch (fault.kind) {
    case "hang":
      await core.waitUntilClosed();
      return destroy(c);
    case "reset":
      return destroy(c);
    case "drop_answer":
      core.answer(params);
      return destroy(c);
    case "http500_html":
      return html(entry, 500, HTML_500);
    case "http200_html":
      return html(entry, 200, HTML_CHALLENGE);
    case "http403_html":
      return html(entry, 403, HTML_403);
    case "http502":
      return html(entry, 502, HTML_502);
    case "http429":
      return json(entry, { status: 429, body: { error: MESSAGES.rateLimited }, headers: { "retry-after": "1" } });
    case "error":
      return json(entry, {
        status: fault.httpStatus ?? core.spec.errorStatus("shape"),
        body: { error: fault.message ?? "Simulated error" },
      });
    case "truncated_json": {
      const answer = core.answer(params);
      const text = JSON.stringify(answer.body);
      entry.status = answer.status;
      return new Response(text.slice(0, Math.max(1, Math.floor(text.length / 2))), {
        status: answer.status,
        headers: { "content-type": "application/json; charset=utf-8" },
      });
    }
  }
}

/** Mounts the API v2 endpoint of `core` on `app`. */
export function mountApi(app: Hono<Env>, core: SimulatorCore): void {
  const handler = async (c: Context<Env>): Promise<Response> => {
    const params = await readParams(c.req.raw);
    const action = params.action ?? "";
    const entry: LogEntry = {
      at: Date.now(),
      action,
      params: params.key === undefined ? { ...params } : { ...params, key: "***" },
      status: null,
    };
    core.record(entry);
    const retryAfter = core.rateLimitHit();
    await core.delay(core.latencyMs);
    if (core.closed) return destroy(c);
    if (retryAfter > 0) {
      return json(entry, {
        status: 429,
        body: { error: MESSAGES.rateLimited },
        headers: { "retry-after": String(retryAfter) },
      });
    }
    const fault = core.faults.take(action);
    if (fault !== undefined) {
      entry.fault = fault.kind;
      return applyFault(core, c, entry, params, fault);
    }
    return json(entry, core.answer(params));
  };
  app.all("/api/v2", handler);
  app.all("/api/v2/", handler);
}
