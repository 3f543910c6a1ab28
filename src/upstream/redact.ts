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

/**
 * Replaces every occurrence of each secret (raw, URL-encoded, form-encoded) with `[redacted]`.
 * Matching is case-sensitive for the raw form and case-insensitive for percent escapes.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === "") continue;
    const variants = new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ k: secret }).toString().slice(2),
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
