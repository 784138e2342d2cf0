/**
 * What the CLI prints: aligned tables and `key  value` blocks for people, one JSON
 * document for programs (`--json`). Everything goes to stdout; errors go to stderr
 * (errors.ts).
 */

/** Options every command takes. */
export interface OutputOptions {
  /** Print one JSON document instead of text. */
  json?: boolean;
}

/** Writes one line to stdout. */
export function line(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** Writes a value as JSON (Dates become ISO strings). */
export function printJson(value: unknown): void {
  line(JSON.stringify(value, null, 2));
}

/** A value as one short cell of text. */
export function cell(value: unknown, max = 60): string {
  let s: string;
  if (value === null || value === undefined) s = '-';
  else if (value instanceof Date) s = value.toISOString();
  else if (typeof value === 'object') s = JSON.stringify(value);
  else s = String(value);
  s = s.replace(/\s+/g, ' ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Prints rows as a table with a header; `empty` when there are none. */
export function printTable(columns: { header: string; get: (row: Record<string, unknown>) => unknown; max?: number }[], rows: Record<string, unknown>[], empty: string): void {
  if (rows.length === 0) {
    line(empty);
    return;
  }
  const cells = rows.map((r) => columns.map((c) => cell(c.get(r), c.max)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const fmt = (parts: string[]) => parts.map((p, i) => (i === parts.length - 1 ? p : p.padEnd(widths[i]!))).join('  ');
  line(fmt(columns.map((c) => c.header)));
  for (const r of cells) line(fmt(r));
}

/** Prints `key  value` pairs with the keys aligned. */
export function printFields(fields: [string, unknown][]): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) line(`${k.padEnd(width)}  ${cell(v, 200)}`);
}
