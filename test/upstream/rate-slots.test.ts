/**
 * The queue's rate slots (issue #6, "never above"): a slot stays in the window until the
 * interval has passed since the latest moment the upstream can have counted its request
 * (answer headers minus the least latency seen), a running slot holds the window until it
 * ends, and a slot given back (nothing sent) frees the rate at once. Times are on a fake clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ProviderQueue, type RateSlot } from "../../src/upstream/queue.js";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "setInterval", "clearInterval", "Date"] });
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A queue of `cap` sends per 1000 ms, no margin, concurrency 10, the least latency trusted from the first answer. */
function queue(cap: number, minLatencySamples = 1): ProviderQueue {
  return new ProviderQueue({ concurrency: 10, intervalCap: cap, intervalMs: 1000, rateMarginMs: 0, minLatencySamples });
}

/** Runs a job that records when it took its slot, then does `use` with the slot. */
function job(q: ProviderQueue, starts: number[], use: (slot: RateSlot, sentAt: number) => Promise<void>) {
  return q.run(
    async (slot) => {
      const sentAt = Date.now();
      starts.push(sentAt);
      await use(slot, sentAt);
    },
    { priority: "sync", startBy: 60_000 },
  );
}

/** A send answered after `latencyMs`. */
const answeredAfter = (latencyMs: number) => async (slot: RateSlot, sentAt: number) => {
  await wait(latencyMs);
  slot.answered(sentAt, Date.now());
};

describe("rate slots", () => {
  it("a request answered late holds its slot until the interval after its answer minus the least latency", async () => {
    const q = queue(2);
    const starts: number[] = [];
    const all = Promise.all([
      job(q, starts, answeredAfter(50)), // least latency: 50 ms → counted by 0 at the latest
      job(q, starts, answeredAfter(600)), // stalled: counted by 600 − 50 = 550 at the latest
      job(q, starts, answeredAfter(50)),
      job(q, starts, answeredAfter(50)),
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    await all;
    // The third goes when p-queue's own start limit allows (1 ms after the window), the fourth
    // only when the stalled one has left the window.
    expect(starts).toEqual([0, 0, 1001, 1550]);
  });

  it("until minLatencySamples answers came, a slot counts until its answer", async () => {
    const q = queue(2, 3);
    const starts: number[] = [];
    const all = Promise.all([
      job(q, starts, answeredAfter(50)), // 1st answer: counted by 50
      job(q, starts, answeredAfter(600)), // 2nd answer: counted by 600
      job(q, starts, answeredAfter(50)), // 3rd answer (at 1100): least latency 50 from now on
      job(q, starts, answeredAfter(50)),
      job(q, starts, answeredAfter(50)),
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    await all;
    expect(starts).toEqual([0, 0, 1050, 1600, 2050]);
  });

  it("a running request holds its slot until it ends", async () => {
    const q = queue(1);
    const starts: number[] = [];
    const all = Promise.all([job(q, starts, answeredAfter(1500)), job(q, starts, answeredAfter(10))]);
    await vi.advanceTimersByTimeAsync(5000);
    await all;
    // Its own latency is the least: counted by 0 at the latest, so the next goes as soon as it ended.
    expect(starts).toEqual([0, 1500]);
  });

  it("a request without an answer (timeout, reset) counts until its task ended", async () => {
    const q = queue(1);
    const starts: number[] = [];
    const all = Promise.all([job(q, starts, () => wait(300)), job(q, starts, answeredAfter(10))]);
    await vi.advanceTimersByTimeAsync(5000);
    await all;
    expect(starts).toEqual([0, 1300]);
  });

  it("a slot given back (nothing sent) does not count", async () => {
    const q = queue(1);
    const starts: number[] = [];
    const all = Promise.all([
      job(q, starts, async (slot) => {
        await wait(500);
        slot.release();
      }),
      job(q, starts, answeredAfter(10)),
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    await all;
    // Only p-queue's start limit applies (not 500 + 1000, as for a send without an answer).
    expect(starts).toEqual([0, 1001]);
  });

  it("the margin is added to the window", async () => {
    const q = new ProviderQueue({
      concurrency: 10,
      intervalCap: 1,
      intervalMs: 1000,
      rateMarginMs: 40,
      minLatencySamples: 1,
    });
    const starts: number[] = [];
    const all = Promise.all([job(q, starts, answeredAfter(10)), job(q, starts, answeredAfter(10))]);
    await vi.advanceTimersByTimeAsync(5000);
    await all;
    expect(starts).toEqual([0, 1041]);
  });
});
