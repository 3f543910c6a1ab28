/**
 * Package orders in status sync. A Package / Custom Comments Package order is stored with
 * `quantity: 1` (one package; `validate-add.ts`), while the upstream reports `remains` in
 * delivered units of the package, whose size we do not know. So a `Partial` on a package can
 * be neither clamped to 0..1 nor pro-rated: sync keeps it `Partial`, refunds nothing and flags
 * it for the operator (`PACKAGE_PARTIAL_FLAG`).
 */
import { isServiceType, SERVICE_TYPE_SPECS } from "../panel/service-types.js";

/** Flag text prefix of a Partial package order awaiting a manual refund decision. */
export const PACKAGE_PARTIAL_FLAG = "Partial on a package";

/**
 * Whether an order is treated as a package order. Rule: its `quantity` is 1 AND its service's
 * current type is not a known type that counts units (`quantity` field or a list), i.e. it is a
 * package type, unknown, or the service row is gone. Conservative on purpose: a quantity-1
 * order of a unit-counted service keeps the normal pro-rata refund (remains can only be 0 or 1
 * there), anything doubtful goes to the operator instead of being refunded automatically.
 * @param serviceType `services.type` of the order's `service_id`, or null when the row is missing.
 */
export function isPackageOrder(quantity: number, serviceType: string | null): boolean {
  if (quantity !== 1) return false;
  if (serviceType === null || !isServiceType(serviceType)) return true;
  return SERVICE_TYPE_SPECS[serviceType].quantity === "package";
}

/** The operator flag of a Partial package order; `remains` as the upstream reported it. */
export function packagePartialFlag(remains: number): string {
  return `${PACKAGE_PARTIAL_FLAG} (upstream remains ${remains}): refund by hand`;
}
