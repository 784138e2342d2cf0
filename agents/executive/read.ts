import type { ReadItem } from '../../runtime/read/index.ts';
import { collect, DAY_MS, iso, ms, num, str } from '../kit/index.ts';
import type { PlanContext } from '../types.ts';

/**
 * What the executive checks read, as typed views over the read side's items
 * (committed snapshots; no actor activated): deals (machines/deal), tickets
 * (machines/ticket: `client`, `title`, `owner`, `createdAt`, `stateSince`,
 * `closedAt`, `failedDeploys`, `deployments` [{ at, ok, error }], states
 * submitted | analyzing | building | review_pending | approved | deployed |
 * failed | closed), overdue contacts and order exceptions. A field missing from
 * a snapshot reads as "no value"; a tenant without tickets reads as none.
 */

/** A ticket this long in `building` is overdue. */
export const BUILD_OVERDUE_DAYS = 5;
/** Ticket states that are finished: everything else is on someone's plate (a failed ticket needs rework). */
export const FINISHED_TICKET_STATES = ['deployed', 'closed'] as const;

/** A deal as the executive reports it. */
export interface DealFacts {
  key: string;
  title: string;
  value: number;
  currency: string;
  owner: string | null;
  /** The top-level state: open, won, lost. */
  state: string;
  createdAt: string | null;
  lastMovedAt: string | null;
  stalledSince: string | null;
  closedAt: string | null;
  lostReason: string | null;
}

export function dealFacts(i: ReadItem): DealFacts {
  const c = i.context;
  return {
    key: i.key,
    title: str(c, 'title') ?? i.key,
    value: num(c, 'value') ?? 0,
    currency: str(c, 'currency') ?? 'USD',
    owner: str(c, 'owner'),
    state: topState(i.state),
    createdAt: str(c, 'createdAt'),
    lastMovedAt: str(c, 'lastMovedAt') ?? str(c, 'createdAt'),
    stalledSince: str(c, 'stalledSince'),
    closedAt: str(c, 'closedAt'),
    lostReason: str(c, 'lostReason'),
  };
}

// The executive reports on live actors only: every read here leaves out those an operator stopped.

/** Deals of a state (`open`, `won`, `lost`), optionally only those whose `field` is at or after `since`. */
export async function deals(ctx: PlanContext, state: 'open' | 'won' | 'lost', since?: { field: 'closedAt' | 'createdAt' | 'lastMovedAt'; at: number }): Promise<DealFacts[]> {
  const where = since ? [{ field: since.field, op: 'gte' as const, value: iso(since.at) }] : [];
  const { items } = await collect(ctx, (p) => ctx.read.query(ctx.tenant, { kind: 'deal', state, where, ...p }), { skipStopped: true });
  return items.map(dealFacts);
}

/** Deals created at or after `at`, whatever their state now. */
export async function dealsCreatedSince(ctx: PlanContext, at: number): Promise<DealFacts[]> {
  const { items } = await collect(ctx, (p) => ctx.read.query(ctx.tenant, { kind: 'deal', where: [{ field: 'createdAt', op: 'gte', value: iso(at) }], ...p }), { skipStopped: true });
  return items.map(dealFacts);
}

/** One deployment of a ticket. */
export interface Deployment {
  at: string;
  ok: boolean;
  error: string | null;
}

/** A ticket as the executive reports it. */
export interface TicketFacts {
  key: string;
  /** The top-level state: submitted, analyzing, building, review_pending, approved, deployed, failed, closed. */
  state: string;
  client: string | null;
  title: string;
  owner: string | null;
  /** When it entered its current state. */
  stateSince: string | null;
  createdAt: string | null;
  closedAt: string | null;
  failedDeploys: number;
  deployments: Deployment[];
}

