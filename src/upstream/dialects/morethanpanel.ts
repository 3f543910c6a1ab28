/** MoreThanPanel (seed `002_*`): the PerfectPanel API v2; `add` also takes drip-feed `runs`/`interval`. */
import { perfectPanelDialect } from "./perfectpanel.js";

export const morethanpanel = perfectPanelDialect("morethanpanel");
