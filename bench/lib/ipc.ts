/**
 * Request/answer messaging between the bench driver and the processes it starts (servers
 * under test, the bare sync script). Each child runs in its own Node process (from the compiled
 * build, or `node --import tsx`), so its pid is the process whose RSS we read and whose CPU we profile.
 */
import { type ChildProcess, fork } from "node:child_process";
import { openSync } from "node:fs";
import { resolve } from "node:path";

interface Request {
  id: number;
  command: string;
  payload: unknown;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export type Handlers = Record<string, (payload: never) => unknown>;

export interface ChildOptions {
  /** Arguments after the script path (JSON is passed as one argument). */
  args?: string[];
  /** Extra Node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** File receiving the child's stdout and stderr (default: discarded). */
  logFile?: string;
}

/** A started child: ask it commands, read its pid, stop it. */
export interface Child {
  pid: number;
  call<T>(command: string, payload?: unknown): Promise<T>;
  /** Asks the child to exit cleanly (so `--cpu-prof` writes its profile); kills it after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

let buildDir: string | undefined;

/**
 * From now on, children run from the compiled build in `dir` (`lib/build.ts`) with plain Node,
 * as `npm start` runs the proxy; by default they run their TypeScript through tsx.
 */
export function runChildrenFrom(dir: string): void {
  buildDir = dir;
}

/** Starts `script` (a TypeScript file under bench/, or its compiled form) and waits for its `ready` message. */
export async function startChild(
  script: string,
  options: ChildOptions = {},
): Promise<{ child: Child; ready: unknown }> {
  const out = options.logFile === undefined ? "ignore" : openSync(options.logFile, "a");
  const file = buildDir === undefined ? resolve(script) : resolve(buildDir, script.replace(/\.ts$/, ".js"));
  const loader = buildDir === undefined ? ["--import", "tsx"] : [];
  const proc: ChildProcess = fork(file, options.args ?? [], {
    execArgv: [...loader, ...(options.nodeFlags ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ["ignore", out, out, "ipc"],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((done) =>
    proc.once("exit", (code) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`${script} exited (code ${code})`));
      pending.clear();
      done();
    }),
  );
  const ready = await new Promise<unknown>((resolveReady, rejectReady) => {
    const onMessage = (m: { ready?: unknown; error?: string }) => {
      if (m.error !== undefined) rejectReady(new Error(`${script}: ${m.error}`));
      else if ("ready" in m) resolveReady(m.ready);
      proc.off("message", onMessage);
    };
    proc.on("message", onMessage);
    proc.once("exit", (code) => rejectReady(new Error(`${script} exited before ready (code ${code})`)));
  });
  proc.on("message", (m: Reply) => {
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`${script}: ${m.error}`));
  });
  const pid = proc.pid ?? -1;
  const child: Child = {
    pid,
    call<T>(command: string, payload?: unknown): Promise<T> {
      if (exited) return Promise.reject(new Error(`${script} has exited`));
      const id = nextId++;
      return new Promise<T>((res, rej) => {
        pending.set(id, { resolve: (v) => res(v as T), reject: rej });
        proc.send({ id, command, payload } satisfies Request);
      });
    },
    async stop(timeoutMs = 15_000) {
      if (exited) return;
      proc.send({ id: 0, command: "exit", payload: null } satisfies Request);
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
  return { child, ready };
}

/**
 * Child side: answers the driver's commands with `handlers`, after sending `ready`.
 * The `exit` command runs `onExit` then ends the process with code 0.
 */
export function serveCommands(ready: unknown, handlers: Handlers, onExit: () => Promise<void> = async () => {}): void {
  const send = (m: unknown) => process.send?.(m);
  process.on("message", async (m: Request) => {
    if (m.command === "exit") {
      await onExit();
      process.exit(0);
    }
    const handler = handlers[m.command];
    try {
      if (handler === undefined) throw new Error(`unknown command ${m.command}`);
      const value = await (handler as (p: unknown) => unknown)(m.payload);
      send({ id: m.id, ok: true, value } satisfies Reply);
    } catch (error) {
      send({ id: m.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
  process.on("disconnect", () => process.exit(0));
  send({ ready });
}

/** Child side: reports a start failure to the driver and exits. */
export function failStart(error: unknown): never {
  process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}

/** Current and peak resident set size of a process, bytes (Linux `/proc/<pid>/status`). */
export async function rssOf(pid: number): Promise<{ rss: number; peak: number }> {
  const { readFile } = await import("node:fs/promises");
  const text = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? Number.NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** CPU time (user + system) a process has used so far, ms (Linux `/proc/<pid>/stat`, 10 ms ticks). */
export async function cpuMsOf(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command: state is index 0, so utime (14th overall) is 11 and stime 12.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
