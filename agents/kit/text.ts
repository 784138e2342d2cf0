/**
 * Small text helpers for what people read: approval-queue previews, Slack
 * notifications, emails and reports the department agents draft. Deterministic
 * (no locale or time zone of the host): amounts in en-US grouping, dates in UTC.
 */

/** Grouped amounts, by the most fraction digits shown. */
const GROUPED = {
  1: new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }),
  2: new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }),
} as const;

/**
 * `12,000`, `3.5`: an amount without a currency (an estimate, a count, or an
 * event that carries no currency).
 * @param decimals the most fraction digits shown. @default 1
 */
export function amount(value: number, decimals: 1 | 2 = 1): string {
  return GROUPED[decimals].format(value);
}

/** `USD 12,000` (up to two fraction digits). */
export function money(value: number, currency: string): string {
  return `${currency} ${GROUPED[2].format(value)}`;
}

/** Sums per currency, the largest first, as `USD 57,000 + EUR 3,000` (`<fallback> 0` when empty). */
export function moneyTotals(items: { value: number; currency: string }[], fallback = 'USD'): string {
  const sums = new Map<string, number>();
  for (const i of items) sums.set(i.currency, (sums.get(i.currency) ?? 0) + i.value);
  if (sums.size === 0) return money(0, fallback);
  return [...sums.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([c, v]) => money(v, c))
    .join(' + ');
}

/** The UTC date of an instant (ms or ISO text): `2026-01-05`. */
export function isoDay(t: number | string): string {
  return new Date(t).toISOString().slice(0, 10);
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** `Mon 2026-01-05` (UTC). */
export function dayLabel(t: number): string {
  return `${WEEKDAYS[new Date(t).getUTCDay()]} ${isoDay(t)}`;
}

/** `1 day`, `3 days`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `D-1 "Roof"`; the key alone when the title adds nothing. */
export function dealName(d: { key: string; title: string }): string {
  return d.title && d.title !== d.key ? `${d.key} "${d.title}"` : d.key;
}

/** The first word of a name, for a greeting. */
export function firstName(name: string | null): string | null {
  const first = name?.trim().split(/\s+/)[0];
  return first ? first : null;
}

/**
 * A bullet list of at most `max` lines, then `… and N more`.
 * @param max the most lines shown. @default 10
 */
export function bullets(lines: string[], max = 10): string {
  const shown = lines.slice(0, max).map((l) => `• ${l}`);
  if (lines.length > max) shown.push(`• … and ${lines.length - max} more`);
  return shown.join('\n');
}

/** Cuts a text to `max` characters, ending with `…` when cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** `a, b and c`. */
export function joinAnd(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** `today`, `yesterday`, `3 days ago`. */
export function ago(days: number): string {
  return days <= 0 ? 'today' : days === 1 ? 'yesterday' : `${days} days ago`;
}
