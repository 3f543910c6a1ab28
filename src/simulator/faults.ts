/**
 * Injected faults: a FIFO of (action, remaining count, fault) consumed by the next matching
 * API calls, and the canned bodies of the HTML faults (what Cloudflare / nginx put in front of
 * real panels answer).
 */
import { FAULT_KINDS, type Fault, type FaultSpec } from "./types.js";

interface Pending {
  action: string;
  remaining: number;
  fault: FaultSpec;
}

export function toFaultSpec(fault: Fault): FaultSpec {
  const spec = typeof fault === "string" ? { kind: fault } : fault;
  if (!(FAULT_KINDS as readonly string[]).includes(spec.kind)) {
    throw new Error(`unknown fault "${String(spec.kind)}"; expected one of ${FAULT_KINDS.join(", ")}`);
  }
  return spec;
}

export class FaultQueue {
  private pending: Pending[] = [];

  add(action: string, count: number, fault: Fault): void {
    if (!Number.isInteger(count) || count < 1) throw new Error("fault count must be a positive integer");
    this.pending.push({ action, remaining: count, fault: toFaultSpec(fault) });
  }

  clear(): void {
    this.pending = [];
  }

  /** The fault for this call, consuming one use: an action-specific entry first, then "*". */
  take(action: string): FaultSpec | undefined {
    const entry = this.pending.find((p) => p.action === action) ?? this.pending.find((p) => p.action === "*");
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.pending = this.pending.filter((p) => p !== entry);
    return entry.fault;
  }
}

export const HTML_500 =
  "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>" +
  "<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p></body></html>";

export const HTML_CHALLENGE =
  '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>' +
  '<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">' +
  "<h1>Checking if the site connection is secure</h1><p>Enable JavaScript and cookies to continue</p>" +
  "</div><footer>Performance &amp; security by Cloudflare</footer></body></html>";

export const HTML_403 =
  "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>" +
  "<body><h1>Sorry, you have been blocked</h1><p>You are unable to access this website.</p>" +
  "<footer>Cloudflare Ray ID: 7d1f0c0ffee00000</footer></body></html>";

export const HTML_502 =
  "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>" +
  "<hr><center>nginx</center></body></html>";
