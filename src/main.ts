/**
 * `npm start`: runs smm-proxy from the environment (see docs/configuration.md).
 * SIGTERM/SIGINT stop accepting and finish in-flight work (bounded); a second signal exits at once.
 * SIGHUP re-reads `PROVIDERS_FILE` (an invalid file is logged and ignored).
 */
import { EnvError, loadEnv } from "./config/env.js";
import { ConfigError } from "./config/providers-file.js";
import { StoreOpenError } from "./db/client.js";
import { exitOnFatalErrors } from "./observability/logger.js";
import { StartRefusedError } from "./runtime/instance-lock.js";
import { start } from "./runtime/start.js";

async function main(): Promise<void> {
  const env = loadEnv();
  const runtime = await start(env);
  exitOnFatalErrors(runtime.ctx.logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      runtime.ctx.logger.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    stopping = true;
    runtime.ctx.logger.info({ signal }, "shutting down");
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // Reloads run one after another; a SIGHUP during shutdown is ignored.
  let reloading: Promise<unknown> = Promise.resolve();
  process.on("SIGHUP", () => {
    if (stopping) return;
    runtime.ctx.logger.info({ signal: "SIGHUP" }, "reloading the providers file");
    reloading = reloading
      .then(() => runtime.reload())
      .catch((error: unknown) => {
        runtime.ctx.logger.error({ err: error }, "config reload failed");
      });
  });
}

main().catch((error: unknown) => {
  if (
    error instanceof EnvError ||
    error instanceof ConfigError ||
    error instanceof StoreOpenError ||
    error instanceof StartRefusedError
  ) {
    process.stderr.write(`smm-proxy: ${error.message}\n`);
  } else {
    process.stderr.write(`smm-proxy: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
