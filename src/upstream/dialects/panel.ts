/**
 * The generic "Panel" reference API (seed `003_*`), which differs from PerfectPanel in:
 * - errors come as HTTP 400/401/402/404/429/502 with `{"error": ..}` bodies: 400/401/402/404/502
 *   with such a body are defined errors (`rejected` with the upstream's error text, a 502 too:
 *   "Upstream provider returned an error"); 429 stays `rate_limited`; a 5xx without an
 *   `{"error"}` body (a proxy's HTML 502) stays `ambiguous` under the shared rule;
 * - multi-status is `action=multiStatus&orders=`;
 * - cancel items are `{"order": 9, "cancel": {"status": "success"}}` / `{"order": 2, "error": ..}`;
 * - services give ids as strings and no refill/cancel flags (the shared entry schema accepts both).
 * Refill and refill status are not documented there; the PerfectPanel forms are used.
 */
import { z } from "zod";
import type { ItemError } from "../types.js";
import { idList, parseMultiStatus, perfectPanelDialect } from "./perfectpanel.js";
import { idString, itemError, parseWith } from "./schemas.js";
import type { DialectSpec } from "./types.js";

/** Cancel answer (seed `003_*` "cancel"). A `cancel.status` other than "success" is an item error. */
const cancelSchema = z
  .array(
    z.union([
      z.object({ order: idString, error: z.string() }),
      z.object({ order: idString, cancel: z.union([itemError, z.object({ status: z.string() })]) }),
    ]),
  )
  .transform(
    (items) =>
      new Map<string, { ok: true } | ItemError>(
        items.map((item) => {
          if ("error" in item) return [item.order, { error: item.error }];
          const c = item.cancel;
          if ("error" in c) return [item.order, c];
          return [
            item.order,
            c.status.trim().toLowerCase() === "success" ? { ok: true } : { error: `cancel status "${c.status}"` },
          ];
        }),
      ),
  );

/** HTTP statuses of seed `003_*`'s error table that carry a defined `{"error": ..}` (429 is rate limiting). */
export const PANEL_DEFINED_ERROR_STATUSES: readonly number[] = [400, 401, 402, 404, 502];

const base = perfectPanelDialect("panel");

export const panel: DialectSpec = {
  ...base,
  httpErrorCodes: true,
  definedErrorStatuses: PANEL_DEFINED_ERROR_STATUSES,
  multiStatus: {
    form: (orders) => ({ action: "multiStatus", orders: idList(orders) }),
    parse: parseMultiStatus,
  },
  cancel: {
    form: (orders) => ({ action: "cancel", orders: idList(orders) }),
    parse: (body) => parseWith(cancelSchema, body),
  },
};
