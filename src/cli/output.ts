/**
 * Printing for the admin CLI: readable tables and key/value blocks by default, JSON with
 * `--json`. Everything goes through the {@link Output} of the run, so tests capture it.
 */
import { formatAmount } from "../billing/money.js";
import type { LedgerEntry } from "../db/schema.js";

export type Cell = string | number | boolean | null | undefined;

export interface Column<T> {
  header: string;
  value: (row: T) => Cell;
  /** Numbers read better right-aligned. */
  align?: "left" | "right";
}

function cellText(value: Cell): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value).replace(/[\r\n\t]+/g, " ");
}

/** A plain-text table: header row, a rule, one line per row; "(none)" when empty. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (parts: string[]) =>
    parts
      .map((p, i) => (columns[i]?.align === "right" ? p.padStart(widths[i] ?? 0) : p.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** Aligned `key: value` lines. */
export function renderKeyValues(pairs: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${cellText(v)}`).join("\n");
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Epoch ms → ISO 8601 (UTC), null stays null. */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** Where a command prints: stdout for results, stderr for diagnostics. */
export class Output {
  constructor(
    private readonly writeOut: (text: string) => void,
    private readonly writeErr: (text: string) => void,
  ) {}

  /** One or more lines of text on stdout. */
  line(text = ""): void {
    this.writeOut(`${text}\n`);
  }

  json(value: unknown): void {
    this.line(renderJson(value));
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    this.line(renderTable(rows, columns));
  }

  keyValues(pairs: readonly (readonly [string, Cell])[]): void {
    this.line(renderKeyValues(pairs));
  }

  /** A diagnostic line on stderr. */
  warn(text: string): void {
    this.writeErr(`${text}\n`);
  }
}

/** A ledger row as the CLI prints it in JSON (amounts as 5-decimal strings, ISO times). */
export interface LedgerJson {
  id: number;
  kind: string;
  amount: string;
  balanceAfter: string;
  orderId: number | null;
  note: string | null;
  createdAt: string | null;
}

/** Formats a ledger row for `--json` output (`customers show`, `orders show`). */
export function ledgerJson(e: LedgerEntry): LedgerJson {
  return {
    id: e.id,
    kind: e.kind,
    amount: formatAmount(e.amount),
    balanceAfter: formatAmount(e.balanceAfter),
    orderId: e.orderId,
    note: e.note,
    createdAt: isoTime(e.createdAt),
  };
}
