/**
 * The soak's customers (issue #8): each one a loop placing orders (some with bad input),
 * polling statuses, refilling, cancelling and asking its balance over real HTTP, until told
 * to stop. Every answer's HTTP status is counted per action; transport errors are counted apart.
 */

export interface SoakService {
  id: number;
  type: "Default" | "Package" | "Custom Comments";
  min: number;
  max: number;
}

export interface CustomerStats {
  /** `action status` → count, e.g. `add 200`. */
  answers: Map<string, number>;
  /** Requests that got no HTTP answer from the proxy. */
  transportErrors: number;
  /** Bodies of 500 answers (should stay empty). */
  internalErrors: string[];
}

export interface CustomerOptions {
  baseUrl: string;
  apiKey: string;
  index: number;
  services: readonly SoakService[];
  random: () => number;
  stats: CustomerStats;
  stopped: () => boolean;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function call(
  options: CustomerOptions,
  action: string,
  fields: Record<string, string | number>,
): Promise<{ status: number; body: unknown } | undefined> {
  const { stats } = options;
  try {
    const res = await fetch(`${options.baseUrl}/api/v2`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(
        Object.entries({ key: options.apiKey, action, ...fields }).map(([k, v]): [string, string] => [k, String(v)]),
      ).toString(),
    });
    const text = await res.text();
    const label = `${action} ${res.status}`;
    stats.answers.set(label, (stats.answers.get(label) ?? 0) + 1);
    if (res.status >= 500 && res.status !== 502 && res.status !== 503) stats.internalErrors.push(`${label}: ${text}`);
    try {
      return { status: res.status, body: JSON.parse(text) as unknown };
    } catch {
      stats.internalErrors.push(`${label}: not JSON: ${text.slice(0, 200)}`);
      return undefined;
    }
  } catch {
    stats.transportErrors++;
    return undefined;
  }
}

function addFields(options: CustomerOptions, seq: number): Record<string, string | number> {
  const { random } = options;
  const service = pick(random, options.services);
  const link = `https://soak.example/c${options.index}/o${seq}`;
  // 5 % bad input: negative, float or oversized quantities.
  if (random() < 0.05) return { service: service.id, link, quantity: pick(random, ["-10", "12.5", "99999999999", ""]) };
  switch (service.type) {
    case "Package":
      return { service: service.id, link };
    case "Custom Comments": {
      const n = service.min + Math.floor(random() * Math.min(20, service.max - service.min + 1));
      return { service: service.id, link, comments: Array.from({ length: n }, (_, i) => `nice ${i}`).join("\n") };
    }
    default: {
      const quantity = service.min + Math.floor(random() * Math.min(5000, service.max - service.min + 1));
      return { service: service.id, link, quantity };
    }
  }
}

/** Runs one customer until `stopped()`; resolves when its last request answered. */
export async function runCustomer(options: CustomerOptions): Promise<void> {
  const { random } = options;
  const orders: number[] = [];
  const refills: number[] = [];
  let seq = 0;
  while (!options.stopped()) {
    const roll = random();
    if (roll < 0.4) {
      const answer = await call(options, "add", addFields(options, seq++));
      const order = (answer?.body as { order?: unknown } | undefined)?.order;
      if (typeof order === "number") orders.push(order);
    } else if (roll < 0.65 && orders.length > 0) {
      const ids = Array.from({ length: 1 + Math.floor(random() * 20) }, () => pick(random, orders));
      await call(options, "status", ids.length === 1 ? { order: ids[0] ?? 0 } : { orders: ids.join(",") });
    } else if (roll < 0.75 && orders.length > 0) {
      const answer = await call(options, "refill", { order: pick(random, orders) });
      const refill = (answer?.body as { refill?: unknown } | undefined)?.refill;
      if (typeof refill === "number" || typeof refill === "string") refills.push(Number(refill));
    } else if (roll < 0.85 && orders.length > 0) {
      const ids = Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(random, orders));
      await call(options, "cancel", { orders: [...new Set(ids)].join(",") });
    } else if (roll < 0.9 && refills.length > 0) {
      await call(options, "refill_status", { refills: refills.slice(-10).join(",") });
    } else {
      await call(options, "balance", {});
    }
    await sleep(20 + Math.floor(random() * 180));
  }
}
