/**
 * The API key check without SQL on the hot path (issue #14): an in-memory map from key hash
 * (SHA-256 hex) to the customer's row without its balance. Each lookup reads one counter,
 * `cache_generations.customers`, which the store's triggers bump whenever any process or
 * connection adds, revokes or deletes a key, or changes a customer in anything but its balance
 * (migration 0006); when it moved, the map starts over. So a key revoked or rotated by the CLI
 * is refused on the very next request. Unknown keys are never cached (no growth from guesses).
 *
 * Balances are not here: they change with every order, and readers take them from the store
 * (`readBalance`). Every other column of the customer row is carried as stored, so a new flag
 * (e.g. a `suspended` column) reaches the API with no change here.
 */

import { type CacheGenerations, readCacheGenerations } from "../db/cache-generations.js";
import type { Db } from "../db/client.js";
import { preparedFor } from "../db/prepared.js";
import type { Customer } from "../db/schema.js";
import { findCustomerByKeyHash, hashApiKey, MAX_KEY_LENGTH } from "./api-keys.js";

/** A customer as the API sees it on each request: the stored row without the balance (and its `updatedAt`). */
export type KeyHolder = Omit<Customer, "balance" | "updatedAt">;

/** Most keys held at once; past it the map starts over (a bound, far above any real customer base). */
const MAX_ENTRIES = 100_000;

interface KeyCache {
  /** The counter the map was filled under; undefined = not filled yet. */
  generation: number | undefined;
  byHash: Map<string, KeyHolder>;
}

const cacheFor = preparedFor((_db: Db): KeyCache => ({ generation: undefined, byHash: new Map() }));

/**
 * The customer owning the active key `key`, or undefined (empty, too long, unknown or revoked).
 * One SHA-256 per call, and one read of the cache counters unless the caller passes the
 * request's `generations` (the API handler reads them once per request); the indexed lookup
 * only on the first use of a key since the last change to keys or customers.
 */
export function customerByApiKey(
  db: Db,
  key: string,
  generations: CacheGenerations = readCacheGenerations(db),
): KeyHolder | undefined {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) return undefined;
  const cache = cacheFor(db);
  // No counter row (a store edited by hand): nothing can tell us of changes, so nothing is kept.
  const generation = generations.customers;
  if (generation !== cache.generation || cache.byHash.size >= MAX_ENTRIES) {
    cache.byHash.clear();
    cache.generation = generation;
  }
  const keyHash = hashApiKey(key);
  const hit = cache.byHash.get(keyHash);
  if (hit !== undefined) return hit;
  const row = findCustomerByKeyHash(db, keyHash);
  if (row === undefined) return undefined;
  const { balance: _balance, updatedAt: _updatedAt, ...holder } = row;
  if (generation !== undefined) cache.byHash.set(keyHash, holder);
  return holder;
}
