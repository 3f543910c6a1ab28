/**
 * What a dialect is: for every action, how to build the form (without `key`) and how to read
 * a 2xx answer body. Transport and HTTP-status classification are shared (`../classify.ts`);
 * everything that differs between panels lives in one dialect file.
 */
import type { Dialect } from "../../config/providers-file.js";
import type {
  ItemError,
  UpstreamAddRequest,
  UpstreamOrderState,
  UpstreamRefillState,
  UpstreamService,
} from "../types.js";

/** Form fields of one request, `key` excluded (the client adds it). */
export type Form = Record<string, string>;

/** Result of reading a 2xx JSON body: the value, or why the shape is not recognised. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface ActionSpec<I, T> {
  /** Form fields for this action (without `key`). */
  form(input: I): Form;
  /** Reads a parsed JSON body that is not a top-level `{"error": ..}`. */
  parse(body: unknown): Parsed<T>;
}

/** Balance as a dialect reads it; `currency` is null when the panel does not send one. */
export interface BalanceAnswer {
  balance: string;
  currency: string | null;
}

/** The actions every dialect implements, with their input and parsed output. */
export interface DialectActions {
  services: ActionSpec<void, UpstreamService[]>;
  add: ActionSpec<UpstreamAddRequest, { order: string }>;
  status: ActionSpec<string, UpstreamOrderState>;
  multiStatus: ActionSpec<readonly string[], Map<string, UpstreamOrderState | ItemError>>;
  refill: ActionSpec<string, { refill: string }>;
  multiRefill: ActionSpec<readonly string[], Map<string, { refill: string } | ItemError>>;
  refillStatus: ActionSpec<string, UpstreamRefillState>;
  multiRefillStatus: ActionSpec<readonly string[], Map<string, UpstreamRefillState | ItemError>>;
  cancel: ActionSpec<readonly string[], Map<string, { ok: true } | ItemError>>;
  balance: ActionSpec<void, BalanceAnswer>;
}

/** Name of a client action (used in events and logs). */
export type UpstreamAction = keyof DialectActions;

export const UPSTREAM_ACTIONS = [
  "services",
  "add",
  "status",
  "multiStatus",
  "refill",
  "multiRefill",
  "refillStatus",
  "multiRefillStatus",
  "cancel",
  "balance",
] as const satisfies readonly UpstreamAction[];

/** The form of the panel's own order ids (checked before an operator links one to an order). */
export interface OrderIdForm {
  readonly pattern: RegExp;
  /** What the pattern accepts, for the refusal line ("a positive integer such as 23501"). */
  readonly description: string;
}

export interface DialectSpec extends DialectActions {
  readonly name: Dialect;
  /** Order ids this panel issues. */
  readonly orderId: OrderIdForm;
  /**
   * True when the panel reports errors with HTTP 4xx codes and `{"error":..}` bodies (seed
   * `003_*` table) rather than HTTP 200 `{"error":..}`. Informative: classification already
   * treats any 4xx (but 408/429) as `rejected` and reads `error` from its body.
   */
  readonly httpErrorCodes: boolean;
  /**
   * HTTP statuses the panel documents as carrying a defined error: such an answer with a JSON
   * `{"error": ..}` body is `rejected` even where the generic rule says `ambiguous` (5xx).
   * Absent: the generic rule only (see `../classify.ts`). 429 is always `rate_limited`.
   */
  readonly definedErrorStatuses?: readonly number[];
}
