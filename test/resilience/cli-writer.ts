/**
 * Child process of the store contention test: writes to the store through the admin CLI
 * (`runCli`, a fresh connection per command) while the API is under load in the parent.
 *
 *   node --import tsx test/resilience/cli-writer.ts <customerId> <topups> [orderId to resolve...]
 *
 * Env: DATABASE_PATH, PROVIDERS_FILE. Halfway through the top-ups it prints `half` and waits
 * for a line on stdin: the parent answers once API charges have committed after that point, so
 * the writes interleave whatever the machine's timing. At the end it prints one JSON line:
 * {"codes": [...], "stderr": "..."}.
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
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
const input = createInterface({ input: process.stdin });
const total = Number(topups);
for (let i = 0; i < total; i++) {
  if (i === Math.floor(total / 2)) {
    process.stdout.write("half\n");
    await once(input, "line");
  }
  codes.push(await runCli(["customers", "topup", customerId, "0.00001", "--note", `contention ${i}`], io));
  const order = resolves[i];
  if (order !== undefined) codes.push(await runCli(["orders", "resolve", order, "--refund"], io));
}
input.close();
process.stdout.write(`${JSON.stringify({ codes, stderr })}\n`);
