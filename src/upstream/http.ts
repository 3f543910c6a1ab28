/**
 * Sends one form POST to an upstream and classifies transport failures (issue #3,
 * "Failure classification"), over the provider's undici `Agent` (real pooling) with
 * `AbortSignal.timeout` for an exact deadline.
 *
 * The request goes through `Agent.request` (undici's lean API): `fetch` builds a web Request,
 * Response, Headers, AbortSignal chain and body stream per call, about a quarter of the
 * proxy's CPU per `add` in `npm run bench` (issue #14). When the global `fetch` has been
 * replaced since start (msw intercepting upstream HTTP in tests), the call goes through that
 * `fetch`, looked up at call time, so interception keeps working; both paths classify alike.
 */
import { promisify } from "node:util";
import { brotliDecompress, gunzip, inflate } from "node:zlib";
import type { Dispatcher } from "undici";

/** Largest answer body read, bytes (a big catalogue is a few MB). */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface FormPost {
  url: string;
  /** Every field, `key` included. */
  form: Record<string, string>;
  dispatcher: Dispatcher;
  /** Whole-request deadline (connect, send, headers, body), ms. */
  timeoutMs: number;
  maxBodyBytes?: number;
  /** Extra request headers (`idempotency-key`). */
  headers?: Record<string, string>;
}

/** Answer headers, read by name (case-insensitive); a web `Headers` is one. */
export interface AnswerHeaders {
  get(name: string): string | null;
}

/** An HTTP answer whose body was read completely. */
export interface HttpAnswer {
  status: number;
  headers: AnswerHeaders;
  body: string;
}

/** A request that got no complete HTTP answer. */
export interface TransportFailure {
  kind: "not_sent" | "ambiguous";
  /** One line, without the key (no request body is ever echoed). */
  message: string;
  /** The low-level error code (`ECONNREFUSED`, `UND_ERR_SOCKET`, ...), when known. */
  code?: string;
  /** Status of an answer whose body could not be read completely. */
  httpStatus?: number;
}

/**
 * `sentAt`: when the request was handed to `fetch`; `headersAt`: when its status line and
 * headers arrived (absent when none did). Epoch ms (`Date.now()`), for rate pacing.
 */
export type PostResult =
  | { ok: true; answer: HttpAnswer; sentAt: number; headersAt: number }
  | { ok: false; failure: TransportFailure; sentAt: number; headersAt?: number };

/** Codes that prove the request never left: DNS, connect, TLS handshake. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NONAME",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "EPROTO",
]);
const TLS_CODE = /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|HOSTNAME_MISMATCH)/;

/** True when `code` proves the request was never written (connect phase). */
export function isConnectPhaseCode(code: string): boolean {
  return CONNECT_CODES.has(code) || TLS_CODE.test(code);
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function asErrorLike(value: unknown): ErrorLike | undefined {
  return typeof value === "object" && value !== null ? (value as ErrorLike) : undefined;
}

/** Every error code in an error's cause chain (including AggregateError members, e.g. happy eyeballs). */
function codesOf(error: unknown, depth = 0): string[] {
  const e = asErrorLike(error);
  if (e === undefined || depth > 4) return [];
  const codes: string[] = typeof e.code === "string" ? [e.code] : [];
  if (Array.isArray(e.errors)) for (const inner of e.errors) codes.push(...codesOf(inner, depth + 1));
  if (e.cause !== undefined) codes.push(...codesOf(e.cause, depth + 1));
  return codes;
}

function messageOf(error: unknown): string {
  const e = asErrorLike(error);
  const cause = asErrorLike(e?.cause);
  const outer = typeof e?.message === "string" ? e.message : String(error);
  const inner = typeof cause?.message === "string" && cause.message !== "" ? `: ${cause.message}` : "";
  return `${outer}${inner}`.replace(/\s+/g, " ").slice(0, 200);
}

/**
 * Classifies an error thrown by `fetch` (or while reading the body).
 * - Our deadline fired (`timedOut`): ambiguous (the request may have been written).
 * - Every code in the cause chain is a connect-phase code (ECONNREFUSED, ENOTFOUND, EAI_AGAIN,
 *   TLS/certificate, UND_ERR_CONNECT_TIMEOUT) or fetch refused the URL ("bad port"): not_sent.
 * - Anything else (ECONNRESET, UND_ERR_SOCKET "other side closed", unknown): ambiguous.
 */
export function classifyTransportError(error: unknown, timedOut: boolean, timeoutMs: number): TransportFailure {
  if (timedOut) {
    return { kind: "ambiguous", message: `no answer within ${timeoutMs} ms`, code: "TIMEOUT" };
  }
  const codes = codesOf(error);
  const code = codes[0];
  const message = messageOf(error);
  const badPort = /\bbad port\b/i.test(message);
  if ((codes.length > 0 && codes.every(isConnectPhaseCode)) || (codes.length === 0 && badPort)) {
    return code === undefined
      ? { kind: "not_sent", message: `connect failed: ${message}` }
      : { kind: "not_sent", message: `connect failed: ${message}`, code };
  }
  return code === undefined ? { kind: "ambiguous", message } : { kind: "ambiguous", message, code };
}

async function readBody(response: Response, maxBytes: number): Promise<string | undefined> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder("utf-8").decode(Buffer.concat(chunks));
}

