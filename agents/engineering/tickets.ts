import type { TicketDeployment as Deployment, TicketState } from '../../machines/index.ts';
import type { ActorQueryInput, ReadItem, WhereClause } from '../../runtime/read/index.ts';
import { collect, DAY_MS, iso, num, str } from '../kit/index.ts';
import type { PlanContext } from '../types.ts';

/**
 * Build tickets as the department agents read them: typed views over the read
 * side's items (runtime/read: committed snapshots, no actor activated). The
 * context is the ticket machine's (machines/ticket); a field missing from an
 * older snapshot reads as "no value". Engineering owns tickets, so delivery and
 * marketing read them through these helpers too.
 */

/** The most tickets one check reads from one query; more is reported as `truncated`. */
export const READ_CAP = 5000;

/** A ticket as the checks see it. */
export interface TicketView {
  key: string;
  state: TicketState | string;
  title: string;
  client: string;
  clientContact: string | null;
  platform: string;
  dealId: string | null;
  owner: string | null;
  reviewer: string | null;
  value: number;
  createdAt: string | null;
  stateSince: string | null;
  analyzedAt: string | null;
  approvedBy: string | null;
  revisions: number;
  deployedAt: string | null;
  deployUrl: string | null;
  closedAt: string | null;
  failedDeploys: number;
  deployments: Deployment[];
  lastActivityAt: string | null;
}

function deploymentsOf(v: unknown): Deployment[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((d: unknown) => {
    const r = d as { at?: unknown; ok?: unknown; error?: unknown } | null;
    if (!r || typeof r.at !== 'string' || typeof r.ok !== 'boolean') return [];
    return [{ at: r.at, ok: r.ok, error: typeof r.error === 'string' ? r.error : null }];
  });
}

/** The ticket view of a read item. */
export function ticketView(i: ReadItem): TicketView {
  const c = i.context;
  return {
    key: i.key,
    state: i.state,
    title: str(c, 'title') ?? i.key,
    client: str(c, 'client') ?? 'unknown client',
    clientContact: str(c, 'clientContact'),
    platform: str(c, 'platform') ?? 'other',
    dealId: str(c, 'dealId'),
    owner: str(c, 'owner'),
    reviewer: str(c, 'reviewer'),
    value: num(c, 'value') ?? 0,
    createdAt: str(c, 'createdAt'),
    stateSince: str(c, 'stateSince') ?? str(c, 'createdAt'),
    analyzedAt: str(c, 'analyzedAt'),
    approvedBy: str(c, 'approvedBy'),
    revisions: num(c, 'revisions') ?? 0,
    deployedAt: str(c, 'deployedAt'),
    deployUrl: str(c, 'deployUrl'),
    closedAt: str(c, 'closedAt'),
    failedDeploys: num(c, 'failedDeploys') ?? 0,
    deployments: deploymentsOf(c.deployments),
    lastActivityAt: str(c, 'lastActivityAt') ?? str(c, 'createdAt'),
  };
}

/** What to ask of the tickets: the read side's query without `kind`, `limit` and `after`. */
export type TicketQuery = Omit<ActorQueryInput, 'kind' | 'limit' | 'after'>;

/**
 * Every ticket matching `q`, paging through `next`, leaving out tickets an
 * operator stopped (they take no more messages). Stops at `READ_CAP` items
 * (`truncated` says so) and when the run's time limit passes.
 */
export async function readTickets(ctx: PlanContext, q: TicketQuery = {}): Promise<{ tickets: TicketView[]; truncated: boolean }> {
  const { items, truncated } = await collect(ctx, (p) => ctx.read.query(ctx.tenant, { ...q, kind: 'ticket', ...p }), { cap: READ_CAP });
  return { tickets: items.filter((i) => i.status !== 'stopped').map(ticketView), truncated };
}

/** One ticket by key (stopped or not), or null. */
export async function ticketByKey(ctx: PlanContext, key: string): Promise<TicketView | null> {
  const page = await ctx.read.query(ctx.tenant, { kind: 'ticket', where: [{ field: 'key', op: 'eq', value: key }], limit: 1 });
  const item = page.items[0];
  return item ? ticketView(item) : null;
}

/** `stateSince` strictly before `now - days`: in the state for more than `days` days. */
export function inStateLongerThan(days: number, now: number): WhereClause {
  return { field: 'stateSince', op: 'lt', value: iso(now - days * DAY_MS) };
}
