/**
 * Small text helpers for what people read: the approval queue's previews, the
 * Slack notifications and the emails the sales agent drafts. Deterministic (no
 * locale or time zone of the host): amounts in en-US grouping, dates in UTC.
 */

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** `USD 12,000`. */
export function money(value: number, currency: string): string {
  return `${currency} ${GROUPED.format(value)}`;
}

/** Sums per currency, as `USD 57,000 + EUR 3,000` (`USD 0` when empty). */
export function moneyTotals(items: { value: number; currency: string }[], fallback = 'USD'): string {
  const sums = new Map<string, number>();
  for (const i of items) sums.set(i.currency, (sums.get(i.currency) ?? 0) + i.value);
  if (sums.size === 0) return money(0, fallback);
  return [...sums.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([c, v]) => money(v, c))
    .join(' + ');
}

/** The UTC date of an instant: `2026-01-05`. */
export function isoDay(t: number): string {
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

/** `D-1 "Roof"`. */
export function dealName(d: { key: string; title: string }): string {
  return d.title && d.title !== d.key ? `${d.key} "${d.title}"` : d.key;
}

/** The first word of a name, for a greeting. */
export function firstName(name: string | null): string | null {
  const first = name?.trim().split(/\s+/)[0];
  return first ? first : null;
}

/** A bullet list of at most `max` lines, then `… and N more`. */
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
