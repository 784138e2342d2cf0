import { z } from 'zod';
import { DomainEvents, Token } from '../../bus/index.ts';
import type { Plan, PlanContext, PlannedAction, ReactionDefinition } from '../types.ts';
import { ANALYSIS_STUCK_DAYS } from './queue.ts';
import { amount, bullets, CheckInputError, clip, DAY_MS, isEmail, isoDay, ms, notifyAction, parseInput, plural, sendAction } from '../kit/index.ts';
import { platformName, ticketName } from './names.ts';
import { readTickets, ticketByKey } from './tickets.ts';

/**
 * `deal.closed` as engineering reads it. The catalogue's fields, plus the client's
 * company name when the publisher knows it (`client` or `orgName`); without one,
 * the deal's title names the client.
 */
const DealClosed = DomainEvents['deal.closed'].extend({
  client: z.string().min(1).max(200).optional(),
  orgName: z.string().min(1).max(200).optional(),
});
const TicketFailed = DomainEvents['ticket.failed'];
const TicketCreated = DomainEvents['ticket.created'];

/** The ticket key of a won deal's build: `T-<dealId>`. */
export function ticketKeyOf(dealId: string): string {
  return `T-${dealId}`;
}

/** How full the build queue is, for acknowledgements. */
async function queueLoad(ctx: PlanContext): Promise<{ building: number; waiting: number; line: string }> {
  const [building, submitted, analyzing] = await Promise.all([
    readTickets(ctx, { state: 'building' }),
    readTickets(ctx, { state: 'submitted' }),
    readTickets(ctx, { state: 'analyzing' }),
  ]);
  const waiting = submitted.tickets.length + analyzing.tickets.length;
  return { building: building.tickets.length, waiting, line: `Build queue now: ${plural(building.tickets.length, 'build')} in progress, ${waiting} waiting for or in analysis.` };
}

/**
 * `deal.closed` → the won deal becomes a build: `ticket.create` to `ticket/T-<dealId>`
 * (title, client, value, deal, and the deal's contact as the client contact when it
 * is an email address), and a note to #builds with the queue's load. A ticket that
 * already exists for the deal is not created twice.
 */
export async function onDealClosed(ctx: PlanContext): Promise<Plan> {
  const deal = parseInput('react:deal.closed', DealClosed, ctx.input);
  const key = ticketKeyOf(deal.dealId);
  if (!Token.safeParse(key).success) throw new CheckInputError('react:deal.closed', [`input.dealId: ${JSON.stringify(deal.dealId)} makes no valid ticket key ${key}`]);
  const client = deal.client ?? deal.orgName ?? deal.title;
  const [existing, load] = await Promise.all([readTickets(ctx, { where: [{ field: 'dealId', op: 'eq', value: deal.dealId }] }), queueLoad(ctx)]);
  const mine = existing.tickets.find((t) => t.key === key) ?? existing.tickets[0];
  const value = `${deal.currency} ${amount(deal.value)}`;
  const forClient = client === deal.title ? '' : ` for ${client}`;

  if (mine) {
    return {
      summary: `Deal ${deal.dealId} "${deal.title}" won; its build ticket ${mine.key} already exists (${mine.state}), nothing created.`,
      findings: { dealId: deal.dealId, ticketId: mine.key, existing: true, building: load.building, waitingAnalysis: load.waiting },
      actions: [],
      hints: [],
    };
  }

  const event = {
    type: 'ticket.create',
    title: clip(deal.title, 300),
    client: clip(client, 200),
    value: deal.value,
    dealId: deal.dealId,
    ...(isEmail(deal.contact) ? { clientContact: deal.contact } : {}),
  };
  const actions: PlannedAction[] = [
    sendAction({ to: { kind: 'ticket', key }, event }, `Open build ticket ${key} for won deal ${deal.dealId} "${deal.title}" (${client}, ${value})`),
    notifyAction(
      {
        kind: 'brief',
        channel: 'builds',
        severity: 'info',
        title: `New build: ${deal.title}${forClient} (${value})`,
        body: [
          `Deal ${deal.dealId} was won${deal.owner ? ` by ${deal.owner}` : ''}. Ticket ${key} is opened for the build and waits for analysis (due within ${plural(ANALYSIS_STUCK_DAYS, 'day')}).`,
          deal.contact ? `Client contact: ${deal.contact}.` : 'No client contact on the deal yet.',
          load.line,
          load.building >= 5 ? 'The queue is busy: agree the start date with the client before promising one.' : null,
        ]
          .filter(Boolean)
          .join('\n'),
        related: `ticket/${key}`,
      },
      `Note to #builds: new build ${key}: ${deal.title}${forClient} (${value})`,
      `ticket/${key}`,
    ),
  ];
  return {
    summary: `Deal ${deal.dealId} "${deal.title}" won: build ticket ${key} requested for ${client}; ${load.line}`,
    findings: { dealId: deal.dealId, ticketId: key, existing: false, client, building: load.building, waitingAnalysis: load.waiting },
    actions,
    hints: isEmail(deal.contact) ? [] : [`No client email on deal ${deal.dealId}: set the ticket's clientContact so delivery can write to the client.`],
  };
}

