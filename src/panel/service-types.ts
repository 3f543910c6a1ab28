/**
 * Service types and the `add` parameters each one takes.
 *
 * Source: seed `003_*` ("The add action accepts different parameter sets depending on the
 * service type"), plus the PerfectPanel parameter sets used by the seed providers
 * (`004_*` JustProvider: Custom Comments, Comment Likes with `username`; `002_*` drip-feed).
 */

/** Every service type a panel's `services` catalogue may announce. */
export const SERVICE_TYPES = [
  "Default",
  "Package",
  "Custom Comments",
  "Custom Comments Package",
  "Mentions",
  "Mentions with Hashtags",
  "Mentions Custom List",
  "Mentions Hashtag",
  "Mentions User Followers",
  "Mentions Media Likers",
  "Comment Likes",
  "Comment Replies",
  "Poll",
  "SEO",
  "Invites from Groups",
  "Subscriptions",
] as const;

export type ServiceType = (typeof SERVICE_TYPES)[number];

/** The names of `add` parameters besides `key`, `action` and `service`. */
export type AddParamName =
  | "link"
  | "quantity"
  | "runs"
  | "interval"
  | "comments"
  | "usernames"
  | "hashtags"
  | "hashtag"
  | "username"
  | "media"
  | "answer_number"
  | "keywords"
  | "groups"
  | "min"
  | "max"
  | "posts"
  | "old_posts"
  | "delay"
  | "expiry";

/**
 * How a service type is ordered.
 * - `params`: required parameters (besides service).
 * - `optional`: accepted, not required.
 * - `quantity`: where the ordered quantity comes from: the `quantity` field, the count of
 *   non-empty lines of a list field, or `package` (the service delivers a fixed amount and
 *   the rate is the price of one package).
 * - `dripfeed`: whether `runs` + `interval` may be given (only if the service also allows it).
 */
export interface ServiceTypeSpec {
  readonly params: readonly AddParamName[];
  readonly optional: readonly AddParamName[];
  readonly quantity: "field" | "package" | { readonly linesOf: AddParamName };
  readonly dripfeed: boolean;
}

const field = "field" as const;

/** The parameter table of every service type (seed `003_*`; issue #3's table). */
export const SERVICE_TYPE_SPECS: Readonly<Record<ServiceType, ServiceTypeSpec>> = {
  Default: { params: ["link", "quantity"], optional: ["runs", "interval"], quantity: field, dripfeed: true },
  Package: { params: ["link"], optional: [], quantity: "package", dripfeed: false },
  "Custom Comments": {
    params: ["link", "comments"],
    optional: [],
    quantity: { linesOf: "comments" },
    dripfeed: false,
  },
  "Custom Comments Package": { params: ["link", "comments"], optional: [], quantity: "package", dripfeed: false },
  Mentions: { params: ["link", "quantity", "usernames"], optional: [], quantity: field, dripfeed: false },
  "Mentions with Hashtags": {
    params: ["link", "quantity", "usernames", "hashtags"],
    optional: [],
    quantity: field,
    dripfeed: false,
  },
  "Mentions Custom List": {
    params: ["link", "usernames"],
    optional: [],
    quantity: { linesOf: "usernames" },
    dripfeed: false,
  },
  "Mentions Hashtag": { params: ["link", "quantity", "hashtag"], optional: [], quantity: field, dripfeed: false },
  "Mentions User Followers": {
    params: ["link", "quantity", "username"],
    optional: [],
    quantity: field,
    dripfeed: false,
  },
  "Mentions Media Likers": { params: ["link", "quantity", "media"], optional: [], quantity: field, dripfeed: false },
  "Comment Likes": { params: ["link", "quantity", "username"], optional: [], quantity: field, dripfeed: false },
  "Comment Replies": {
    params: ["link", "username", "comments"],
    optional: [],
    quantity: { linesOf: "comments" },
    dripfeed: false,
  },
  Poll: { params: ["link", "quantity", "answer_number"], optional: [], quantity: field, dripfeed: false },
  SEO: { params: ["link", "quantity", "keywords"], optional: [], quantity: field, dripfeed: false },
  "Invites from Groups": { params: ["link", "quantity", "groups"], optional: [], quantity: field, dripfeed: false },
  Subscriptions: {
    params: ["username", "min", "max", "delay"],
    optional: ["posts", "old_posts", "expiry"],
    quantity: "package",
    dripfeed: false,
  },
};

/** True when `name` is one of {@link SERVICE_TYPES}; matching is exact (panels spell types exactly). */
export function isServiceType(name: string): name is ServiceType {
  return (SERVICE_TYPES as readonly string[]).includes(name);
}

/** Parameters of one order as forwarded upstream: every value as the string the form carries. */
export type AddParams = Partial<Record<AddParamName, string>>;
