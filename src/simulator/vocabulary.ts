/**
 * The simulator's own reading of the panel docs: dialect names, service types with the `add`
 * parameters each requires, and the id-list limit. Written from the seeds, not imported from the
 * proxy, so a misreading on one side shows up as a failing test instead of being shared by both.
 *
 * Sources: seed `003_*` ("The add action accepts different parameter sets depending on the service
 * type", "up to 100 IDs"), PerfectPanel sets of `002_*`/`004_*` (drip-feed, Comment Likes).
 */

/** Dialects the simulator speaks: `000`/`001` JAP, `002` MoreThanPanel, `004` JustProvider, `003` panel. */
export const SIM_DIALECTS = ["jap", "morethanpanel", "justprovider", "panel"] as const;
export type SimDialect = (typeof SIM_DIALECTS)[number];

/** Seed `003_*`: multi-status, refill and cancel take at most 100 ids per call. */
export const SIM_MAX_IDS = 100;

/** How a type's quantity is found: a field, a package (1), or the non-empty lines of a field. */
type QuantityFrom = "field" | "package" | { readonly linesOf: string };

/** One service type as the docs describe it. */
export interface SimTypeSpec {
  readonly required: readonly string[];
  readonly quantity: QuantityFrom;
  readonly dripfeed: boolean;
}

const f = "field" as const;
const p = "package" as const;

/** Every type of seed `003_*` with its required `add` parameters (besides `service`). */
export const SIM_TYPES = {
  Default: { required: ["link", "quantity"], quantity: f, dripfeed: true },
  Package: { required: ["link"], quantity: p, dripfeed: false },
  "Custom Comments": { required: ["link", "comments"], quantity: { linesOf: "comments" }, dripfeed: false },
  "Custom Comments Package": { required: ["link", "comments"], quantity: p, dripfeed: false },
  Mentions: { required: ["link", "quantity", "usernames"], quantity: f, dripfeed: false },
  "Mentions with Hashtags": { required: ["link", "quantity", "usernames", "hashtags"], quantity: f, dripfeed: false },
  "Mentions Custom List": { required: ["link", "usernames"], quantity: { linesOf: "usernames" }, dripfeed: false },
  "Mentions Hashtag": { required: ["link", "quantity", "hashtag"], quantity: f, dripfeed: false },
  "Mentions User Followers": { required: ["link", "quantity", "username"], quantity: f, dripfeed: false },
  "Mentions Media Likers": { required: ["link", "quantity", "media"], quantity: f, dripfeed: false },
  "Comment Likes": { required: ["link", "quantity", "username"], quantity: f, dripfeed: false },
  "Comment Replies": { required: ["link", "username", "comments"], quantity: { linesOf: "comments" }, dripfeed: false },
  Poll: { required: ["link", "quantity", "answer_number"], quantity: f, dripfeed: false },
  SEO: { required: ["link", "quantity", "keywords"], quantity: f, dripfeed: false },
  "Invites from Groups": { required: ["link", "quantity", "groups"], quantity: f, dripfeed: false },
  Subscriptions: { required: ["username", "min", "max", "delay"], quantity: p, dripfeed: false },
} as const satisfies Record<string, SimTypeSpec>;

export type SimType = keyof typeof SIM_TYPES;
export const SIM_TYPE_NAMES = Object.keys(SIM_TYPES) as SimType[];

/** The type's spec; unknown type strings are ordered like `Default`. */
export function simTypeSpec(type: string): SimTypeSpec {
  return Object.hasOwn(SIM_TYPES, type) ? SIM_TYPES[type as SimType] : SIM_TYPES.Default;
}
