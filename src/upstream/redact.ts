/**
 * Keeps upstream API keys out of errors and logs (issue #3: "never put the upstream key in
 * an error or log (redact it from excerpts too)").
 */

export const REDACTED = "[redacted]";

/** Longest body excerpt kept on an {@link UpstreamFailure}, characters. */
export const EXCERPT_MAX_CHARS = 200;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `text` as PHP's `json_encode` writes it inside a string: `/` as `\/`, non-ASCII as `\uXXXX`. */
function phpJsonEscaped(text: string): string {
  return JSON.stringify(text)
    .slice(1, -1)
    .replace(/\//g, "\\/")
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Replaces every occurrence of each secret with `[redacted]`: raw, URL-encoded (`%2F`),
 * form-encoded (`+`), and JSON-escaped as an upstream may echo it (`\"`, `\\`, PHP's `\/` and
 * `\u00e9`, issue #11). Matching is case-sensitive for the raw form and case-insensitive for
 * the escaped forms (percent and `\u` hex digits).
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === "") continue;
    const json = JSON.stringify(secret).slice(1, -1);
    const variants = new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ k: secret }).toString().slice(2),
      json,
      phpJsonEscaped(secret),
      encodeURIComponent(json),
    ]);
    for (const variant of variants) {
      const flags = variant === secret ? "g" : "gi";
      out = out.replace(new RegExp(escapeRegExp(variant), flags), REDACTED);
    }
  }
  return out;
}

/**
 * A one-line, redacted, truncated excerpt of an answer body for the operator.
 * Redacts before truncating, so a key cut in half at the boundary cannot leak.
 */
export function bodyExcerpt(body: string, secrets: readonly string[], maxChars = EXCERPT_MAX_CHARS): string {
  const line = redact(body, secrets).replace(/\s+/g, " ").trim();
  return line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
}
