/**
 * Whom to touch next: a contact's priority score (P0.4, "priority scoring for
 * contact selection"). Pure: the time comes in as `now`.
 *
 *   weight   = importance / 3                                  (importance 1..5, default 3: 0.33 … 1.67)
 *            × min(2, 1 + log10(1 + accountValue / 1000) / 3)  (0 → 1, 10k → 1.35, 100k → 1.67, 1M and more → 2)
 *            × roleFactor(role)                               (decision makers 1.5, managers and specialists 1.2, others 1)
 *   elapsed  = min(1, daysSinceTouch / cadenceDays)            (share of the cycle used; since creation if never touched)
 *
 *   priority = 0                                                          opted out (never chosen)
 *            = round(1000 + 100 × weight × (1 + min(overdueDays, 90) / 7))  overdue
 *            = round(100 × weight × elapsed)                               compliant
 *
 * Compliant contacts score 0 … 500 and overdue ones 1,000 and more, so every
 * overdue contact comes before every compliant one (compliance first); among the
 * overdue, weight × (1 + weeks overdue) orders them, so a key account a day
 * overdue outranks a minor contact a month overdue (5 × 1.14 against 0.33 × 5.3);
 * among the compliant, those nearest their due date and weightiest come first.
 * Ties: `compareContacts` puts the earlier due date first.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the score is computed from. */
export interface PriorityInput {
  /** The time of the computation (the event's `at`). */
  now: string;
  /** The last touch, or null if never touched. */
  lastTouchAt: string | null;
  /** When the contact was created (the clock's base until a touch). */
  createdAt: string | null;
  cadenceDays: number;
  /** Whether the contact is overdue, and for how many whole days. */
  overdue: boolean;
  overdueDays: number;
  importance: number;
  accountValue: number;
  role: string | null;
  optedOut: boolean;
}

const DECISION_MAKER =
  /\b(owner|founder|co-?founder|ceo|cfo|coo|cto|cio|chief|president|vp|svp|evp|vice[- ]president|director|head|partner|principal|purchasing|procurement|buyer|general manager|gm)\b/i;
const INFLUENCER = /\b(manager|lead|supervisor|superintendent|coordinator|specialist|engineer|estimator|administrator|planner)\b/i;

/** How much a role weighs: 1.5 for decision makers (buyers, owners, executives, directors), 1.2 for managers and specialists, else 1. */
export function roleFactor(role: string | null): number {
  if (!role) return 1;
  if (DECISION_MAKER.test(role)) return 1.5;
  if (INFLUENCER.test(role)) return 1.2;
  return 1;
}

/** How much the account's value weighs: 1 at 0, 2 at a million and above (logarithmic). */
export function valueFactor(accountValue: number): number {
  return Math.min(2, 1 + Math.log10(1 + Math.max(0, accountValue) / 1000) / 3);
}

/** importance / 3 × value factor × role factor. */
export function contactWeight(i: Pick<PriorityInput, 'importance' | 'accountValue' | 'role'>): number {
  return (i.importance / 3) * valueFactor(i.accountValue) * roleFactor(i.role);
}

/** The priority score (see the formula above). */
export function contactPriority(i: PriorityInput): number {
  if (i.optedOut) return 0;
  const weight = contactWeight(i);
  if (i.overdue) return Math.round(1000 + 100 * weight * (1 + Math.min(Math.max(0, i.overdueDays), 90) / 7));
  const base = i.lastTouchAt ?? i.createdAt;
  const days = base === null ? 0 : Math.max(0, (Date.parse(i.now) - Date.parse(base)) / DAY_MS);
  return Math.round(100 * weight * Math.min(1, days / i.cadenceDays));
}

/** Whole days from `due` to `now` (0 before it is due). */
export function overdueDaysAt(due: string | null, now: string): number {
  if (due === null) return 0;
  return Math.max(0, Math.floor((Date.parse(now) - Date.parse(due)) / DAY_MS));
}

/** Orders contacts for touching: higher priority first, then the earlier due date, then the key. */
export function compareContacts(
  a: { priority: number; nextTouchDue: string | null; key?: string },
  b: { priority: number; nextTouchDue: string | null; key?: string },
): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const da = a.nextTouchDue === null ? Infinity : Date.parse(a.nextTouchDue);
  const db = b.nextTouchDue === null ? Infinity : Date.parse(b.nextTouchDue);
  if (da !== db) return da < db ? -1 : 1;
  const ka = a.key ?? '';
  const kb = b.key ?? '';
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
