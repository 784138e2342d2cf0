import { z } from 'zod';
import type { Page, ReadItem } from '../../runtime/read/index.ts';
import type { PlanContext } from '../types.ts';

/**
 * Reading the read side (runtime/read: committed snapshots, no actor activated)
 * as the department agents' checks do: paging, and the fields of an entity
 * machine's context, where a field missing from an older snapshot reads as "no
 * value".
 */

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

/** Items read per statement while paging. */
const PAGE = 500;

/** How `collect` reads. */
export interface CollectOptions {
  /**
   * The most items kept; past it the read stops and says `truncated`.
   * @default 5000
   */
  cap?: number;
  /**
   * Leave out actors an operator stopped (they take no more messages), before
   * counting towards `cap`.
   * @default false
   */
  skipStopped?: boolean;
}

/**
 * Every item of a paged read, page by page through `next`, up to `cap` items
 * (`truncated` says more were left). Stops when the run's time limit passes.
 * @example
 * const { items } = await collect(ctx, (p) => ctx.read.orderExceptions(ctx.tenant, p), { cap: 1000 });
 */
export async function collect(
  ctx: PlanContext,
  fetch: (page: { limit: number; after?: string }) => Promise<Page>,
  { cap = 5000, skipStopped = false }: CollectOptions = {},
): Promise<{ items: ReadItem[]; truncated: boolean }> {
  const items: ReadItem[] = [];
  let after: string | undefined;
  for (;;) {
    ctx.signal.throwIfAborted();
    const page = await fetch(after === undefined ? { limit: PAGE } : { limit: PAGE, after });
    items.push(...(skipStopped ? page.items.filter((i) => i.status !== 'stopped') : page.items));
    if (page.next === null) return { items, truncated: false };
    if (items.length >= cap) return { items, truncated: true };
    after = page.next;
  }
}

/** A context field as a non-empty string, or null. */
export function str(c: Record<string, unknown>, field: string): string | null {
  const v = c[field];
  return typeof v === 'string' && v !== '' ? v : null;
}

/** A context field as a finite number, or null. */
export function num(c: Record<string, unknown>, field: string): number | null {
  const v = c[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** An ISO time as ms, or null (none, empty or unreadable). */
export function ms(at: string | null | undefined): number | null {
  if (!at) return null;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : t;
}

/** The ISO text of an instant, as machines stamp it (comparable as text on the read side). */
export function iso(t: number): string {
  return new Date(t).toISOString();
}

/** Whole days from the ISO time `at` to `now`, never negative (0 when unknown). */
export function daysSince(at: string | null | undefined, now: number): number {
  const t = ms(at);
  return t === null ? 0 : Math.max(0, Math.floor((now - t) / DAY_MS));
}

const Email = z.email();
/** Whether a string is an email address (the shape the email.send params accept). */
export function isEmail(s: string | null | undefined): s is string {
  return typeof s === 'string' && Email.safeParse(s).success;
}
