/**
 * Fixed-window request limit (seed `003_*`: "429 Rate limit exceeded"; seed `001_*`: "API
 * requests are subject to rate limiting"). One window for the whole simulator.
 */
import type { RateLimitOptions } from "./types.js";

export class FixedWindow {
  private windowStart = 0;
  private count = 0;

  constructor(private readonly options: RateLimitOptions) {}

  /** Counts one request; returns the seconds to wait (Retry-After) when over the limit, else 0. */
  hit(now = Date.now()): number {
    if (now - this.windowStart >= this.options.intervalMs) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count += 1;
    if (this.count <= this.options.requests) return 0;
    return Math.max(1, Math.ceil((this.windowStart + this.options.intervalMs - now) / 1000));
  }
}
