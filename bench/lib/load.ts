/**
 * Load generation with autocannon, from the bench driver's process (never the server's).
 * Latencies are collected per response at full resolution (autocannon's own histogram
 * rounds to whole milliseconds).
 */
import { request } from "node:http";
import autocannon from "autocannon";

export interface LoadOptions {
  url: string;
  /** Form body (sent as `application/x-www-form-urlencoded`). */
  form: Record<string, string | number>;
  connections: number;
  /** Extra request headers (e.g. `accept-encoding`, `if-none-match`). */
  headers?: Record<string, string>;
  /** The status counted as an answer (e.g. 304 for conditional requests); default any 2xx. */
  okStatus?: number;
  /** Seconds; ignored when `amount` is set. */
  durationS?: number;
  /** Total requests to send. */
  amount?: number;
}

export interface LoadResult {
  requests: number;
  /** Answers with a 2xx status (or `okStatus`). */
  ok: number;
  /** Answers with any other status. */
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** Successful requests per second (2xx, and 304 for conditional requests). */
  rps: number;
  /** Latency percentiles over 2xx answers, ms. */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  bytesPerAnswer: number;
}

/** A load's summary and every 2xx latency (ms, ascending), to merge slices of one target. */
export type LoadRun = LoadResult & { latencies: Float64Array };

/** Value at quantile `q` (0..1) of ascending `sorted`. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** Summarises slices of load on one target as one load (requests over their summed time). */
export function mergeRuns(runs: readonly LoadRun[]): LoadRun {
  const n = runs.reduce((a, r) => a + r.latencies.length, 0);
  const latencies = new Float64Array(n);
  let at = 0;
  for (const r of runs) {
    latencies.set(r.latencies, at);
    at += r.latencies.length;
  }
  latencies.sort();
  const sum = (f: (r: LoadRun) => number) => runs.reduce((a, r) => a + f(r), 0);
  const seconds = sum((r) => r.seconds);
  let total = 0;
  for (let i = 0; i < n; i++) total += latencies[i] ?? 0;
  return {
    requests: sum((r) => r.requests),
    ok: n,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    seconds,
    rps: n / seconds,
    latency: summarise(latencies, total),
    bytesPerAnswer: n === 0 ? 0 : sum((r) => r.bytesPerAnswer * r.ok) / n,
    latencies,
  };
}

function summarise(sorted: Float64Array, total: number): LoadResult["latency"] {
  return {
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: quantile(sorted, 1),
    mean: sorted.length === 0 ? Number.NaN : total / sorted.length,
  };
}

/** Runs one bounded load and summarises it. */
export function runLoad(options: LoadOptions): Promise<LoadRun> {
  const body = new URLSearchParams(Object.entries(options.form).map(([k, v]): [string, string] => [k, String(v)]));
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let other = 0;
  let bytes = 0;
  const counted = (status: number) =>
    options.okStatus === undefined ? status >= 200 && status < 300 : status === options.okStatus;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: options.url,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...options.headers },
        body: body.toString(),
        connections: options.connections,
        ...(options.amount === undefined ? { duration: options.durationS ?? 10 } : { amount: options.amount }),
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        // autocannon's own duration: from the first connection to the last answer.
        const seconds = result.duration > 0 ? result.duration : (performance.now() - started) / 1000;
        const sorted = latencies.slice(0, n).sort();
        let sum = 0;
        for (let i = 0; i < n; i++) sum += sorted[i] ?? 0;
        resolve({
          requests: result.requests.total,
          ok: n,
          non2xx: other,
          errors: result.errors,
          timeouts: result.timeouts,
          seconds,
          rps: n / seconds,
          latency: summarise(sorted, sum),
          bytesPerAnswer: n === 0 ? 0 : bytes / n,
          latencies: sorted,
        });
      },
    );
    instance.on("response", (_client: unknown, statusCode: number, resBytes: number, responseTime: number) => {
      if (!counted(statusCode)) {
        other++;
        return;
      }
      if (n === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[n++] = responseTime;
      bytes += resBytes;
    });
  });
}

/** One POST of a form, answered as raw bytes (no decompression), e.g. to read a gzip answer as sent. */
export function rawPost(
  url: string,
  form: Record<string, string | number>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const body = new URLSearchParams(Object.entries(form).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
