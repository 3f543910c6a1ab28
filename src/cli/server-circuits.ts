/**
 * The running server's circuit per provider, as the CLI sees it. Circuit breakers live in the
 * server's memory (`upstream/circuit.ts`), and the CLI is its own process, so it asks the server
 * that shares its environment: `GET http://127.0.0.1:$PORT/readyz` (no token needed; the body
 * carries each provider's circuit and, while open, `openUntil`), with a short timeout. It never
 * throws: when no server answers, the result says why the state is unknown in one line.
 *
 * Only loopback is asked: HOST 0.0.0.0 / :: / a loopback address is reached on it; any other
 * HOST is not asked. PORT=0 (any free port) cannot be found.
 */
import { request } from "node:http";
import { z } from "zod";
import type { Env } from "../config/env.js";

/** How long the CLI waits for the server's answer, ms. */
export const SERVER_TIMEOUT_MS = 1500;
/** Largest `/readyz` body read, bytes. */
const MAX_BODY_BYTES = 1024 * 1024;

export type CircuitStateName = "closed" | "open" | "half_open";

/** A provider's circuit as the server reported it. */
export interface ServerCircuit {
  state: CircuitStateName;
  /** While open: when a probe may go, epoch ms (server clock); null otherwise. */
  openUntil: number | null;
}

export type ServerCircuits =
  | { known: true; port: number; circuits: ReadonlyMap<string, ServerCircuit> }
  | { known: false; reason: string };

/** JSON of a provider's circuit in `services list` / `providers list` (null there: unknown). */
export interface CircuitJson {
  state: CircuitStateName;
  /** While open: when a probe may go, ISO 8601 UTC; null otherwise. */
  openUntil: string | null;
}

const readyzSchema = z.object({
  providers: z.record(
    z.string(),
    z.object({
      circuit: z.enum(["closed", "open", "half_open"]),
      retryAfterMs: z.number().nonnegative().optional(),
      openUntil: z.iso.datetime().optional(),
    }),
  ),
});

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

/** The loopback address to ask for a server bound to `host`, or undefined when it is not on loopback. */
function loopbackFor(host: string): string | undefined {
  const h = host.trim().replace(/^\[|\]$/g, "");
  if (h === "0.0.0.0" || h === "::" || h === "") return "127.0.0.1";
  if (LOOPBACK.test(h)) return h.toLowerCase() === "localhost" ? "127.0.0.1" : h;
  return undefined;
}

type Answer = { status: number; body: string } | { error: string };

/** One GET of `/readyz`, ended after `timeoutMs` in all (connect, headers and body). */
function get(host: string, port: number, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })), timeoutMs);
    const done = (answer: Answer) => {
      clearTimeout(timer);
      resolve(answer);
    };
    const failed = (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message });
    const req = request({ host, port, path: "/readyz", method: "GET", agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error("answer too large"));
        else chunks.push(chunk);
      });
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", failed);
      res.on("close", () => {
        if (!res.complete) done({ error: "answer cut short" });
      });
    });
    req.on("error", failed);
    req.end();
  });
}

/**
 * Asks the server on this environment's PORT for its circuits.
 * @param now the CLI's clock, epoch ms: only for an older server that sends `retryAfterMs` without `openUntil`.
 */
export async function askServerCircuits(
  env: Pick<Env, "PORT" | "HOST">,
  options: { timeoutMs?: number; now?: () => number } = {},
): Promise<ServerCircuits> {
  const port = env.PORT;
  if (port === 0) {
    return {
      known: false,
      reason: "circuit state unknown: PORT is 0 (the server takes any free port), so the CLI cannot find it",
    };
  }
  const host = loopbackFor(env.HOST);
  if (host === undefined) {
    return {
      known: false,
      reason: `circuit state unknown: the server listens on HOST=${env.HOST}, and the CLI asks only loopback`,
    };
  }
  const timeoutMs = options.timeoutMs ?? SERVER_TIMEOUT_MS;
  const where = `http://${host.includes(":") ? `[${host}]` : host}:${port}/readyz`;
  const answer = await get(host, port, timeoutMs);
  if ("error" in answer) {
    if (answer.error === "ECONNREFUSED") {
      return { known: false, reason: `circuit state unknown: no server is running on port ${port} (asked ${where})` };
    }
    if (answer.error === "TIMEOUT") {
      return {
        known: false,
        reason: `circuit state unknown: the server on port ${port} did not answer ${where} within ${timeoutMs} ms`,
      };
    }
    return { known: false, reason: `circuit state unknown: cannot ask ${where} (${answer.error})` };
  }
  let parsed: z.infer<typeof readyzSchema> | undefined;
  if (answer.status === 200 || answer.status === 503) {
    try {
      const result = readyzSchema.safeParse(JSON.parse(answer.body));
      if (result.success) parsed = result.data;
    } catch {
      // not JSON: not an smm-proxy /readyz
    }
  }
  if (parsed === undefined) {
    return {
      known: false,
      reason: `circuit state unknown: what answers on port ${port} is not an smm-proxy server (${where}: HTTP ${answer.status})`,
    };
  }
  const now = options.now ?? Date.now;
  const circuits = new Map<string, ServerCircuit>();
  for (const [id, p] of Object.entries(parsed.providers)) {
    let openUntil: number | null = null;
    if (p.circuit === "open") {
      if (p.openUntil !== undefined) openUntil = Date.parse(p.openUntil);
      else if (p.retryAfterMs !== undefined) openUntil = now() + p.retryAfterMs;
    }
    // A time no Date can show (a broken answer) reads as plain "open", never as a thrown listing.
    if (openUntil !== null && !Number.isFinite(new Date(openUntil).getTime())) openUntil = null;
    circuits.set(id, { state: p.circuit, openUntil });
  }
  return { known: true, port, circuits };
}

/** `HH:MM:SS UTC` of an epoch ms. */
function clockTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/**
 * The operator's cell for provider `providerId`: `closed`, `open until 07:42:13 UTC`,
 * `half-open`; `unknown` when no server answered; `not on server` when the server answered
 * without this provider (its providers file differs: reload it).
 */
export function circuitText(server: ServerCircuits, providerId: string): string {
  if (!server.known) return "unknown";
  const c = server.circuits.get(providerId);
  if (c === undefined) return "not on server";
  if (c.state === "half_open") return "half-open";
  if (c.state === "open") return c.openUntil === null ? "open" : `open until ${clockTime(c.openUntil)}`;
  return "closed";
}

/** JSON of provider `providerId`'s circuit; null when unknown (no server, or the server lacks it). */
export function circuitJson(server: ServerCircuits, providerId: string): CircuitJson | null {
  if (!server.known) return null;
  const c = server.circuits.get(providerId);
  if (c === undefined) return null;
  return { state: c.state, openUntil: c.openUntil === null ? null : new Date(c.openUntil).toISOString() };
}

/**
 * The line printed under a listing: why the circuits are unknown, or which listed providers the
 * answering server does not have; undefined when every listed provider's circuit is known.
 */
export function circuitNote(server: ServerCircuits, providerIds: Iterable<string>): string | undefined {
  if (!server.known) return server.reason;
  const missing = [...new Set(providerIds)].filter((id) => !server.circuits.has(id)).sort();
  if (missing.length === 0) return undefined;
  return `circuit state unknown for ${missing.join(", ")}: the server on port ${server.port} has no such provider (its providers file differs; reload it)`;
}
