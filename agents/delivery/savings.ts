import { DAY_MS } from '../kit/index.ts';

/**
 * How much a live automation saves, as delivery reports it to clients and
 * marketing quotes it in drafts. A deliberately simple, documented estimate (no
 * run data is read yet):
 *
 * - each live automation handles `TASKS_PER_AUTOMATION_MONTH` (300) tasks a month;
 * - each task would take a person `MINUTES_PER_TASK` (2) minutes;
 * - a person's hour costs `HOURLY_COST` (50, in the client's currency; the loaded
 *   cost the business plan assumes), for ROI figures.
 *
 * So one automation live for a whole month saves 300 tasks, 10 hours, 500 of cost.
 * An automation live for part of a month counts for the days it was live.
 */
export const TASKS_PER_AUTOMATION_MONTH = 300;
export const MINUTES_PER_TASK = 2;
export const HOURLY_COST = 50;

/** Tasks saved by one automation live from `liveFrom` over the period [start, end) (ms), prorated by days live. */
export function tasksSaved(liveFrom: number, start: number, end: number): number {
  const from = Math.max(liveFrom, start);
  if (from >= end) return 0;
  return Math.round((TASKS_PER_AUTOMATION_MONTH * (end - from)) / (end - start));
}

/** Hours a number of tasks saves, to one decimal. */
export function hoursSaved(tasks: number): number {
  return Math.round((tasks * MINUTES_PER_TASK * 10) / 60) / 10;
}

/** What one automation saves in a full month: tasks, hours and cost. */
export function monthlySavings(): { tasks: number; hours: number; cost: number } {
  const hours = hoursSaved(TASKS_PER_AUTOMATION_MONTH);
  return { tasks: TASKS_PER_AUTOMATION_MONTH, hours, cost: hours * HOURLY_COST };
}

/** Months until a build's price is paid back by one automation's savings (one decimal), or null for a free build. */
export function paybackMonths(value: number): number | null {
  const perMonth = monthlySavings().cost;
  return value > 0 && perMonth > 0 ? Math.round((value / perMonth) * 10) / 10 : null;
}

/** Whole days in [start, end). */
export function daysIn(start: number, end: number): number {
  return Math.round((end - start) / DAY_MS);
}
