/**
 * A per-provider circuit breaker (issue #3): after `failureThreshold` consecutive failures
 * (not_sent connect failures, ambiguous answers: timeouts, resets, 408/5xx, unreadable
 * bodies) it opens and calls fail fast (`circuit_open`) for `coolDownMs`; then one probe is
 * let through (half-open). The probe's success closes the circuit, its failure reopens it.
 */

export type CircuitState = "closed" | "open" | "half_open";

/** How a finished call reflects on the upstream's health. */
export type CallHealth = "success" | "failure" | "neutral";

export interface CircuitOptions {
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** Time the circuit stays open before a probe, ms. Default 30 000. */
  coolDownMs?: number;
  now?: () => number;
  /** Called on every state change. */
  onChange?: (state: CircuitState, consecutiveFailures: number) => void;
}

/** Permission to send one call; pass it back to {@link CircuitBreaker.record}. */
export type Admission = { allowed: true; probe: boolean } | { allowed: false; retryAfterMs: number };

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly coolDownMs: number;
  private readonly now: () => number;
  private readonly onChange: CircuitOptions["onChange"];
  private current: CircuitState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(options: CircuitOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.coolDownMs = options.coolDownMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange;
  }

  /** The state now (an open circuit whose cool-down passed reads as half_open). */
  get state(): CircuitState {
    if (this.current === "open" && this.now() - this.openedAt >= this.coolDownMs) return "half_open";
    return this.current;
  }

  /** Time left before a probe may go, ms (0 unless open). */
  get retryAfterMs(): number {
    if (this.current !== "open") return 0;
    return Math.max(0, this.openedAt + this.coolDownMs - this.now());
  }

  /** Since the circuit last opened: when its cool-down ends and a probe may go, epoch ms (of `now`); undefined unless open. */
  get openUntil(): number | undefined {
    return this.current === "open" ? this.openedAt + this.coolDownMs : undefined;
  }

  /** Asks to send one call. Half-open admits a single probe at a time. */
  admit(): Admission {
    if (this.current === "open") {
      const left = this.retryAfterMs;
      if (left > 0) return { allowed: false, retryAfterMs: left };
      this.transition("half_open");
    }
    if (this.current === "half_open") {
      if (this.probing) return { allowed: false, retryAfterMs: Math.max(1, Math.min(1000, this.coolDownMs)) };
      this.probing = true;
      return { allowed: true, probe: true };
    }
    return { allowed: true, probe: false };
  }

  /**
   * Whether an admitted call may still be sent now: false when the circuit opened while it
   * waited (it then ends as `circuit_open` without being sent). A probe always may.
   */
  stillAllows(admission: Admission): boolean {
    if (!admission.allowed) return false;
    return admission.probe || this.current === "closed";
  }

  /** Records how an admitted call ended. */
  record(admission: Admission, health: CallHealth): void {
    if (!admission.allowed) return;
    if (admission.probe) {
      this.probing = false;
      if (health === "success") {
        this.failures = 0;
        this.transition("closed");
      } else if (health === "failure") {
        this.open();
      }
      return;
    }
    if (this.current !== "closed") return; // stragglers from before the circuit opened
    if (health === "success") this.failures = 0;
    else if (health === "failure") {
      this.failures++;
      if (this.failures >= this.failureThreshold) this.open();
    }
  }

  private open(): void {
    this.openedAt = this.now();
    this.transition("open");
  }

  private transition(state: CircuitState): void {
    if (state === this.current && state !== "open") return;
    this.current = state;
    this.onChange?.(state, this.failures);
  }
}
