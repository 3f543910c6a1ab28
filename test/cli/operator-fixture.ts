/**
 * Shared setup of the operator CLI tests: a CLI sandbox (temp database), two live simulators
 * (jap in USD, morethanpanel in EUR at 1.08) and a providers file pointing at them, plus an
 * AppContext over the same database file to place orders through the real `add` path.
 */
import { writeFileSync } from "node:fs";
import { parseAmount } from "../../src/billing/money.js";
import { parseProvidersConfig } from "../../src/config/providers-file.js";
import type { AppContext } from "../../src/runtime/context.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { type CliSandbox, cliSandbox, withAppContext } from "./helpers.js";

/** `${NAME}`: an environment reference in the providers file. */
const envRef = (name: string) => `\${${name}}`;

export interface OperatorFixture extends CliSandbox {
  jap: Simulator;
  mtp: Simulator;
  providersFile: Record<string, unknown>;
  /** Runs `fn` with an AppContext over the sandbox database and live clients, then closes both. */
  withApp<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Services: 1 → jap 1 (0.90, +25% → 1.125); 2 → jap 2 (cost 8, fixed rate 10.00);
 * 3 → mtp 1 (0.90 EUR × 1.08 = 0.972, +0.50 → 1.472); 4 → jap 999 (not listed upstream).
 */
export async function operatorFixture(prefix: string): Promise<OperatorFixture> {
  const sandbox = cliSandbox(prefix);
  const jap = await startSimulator({ dialect: "jap", apiKey: "jap-key", progress: false });
  const mtp = await startSimulator({ dialect: "morethanpanel", apiKey: "mtp-key", currency: "EUR", progress: false });
  const providersFile = {
    currency: "USD",
    markup: { percent: "25" },
    exchangeRates: { EUR: "1.08" },
    providers: [
      {
        id: "jap",
        dialect: "jap",
        url: jap.url,
        key: envRef("SIM_JAP_KEY"),
        rateLimit: { requests: 100, intervalMs: 1000 },
      },
      {
        id: "mtp",
        name: "More",
        dialect: "morethanpanel",
        url: mtp.url,
        key: "mtp-key",
        currency: "EUR",
        concurrency: 2,
      },
    ],
    services: [
      { id: 1, provider: "jap", upstreamService: 1 },
      { id: 2, provider: "jap", upstreamService: 2, rate: "10.00" },
      { id: 3, provider: "mtp", upstreamService: 1, markup: { fixed: "0.50" }, name: "Followers EUR" },
      { id: 4, provider: "jap", upstreamService: 999 },
    ],
  };
  writeFileSync(sandbox.env.PROVIDERS_FILE ?? "", JSON.stringify(providersFile));
  sandbox.env.SIM_JAP_KEY = "jap-key";
  const config = parseProvidersConfig(providersFile, sandbox.env);

  return {
    ...sandbox,
    jap,
    mtp,
    providersFile,
    withApp: (fn) => withAppContext(sandbox.env.DATABASE_PATH ?? "", config, fn),
    async close() {
      await Promise.all([jap.close(), mtp.close()]);
      sandbox.cleanup();
    },
  };
}

/** Adds a customer through the CLI; returns its id. */
export async function addCustomerCli(fixture: CliSandbox, balance: string, name = "c"): Promise<number> {
  parseAmount(balance); // fail early on a malformed fixture amount
  const added = await fixture.json<{ id: number }>(["customers", "add", "--name", name, "--balance", balance]);
  return added.id;
}
