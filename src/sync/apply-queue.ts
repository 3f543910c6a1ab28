/**
 * Groups the batches whose upstream answers arrive together (within one turn of the event loop)
 * into one store transaction (`applyOrderBatches`), so a status sync with several batches in
 * flight commits once per group instead of once per batch (issue #6, sync cycle figure).
 */
import type { AppContext } from "../runtime/context.js";
import { applyOrderBatches, type BatchJob, type BatchStats } from "./order-batch.js";

interface Pending extends BatchJob {
  resolve(stats: BatchStats): void;
  reject(error: unknown): void;
}

/** Applies answered batches, grouped; `apply` resolves with the batch's stats once committed. */
export interface ApplyQueue {
  /** @throws (rejects) what `applyOrderBatch` threw for this batch, or the group's commit error. */
  apply(job: BatchJob): Promise<BatchStats>;
}

/** A queue applying with `ctx.config.flagAfterMisses`; groups flush on `setImmediate`. */
export function createApplyQueue(ctx: AppContext, flagAfterMisses: number): ApplyQueue {
  let pending: Pending[] = [];
  const flush = () => {
    const jobs = pending;
    pending = [];
    try {
      const outcomes = applyOrderBatches(ctx, jobs, flagAfterMisses);
      jobs.forEach((job, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) job.resolve(outcome.stats);
        else job.reject(outcome === undefined ? new Error("batch not applied") : outcome.error);
      });
    } catch (error) {
      for (const job of jobs) job.reject(error);
    }
  };
  return {
    apply(job) {
      return new Promise<BatchStats>((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ ...job, resolve, reject });
      });
    },
  };
}
