/** The bench table: one row per figure, with its baseline from the same run and its goal. */

export interface Row {
  figure: string;
  baseline: string;
  measured: string;
  ratio: string;
  goal: string;
  pass: boolean | null;
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "—";

export const num = fmt;
export const ms = (n: number, digits = 2) => `${fmt(n, digits)} ms`;
export const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MB`;

/** The table as Markdown (printed, and pasted into the README). */
export function markdownTable(rows: readonly Row[]): string {
  const head = ["figure", "baseline (same run)", "measured", "ratio", "goal", "pass"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const pass = r.pass === null ? "—" : r.pass ? "pass" : "FAIL";
    lines.push(`| ${[r.figure, r.baseline, r.measured, r.ratio, r.goal, pass].join(" | ")} |`);
  }
  return lines.join("\n");
}
