/** Entry point of the admin CLI: `npm run cli -- <command> [options]` (see `program.ts`). */
import { runCli } from "./program.js";

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
