import type { KeyHolder } from "../../customers/key-cache.js";
import type { CacheGenerations } from "../../db/cache-generations.js";
import type { AppContext } from "../../runtime/context.js";
import type { Fields } from "../request-fields.js";

/** What every action handler receives: the verified customer and the request's fields. */
export interface ActionRequest {
  ctx: AppContext;
  /** The key's owner from the key cache: every column but the balance (read it from the store). */
  customer: KeyHolder;
  fields: Fields;
  /** The store's cache counters, read once for this request by the API handler; absent elsewhere. */
  generations?: CacheGenerations;
  /** Request headers the action may need (lower-case names). */
  header: (name: string) => string | undefined;
}

/** An action answers a JSON body with 200, or throws a domain error. */
export type ActionHandler = (request: ActionRequest) => unknown | Promise<unknown>;
