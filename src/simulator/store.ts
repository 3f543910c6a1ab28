/**
 * The simulator's own in-memory panel state: catalogue, balance, orders and refills.
 * Money is exact (decimal.js), printed with 5 decimals like the seeds ("0.27819", "100.84292").
 */
import { Decimal } from "decimal.js";
import type { OrderPatch, ServicePatch, SimOrder, SimRefill, SimService } from "./types.js";

/** Statuses after which the simulator never moves an order by itself. */
export const SIM_FINAL_STATUSES: ReadonlySet<string> = new Set(["Completed", "Partial", "Canceled", "Failed"]);

export function money(value: Decimal): string {
  return value.toFixed(5);
}

export class SimStore {
  private balanceValue: Decimal;
  private serviceList: SimService[];
  readonly orders = new Map<number, SimOrder>();
  readonly refills = new Map<number, SimRefill>();
  private nextOrderId: number;
  private nextRefillId: number;

  constructor(init: {
    balance: string;
    services: SimService[];
    currency: string;
    firstOrderId: number;
    firstRefillId: number;
  }) {
    this.balanceValue = new Decimal(init.balance);
    this.serviceList = init.services.map((s) => ({ ...s }));
    this.currency = init.currency;
    this.nextOrderId = init.firstOrderId;
    this.nextRefillId = init.firstRefillId;
  }

  readonly currency: string;

  get balance(): Decimal {
    return this.balanceValue;
  }

  get services(): readonly SimService[] {
    return this.serviceList;
  }

  setBalance(balance: string): void {
    this.balanceValue = new Decimal(balance);
  }

  service(id: number): SimService | undefined {
    return this.serviceList.find((s) => s.service === id);
  }

  setServices(list: SimService[]): void {
    this.serviceList = list.map((s) => ({ ...s }));
  }

  /** @throws Error when the service does not exist. */
  updateService(id: number, patch: ServicePatch): SimService {
    const found = this.service(id);
    if (found === undefined) throw new Error(`unknown service ${id}`);
    Object.assign(found, patch);
    return found;
  }

  removeService(id: number): boolean {
    const before = this.serviceList.length;
    this.serviceList = this.serviceList.filter((s) => s.service !== id);
    return this.serviceList.length < before;
  }

  /** Debits `charge` and stores a Pending order. The caller has checked the balance. */
  createOrder(service: number, params: Record<string, string>, quantity: number, charge: Decimal): SimOrder {
    this.balanceValue = this.balanceValue.minus(charge);
    const order: SimOrder = {
      id: this.nextOrderId++,
      service,
      params,
      quantity,
      charge: money(charge),
      start_count: "0",
      status: "Pending",
      remains: String(quantity),
      createdAt: Date.now(),
      cancelRequested: false,
    };
    this.orders.set(order.id, order);
    return order;
  }

  /** Forces an order's state; an unknown id creates the order (test hook). */
  setOrder(id: number, patch: OrderPatch): SimOrder {
    let order = this.orders.get(id);
    if (order === undefined) {
      const quantity = patch.quantity ?? 1000;
      order = {
        id,
        service: patch.service ?? this.serviceList[0]?.service ?? 1,
        params: {},
        quantity,
        charge: "0.00000",
        start_count: "0",
        status: "Pending",
        remains: String(quantity),
        createdAt: Date.now(),
        cancelRequested: false,
      };
      this.orders.set(id, order);
      if (id >= this.nextOrderId) this.nextOrderId = id + 1;
    }
    if (patch.status !== undefined) order.status = patch.status;
    if (patch.remains !== undefined) order.remains = String(patch.remains);
    if (patch.start_count !== undefined) order.start_count = String(patch.start_count);
    if (patch.charge !== undefined) order.charge = String(patch.charge);
    return order;
  }

  createRefill(order: number): SimRefill {
    const refill: SimRefill = { id: this.nextRefillId++, order, status: "Pending", createdAt: Date.now() };
    this.refills.set(refill.id, refill);
    return refill;
  }

  /** Forces a refill's status; an unknown id creates it for `order` (default 0). */
  setRefill(id: number, patch: { status: string; order?: number }): SimRefill {
    let refill = this.refills.get(id);
    if (refill === undefined) {
      refill = { id, order: patch.order ?? 0, status: patch.status, createdAt: Date.now() };
      this.refills.set(id, refill);
      if (id >= this.nextRefillId) this.nextRefillId = id + 1;
    }
    refill.status = patch.status;
    if (patch.order !== undefined) refill.order = patch.order;
    return refill;
  }

  /** Ends an order as Canceled: nothing delivered, its whole charge back to the balance. */
  cancelOrder(order: SimOrder): void {
    const charge = parseCharge(order.charge);
    this.balanceValue = this.balanceValue.plus(charge);
    order.status = "Canceled";
    order.remains = String(order.quantity);
    order.charge = money(new Decimal(0));
  }

  /** Ends an order as Partial with `remains` undelivered: refunds that share of the charge (rounded down). */
  partialOrder(order: SimOrder, remains: number): void {
    const charge = parseCharge(order.charge);
    const refund = charge.times(remains).dividedBy(Math.max(order.quantity, 1)).toDecimalPlaces(5, Decimal.ROUND_DOWN);
    this.balanceValue = this.balanceValue.plus(refund);
    order.status = "Partial";
    order.remains = String(remains);
    order.charge = money(charge.minus(refund));
  }
}

function parseCharge(text: string): Decimal {
  try {
    return new Decimal(text);
  } catch {
    return new Decimal(0);
  }
}
