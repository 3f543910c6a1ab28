/**
 * Catalogues the simulator offers: a default one covering every service type of
 * `SIM_TYPES` (seed `003_*` parameter sets) with refill/cancel/drip-feed variety, and a
 * generated one of N services for benchmarks.
 */
import { mulberry32 } from "./random.js";
import type { SimService } from "./types.js";
import { SIM_TYPE_NAMES, SIM_TYPES, type SimType } from "./vocabulary.js";

type Row = [name: string, type: SimType, category: string, rate: string, min: number, max: number, flags: string];

/** `flags`: r = refill, c = cancel, d = drip-feed. */
const DEFAULT_ROWS: Row[] = [
  ["Followers", "Default", "Instagram Followers", "0.90", 50, 10000, "rcd"],
  ["Comments", "Custom Comments", "Instagram Comments", "8", 10, 1500, "c"],
  ["Likes", "Default", "Instagram Likes", "0.25", 10, 50000, ""],
  ["1000 Views Package", "Package", "YouTube Views", "1.50", 1, 1, ""],
  ["10 Comments Package", "Custom Comments Package", "YouTube Comments", "12", 1, 1, "c"],
  ["Mentions", "Mentions", "Instagram Mentions", "4", 100, 10000, "c"],
  ["Mentions with Hashtags", "Mentions with Hashtags", "Instagram Mentions", "5", 100, 10000, ""],
  ["Mentions Custom List", "Mentions Custom List", "Instagram Mentions", "6", 1, 1000, ""],
  ["Mentions Hashtag", "Mentions Hashtag", "Instagram Mentions", "4.5", 100, 10000, ""],
  ["Mentions User Followers", "Mentions User Followers", "Instagram Mentions", "4.2", 100, 10000, "c"],
  ["Mentions Media Likers", "Mentions Media Likers", "Instagram Mentions", "4.8", 100, 10000, ""],
  ["Comment Likes", "Comment Likes", "Instagram Comments", "3", 20, 5000, "rc"],
  ["Comment Replies", "Comment Replies", "Instagram Comments", "9", 1, 500, ""],
  ["Poll Votes", "Poll", "Twitter Polls", "2", 100, 20000, "c"],
  ["SEO Traffic", "SEO", "Website Traffic", "0.75", 500, 100000, "rcd"],
  ["Group Invites", "Invites from Groups", "Telegram Members", "7", 100, 10000, "r"],
  ["Auto Comments", "Subscriptions", "Instagram Auto", "10", 10, 1000, "c"],
  ["Premium Followers", "Default", "Instagram Followers", "12.5", 100, 5000, "r"],
  ["Views", "Default", "TikTok Views", "0.012", 100, 10000000, "cd"],
];

function fromRow(id: number, [name, type, category, rate, min, max, flags]: Row): SimService {
  return {
    service: id,
    name,
    type,
    category,
    rate,
    min,
    max,
    refill: flags.includes("r"),
    cancel: flags.includes("c"),
    dripfeed: flags.includes("d") && SIM_TYPES[type].dripfeed,
  };
}

/** Services 1..19: every service type at least once; service 1 and 2 match seed `000_*`. */
export function defaultCatalogue(): SimService[] {
  return DEFAULT_ROWS.map((row, i) => fromRow(i + 1, row));
}

/** `size` services cycling through every type, with seeded rates, limits and flags. */
export function generatedCatalogue(size: number, seed = 1): SimService[] {
  const random = mulberry32(seed ^ 0x5eed);
  const out: SimService[] = [];
  for (let i = 0; i < size; i++) {
    const type = SIM_TYPE_NAMES[i % SIM_TYPE_NAMES.length] as SimType;
    const spec: { quantity: unknown; dripfeed: boolean } = SIM_TYPES[type];
    const isPackage = spec.quantity === "package";
    const min = isPackage ? 1 : 10 * (1 + Math.floor(random() * 10));
    const max = isPackage ? 1 : min * (10 + Math.floor(random() * 1000));
    out.push({
      service: i + 1,
      name: `${type} #${i + 1}`,
      type,
      category: `Category ${1 + Math.floor(i / 50)}`,
      rate: (0.01 + random() * 20).toFixed(4),
      min,
      max,
      refill: random() < 0.5,
      cancel: random() < 0.6,
      dripfeed: spec.dripfeed && random() < 0.5,
    });
  }
  return out;
}
