/**
 * Parsing of id fields: `order=5`, `orders=1,2,3` (seed `000_*`: "separated by a comma, up to 100 IDs").
 */
import { badRequest } from "./errors.js";

/** Most ids one request may name (seeds: up to 100). */
export const MAX_IDS_PER_REQUEST = 100;

/** Largest id we accept (ids beyond are unknown, never rounded). */
const MAX_ID = Number.MAX_SAFE_INTEGER;

/**
 * Parses one id. Returns `undefined` for anything that cannot be one of our ids (not a
 * decimal integer, 0, beyond 2^53), so it is answered like an unknown id ("Incorrect order
 * ID"), per id in the batch forms, as the seeds do.
 */
export function parseId(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^\d{1,30}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= MAX_ID && String(n) === text.replace(/^0+(?=\d)/, "") ? n : undefined;
}

/**
 * Parses a comma-separated id list, keeping the given order and dropping repeats.
 * @returns pairs of the id text as given (for answer keys) and the parsed id (undefined: never ours).
 * @throws DomainError bad_request when empty or longer than 100 ids.
 */
export function parseIdList(raw: string): Array<{ text: string; id: number | undefined }> {
  const parts = raw
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0) throw badRequest();
  const unique = [...new Set(parts)];
  if (unique.length > MAX_IDS_PER_REQUEST) throw badRequest(`Too many IDs: at most ${MAX_IDS_PER_REQUEST}`);
  return unique.map((text) => ({ text, id: parseId(text) }));
}