export function ticketFacts(i: ReadItem): TicketFacts {
  const c = i.context;
  const raw = Array.isArray(c.deployments) ? (c.deployments as unknown[]) : [];
  const deployments = raw.flatMap((d): Deployment[] => {
    if (typeof d !== 'object' || d === null) return [];
    const r = d as Record<string, unknown>;
    const at = str(r, 'at');
    return at === null ? [] : [{ at, ok: r.ok === true, error: str(r, 'error') }];
  });
  return {
    key: i.key,
    state: topState(i.state),
    client: str(c, 'client'),
    title: str(c, 'title') ?? i.key,
    owner: str(c, 'owner'),
    stateSince: str(c, 'stateSince'),
    createdAt: str(c, 'createdAt'),
    closedAt: str(c, 'closedAt'),
    failedDeploys: num(c, 'failedDeploys') ?? 0,
    deployments,
  };
}

/** Every ticket of the tenant (none before the ticket entity has actors). */
export async function tickets(ctx: PlanContext): Promise<TicketFacts[]> {
  const { items } = await collect(ctx, (p) => ctx.read.query(ctx.tenant, { kind: 'ticket', ...p }), { skipStopped: true });
  return items.map(ticketFacts);
}

/** Whether a ticket still needs work (not deployed or closed). */
export function isOpenTicket(t: TicketFacts): boolean {
  return !(FINISHED_TICKET_STATES as readonly string[]).includes(t.state);
}

/** Tickets in `building` for more than `BUILD_OVERDUE_DAYS` (by `stateSince`), the longest first. */
export function overdueBuilds(all: TicketFacts[], now: number): { ticket: TicketFacts; days: number }[] {
  return all
    .filter((t) => t.state === 'building')
    .flatMap((ticket) => {
      const since = ms(ticket.stateSince);
      const days = since === null ? 0 : Math.floor((now - since) / DAY_MS);
      return since !== null && now - since > BUILD_OVERDUE_DAYS * DAY_MS ? [{ ticket, days }] : [];
    })
    .sort((a, b) => b.days - a.days || (a.ticket.key < b.ticket.key ? -1 : 1));
}

/** Open tickets per owner (`unassigned` for none), the busiest first. */
export function openTicketsByOwner(all: TicketFacts[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const t of all.filter(isOpenTicket)) counts.set(t.owner ?? 'unassigned', (counts.get(t.owner ?? 'unassigned') ?? 0) + 1);
  return Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

/** A client that needs attention: contacts overdue for a touch, orders stuck in exceptions. */
export interface ClientAlert {
  client: string;
  overdueContacts: number;
  /** The longest overdue, in whole days past the due date. */
  longestOverdueDays: number;
  orderExceptions: number;
}

/**
 * Clients needing attention: overdue contacts grouped by their `account`
 * (`no account` when none), orders in exceptions by their `clientId`. Most
 * overdue contacts first, then most exceptions.
 */
export async function clientAlerts(ctx: PlanContext): Promise<{ alerts: ClientAlert[]; overdueContacts: number; orderExceptions: number }> {
  const overdue = (await collect(ctx, (p) => ctx.read.overdueContacts(ctx.tenant, ctx.now, p), { cap: 2000, skipStopped: true })).items;
  const exceptions = (await collect(ctx, (p) => ctx.read.orderExceptions(ctx.tenant, p), { cap: 1000, skipStopped: true })).items;
  const by = new Map<string, ClientAlert>();
  const get = (client: string) => by.get(client) ?? by.set(client, { client, overdueContacts: 0, longestOverdueDays: 0, orderExceptions: 0 }).get(client)!;
  for (const c of overdue) {
    const a = get(str(c.context, 'account') ?? 'no account');
    a.overdueContacts += 1;
    const due = ms(str(c.context, 'nextTouchDue'));
    if (due !== null) a.longestOverdueDays = Math.max(a.longestOverdueDays, Math.floor((ctx.now - due) / DAY_MS));
  }
  for (const o of exceptions) get(str(o.context, 'clientId') ?? 'unknown client').orderExceptions += 1;
  const alerts = [...by.values()].sort((a, b) => b.overdueContacts - a.overdueContacts || b.orderExceptions - a.orderExceptions || (a.client < b.client ? -1 : 1));
  return { alerts, overdueContacts: overdue.length, orderExceptions: exceptions.length };
}

/** The first segment of a state value: `open` of `open.stage.lead|followUp.idle`. */
function topState(state: string): string {
  return state.split(/[.|]/)[0] ?? state;
}