/** `ticket.failed` → an alert to #builds (warning, topic `ticket.failed`) with the error and the attempts so far. */
export async function onTicketFailed(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:ticket.failed', TicketFailed, ctx.input);
  const t = await ticketByKey(ctx, e.ticketId);
  const recent = (t?.deployments ?? []).slice(-5).map((d) => `${d.at.slice(0, 16).replace('T', ' ')} ${d.ok ? 'ok' : `failed: ${d.error ?? 'no error given'}`}`);
  const name = t ? ticketName(t) : `${e.ticketId} (${e.client})`;
  const body = [
    `Deployment of ${name} on ${platformName(e.platform)} failed: ${e.error}`,
    `Failed attempts so far: ${e.failedDeploys}.${e.failedDeploys >= 2 ? ' Repeated failures: check the credentials and connections on the client account before trying again.' : ''}`,
    t?.owner ? `Owner: ${t.owner}.` : 'No owner assigned.',
    recent.length ? `Recent attempts:\n${bullets(recent, 15)}` : null,
  ]
    .filter(Boolean)
    .join('\n');
  return {
    summary: `Deployment of ${e.ticketId} for ${e.client} failed (${plural(e.failedDeploys, 'failed attempt')}); #builds alerted.`,
    findings: { ticketId: e.ticketId, client: e.client, failedDeploys: e.failedDeploys, owner: t?.owner ?? null },
    actions: [
      notifyAction(
        { kind: 'alert', channel: 'builds', severity: 'warning', title: `Deploy failed: ${e.ticketId} for ${e.client}`, body, topic: 'ticket.failed', related: `ticket/${e.ticketId}` },
        `Alert #builds: deployment of ${e.ticketId} failed (${e.error})`,
        `ticket/${e.ticketId}`,
      ),
    ],
    hints: e.failedDeploys >= 3 ? [`${e.ticketId} failed ${e.failedDeploys} times: a person should look before another attempt.`] : [],
  };
}

/** `ticket.created` → an acknowledgement in #builds: what came in, when its analysis is due, the queue's load. */
export async function onTicketCreated(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:ticket.created', TicketCreated, ctx.input);
  const [t, load] = await Promise.all([ticketByKey(ctx, e.ticketId), queueLoad(ctx)]);
  const created = ms(t?.createdAt) ?? ctx.now;
  const due = isoDay(created + ANALYSIS_STUCK_DAYS * DAY_MS);
  const body = [
    `${ticketName({ key: e.ticketId, title: e.title, client: e.client })} on ${platformName(e.platform)}, value ${amount(e.value)}${e.dealId ? `, from deal ${e.dealId}` : ''}.`,
    `Owner: ${e.owner ?? 'not assigned yet'}. Analysis due by ${due}.`,
    load.line,
  ].join('\n');
  return {
    summary: `Ticket ${e.ticketId} for ${e.client} acknowledged; analysis due by ${due}.`,
    findings: { ticketId: e.ticketId, client: e.client, analysisDue: due, building: load.building, waitingAnalysis: load.waiting },
    actions: [
      notifyAction(
        { kind: 'brief', channel: 'builds', severity: 'info', title: `New ticket ${e.ticketId}: ${e.title} (${e.client})`, body, related: `ticket/${e.ticketId}` },
        `Note to #builds: ticket ${e.ticketId} for ${e.client} received`,
        `ticket/${e.ticketId}`,
      ),
    ],
    hints: e.owner ? [] : [`${e.ticketId} has no owner: assign an engineer before the analysis.`],
  };
}

/** Engineering's reactions. */
export const engineeringReactions: ReactionDefinition[] = [
  { event: 'deal.closed', priority: 'high', description: 'A deal was won: open its build ticket (T-<dealId>) and tell #builds, with the queue load.', check: onDealClosed },
  { event: 'ticket.failed', priority: 'high', description: 'A deployment failed: alert #builds with the error and the attempts so far.', check: onTicketFailed },
  { event: 'ticket.created', priority: 'normal', description: 'A ticket was opened: acknowledge it in #builds with its analysis due date.', check: onTicketCreated },
];
