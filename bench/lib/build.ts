/**
 * The bench's build: `src/` and the bench servers compiled by `tsc` into `.bench-build/`, so the
 * servers under test run as `npm start` runs the proxy (plain Node over compiled JavaScript),
 * not through tsx, whose loader keeps ~35 MB of transformed sources and source maps in every
 * process it starts. The migrations and the dashboard's assets are linked in where the compiled
 * code looks for them. `npm run bench -- --tsx` runs the TypeScript sources through tsx instead.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

/** Where the build goes, relative to the project root. */
export const BENCH_BUILD_DIR = ".bench-build";

/**
 * Compiles (a few seconds) and returns the build's folder, absolute.
 * @throws when `tsc` fails (its errors are printed).
 */
export function buildForBench(): string {
  const root = process.cwd();
  const out = resolve(root, BENCH_BUILD_DIR);
  rmSync(out, { recursive: true, force: true });
  const tsc = createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "bench", "tsconfig.json")], { stdio: "inherit" });
  symlinkSync(join(root, "migrations"), join(out, "migrations"), "dir");
  const assets = join(out, "src", "admin", "assets");
  mkdirSync(dirname(assets), { recursive: true });
  symlinkSync(join(root, "src", "admin", "assets"), assets, "dir");
  return out;
}
