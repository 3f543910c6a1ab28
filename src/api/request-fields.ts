/**
 * Reads the fields of an API v2 request from any encoding real clients send (issue #4):
 * `application/x-www-form-urlencoded` (the standard, seed `003_*`), `multipart/form-data`,
 * JSON (numbers allowed), and the query string of a GET. Repeated keys keep the last
 * value, as PHP does. JSON arrays of ids are joined with commas (`"orders": [1, 2]`).
 */
import type { Context } from "hono";
import { badRequest } from "../orders/errors.js";
import { bodyTextRead, requestBodyText } from "./body.js";
import { requestHeader } from "./request-headers.js";

export type Fields = Record<string, string>;

function fromSearchParams(params: URLSearchParams, into: Fields): void {
  for (const [name, value] of params) into[name] = value;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  return undefined;
}

function fromJson(text: string, into: Fields): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest("Incorrect request: invalid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw badRequest();
  for (const [name, value] of Object.entries(parsed)) {
    const single = scalar(value);
    if (single !== undefined) {
      into[name] = single;
      continue;
    }
    if (Array.isArray(value)) {
      const items = value.map(scalar);
      if (items.some((i) => i === undefined)) throw badRequest(`Incorrect request: ${name}`);
      into[name] = items.join(",");
      continue;
    }
    if (value !== null) throw badRequest(`Incorrect request: ${name}`);
  }
}

/**
 * @returns the request's fields, query string first, then the body over it.
 * @throws DomainError bad_request for an unreadable body.
 */
export async function readFields(c: Context): Promise<Fields> {
  const fields: Fields = {};
  const url = c.req.url;
  const q = url.indexOf("?");
  if (q !== -1) fromSearchParams(new URLSearchParams(url.slice(q + 1)), fields);
  if (c.req.method !== "POST") return fields;
  const type = (requestHeader(c, "content-type") ?? "").toLowerCase();
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await c.req.formData();
    } catch {
      throw badRequest("Incorrect request: malformed multipart body");
    }
    for (const [name, value] of form) if (typeof value === "string") fields[name] = value;
    return fields;
  }
  return fromBody(await requestBodyText(c), type, fields);
}

/** Adds the fields of a non-multipart body `text` of content type `type` (lower-case) to `fields`. */
function fromBody(text: string, type: string, fields: Fields): Fields {
  if (text === "") return fields;
  if (type.startsWith("application/json") || (type === "" && text.trimStart().startsWith("{"))) fromJson(text, fields);
  else fromSearchParams(new URLSearchParams(text), fields);
  return fields;
}

/**
 * {@link readFields} without waiting, when nothing is left to wait for: a POST whose body the
 * body reader already took from the stream (the usual API request). Undefined otherwise
 * (multipart, a body still in the web `Request`): then await {@link readFields}.
 * @throws DomainError bad_request as {@link readFields}.
 */
export function readFieldsNow(c: Context): Fields | undefined {
  if (c.req.method !== "POST") return undefined;
  const text = bodyTextRead(c);
  if (text === undefined) return undefined;
  const fields: Fields = {};
  const url = c.req.url;
  const q = url.indexOf("?");
  if (q !== -1) fromSearchParams(new URLSearchParams(url.slice(q + 1)), fields);
  return fromBody(text, (requestHeader(c, "content-type") ?? "").toLowerCase(), fields);
}
