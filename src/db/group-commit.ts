/**
 * Group commit (issue #14, `add`): short synchronous writes of concurrent callers, queued in the
 * same event-loop turn, run in ONE write transaction instead of one each. Each write runs in its
 * own savepoint, so one that throws is rolled back alone and only its caller sees the error;
 * every caller's promise settles after the shared COMMIT, so a caller that awaits it acts only on
 * a durable write (as with `inTransaction`). Costs each write one `setImmediate` of latency.
 */
import { type Db, inTransaction } from "./client.js";
import { preparedFor } from "./prepared.js";

interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Group {
  pending: Pending[];
  scheduled: boolean;
}

const groupFor = preparedFor((_db: Db): Group => ({ pending: [], scheduled: false }));

/**
 * Runs `write` (synchronous, never async) in the next group transaction of `db`.
 * @returns what `write` returned, once committed.
 * @throws what `write` threw (its changes rolled back), or the store's error when the group's
 *   transaction could not begin or commit (then nothing of the group was written).
 */
export function commitSoon<T>(db: Db, write: () => T): Promise<T> {
  const group = groupFor(db);
  return new Promise<T>((resolve, reject) => {
    group.pending.push({ write, resolve: resolve as (value: unknown) => void, reject });
    if (!group.scheduled) {
      group.scheduled = true;
      setImmediate(flush, db, group);
    }
  });
}

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

function flush(db: Db, group: Group): void {
  const batch = group.pending;
  group.pending = [];
  group.scheduled = false;
  const results: Result[] = [];
  try {
    inTransaction(db, () => {
      for (const item of batch) {
        try {
          // Nested in the group's transaction, better-sqlite3 runs it as a SAVEPOINT.
          results.push({ ok: true, value: db.$client.transaction(item.write)() });
        } catch (error) {
          results.push({ ok: false, error });
        }
      }
    });
  } catch (error) {
    for (const item of batch) item.reject(error);
    return;
  }
  for (const [i, item] of batch.entries()) {
    const result = results[i];
    if (result?.ok) item.resolve(result.value);
    else item.reject(result?.error);
  }
}
