/**
 * The provider registry's event listener (issue #7): one log line per upstream call attempt
 * (provider, action, outcome class, duration, HTTP code), a named event per circuit change,
 * and the upstream metrics. Events never carry keys (see `upstream/events.ts`).
 */
import type { UpstreamEvent, UpstreamEventListener } from "../upstream/events.js";
import { type Logger, logEvent } from "./logger.js";
import type { Metrics } from "./metrics.js";

/** Builds the listener passed as `onEvent` to `createProviderRegistry`. */
export function createUpstreamListener(logger: Logger, metrics?: Metrics): UpstreamEventListener {
  // The call line is built from fixed event fields only (never a request or answer field), so
  // it skips the wildcard redaction that costs ~4× a plain line (one line per `add`, issue #14).
  const callLog = logger.child({}, { redact: { paths: ["key", "apiKey"], censor: "[redacted]" } });
  return (event: UpstreamEvent) => {
    metrics?.observeUpstream(event);
    if (event.type === "circuit") {
      const fields = { provider: event.provider, state: event.state, consecutiveFailures: event.consecutiveFailures };
      if (event.state === "open") logEvent(logger, "circuit_opened", fields, "provider circuit opened");
      else if (event.state === "closed") logEvent(logger, "circuit_closed", fields, "provider circuit closed", "info");
      else logEvent(logger, "circuit_half_open", fields, "provider circuit half-open: probing", "info");
      return;
    }
    const line = {
      provider: event.provider,
      action: event.action,
      outcome: event.outcome,
      ...(event.reason === undefined ? {} : { reason: event.reason }),
      durationMs: event.durationMs,
      queuedMs: event.queuedMs,
      ...(event.httpStatus === undefined ? {} : { httpStatus: event.httpStatus }),
      attempt: event.attempt,
      willRetry: event.willRetry,
    };
    if (event.outOfFunds) {
      // Every order to this provider fails until the operator tops up the account there.
      logEvent(
        logger,
        "upstream_out_of_funds",
        { ...line, upstreamError: event.upstreamError },
        "provider refused for lack of funds on our account: top it up",
        "error",
      );
    } else if (event.outcome === "ok" || event.outcome === "rejected") callLog.info(line, "upstream call");
    else callLog.warn(line, "upstream call");
  };
}
