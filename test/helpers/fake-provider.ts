/**
 * A scripted ProviderClient for in-process tests of the verbs: each call takes the next
 * scripted outcome of its method (or a default), and every call is recorded.
 */
import type {
  CallOptions,
  CallOutcome,
  ProviderClient,
  ProviderStats,
  UpstreamAddRequest,
  UpstreamService,
} from "../../src/upstream/types.js";

type Method = Exclude<keyof ProviderClient, "id" | "stats" | "close">;

/** One scripted call: an outcome, or a rejection (a client bug, or the caller's own `onSend` failing). */
type Scripted = { outcome: CallOutcome<unknown> } | { error: unknown; beforeSend: boolean };

export class FakeProvider implements ProviderClient {
  readonly calls: Array<{ method: Method; args: unknown[]; options?: CallOptions }> = [];
  private readonly script = new Map<Method, Scripted[]>();
  private nextOrder = 900_001;

  constructor(
    readonly id: string,
    public catalogue: UpstreamService[] = [],
  ) {}

  /** Queues outcomes for the next calls of `method`. */
  will(method: Method, ...outcomes: Array<CallOutcome<unknown>>): this {
    this.script.set(method, [...(this.script.get(method) ?? []), ...outcomes.map((outcome) => ({ outcome }))]);
    return this;
  }

  /**
   * The next call of `method` rejects with `error`: after calling `onSend` (the request left),
   * or with `beforeSend` without calling it (nothing sent).
   */
  willThrow(method: Method, error: unknown, options: { beforeSend?: boolean } = {}): this {
    const entry: Scripted = { error, beforeSend: options.beforeSend ?? false };
    this.script.set(method, [...(this.script.get(method) ?? []), entry]);
    return this;
  }

  private take<T>(
    method: Method,
    args: unknown[],
    options: CallOptions | undefined,
    fallback: () => T,
  ): Promise<CallOutcome<T>> {
    this.calls.push({ method, args, ...(options ? { options } : {}) });
    const scripted = this.script.get(method)?.shift();
    if (scripted && "error" in scripted && scripted.beforeSend) return Promise.reject(scripted.error);
    try {
      options?.onSend?.();
    } catch (error) {
      return Promise.reject(error);
    }
    if (scripted && "error" in scripted) return Promise.reject(scripted.error);
    return Promise.resolve((scripted?.outcome as CallOutcome<T> | undefined) ?? { kind: "ok", value: fallback() });
  }

  services(options?: CallOptions) {
    return this.take("services", [], options, () => this.catalogue);
  }
  add(request: UpstreamAddRequest, options?: CallOptions) {
    return this.take("add", [request], options, () => ({ order: String(this.nextOrder++) }));
  }
  status(order: string, options?: CallOptions) {
    return this.take("status", [order], options, () => {
      throw new Error("status not scripted");
    });
  }
  multiStatus(orders: string[], options?: CallOptions) {
    return this.take("multiStatus", [orders], options, () => new Map());
  }
  refill(order: string, options?: CallOptions) {
    return this.take("refill", [order], options, () => ({ refill: `r${order}` }));
  }
  multiRefill(orders: string[], options?: CallOptions) {
    return this.take("multiRefill", [orders], options, () => new Map(orders.map((o) => [o, { refill: `r${o}` }])));
  }
  refillStatus(refill: string, options?: CallOptions) {
    return this.take("refillStatus", [refill], options, () => ({ status: "Pending" as const, rawStatus: "Pending" }));
  }
  multiRefillStatus(refills: string[], options?: CallOptions) {
    return this.take("multiRefillStatus", [refills], options, () => new Map());
  }
  cancel(orders: string[], options?: CallOptions) {
    return this.take("cancel", [orders], options, () => new Map(orders.map((o) => [o, { ok: true as const }])));
  }
  balance(options?: CallOptions) {
    return this.take("balance", [], options, () => ({ balance: "100.00000", currency: "USD" }));
  }
  stats(): ProviderStats {
    return { queued: 0, inFlight: 0, circuit: "closed" };
  }
  async close(): Promise<void> {}
}

/** A catalogue entry with sensible defaults. */
export function upstreamService(partial: Partial<UpstreamService> & { service: string }): UpstreamService {
  return {
    name: `Service ${partial.service}`,
    type: "Default",
    category: "Instagram",
    rate: "1.00",
    min: 10,
    max: 10000,
    refill: true,
    cancel: true,
    dripfeed: true,
    ...partial,
  };
}
