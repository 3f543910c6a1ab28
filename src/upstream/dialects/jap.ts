/**
 * Just Another Panel (seeds `000_*`, `001_*`): the PerfectPanel API v2 as is. Cancel takes
 * `orders` (seed `000_*` "Create cancel"; the `order` form in `001_*` is the older spelling).
 */
import { perfectPanelDialect } from "./perfectpanel.js";

export const jap = perfectPanelDialect("jap");
