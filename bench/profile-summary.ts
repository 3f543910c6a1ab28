/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile`): self time per function
 * (name, file:line) and per package, and total (inclusive) time of our own functions (src/),
 * largest first.
 * Usage: `npx tsx bench/profile-summary.ts bench/profiles/<file>.cpuprofile [top=30]`.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a script URL belongs: `pkg:<name>`, `src/...`, `node:...` or the URL. */
function origin(url: string): string {
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return `pkg:${pkg[1]}`;
  const src = url.match(/\/(src|bench)\/.*$/);
  if (src) return src[0].slice(1);
  return url === "" ? "(native/vm)" : url;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (file === undefined) throw new Error("usage: profile-summary.ts <file.cpuprofile> [top]");
  const top = Number(topArg ?? 30);
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || "(anonymous)"}  ${origin(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  const perOrigin = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (node === undefined) return;
    const where = origin(node.callFrame.url);
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + dt);
    const group = where.startsWith("pkg:") || where.startsWith("src/") ? where : (where.split(":")[0] ?? where);
    perOrigin.set(group, (perOrigin.get(group) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (n === undefined || !origin(n.callFrame.url).startsWith("src/")) continue;
      const k = label(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
    total += dt;
  });
  const print = (title: string, map: Map<string, number>) => {
    process.stdout.write(`\n${title}\n`);
    for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(
        `${((100 * v) / total).toFixed(1).padStart(5)} %  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}\n`,
      );
    }
  };
  print("self time by function", self);
  print("self time by origin", perOrigin);
  print("total time of src/ functions (with what they call)", inclusive);
}

main();
