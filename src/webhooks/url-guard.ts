/**
 * Where a webhook may be delivered (issue #5): http(s) URLs whose host resolves only to public
 * addresses. Loopback, private, link-local, unique-local, unspecified, CGNAT, multicast and
 * reserved addresses are refused unless `allowPrivate` (`WEBHOOK_ALLOW_PRIVATE=1`: tests, demo).
 *
 * Checked before each delivery ({@link checkWebhookTarget}) and again when the connection is
 * made ({@link createGuardedLookup}, used by the worker's HTTP agent), so a host that
 * re-resolves to a private address between the two (DNS rebinding) is still refused.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** Why an address is refused; `public` addresses are allowed. */
export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "unique-local"
  | "unspecified"
  | "cgnat"
  | "multicast"
  | "reserved"
  | "invalid";

type Range = [cls: Exclude<AddressClass, "public" | "invalid">, network: string, prefix: number];

/** First match wins; IPv4 ranges also match IPv4-mapped IPv6 (`::ffff:a.b.c.d`). */
const RANGES: Range[] = [
  ["loopback", "127.0.0.0", 8],
  ["loopback", "::1", 128],
  ["unspecified", "0.0.0.0", 8],
  ["unspecified", "::", 128],
  ["private", "10.0.0.0", 8],
  ["private", "172.16.0.0", 12],
  ["private", "192.168.0.0", 16],
  ["cgnat", "100.64.0.0", 10],
  ["link-local", "169.254.0.0", 16],
  ["link-local", "fe80::", 10],
  ["unique-local", "fc00::", 7],
  ["multicast", "224.0.0.0", 4],
  ["multicast", "ff00::", 8],
  ["reserved", "240.0.0.0", 4],
  // IPv4-compatible IPv6 (deprecated), never a public destination.
  ["reserved", "::", 96],
];

const LISTS: [Range[0], BlockList][] = RANGES.map(([cls, network, prefix]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, isIP(network) === 6 ? "ipv6" : "ipv4");
  return [cls, list];
});

/**
 * Classifies one IP address (v4 or v6 text, brackets allowed). Not an IP → `invalid`.
 * Only `public` is deliverable without `allowPrivate`.
 */
export function classifyAddress(address: string): AddressClass {
  const ip = address.trim().replace(/^\[|\]$/g, "");
  const version = isIP(ip);
  if (version === 0) return "invalid";
  const type = version === 6 ? "ipv6" : "ipv4";
  for (const [cls, list] of LISTS) {
    if (list.check(ip, type)) return cls;
  }
  return "public";
}

/** Resolves a host name to all its addresses (text). Injectable for tests. */
export type HostLookup = (hostname: string) => Promise<string[]>;

/** `dns.lookup` (the system resolver, as `fetch` uses it) with `all: true`. */
export const systemLookup: HostLookup = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) reject(err);
      else resolve(addresses.map((a) => a.address));
    });
  });

export interface TargetOptions {
  /** Skip the address checks (tests, demo). */
  allowPrivate?: boolean;
  lookup?: HostLookup;
}

/**
 * Result of {@link checkWebhookTarget}. A refusal is `permanent` when retrying cannot help
 * (bad scheme, blocked address); a failed DNS lookup is not. `reason` is one short line
 * without the URL (it may carry the customer's tokens).
 */
export type TargetCheck = { ok: true; url: URL } | { ok: false; permanent: boolean; reason: string };

/** Checks a webhook URL right before a delivery; resolves host names (every address must be public). */
export async function checkWebhookTarget(rawUrl: string, options: TargetOptions = {}): Promise<TargetCheck> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { ok: false, permanent: true, reason: "invalid URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, permanent: true, reason: `unsupported scheme ${url.protocol.replace(/:$/, "")}` };
  }
  if (url.username !== "" || url.password !== "") {
    return { ok: false, permanent: true, reason: "credentials in the URL" };
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "") return { ok: false, permanent: true, reason: "no host" };
  if (options.allowPrivate) return { ok: true, url };

  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await (options.lookup ?? systemLookup)(host);
    } catch (err) {
      return { ok: false, permanent: false, reason: `DNS lookup failed (${errorCode(err) ?? "error"})` };
    }
    if (addresses.length === 0) return { ok: false, permanent: false, reason: "DNS lookup returned no address" };
  }
  for (const address of addresses) {
    const cls = classifyAddress(address);
    if (cls !== "public") return { ok: false, permanent: true, reason: `refused ${cls} address ${address}` };
  }
  return { ok: true, url };
}

/** Code of the error a guarded connection fails with when its host resolves to a blocked address. */
export const BLOCKED_ADDRESS_CODE = "ERR_WEBHOOK_BLOCKED_ADDRESS";

/** Raised by {@link createGuardedLookup}; `message` is short and names the address. */
export class BlockedAddressError extends Error {
  override name = "BlockedAddressError";
  readonly code = BLOCKED_ADDRESS_CODE;
  constructor(
    readonly address: string,
    readonly addressClass: AddressClass,
  ) {
    super(`refused ${addressClass} address ${address}`);
  }
}

/**
 * A `net.connect` `lookup` that resolves with `resolve` and fails with
 * {@link BlockedAddressError} when any address is not public: the connection only ever goes
 * to an address that was checked. (Literal IPs skip `lookup`; {@link checkWebhookTarget} covers them.)
 */
export function createGuardedLookup(resolve: HostLookup = systemLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const addresses: LookupAddress[] = found
          .map((address) => ({ address, family: isIP(address) }))
          .filter((a) => a.family !== 0 && (wanted === 0 || a.family === wanted));
        const blocked = addresses.find((a) => classifyAddress(a.address) !== "public");
        const first = addresses[0];
        if (blocked) {
          callback(new BlockedAddressError(blocked.address, classifyAddress(blocked.address)), "", 0);
        } else if (!first) {
          const err: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
          err.code = "ENOTFOUND";
          callback(err, "", 0);
        } else if (options.all) {
          callback(null, addresses);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 0),
    );
  };
}

/** The `code` of an error or of any error in its `cause` chain (fetch wraps socket errors). */
export function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    current = current.cause;
  }
  return undefined;
}
