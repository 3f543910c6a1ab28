/**
 * Customer API keys: 192 random bits, URL-safe, shown once; only their SHA-256 (hex) is stored.
 * A lookup hashes the presented key and reads the unique `key_hash` index, so it costs the same
 * whether or not the key exists (no comparison of secrets in JavaScript).
 */
import { hash, randomBytes } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { preparedFor } from "../db/prepared.js";
import { apiKeys, type Customer, customers } from "../db/schema.js";

/** Characters of the raw key kept in clear (`api_keys.prefix`) to tell keys apart. */
export const KEY_PREFIX_LENGTH = 6;

/** Keys longer than this are not ours (every key we issue is 32 characters). */
export const MAX_KEY_LENGTH = 256;

/** A fresh random key: 24 bytes (192 bits) as base64url, 32 characters. */
export function generateApiKey(): string {
  return randomBytes(24).toString("base64url");
}

/** The stored form of a key: SHA-256, lowercase hex (one-shot `crypto.hash`: a third of `createHash`'s cost per request). */
export function hashApiKey(key: string): string {
  return hash("sha256", key, "hex");
}

/** An API key as operators may see it: never the key itself nor its hash. */
export interface ApiKeyView {
  id: number;
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * Issues a new key for `customerId` and stores its hash. Call inside a transaction; the
 * customer must exist (foreign key).
 * @returns the raw key (to show once) and its row id.
 */
export function insertApiKey(
  db: Db,
  customerId: number,
  at: number,
): { apiKey: string; keyId: number; prefix: string } {
  const apiKey = generateApiKey();
  const prefix = apiKey.slice(0, KEY_PREFIX_LENGTH);
  const row = db
    .insert(apiKeys)
    .values({ customerId, keyHash: hashApiKey(apiKey), prefix, createdAt: at })
    .returning({ id: apiKeys.id })
    .get();
  return { apiKey, keyId: row.id, prefix };
}

/**
 * The customer owning the active (not revoked) key `key`, or undefined.
 * Hashes first, then one indexed lookup by hash.
 */
export function findCustomerByApiKey(db: Db, key: string): Customer | undefined {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) return undefined;
  return findCustomerByKeyHash(db, hashApiKey(key));
}

/** The customer owning the active key whose hash (hex, {@link hashApiKey}) is `keyHash`, or undefined. */
export function findCustomerByKeyHash(db: Db, keyHash: string): Customer | undefined {
  return keyLookup(db).get({ keyHash })?.customer;
}

/** The lookup as a prepared query: built and prepared once per store, not per request (issue #6). */
const keyLookup = preparedFor((db: Db) =>
  db
    .select({ customer: customers })
    .from(apiKeys)
    .innerJoin(customers, eq(customers.id, apiKeys.customerId))
    .where(and(eq(apiKeys.keyHash, sql.placeholder("keyHash")), isNull(apiKeys.revokedAt)))
    .prepare(),
);

/** Every key of a customer (active and revoked), newest first. */
export function listApiKeys(db: Db, customerId: number): ApiKeyView[] {
  return db
    .select({ id: apiKeys.id, prefix: apiKeys.prefix, createdAt: apiKeys.createdAt, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.customerId, customerId))
    .orderBy(apiKeys.id)
    .all()
    .reverse();
}
