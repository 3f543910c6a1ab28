/**
 * Turns an HTTP answer into a {@link CallOutcome} (issue #3, "Failure classification"):
 *
 * | answer                                          | outcome                          |
 * |-------------------------------------------------|----------------------------------|
 * | 2xx, JSON matching the action's shape           | ok                               |
 * | 2xx, JSON `{"error": ".."}`                     | rejected (upstreamError)         |
 * | 2xx, HTML / invalid or truncated JSON / empty   | ambiguous                        |
 * | 2xx, JSON of another shape                      | ambiguous                        |
 * | 429                                             | rate_limited (Retry-After)       |
 * | a dialect's defined error status, JSON `{"error"}`| rejected (upstreamError)         |
 * | 408, 5xx                                        | ambiguous                        |
 * | other 4xx (`panel`: 400/401/402/404)            | rejected (upstreamError if JSON) |
 * | 1xx/3xx (redirects are not followed)            | ambiguous                        |
 * | `add`, 2xx, JSON with an order id (any `error`) | ok (linked)                      |
 * | `add`, other status, JSON with an order id      | ambiguous (`upstreamOrderId`)    |
 *
 * Defined error statuses come from the dialect (`DialectSpec.definedErrorStatuses`; `panel`,
 * seed `003_*`: 400/401/402/404/502), so a `panel` 502 `{"error": ..}` ("Upstream provider
 * returned an error") is `rejected`, while a 502 with an HTML or non-error body stays `ambiguous`.
 *
 * An empty `error` string is not an error. Answers to `add` (`linksOrder`) that carry an order
 * id are never `rejected` (issue #11): with a 2xx the order is `ok` (linked, whatever `error`
 * says), with any other status `ambiguous` with `failure.upstreamOrderId` (the upstream may hold
 * it: another smm-proxy answers 502 `{"error", "order"}` for an order it could not confirm).
 */
import type { Parsed } from "./dialects/types.js";
import type { HttpAnswer } from "./http.js";
import { bodyExcerpt } from "./redact.js";
import type { CallOutcome, UpstreamFailure } from "./types.js";

/** Reads Retry-After (delta seconds or an HTTP date) as ms from `now`; undefined when absent/invalid. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Parses a body as JSON; undefined when it is not valid JSON (HTML, truncated, empty). */
export function parseJson(body: string): { value: unknown } | undefined {
  const text = body.replace(/^\uFEFF/, "").trim();
  if (text === "") return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/** The `error` text of a top-level `{"error": ".."}` body, if that is what it is (an empty text is none). */
export function upstreamErrorOf(json: unknown): string | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const error = (json as { error?: unknown }).error;
  if (typeof error === "string") return error.trim() === "" ? undefined : error;
  if (typeof error === "number") return String(error);
  return undefined;
}

/** The order id of a top-level `{"order": 17}` / `{"order": "17"}` body, if it carries one. */
export function orderIdOf(json: unknown): string | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const order = (json as { order?: unknown }).order;
  if (typeof order === "number" && Number.isSafeInteger(order) && order >= 0) return String(order);
  if (typeof order === "string" && /^[^\s,]{1,64}$/.test(order.trim())) return order.trim();
  return undefined;
}

export interface ClassifyOptions {
  /**
   * The dialect's statuses whose JSON `{"error"}` body is a defined error (`rejected`); 429 is
   * never one of them.
   */
  definedErrorStatuses?: readonly number[];
  /** The answer is to an `add`: an order id in it links the order (see the module doc). */
  linksOrder?: boolean;
}

/**
 * Classifies one complete HTTP answer.
 * @param secrets strings to redact from excerpts and upstream error texts (the provider key).
 * @param now epoch ms, for HTTP-date Retry-After.
 */
export function classifyAnswer<T>(
  answer: HttpAnswer,
  parse: (body: unknown) => Parsed<T>,
  secrets: readonly string[],
  now: number,
  options: ClassifyOptions = {},
): CallOutcome<T> {
  const definedErrorStatuses = options.definedErrorStatuses ?? [];
  const { status } = answer;
  const json = parseJson(answer.body);
  const rawError = json === undefined ? undefined : upstreamErrorOf(json.value);
  const upstreamError = rawError === undefined ? undefined : bodyExcerpt(rawError, secrets);
  const failure = (message: string): UpstreamFailure => {
    const f: UpstreamFailure = { message, httpStatus: status, bodyExcerpt: bodyExcerpt(answer.body, secrets) };
    if (upstreamError !== undefined) f.upstreamError = upstreamError;
    return f;
  };
  const suffix = upstreamError === undefined ? "" : `: ${upstreamError}`;

  const linkedOrder = options.linksOrder && json !== undefined ? orderIdOf(json.value) : undefined;
  if (linkedOrder !== undefined) {
    if (status >= 200 && status < 300) {
      const parsed = parse({ order: linkedOrder });
      if (parsed.ok) return { kind: "ok", value: parsed.value };
    }
    const f = failure(`upstream answered HTTP ${status} with order ${linkedOrder}${suffix}`);
    f.upstreamOrderId = linkedOrder;
    return { kind: "ambiguous", failure: f };
  }

  if (status === 429) {
    const retryAfterMs = parseRetryAfter(answer.headers.get("retry-after"), now);
    const f = failure(`rate limited by upstream (HTTP 429)${suffix}`);
    return retryAfterMs === undefined
      ? { kind: "rate_limited", failure: f }
      : { kind: "rate_limited", failure: f, retryAfterMs };
  }
  if (upstreamError !== undefined && definedErrorStatuses.includes(status)) {
    return { kind: "rejected", failure: failure(`upstream refused the request (HTTP ${status})${suffix}`) };
  }
  if (status === 408 || status >= 500) {
    return { kind: "ambiguous", failure: failure(`upstream answered HTTP ${status}${suffix}`) };
  }
  if (status >= 400) {
    return { kind: "rejected", failure: failure(`upstream refused the request (HTTP ${status})${suffix}`) };
  }
  if (status < 200 || status >= 300) {
    const location = answer.headers.get("location");
    const where = location === null ? "" : ` to ${bodyExcerpt(location, secrets, 100)}`;
    return { kind: "ambiguous", failure: failure(`unexpected HTTP ${status}${where}`) };
  }
  if (json === undefined) {
    return { kind: "ambiguous", failure: failure("answer is not valid JSON") };
  }
  if (rawError !== undefined) {
    return { kind: "rejected", failure: failure(`upstream error${suffix}`) };
  }
  const parsed = parse(json.value);
  if (!parsed.ok) return { kind: "ambiguous", failure: failure(parsed.problem) };
  return { kind: "ok", value: parsed.value };
}
