import { describe, expect, it } from "vitest";
import { endOfTurn } from "../../src/api/end-of-turn.js";

describe("endOfTurn: answers made in one event-loop turn leave together at its end", () => {
  it("resolves in the check phase: after every microtask and tick queued in the turn", async () => {
    const seen: string[] = [];
    const waited = endOfTurn().then(() => seen.push("end of turn"));
    queueMicrotask(() => seen.push("microtask"));
    process.nextTick(() => seen.push("next tick"));
    await waited;
    expect(seen).toHaveLength(3);
    expect(seen.slice(0, 2).sort()).toEqual(["microtask", "next tick"]);
    expect(seen[2]).toBe("end of turn");
  });

  it("waits for the turn's I/O phase to end: a setImmediate queued before it runs first", async () => {
    const seen: string[] = [];
    setImmediate(() => seen.push("queued before"));
    await endOfTurn();
    expect(seen).toEqual(["queued before"]);
  });

  it("is one promise for every caller in a turn, and a new one in the next turn", async () => {
    const first = endOfTurn();
    expect(endOfTurn()).toBe(first);
    await first;
    const next = endOfTurn();
    expect(next).not.toBe(first);
    await next;
  });
});
