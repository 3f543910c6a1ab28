/**
 * Validation of customer webhook URLs: absolute http(s) URLs without credentials and, unless
 * allowed (`WEBHOOK_ALLOW_PRIVATE`), not aimed at a literal loopback/private/link-local address
 * or `localhost`. Host names are not resolved here: delivery re-checks the resolved address.
 */
import { isIP } from "node:net";
import { InvalidWebhookUrlError } from "./errors.js";

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export interface WebhookUrlOptions {
  /** Accept loopback/private/link-local literal addresses and `localhost` (tests, demo). */
  allowPrivate?: boolean;
}

/**
 * @returns the normalised URL (as `URL#href` prints it).
 * @throws InvalidWebhookUrlError naming the reason.
 */
export function validateWebhookUrl(input: string, options: WebhookUrlOptions = {}): string {
  const text = input.trim();
  if (text.length === 0) throw new InvalidWebhookUrlError(input, "empty");
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    throw new InvalidWebhookUrlError(input, `longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidWebhookUrlError(input, "not an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidWebhookUrlError(input, "only http and https URLs are accepted");
  }
  if (url.username !== "" || url.password !== "") {
    throw new InvalidWebhookUrlError(input, "credentials in the URL are not accepted");
  }
  if (url.hostname === "") throw new InvalidWebhookUrlError(input, "no host");
  if (!options.allowPrivate && isPrivateHost(url.hostname)) {
    throw new InvalidWebhookUrlError(
      input,
      `private or loopback host ${url.hostname} (set WEBHOOK_ALLOW_PRIVATE=1 to allow, e.g. for tests)`,
    );
  }
  return url.href;
}

/** True for `localhost` names and literal loopback/private/link-local/unspecified addresses. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const version = isIP(host);
  if (version === 4) return isPrivateIpv4(host);
  if (version === 6) return isPrivateIpv6(host);
  return false;
}

function isPrivateIpv4(host: string): boolean {
  const [a = 0, b = 0] = host.split(".").map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  );
}

function isPrivateIpv6(host: string): boolean {
  if (host === "::" || host === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped?.[1]) return isPrivateIpv4(mapped[1]);
  // WHATWG URL prints mapped addresses in hex: ::ffff:7f00:1.
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mappedHex?.[1] && mappedHex[2]) {
    const hi = Number.parseInt(mappedHex[1], 16);
    const lo = Number.parseInt(mappedHex[2], 16);
    return isPrivateIpv4(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  const first = Number.parseInt(host.split(":")[0] || "0", 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}
