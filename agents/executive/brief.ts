import type { NotifyParams } from '../actions.ts';
import type { Plan, PlanContext } from '../types.ts';
import { bullets, clip, dayLabel, DAY_MS, dealName, money, moneyTotals, ms, plural } from '../kit/index.ts';
import { BUILD_OVERDUE_DAYS, clientAlerts, deals, openTicketsByOwner, overdueBuilds, tickets, type ClientAlert, type TicketFacts } from './read.ts';

/** Failed deploys of the tickets at or after `since`, the latest first. */
export function failedDeploys(all: TicketFacts[], since: number): { ticket: TicketFacts; at: string; error: string | null }[] {
  return all
    .flatMap((ticket) => ticket.deployments.filter((d) => !d.ok && (ms(d.at) ?? 0) >= since).map((d) => ({ ticket, at: d.at, error: d.error })))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.ticket.key < b.ticket.key ? -1 : 1));
}

/** `T-1 "CRM sync" for Acme`. */
export function ticketName(t: TicketFacts): string {
  return `${dealName(t)}${t.client ? ` for ${t.client}` : ''}`;
}

/** One line per client needing attention. */
export function alertLine(a: ClientAlert): string {
  const parts: string[] = [];
  if (a.overdueContacts) parts.push(`${plural(a.overdueContacts, 'contact')} overdue for a touch (longest ${plural(a.longestOverdueDays, 'day')})`);
  if (a.orderExceptions) parts.push(`${plural(a.orderExceptions, 'order')} in exceptions`);
  return `${a.client}: ${parts.join(', ')}`;
}

/** `brian 3, dan 1`. */
export function capacityLine(byOwner: Record<string, number>): string {
  const entries = Object.entries(byOwner);
  return entries.length ? entries.map(([o, n]) => `${o} ${n}`).join(', ') : 'no open tickets';
}

/**
 * `ceo-morning-brief` (weekdays 07:00): one brief for #leadership that a person
 * reads in two minutes:
 *
 * - pipeline: open deals and their value; deals that moved (any movement, new
 *   deals included), were won or lost in the last 24 hours;
 * - build queue: tickets in `building`, those there for more than 5 days;
 * - deployment health: failed deploys in the last 24 hours;
 * - client alerts: clients with contacts overdue for a touch or orders in exceptions;
 * - team capacity: open tickets (not deployed or closed) per owner.
 *
 * Sent every morning, also when nothing needs attention (it says so).
 */
export async function morningBrief(ctx: PlanContext): Promise<Plan> {
  const now = ctx.now;
  const since = now - DAY_MS;
  const open = await deals(ctx, 'open');
  const moved = open.filter((d) => (ms(d.lastMovedAt) ?? 0) >= since);
  const created = open.filter((d) => (ms(d.createdAt) ?? 0) >= since);
  const won = await deals(ctx, 'won', { field: 'closedAt', at: since });
  const lost = await deals(ctx, 'lost', { field: 'closedAt', at: since });
  const allTickets = await tickets(ctx);
  const building = allTickets.filter((t) => t.state === 'building');
  const late = overdueBuilds(allTickets, now);
  const failed = failedDeploys(allTickets, since);
  const clients = await clientAlerts(ctx);
  const capacity = openTicketsByOwner(allTickets);

  const attention = late.length + failed.length + clients.alerts.length;
  const sections = [
    `Good morning. ${attention === 0 ? 'Nothing needs your attention today.' : `${plural(attention, 'item')} need${attention === 1 ? 's' : ''} your attention.`}`,
    `*Pipeline*\n${plural(open.length, 'open deal')} worth ${moneyTotals(open)}. Last 24h: ${moved.length} moved (${created.length} new), ` +
      `${won.length} won${won.length ? ` (${moneyTotals(won)})` : ''}, ${lost.length} lost.` +
      (won.length ? `\n${bullets(won.map((d) => `Won ${dealName(d)}: ${money(d.value, d.currency)}${d.owner ? `, ${d.owner}` : ''}`), 5)}` : ''),
    `*Build queue*\n${plural(building.length, 'ticket')} building, ${late.length} overdue (more than ${BUILD_OVERDUE_DAYS} days).` +
      (late.length ? `\n${bullets(late.map((l) => `${ticketName(l.ticket)}: ${plural(l.days, 'day')} building${l.ticket.owner ? `, ${l.ticket.owner}` : ''}`), 5)}` : ''),
    `*Deploys*\n${failed.length ? `${plural(failed.length, 'failed deploy')} in the last 24h:\n${bullets(failed.map((f) => `${ticketName(f.ticket)} at ${f.at.slice(11, 16)} UTC${f.error ? `: ${clip(f.error, 200)}` : ''}`), 5)}` : 'No failed deploys in the last 24h.'}`,
    `*Clients needing attention*\n${clients.alerts.length ? bullets(clients.alerts.map(alertLine), 5) : 'None: no contact overdue for a touch, no order in exceptions.'}`,
    `*Team*\nOpen tickets: ${capacityLine(capacity)}.`,
  ];
  const title = `Morning brief ${dayLabel(now)}`;
  const brief: NotifyParams = { kind: 'brief', channel: 'leadership', severity: 'info', title, body: clip(sections.join('\n\n'), 40_000), topic: 'ceo-morning-brief' };

  const findings = {
    pipeline: {
      openDeals: open.length,
      value: totals(open),
      movedLast24h: moved.map((d) => d.key),
      createdLast24h: created.map((d) => d.key),
      wonLast24h: won.map((d) => d.key),
      lostLast24h: lost.map((d) => d.key),
    },
    buildQueue: { tickets: allTickets.length, building: building.length, overdue: late.map((l) => ({ ticketId: l.ticket.key, days: l.days, owner: l.ticket.owner, client: l.ticket.client })) },
    failedDeploys: failed.map((f) => ({ ticketId: f.ticket.key, at: f.at, error: f.error })),
    clientAlerts: clients.alerts,
    overdueContacts: clients.overdueContacts,
    orderExceptions: clients.orderExceptions,
    teamCapacity: capacity,
  };
  const summary =
    `Morning brief: ${plural(open.length, 'open deal')} (${moneyTotals(open)}), ${moved.length} moved in 24h; ` +
    `${building.length} building, ${late.length} overdue; ${plural(failed.length, 'failed deploy')}; ${plural(clients.alerts.length, 'client')} needing attention.`;
  return { summary, findings, actions: [{ actionType: 'notify.send', params: brief, preview: `Post the morning brief to #leadership: ${title}` }], hints: [] };
}

/** Sums per currency. */
export function totals(items: { value: number; currency: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i.currency] = (out[i.currency] ?? 0) + i.value;
  return out;
}
