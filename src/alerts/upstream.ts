/**
 * Alert conditions seen in upstream call events (issue #15): a provider refusing for lack of
 * funds on our account (cleared by its next accepted `add`), and a provider's circuit opening
 * (cleared when it closes).
 */
import type { UpstreamEvent, UpstreamEventListener } from "../upstream/events.js";
import type { Alerts } from "./alerter.js";

/** The listener to add to the registry's `onEvent`. */
export function alertOnUpstreamEvents(alerts: Alerts): UpstreamEventListener {
  return (event: UpstreamEvent) => {
    const provider = event.provider;
    if (event.type === "circuit") {
      const key = `circuit_open:${provider}`;
      if (event.state === "open") {
        alerts.raise(key, {
          type: "circuit_open",
          text: `provider ${provider}: circuit opened after ${event.consecutiveFailures} failures in a row; its calls are refused until it answers again`,
          details: { provider, consecutiveFailures: event.consecutiveFailures },
        });
      } else if (event.state === "closed") {
        alerts.clear(key, {
          type: "circuit_open",
          text: `provider ${provider}: circuit closed, calls flow again`,
          details: { provider },
        });
      }
      return;
    }
    const key = `provider_out_of_funds:${provider}`;
    if (event.outOfFunds) {
      alerts.raise(key, {
        type: "provider_out_of_funds",
        text: `provider ${provider} refused a call for lack of funds on our account (${event.upstreamError ?? "no funds"}): customers' orders to it fail until it is topped up`,
        details: { provider, action: event.action, upstreamError: event.upstreamError ?? null },
      });
    } else if (event.action === "add" && event.outcome === "ok") {
      alerts.clear(key, {
        type: "provider_out_of_funds",
        text: `provider ${provider} accepts orders again`,
        details: { provider },
      });
    }
  };
}

/**
 * After a reload of the providers file (`config/reload.ts`): a provider whose client was rebuilt
 * (`changed`: its key, URL or limits changed) starts with a closed circuit, and no `closed` event
 * comes for the old client's circuit; a provider removed from the file sends no more events at
 * all. Their alerts that only those events would clear are cleared here, so the Overview, the
 * log and the alert webhook do not keep them until a restart:
 * - `changed`: `circuit_open` (funds and balance alerts stay: a new key is the same account);
 * - `removed`: `circuit_open`, `provider_out_of_funds`, `provider_balance_low`.
 */
export function clearAlertsAfterReload(
  alerts: Alerts,
  changes: { changed: readonly string[]; removed: readonly string[] },
): void {
  const circuitReset = (provider: string, why: string) =>
    alerts.clear(`circuit_open:${provider}`, {
      type: "circuit_open",
      text: `provider ${provider}: circuit reset, ${why}`,
      details: { provider },
    });
  for (const provider of changes.changed) circuitReset(provider, "its client was rebuilt by a reload");
  for (const provider of changes.removed) {
    const details = { provider };
    circuitReset(provider, "it was removed from the providers file");
    alerts.clear(`provider_out_of_funds:${provider}`, {
      type: "provider_out_of_funds",
      text: `provider ${provider} was removed from the providers file`,
      details,
    });
    alerts.clear(`provider_balance_low:${provider}`, {
      type: "provider_balance_low",
      text: `provider ${provider} was removed from the providers file`,
      details,
    });
  }
}
