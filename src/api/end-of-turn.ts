/**
 * Answers leave together, at the end of the event-loop turn that made them (issue #14).
 *
 * Node runs a turn's I/O callbacks (the poll phase: every request whose bytes arrived) before
 * its `setImmediate` callbacks (the check phase). An answer written as soon as it is made wakes
 * its reader (a client on this host, a reverse proxy in front of smm-proxy) once per answer;
 * answers written back to back at the end of the turn find a reader already woken by the first
 * one. On the 2-core bench machine, loopback delivery and those wake-ups were ~11 µs of the
 * ~70 µs of proxy CPU per `status` answer; writing at the end of the turn took `status` from
 * ~70 to ~51 µs of CPU per answer (docs/performance.md).
 *
 * The cost is latency: an answer waits until every request of its turn is answered, and until
 * the `setImmediate` callbacks queued before the turn's own have run (the status sync's group
 * transaction, `sync/apply-queue.ts`, and `add`'s group commit, `db/group-commit.ts`, are such
 * callbacks: up to their length, ~10 ms for 800 synced orders). When idle it is one
 * `setImmediate` hop; with 50 connections saturating the server, where all 50 requests arrive in
 * one turn, the wait is ~1 ms at the median (≈ requests in the turn × CPU per answer).
 *
 * One promise per turn, shared by every answer made in it, so the cost is one `setImmediate`
 * per turn, not per answer.
 */

let turn: Promise<void> | undefined;

/** Resolves in this turn's check phase (`setImmediate`); the same promise for every caller in the turn. */
export function endOfTurn(): Promise<void> {
  turn ??= new Promise<void>((resolve) => {
    setImmediate(() => {
      turn = undefined;
      resolve();
    });
  });
  return turn;
}
