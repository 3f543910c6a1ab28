/**
 * SQLite's `PRAGMA data_version` through a statement prepared once per store: a number that
 * moves whenever another connection (another process: the CLI, a second server) commits to the
 * store, and never for this connection's own commits. In-memory caches read it per request to
 * see other processes' writes at once (`services`, the API key cache).
 */
import type { Db } from "./client.js";
import { preparedFor } from "./prepared.js";

const statement = preparedFor((db: Db) => db.$client.prepare("PRAGMA data_version").pluck());

/** The store's current `data_version` for this connection. */
export function dataVersion(db: Db): number {
  return Number(statement(db).get());
}
