import { z } from 'zod';
import type { ReadItem } from '../../runtime/read/index.ts';
import { bullets, daysSince, notifyAction, parseInput, plural } from '../kit/index.ts';
import type { DelegableTask, Plan, PlanContext } from '../types.ts';

/** Orders read at most per run; more are reported as a hint. */
const CAP = 1000;

/** The input: nothing needed; `count` is what the delegator saw (sales' hourly cycle sends it), for the record. */
const Input = z.object({ count: z.number().int().nonnegative().optional() });

/** One failed rule of an order (machines/order/validate.ts), as far as the snapshot holds it. */
function failuresOf(c: Record<string, unknown>): { field: string; message: string; fixable: boolean }[] {
  const list = Array.isArray(c.exceptions) ? c.exceptions : [];
  return list.flatMap((x: unknown) => {
    const f = x as { field?: unknown; message?: unknown; rule?: unknown; fixable?: unknown } | null;
    if (!f || typeof f.field !== 'string') return [];
    return [{ field: f.field, message: typeof f.message === 'string' ? f.message : String(f.rule ?? 'failed'), fixable: f.fixable === true }];
  });
}

/** A line per order: who, since when, what failed, what happens next. */
function line(o: ReadItem, now: number): string {
  const failures = failuresOf(o.context);
  const client = typeof o.context.clientId === 'string' ? o.context.clientId : 'unknown client';
  const waiting = daysSince(o.updatedAt, now);
  const gate = o.state.split('.')[2];
  const next = o.state.includes('autofix') ? `autofix proposed${gate ? ` (gate ${gate})` : ''}` : 'needs an amend from a person';
  const what = failures.length ? failures.map((f) => f.message).join('; ') : 'no failure recorded';
  return `${o.key} (client ${client}), waiting ${plural(waiting, 'day')}: ${what}. ${next[0]!.toUpperCase()}${next.slice(1)}.`;
}

/**
 * `order-exceptions` (delegable; sales' hourly cycle asks for it when orders wait in
 * exceptions): reads every order in `exceptions` from the read side (least recently
 * updated first) and posts the list to #delivery, each order with its client, how long
 * it waited, what failed and whether an autofix is proposed or a person must amend it.
 * Nothing in exceptions: no action.
 */
export async function orderExceptions(ctx: PlanContext): Promise<Plan> {
  parseInput('order-exceptions', Input, ctx.input);
  const items: ReadItem[] = [];
  let after: string | undefined;
  let truncated = false;
  for (;;) {
    ctx.signal.throwIfAborted();
    const page = await ctx.read.orderExceptions(ctx.tenant, after === undefined ? { limit: 500 } : { limit: 500, after });
    items.push(...page.items);
    if (page.next === null) break;
    if (items.length >= CAP) {
      truncated = true;
      break;
    }
    after = page.next;
  }
  if (items.length === 0) return { summary: 'No order is in exceptions.', findings: { orders: [] }, actions: [], hints: [] };

  const amend = items.filter((o) => !o.state.includes('autofix')).map((o) => o.key);
  const lines = items.map((o) => line(o, ctx.now));
  return {
    summary: `${plural(items.length, 'order')} in exceptions (${amend.length} need an amend by a person); the list is posted to #delivery.`,
    findings: { orders: items.map((o) => o.key), needAmend: amend, oldestWaitingDays: daysSince(items[0]!.updatedAt, ctx.now) },
    actions: [
      notifyAction(
        {
          kind: 'alert',
          channel: 'delivery',
          severity: 'warning',
          title: `${plural(items.length, 'order')} waiting in exceptions`,
          body: `${bullets(lines, 30)}\n\nAmend each order with the corrected fields (order.amend), or approve its proposed autofix in the approval queue.`,
          topic: 'order.exceptions',
        },
        `Alert #delivery: ${plural(items.length, 'order')} in exceptions (${items.slice(0, 5).map((o) => o.key).join(', ')}${items.length > 5 ? ', …' : ''})`,
      ),
    ],
    hints: truncated ? [`More than ${CAP} orders in exceptions: only the oldest ${CAP} are listed.`] : [],
  };
}

/** The task. */
export const orderExceptionsTask: DelegableTask = {
  name: 'order-exceptions',
  description: 'Review the orders waiting in exceptions and post the list to #delivery, oldest first, with what failed and what is needed. Input: {}.',
  input: Input,
  check: orderExceptions,
};
