/**
 * JustProvider (seed `004_*`): the PerfectPanel API v2 with several `add` parameter sets
 * (Default + drip-feed, Package, Custom Comments, Custom Comments Package, Comment Likes with
 * `username`), all forwarded as given.
 */
import { perfectPanelDialect } from "./perfectpanel.js";

export const justprovider = perfectPanelDialect("justprovider");
