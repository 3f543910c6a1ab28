/** Shared helpers for the simulator tests: real loopback HTTP with global fetch. */
import type { Simulator } from "../../src/simulator/index.js";

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  body: unknown;
}

/** POSTs form-urlencoded `params` (plus the simulator's key unless given) to the API. */
export async function call(
  sim: Simulator,
  params: Record<string, string>,
  init: { signal?: AbortSignal; path?: string } = {},
): Promise<Reply> {
  const response = await fetch(init.path === undefined ? sim.url : new URL(init.path, sim.url), {
    method: "POST",
    body: new URLSearchParams({ key: sim.apiKey, ...params }),
    signal: init.signal ?? AbortSignal.timeout(5000),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** JSON request to the control API. */
export async function control(sim: Simulator, method: string, path: string, payload?: unknown): Promise<Reply> {
  const response = await fetch(`${sim.controlUrl}${path}`, {
    method,
    headers: payload === undefined ? {} : { "content-type": "application/json" },
    body: payload === undefined ? undefined : JSON.stringify(payload),
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

/** Places a Default order on service 1 (Followers, min 50). */
export async function addFollowers(sim: Simulator, quantity = 100): Promise<number> {
  const reply = await call(sim, {
    action: "add",
    service: "1",
    link: "https://instagram.com/x",
    quantity: String(quantity),
  });
  const order = (reply.body as { order?: unknown }).order;
  if (typeof order !== "number") throw new Error(`add failed: ${reply.status} ${reply.text}`);
  return order;
}

export async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
