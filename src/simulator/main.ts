/**
 * CLI: runs one simulated panel until SIGINT/SIGTERM.
 *
 *   tsx src/simulator/main.ts --dialect jap --port 9001 --key demo
 *     [--host 127.0.0.1] [--balance 100.84292] [--currency USD] [--services 2000]
 *     [--tick 1000 | --no-progress] [--seed 1] [--latency 50] [--rate 60/60000]
 */
import { parseArgs } from "node:util";
import { startSimulator } from "./index.js";
import type { SimulatorOptions } from "./types.js";
import { SIM_DIALECTS as DIALECTS, type SimDialect as Dialect } from "./vocabulary.js";

const USAGE =
  "usage: tsx src/simulator/main.ts --dialect jap|morethanpanel|justprovider|panel [--port 0] [--host 127.0.0.1]\n" +
  "  [--key sim-key] [--balance 100.84292] [--currency USD] [--services N] [--tick MS | --no-progress]\n" +
  "  [--seed 1] [--latency MS] [--rate REQUESTS/INTERVAL_MS]";

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function int(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) fail(`--${name}: expected a non-negative integer, got "${text}"`);
  return Number.parseInt(text, 10);
}

/** Parses argv into simulator options; exits with usage on bad input. */
function parseCli(argv: string[]): SimulatorOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const dialect = values.dialect;
  if (dialect === undefined || !(DIALECTS as readonly string[]).includes(dialect)) {
    fail(`--dialect: expected one of ${DIALECTS.join(", ")}`);
  }
  let rateLimit: SimulatorOptions["rateLimit"];
  if (values.rate !== undefined) {
    const match = /^(\d+)\/(\d+)$/.exec(values.rate);
    if (match === null) fail(`--rate: expected REQUESTS/INTERVAL_MS like 60/60000, got "${values.rate}"`);
    rateLimit = { requests: Number(match[1]), intervalMs: Number(match[2]) };
  }
  const tickMs = int("tick", values.tick);
  return {
    dialect: dialect as Dialect,
    port: int("port", values.port) ?? 0,
    host: values.host ?? "127.0.0.1",
    apiKey: values.key ?? "sim-key",
    currency: values.currency ?? "USD",
    balance: values.balance ?? "100.84292",
    catalogueSize: int("services", values.services),
    progress: values["no-progress"] === true ? false : { tickMs: tickMs ?? 1000 },
    seed: int("seed", values.seed) ?? 1,
    latencyMs: int("latency", values.latency) ?? 0,
    rateLimit,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      dialect: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      key: { type: "string" },
      currency: { type: "string" },
      balance: { type: "string" },
      services: { type: "string" },
      tick: { type: "string" },
      "no-progress": { type: "boolean" },
      seed: { type: "string" },
      latency: { type: "string" },
      rate: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function main(): Promise<void> {
  const sim = await startSimulator(parseCli(process.argv.slice(2)));
  process.stdout.write(`${sim.dialect} panel simulator on ${sim.url} (control: ${sim.controlUrl})\n`);
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${(error as Error).message}\n`);
  process.exit(1);
});
