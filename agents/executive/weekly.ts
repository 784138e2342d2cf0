import { z } from 'zod';
import type { EmailParams, NotifyParams } from '../actions.ts';
import type { Plan, PlanContext } from '../types.ts';
import { alertLine, capacityLine, failedDeploys, ticketName, totals } from './brief.ts';
import { bullets, clip, collect, DAY_MS, dealName, isoDay, money, moneyTotals, ms, parseInput, plural } from '../kit/index.ts';
import { BUILD_OVERDUE_DAYS, clientAlerts, dealFacts, deals, dealsCreatedSince, openTicketsByOwner, overdueBuilds, tickets, type TicketFacts } from './read.ts';

/** The weekly report's run input: `ownerEmail` overrides the default address. */
export const WeeklyInput = z.object({ ownerEmail: z.email().optional() }).passthrough();

/**
 * Where the weekly report goes: `ctx.input.ownerEmail` when the run is given one
 * (a schedule's input, Run Now), else `owner@<tenant>.example` with the tenant
 * lowercased and `_` turned into `-` (a placeholder a tenant replaces by giving
 * `ownerEmail`; `.example` never delivers to anyone by accident).
 */
export function ownerAddress(tenant: string, input: Record<string, unknown>): string {
  const given = parseInput('weekly-ceo-report', WeeklyInput, input).ownerEmail;
  if (given) return given;
  const domain = tenant.toLowerCase().replace(/_/g, '-').replace(/^-+|-+$/g, '') || 'tenant';
  return `owner@${domain}.example`;
}

/** Whether a ticket's event time falls in the window. */
const within = (t: string | null, since: number, now: number) => {
  const x = ms(t);
  return x !== null && x >= since && x <= now;
};

/** Tickets created, completed (closed) and deployed (a successful deployment, else entering `deployed`) in the window. */
export function ticketWeek(all: TicketFacts[], since: number, now: number) {
  return {
    created: all.filter((t) => within(t.createdAt, since, now)),
    completed: all.filter((t) => t.state === 'closed' && within(t.closedAt ?? t.stateSince, since, now)),
    deployed: all.filter((t) => (t.deployments.length ? t.deployments.some((d) => d.ok && within(d.at, since, now)) : t.state === 'deployed' && within(t.stateSince, since, now))),
  };
}

/**
 * `weekly-ceo-report` (Mondays 08:00): the last 7 days for the owner, by email
 * (`email.send` to `ownerAddress`) and as a shorter report in #leadership
 * (`notify.send`, kind report):
 *
 * - deals: added, won (with their value: the revenue signal), lost; the open
 *   pipeline's value now and how much of it was added this week;
 * - builds: tickets created (`createdAt`), completed (closed), deployed;
 * - team: open tickets per owner;
 * - risks: stalled deals, builds overdue (more than 5 days building), failed
 *   deploys, clients needing attention (contacts overdue, orders in exceptions).
 */