/** The `fetch` of the process at start: a different one later means an interceptor (msw) took over. */
const startFetch = globalThis.fetch;

/** Sends the form and reads the whole answer; never throws. */
export function postForm(request: FormPost): Promise<PostResult> {
  return globalThis.fetch === startFetch ? postWithAgent(request) : postWithFetch(request);
}

/** Node's parsed answer headers (lower-case names) behind `get`. */
class NodeHeaders implements AnswerHeaders {
  constructor(private readonly raw: Record<string, string | string[] | undefined>) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(", ") : value;
  }
}

/** What `fetch` sent: the same form type and, for big catalogues, compressed answers welcome. */
const FORM_HEADERS = {
  "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
  accept: "application/json",
  "accept-encoding": "gzip, deflate, br",
  "user-agent": "smm-proxy",
};

const decoders: Record<string, (b: Buffer, o: { maxOutputLength: number }) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  "x-gzip": promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

/**
 * The answer's bytes without their content coding (as `fetch` gives them); undefined past
 * `maxBytes` once decoded. @throws on a coding we cannot read or corrupt data.
 */
async function decoded(raw: Buffer, encoding: string | null, maxBytes: number): Promise<Buffer | undefined> {
  const coding = encoding?.trim().toLowerCase() ?? "identity";
  if (coding === "identity" || coding === "") return raw;
  const decode = decoders[coding];
  if (decode === undefined) throw new Error(`unsupported Content-Encoding ${coding}`);
  try {
    return await decode(raw, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") return undefined;
    throw error;
  }
}

/** Origin and path of each upstream URL, parsed once (a handful of providers). */
const targets = new Map<string, { origin: string; path: string }>();

function targetOf(url: string): { origin: string; path: string } {
  let target = targets.get(url);
  if (target === undefined) {
    const parsed = new URL(url);
    target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (targets.size < 1000) targets.set(url, target);
  }
  return target;
}

async function postWithAgent(request: FormPost): Promise<PostResult> {
  const signal = AbortSignal.timeout(Math.max(1, request.timeoutMs));
  let status: number | undefined;
  let headersAt: number | undefined;
  const sentAt = Date.now();
  try {
    const { origin, path } = targetOf(request.url);
    const response = await request.dispatcher.request({
      origin,
      path,
      method: "POST",
      headers: request.headers === undefined ? FORM_HEADERS : { ...FORM_HEADERS, ...request.headers },
      body: new URLSearchParams(request.form).toString(),
      signal,
    });
    headersAt = Date.now();
    status = response.statusCode;
    const maxBytes = request.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const headers = new NodeHeaders(response.headers);
    const tooLarge: PostResult = {
      ok: false,
      failure: { kind: "ambiguous", message: "answer body too large", httpStatus: status },
      sentAt,
      headersAt,
    };
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        response.body.destroy();
        return tooLarge;
      }
      chunks.push(chunk);
    }
    const bytes = await decoded(Buffer.concat(chunks, total), headers.get("content-encoding"), maxBytes);
    if (bytes === undefined) return tooLarge;
    const body = new TextDecoder("utf-8").decode(bytes);
    return { ok: true, answer: { status, headers, body }, sentAt, headersAt };
  } catch (error) {
    const failure = classifyTransportError(error, signal.aborted, request.timeoutMs);
    if (status === undefined || headersAt === undefined) return { ok: false, failure, sentAt };
    // Headers came back: the request certainly reached the upstream.
    return { ok: false, failure: { ...failure, kind: "ambiguous", httpStatus: status }, sentAt, headersAt };
  }
}

async function postWithFetch(request: FormPost): Promise<PostResult> {
  const signal = AbortSignal.timeout(Math.max(1, request.timeoutMs));
  let status: number | undefined;
  let headersAt: number | undefined;
  const sentAt = Date.now();
  try {
    // Node's bundled fetch accepts an undici 7 `Agent`; its RequestInit types a different undici copy.
    const init: Omit<RequestInit, "dispatcher"> & { dispatcher?: unknown } = {
      method: "POST",
      body: new URLSearchParams(request.form),
      headers: { accept: "application/json", "user-agent": "smm-proxy", ...request.headers },
      redirect: "manual",
      signal,
      dispatcher: request.dispatcher,
    };
    const response = await globalThis.fetch(request.url, init as RequestInit);
    headersAt = Date.now();
    status = response.status;
    const body = await readBody(response, request.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (body === undefined) {
      return {
        ok: false,
        failure: { kind: "ambiguous", message: "answer body too large", httpStatus: response.status },
        sentAt,
        headersAt,
      };
    }
    return { ok: true, answer: { status: response.status, headers: response.headers, body }, sentAt, headersAt };
  } catch (error) {
    const failure = classifyTransportError(error, signal.aborted, request.timeoutMs);
    if (status === undefined || headersAt === undefined) return { ok: false, failure, sentAt };
    // Headers came back: the request certainly reached the upstream.
    return { ok: false, failure: { ...failure, kind: "ambiguous", httpStatus: status }, sentAt, headersAt };
  }
}
