/**
 * `npm start`: runs smm-proxy from the environment (see README "Configuration").
 * SIGTERM/SIGINT stop accepting and finish in-flight work (bounded); a second signal exits at once.
 */
import { EnvError, loadEnv } from "./config/env.js";
import { ConfigError } from "./config/providers-file.js";
import { start } from "./runtime/start.js";

async function main(): Promise<void> {
  const env = loadEnv();
  const runtime = await start(env);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
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
}

main().catch((error: unknown) => {
  if (error instanceof EnvError || error instanceof ConfigError) {
    process.stderr.write(`smm-proxy: ${error.message}\n`);
  } else {
    process.stderr.write(`smm-proxy: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
