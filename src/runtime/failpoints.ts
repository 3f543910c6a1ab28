/**
 * Failpoints: a TEST HOOK for the crash tests (issue #8). When the environment variable
 * `SMM_PROXY_FAILPOINT` names a point when the process starts, reaching that point kills the
 * process at once with SIGKILL (no cleanup, no flush), so a test can prove what a crash at
 * exactly that instant leaves in the store. Unset (always, in production) every point is a no-op.
 *
 * Points:
 * - `after_upstream_answer`: `placeOrder`, after the upstream answered the `add` and before
 *   the store recorded the outcome (at every attempt of a failover).
 * - `before_next_attempt`: `placeOrder`, after a route's definite failure was recorded and
 *   before the next route is sent anything (issue #12).
 */
export const FAILPOINTS = ["after_upstream_answer", "before_next_attempt"] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

/** Read once, when the module is first loaded (process start). */
const armed: string | undefined = process.env.SMM_PROXY_FAILPOINT?.trim() || undefined;

/** Kills the process with SIGKILL when `point` is the armed failpoint; otherwise returns. */
export function failpoint(point: Failpoint): void {
  if (armed === point) process.kill(process.pid, "SIGKILL");
}