export async function weeklyReport(ctx: PlanContext): Promise<Plan> {
  const now = ctx.now;
  const since = now - 7 * DAY_MS;
  const to = ownerAddress(ctx.tenant, ctx.input);
  const open = await deals(ctx, 'open');
  const added = await dealsCreatedSince(ctx, since);
  const won = await deals(ctx, 'won', { field: 'closedAt', at: since });
  const lost = await deals(ctx, 'lost', { field: 'closedAt', at: since });
  const addedOpen = added.filter((d) => d.state === 'open');
  const stalled = (await collect(ctx, (p) => ctx.read.stalledDeals(ctx.tenant, p), { cap: 1000, skipStopped: true })).items.map(dealFacts);
  const allTickets = await tickets(ctx);
  const week = ticketWeek(allTickets, since, now);
  const late = overdueBuilds(allTickets, now);
  const failed = failedDeploys(allTickets, since);
  const clients = await clientAlerts(ctx);
  const capacity = openTicketsByOwner(allTickets);

  const period = `${isoDay(since)} to ${isoDay(now)}`;
  const risks = [
    ...stalled.slice(0, 5).map((d) => `Stalled deal ${dealName(d)}: ${money(d.value, d.currency)}, no movement since ${d.lastMovedAt ? isoDay(ms(d.lastMovedAt)!) : 'creation'}${d.owner ? `, ${d.owner}` : ''}`),
    ...late.slice(0, 5).map((l) => `Overdue build ${ticketName(l.ticket)}: ${plural(l.days, 'day')} building${l.ticket.owner ? `, ${l.ticket.owner}` : ''}`),
    ...(failed.length ? [`${plural(failed.length, 'failed deploy')} this week (${[...new Set(failed.map((f) => f.ticket.key))].join(', ')})`] : []),
    ...clients.alerts.slice(0, 5).map((a) => `Client ${alertLine(a)}`),
  ];
  const more = stalled.length > 5 || late.length > 5 || clients.alerts.length > 5 ? '\n(Longer lists are in the run record.)' : '';
  const deal = `${plural(added.length, 'deal')} added (${moneyTotals(added)}), ${won.length} won (${moneyTotals(won)}), ${lost.length} lost.`;
  const pipeline = `Open pipeline now: ${plural(open.length, 'deal')} worth ${moneyTotals(open)}, of which ${moneyTotals(addedOpen)} was added this week.`;
  const builds = `Tickets: ${week.created.length} created, ${week.completed.length} completed, ${week.deployed.length} deployed.`;
  const team = `Open tickets per owner: ${capacityLine(capacity)}.`;

  const emailBody = [
    `Here is the week of ${period}.`,
    `DEALS\n${deal}\n${pipeline}${won.length ? `\nWins:\n${bullets([...won].sort((a, b) => b.value - a.value).map((d) => `${dealName(d)}: ${money(d.value, d.currency)}${d.owner ? ` (${d.owner})` : ''}`), 10)}` : ''}` +
      (lost.length ? `\nLost:\n${bullets(lost.map((d) => `${dealName(d)}: ${d.lostReason ?? 'no reason given'}`), 10)}` : ''),
    `REVENUE SIGNALS\nWon this week: ${moneyTotals(won)}.`,
    `BUILDS\n${builds}${week.deployed.length ? `\nDeployed:\n${bullets(week.deployed.map(ticketName), 10)}` : ''}`,
    `TEAM\n${team}`,
    `RISKS\n${risks.length ? bullets(risks, 20) + more : 'No stalled deal, overdue build, failed deploy or client needing attention.'}`,
  ].join('\n\n');
  const email: EmailParams = { to, subject: `Weekly report: ${period}`, body: clip(emailBody, 100_000), related: `report/weekly/${isoDay(now)}` };
  const report: NotifyParams = {
    kind: 'report',
    channel: 'leadership',
    severity: 'info',
    title: `Weekly report ${period}`,
    body: clip([deal, pipeline, builds, team, risks.length ? `Risks:\n${bullets(risks, 8)}` : 'No risks this week.'].join('\n'), 40_000),
    topic: 'weekly-ceo-report',
  };

  const findings = {
    period: { from: new Date(since).toISOString(), to: new Date(now).toISOString() },
    deals: { added: added.map((d) => d.key), won: won.map((d) => d.key), lost: lost.map((d) => d.key), wonValue: totals(won), addedValue: totals(added) },
    pipeline: { openDeals: open.length, value: totals(open), addedThisWeek: totals(addedOpen) },
    tickets: { total: allTickets.length, created: week.created.map((t) => t.key), completed: week.completed.map((t) => t.key), deployed: week.deployed.map((t) => t.key) },
    teamCapacity: capacity,
    risks: {
      stalledDeals: stalled.map((d) => d.key),
      overdueBuilds: late.map((l) => l.ticket.key),
      failedDeploys: failed.map((f) => ({ ticketId: f.ticket.key, at: f.at })),
      clientAlerts: clients.alerts,
    },
    ownerEmail: to,
  };
  return {
    summary: `Weekly report ${period} to ${to}: ${deal} ${pipeline} ${builds} ${plural(risks.length, 'risk')} listed.`,
    findings,
    actions: [
      { actionType: 'email.send', params: email, preview: `Email the weekly report (${period}) to ${to}`, target: 'report/weekly' },
      { actionType: 'notify.send', params: report, preview: `Post the weekly report (${period}) to #leadership` },
    ],
    hints: late.length ? [clip(`Builds more than ${BUILD_OVERDUE_DAYS} days in building, to watch: ${late.map((l) => l.ticket.key).join(', ')}`, 1000)] : [],
  };
}
