/**
 * Memory of reading one big `services` answer (issue #14's memory goal): builds the simulator's
 * catalogue of `N` services (default 20,000) as answer text, then classifies and reads it as the
 * upstream client does (`classifyAnswer` with the `jap` dialect's reader; `--schema`: the whole
 * list through `z.array(serviceEntry)`, the reader before the fix). Prints the read's time, how
 * much the V8 heap grew during it (garbage included) and what stays live after a forced GC.
 * Add `--trace-gc` to see the scavenges during the read.
 * Usage: `node --expose-gc --import tsx bench/services-read-memory.ts [N=20000] [--schema]`.
 */
import { z } from "zod";
import { generatedCatalogue } from "../src/simulator/catalogue.js";
import { classifyAnswer } from "../src/upstream/classify.js";
import { jap } from "../src/upstream/dialects/jap.js";
import { serviceEntry } from "../src/upstream/dialects/perfectpanel.js";
import { parseWith } from "../src/upstream/dialects/schemas.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const N = Number(args[0] ?? 20_000);
const SCHEMA = process.argv.includes("--schema");
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc --import tsx");
const listSchema = z.array(serviceEntry);
const read = SCHEMA ? (body: unknown) => parseWith(listSchema, body) : (body: unknown) => jap.services.parse(body);

let text: string | undefined = JSON.stringify(generatedCatalogue(N));
process.stdout.write(`answer text ${mb(text.length)} (${N} services)\n`);
gc();
gc();
const base = process.memoryUsage().heapUsed;
const started = performance.now();
const outcome = classifyAnswer({ status: 200, headers: { get: () => null }, body: text }, read, [], Date.now());
const ms = performance.now() - started;
const grown = process.memoryUsage().heapUsed - base;
text = undefined;
gc();
gc();
const kept = process.memoryUsage().heapUsed - base;
const count = outcome.kind === "ok" ? outcome.value.length : 0;
process.stdout.write(
  `${SCHEMA ? "array schema" : "dialect reader"}: ${outcome.kind} ${count} services in ${ms.toFixed(0)} ms; ` +
    `heap grew ${mb(grown)} during the read; live after a forced GC ${mb(kept)}\n`,
);
