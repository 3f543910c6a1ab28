/**
 * A simulated provider for the chaos soak (issue #8): a panel simulator that gets a random
 * fault injected for a share of its calls, and that can be killed and restarted on the same
 * port with its orders and refills kept (a real panel keeps its database across a restart).
 * Every request any incarnation received stays in `log()`.
 */
import type { Dialect } from "../src/config/providers-file.js";
import {
  FAULT_KINDS,
  type FaultKind,
  type LogEntry,
  type SimOrder,
  type SimService,
  type Simulator,
  startSimulator,
} from "../src/simulator/index.js";

/** Faults after which the panel may have processed the request without us knowing. */
export const AMBIGUOUS_FAULTS: ReadonlySet<FaultKind> = new Set([
  "hang",
  "reset",
  "drop_answer",
  "truncated_json",
  "http500_html",
  "http502",
  "http200_html",
]);

export interface ChaosSimOptions {
  id: string;
  dialect: Dialect;
  apiKey: string;
  currency: string;
  catalogue: SimService[];
  seed: number;
  /** Share of calls given a random fault, 0..1. */
  faultRate: number;
  /** Progress tick of the simulated orders, ms. */
  tickMs: number;
  random: () => number;
}

/** A killed incarnation: when, and the requests in flight then (answers lost). */
export interface Outage {
  killedAt: number;
  restartedAt: number;
}

export class ChaosSim {
  private sim: Simulator;
  private readonly pastLogs: LogEntry[] = [];
  /** Parameters of orders created by earlier incarnations (a restart keeps states, not params). */
  private readonly pastParams = new Map<number, Record<string, string>>();
  private lastSeen: LogEntry | undefined;
  private timer: NodeJS.Timeout | undefined;
  private injecting = false;
  readonly outages: Outage[] = [];
  faultsInjected = 0;

  private constructor(
    private readonly options: ChaosSimOptions,
    sim: Simulator,
  ) {
    this.sim = sim;
  }

  static async start(options: ChaosSimOptions): Promise<ChaosSim> {
    const sim = await startSimulator({
      dialect: options.dialect,
      apiKey: options.apiKey,
      currency: options.currency,
      balance: "1000000",
      catalogue: options.catalogue,
      progress: { tickMs: options.tickMs },
      seed: options.seed,
    });
    return new ChaosSim(options, sim);
  }

  get id(): string {
    return this.options.id;
  }

  get url(): string {
    return this.sim.url;
  }

  get current(): Simulator {
    return this.sim;
  }

  /** Starts injecting: for each new call seen, with probability `faultRate`, a fault for a coming call. */
  startFaults(): void {
    this.injecting = true;
    this.timer ??= setInterval(() => this.poll(), 10);
  }

  /** Stops injecting and drops pending faults. */
  stopFaults(): void {
    this.injecting = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sim.clearFaults();
  }

  private poll(): void {
    const log = this.sim.log;
    // Entries after the last one seen (the log drops its oldest entries in batches).
    const from = this.lastSeen === undefined ? 0 : log.lastIndexOf(this.lastSeen) + 1;
    for (let i = from; i < log.length; i++) {
      if (this.injecting && this.options.random() < this.options.faultRate) {
        const kind = FAULT_KINDS[Math.floor(this.options.random() * FAULT_KINDS.length)] ?? "reset";
        this.sim.injectFaults("*", 1, kind === "error" ? { kind, message: "Simulated error" } : kind);
        this.faultsInjected++;
      }
    }
    this.lastSeen = log.at(-1) ?? this.lastSeen;
  }

  /** Every request received by every incarnation, oldest first. */
  log(): LogEntry[] {
    return [...this.pastLogs, ...this.sim.log];
  }

  /** Every order the panel holds, with the parameters it was created with. */
  orders(): Array<SimOrder & { params: Record<string, string> }> {
    return [...this.sim.orders.values()].map((o) => ({ ...o, params: this.pastParams.get(o.id) ?? o.params }));
  }

  /**
   * Kills the panel (open connections destroyed, hanging calls dropped), keeps it down for
   * `downMs`, then starts it again on the same port with the same orders, refills and catalogue.
   */
  async killAndRestart(downMs: number): Promise<void> {
    const old = this.sim;
    const orders = [...old.orders.values()];
    const refills = [...old.refills.values()];
    const services = old.services.map((s) => ({ ...s }));
    const killedAt = Date.now();
    await old.close();
    this.pastLogs.push(...old.log);
    this.lastSeen = undefined;
    for (const o of orders) if (!this.pastParams.has(o.id)) this.pastParams.set(o.id, o.params);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    const sim = await startSimulator({
      dialect: this.options.dialect,
      apiKey: this.options.apiKey,
      currency: this.options.currency,
      balance: old.balance,
      catalogue: services,
      progress: { tickMs: this.options.tickMs },
      seed: this.options.seed + 1000,
      port: old.port,
      firstOrderId: Math.max(0, ...orders.map((o) => o.id)) + 1,
      firstRefillId: Math.max(0, ...refills.map((r) => r.id)) + 1,
    });
    for (const o of orders) {
      sim.setOrder(o.id, {
        service: o.service,
        quantity: o.quantity,
        status: o.status,
        remains: o.remains,
        start_count: o.start_count,
        charge: o.charge,
      });
    }
    for (const r of refills) sim.setRefill(r.id, { status: r.status, order: r.order });
    this.sim = sim;
    this.outages.push({ killedAt, restartedAt: Date.now() });
  }

  async close(): Promise<void> {
    this.stopFaults();
    await this.sim.close();
  }
}
