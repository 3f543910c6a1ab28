/**
 * The server's exclusive hold on its database (issue #11): one `instance_lock` row (owner, pid,
 * hostname, heartbeat). A second server on the same database refuses to start while the row's
 * holder is live; the CLI never takes the lock and keeps working beside a running server.
 *
 * A holder is live unless its heartbeat is older than `staleMs`, or it ran on this host and its
 * pid no longer exists (a server killed with SIGKILL is taken over at once on restart).
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { eq } from "drizzle-orm";
import { type Db, inTransaction } from "../db/client.js";
import { instanceLock } from "../db/schema.js";

/** Heartbeat period, ms. */
export const HEARTBEAT_MS = 5_000;
/** A lock whose heartbeat is older than this is stale (its holder is gone), ms. */
export const STALE_AFTER_MS = 30_000;

/** A start refused with one line for the operator (instance lock held, port busy). */
export class StartRefusedError extends Error {
  override name = "StartRefusedError";
}

export interface InstanceLock {
  readonly owner: string;
  /** Stops the heartbeat and deletes the row (if still ours). Never throws. */
  release(): void;
}

export interface InstanceLockOptions {
  now?: () => number;
  heartbeatMs?: number;
  staleAfterMs?: number;
  /** Told when a heartbeat fails or finds the row taken over. */
  onProblem?: (message: string, error?: unknown) => void;
}

/** Whether process `pid` exists on this host. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === "EPERM";
  }
}

/**
 * Takes the lock on `db` and keeps its heartbeat.
 * @throws StartRefusedError when a live holder has it (message names its pid and host).
 */
export function acquireInstanceLock(db: Db, options: InstanceLockOptions = {}): InstanceLock {
  const now = options.now ?? (() => Date.now());
  const staleAfterMs = options.staleAfterMs ?? STALE_AFTER_MS;
  const owner = randomUUID();
  const host = hostname();
  inTransaction(db, () => {
    const at = now();
    const held = db.select().from(instanceLock).where(eq(instanceLock.id, 1)).get();
    if (held) {
      const fresh = at - held.heartbeatAt < staleAfterMs;
      const gone = held.hostname === host && !pidAlive(held.pid);
      if (fresh && !gone) {
        const ago = Math.max(0, Math.round((at - held.heartbeatAt) / 1000));
        throw new StartRefusedError(
          `the database is in use by another smm-proxy server (pid ${held.pid} on ${held.hostname}, heartbeat ${ago}s ago); stop it first`,
        );
      }
      db.delete(instanceLock).where(eq(instanceLock.id, 1)).run();
    }
    db.insert(instanceLock)
      .values({ id: 1, owner, pid: process.pid, hostname: host, startedAt: at, heartbeatAt: at })
      .run();
  });
  const beat = () => {
    try {
      const written = db.update(instanceLock).set({ heartbeatAt: now() }).where(eq(instanceLock.owner, owner)).run();
      if (written.changes === 0) options.onProblem?.("instance lock was taken over by another process");
    } catch (error) {
      options.onProblem?.("instance lock heartbeat failed", error);
    }
  };
  const timer = setInterval(beat, options.heartbeatMs ?? HEARTBEAT_MS);
  timer.unref();
  let released = false;
  return {
    owner,
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        db.delete(instanceLock).where(eq(instanceLock.owner, owner)).run();
      } catch (error) {
        options.onProblem?.("instance lock could not be released", error);
      }
    },
  };
}
