/**
 * Child process of the store contention test: writes to the store through the admin CLI
 * (`runCli`, a fresh connection per command) while the API is under load in the parent.
 *
 *   node --import tsx test/resilience/cli-writer.ts <customerId> <topups> [orderId to resolve...]
 *
 * Env: DATABASE_PATH, PROVIDERS_FILE. Prints one JSON line: {"codes": [...], "stderr": "..."}.
 */
import { runCli } from "../../src/cli/program.js";

const [customerId = "1", topups = "0", ...resolves] = process.argv.slice(2);
const codes: number[] = [];
let stderr = "";
const io = {
  stdout: () => undefined,
  stderr: (text: string) => {
    stderr += text;
  },
};
for (let i = 0; i < Number(topups); i++) {
  codes.push(await runCli(["customers", "topup", customerId, "0.00001", "--note", `contention ${i}`], io));
  const order = resolves[i];
  if (order !== undefined) codes.push(await runCli(["orders", "resolve", order, "--refund"], io));
}
process.stdout.write(`${JSON.stringify({ codes, stderr })}\n`);
