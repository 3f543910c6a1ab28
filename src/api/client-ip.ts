/** The client IP of a request, for rate limits (the API's per-IP limit, the dashboard's sign-in limit). */
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { requestHeader } from "./request-headers.js";

/**
 * The client's address. Behind N trusted proxies it is the N-th `X-Forwarded-For` entry from
 * the right: each trusted proxy appended the address it saw, while everything left of those is
 * written by the client and never trusted (the leftmost when the header has fewer entries).
 */
export function clientIp(c: Context, trustProxy: number | boolean): string {
  const hops = trustProxy === true ? 1 : trustProxy === false ? 0 : trustProxy;
  if (hops > 0) {
    const entries = (requestHeader(c, "x-forwarded-for") ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "");
    const forwarded = entries[Math.max(0, entries.length - hops)];
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}
