import { z } from 'zod';
import { DomainEvents } from '../../bus/index.ts';
import { platformName, readTickets, ticketByKey, ticketName } from '../engineering/index.ts';
import { amount, bullets, DAY_MS, emailAction, isEmail, isoDay, ms, notifyAction, parseInput } from '../kit/index.ts';
import type { Plan, PlanContext, PlannedAction, ReactionDefinition } from '../types.ts';

/** Days after a deployment the delivery review is due. */
export const REVIEW_AFTER_DAYS = 7;

/** `deal.closed`, with the client's company name when the publisher knows it (see engineering). */
const DealClosed = DomainEvents['deal.closed'].extend({
  client: z.string().min(1).max(200).optional(),
  orgName: z.string().min(1).max(200).optional(),
});
const TicketDeployed = DomainEvents['ticket.deployed'];
const TicketApproved = DomainEvents['ticket.approved'];
const AutomationError = DomainEvents['automation.error'];

/**
 * `deal.closed` → onboarding: a welcome email to the deal's contact when it is an
 * email address (held by the gate for approval as the tenant decides), and a note
 * to #delivery to start onboarding.
 */
export async function onDealClosed(ctx: PlanContext): Promise<Plan> {
  const d = parseInput('react:deal.closed', DealClosed, ctx.input);
  const client = d.client ?? d.orgName ?? d.title;
  const canWrite = isEmail(d.contact);
  const actions: PlannedAction[] = [];
  if (canWrite) {
    actions.push(
      emailAction(
        {
          to: d.contact!,
          subject: `Welcome aboard: next steps for ${d.title}`,
          body: [
            'Hello,',
            `Thank you for choosing us for ${d.title}. We are glad to start working with you.`,
            'Here is what happens next:\n' +
              '1. Our engineers review your processes and plan the build (within one business day).\n' +
              '2. We schedule a short kickoff call to confirm the details and the access we need.\n' +
              '3. Once your automation is live, we walk you through it in a delivery review.',
            'Could you reply with two or three times that suit you for a 30-minute kickoff call this week?',
            `Best regards,\n${d.owner ?? 'The delivery team'}`,
          ].join('\n\n'),
          related: `deal/${d.dealId}`,
        },
        `Welcome email to ${d.contact} for won deal ${d.dealId} "${d.title}" (onboarding ${client})`,
        `deal/${d.dealId}`,
      ),
    );
  }
  actions.push(
    notifyAction(
      {
        kind: 'brief',
        channel: 'delivery',
        severity: 'info',
        title: `New client onboarding: ${client}`,
        body: [
          `Deal ${d.dealId} "${d.title}" was won${d.owner ? ` by ${d.owner}` : ''} (${d.currency} ${amount(d.value)}).`,
          canWrite ? `A welcome email to ${d.contact} waits in the approval queue; it asks for kickoff call times.` : `No welcome email: ${d.contact ? `the contact "${d.contact}" is not an email address` : 'the deal has no contact'}.`,
          'Next: set up the client workspace and credentials checklist, and book the kickoff call.',
        ].join('\n'),
        related: `deal/${d.dealId}`,
      },
      `Note to #delivery: onboarding ${client} (deal ${d.dealId})`,
      `deal/${d.dealId}`,
    ),
  );
  return {
    summary: `Deal ${d.dealId} won: onboarding ${client}${canWrite ? `, welcome email to ${d.contact} drafted` : ', no welcome email (no email contact)'}.`,
    findings: { dealId: d.dealId, client, welcomeTo: canWrite ? d.contact : null },
    actions,
    hints: canWrite ? [] : [`Deal ${d.dealId} has no client email: get one at the kickoff to send reports and reviews.`],
  };
}

/** `ticket.deployed` → monitoring begins and the delivery review is scheduled: a note to #delivery. */
export async function onTicketDeployed(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:ticket.deployed', TicketDeployed, ctx.input);
  const t = await ticketByKey(ctx, e.ticketId);
  const deployedAt = ms(t?.deployedAt) ?? ctx.now;
  const reviewDue = isoDay(deployedAt + REVIEW_AFTER_DAYS * DAY_MS);
  const contact = t?.clientContact ?? null;
  const name = t ? ticketName(t) : `${e.ticketId} (${e.client})`;
  return {
    summary: `${e.ticketId} for ${e.client} is live on ${platformName(e.platform)}: monitoring begins, delivery review due ${reviewDue}.`,
    findings: { ticketId: e.ticketId, client: e.client, reviewDue, contact },
    actions: [
      notifyAction(
        {
          kind: 'brief',
          channel: 'delivery',
          severity: 'info',
          title: `Live: ${e.ticketId} for ${e.client}, review due ${reviewDue}`,
          body: [
            `${name} is deployed on ${platformName(e.platform)}${e.deployUrl ? ` at ${e.deployUrl}` : ''}.`,
            'Monitoring begins: watch its first runs this week; automation errors come to this channel.',
            `Schedule the delivery review with ${contact ?? 'the client (no contact email on the ticket)'} by ${reviewDue}.`,
          ].join('\n'),
          related: `ticket/${e.ticketId}`,
        },
        `Note to #delivery: ${e.ticketId} live for ${e.client}, review by ${reviewDue}`,
        `ticket/${e.ticketId}`,
      ),
    ],
    hints: contact ? [] : [`${e.ticketId} has no client contact: the delivery review and the monthly report need one.`],
  };
}

/** `ticket.approved` → a note to #delivery to prepare the handover before the deployment. */
export async function onTicketApproved(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:ticket.approved', TicketApproved, ctx.input);
  const t = await ticketByKey(ctx, e.ticketId);
  const name = t ? ticketName(t) : `${e.ticketId} (${e.client})`;
  return {
    summary: `${e.ticketId} for ${e.client} approved by ${e.by}: deployment next, handover to prepare.`,
    findings: { ticketId: e.ticketId, client: e.client, by: e.by },
    actions: [
      notifyAction(
        {
          kind: 'brief',
          channel: 'delivery',
          severity: 'info',
          title: `Approved: ${e.ticketId} for ${e.client}, deployment next`,
          body: `${name} on ${platformName(e.platform)} was approved by ${e.by}.\nPrepare the handover: client credentials confirmed, documentation, and who at ${e.client} is trained.`,
          related: `ticket/${e.ticketId}`,
        },
        `Note to #delivery: ${e.ticketId} approved, prepare the handover`,
        `ticket/${e.ticketId}`,
      ),
    ],
    hints: [],
  };
}

/**
 * `automation.error` → an urgent alert to #delivery (topic `automation.error`),
 * naming the client when a deployed ticket's URL contains the workflow id.
 */
export async function onAutomationError(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:automation.error', AutomationError, ctx.input);
  const { tickets } = await readTickets(ctx, { where: [{ field: 'deployUrl', op: 'contains', value: e.workflowId }] });
  const clients = [...new Set(tickets.map((t) => t.client))];
  const name = e.workflowName ?? e.workflowId;
  const body = [
    `${platformName(e.platform)} workflow ${name} (${e.workflowId}) failed${e.node ? ` in node "${e.node}"` : ''}${e.mode ? ` (${e.mode} run)` : ''}: ${e.errorMessage}`,
    e.url ? `Execution: ${e.url}` : e.executionId ? `Execution ${e.executionId}.` : 'It failed before an execution was saved (in its trigger).',
    tickets.length
      ? `Built under:\n${bullets(tickets.map((t) => `${ticketName(t)}, owner ${t.owner ?? 'unassigned'}, client contact ${t.clientContact ?? 'unknown'}`), 15)}`
      : 'No ticket matches this workflow: find its client before they notice.',
    'Check the execution, fix or pause the workflow, and tell the client if their work is affected.',
  ].join('\n\n');
  return {
    summary: `Automation ${name} on ${e.platform} is failing${clients.length ? ` for ${clients.join(', ')}` : ''}: urgent alert to #delivery.`,
    findings: { workflowId: e.workflowId, tickets: tickets.map((t) => t.key), clients },
    actions: [
      notifyAction(
        {
          kind: 'alert',
          channel: 'delivery',
          severity: 'urgent',
          title: `Automation failing: ${name}${clients.length ? ` (${clients.join(', ')})` : ''}`,
          body,
          topic: 'automation.error',
          related: tickets[0] ? `ticket/${tickets[0].key}` : `automation/${e.workflowId}`,
        },
        `Urgent alert #delivery: ${name} failing (${e.errorMessage})`,
        tickets[0] ? `ticket/${tickets[0].key}` : undefined,
      ),
    ],
    hints: tickets.length ? [] : [`Workflow ${e.workflowId} matches no ticket's deployUrl: record the URL on its ticket so errors name the client.`],
  };
}

/** Delivery's reactions. */
export const deliveryReactions: ReactionDefinition[] = [
  { event: 'deal.closed', priority: 'high', description: 'A deal was won: start onboarding (welcome email to the contact, note to #delivery).', check: onDealClosed },
  { event: 'ticket.deployed', priority: 'normal', description: 'A build is live: monitoring begins; schedule the delivery review (note to #delivery).', check: onTicketDeployed },
  { event: 'ticket.approved', priority: 'normal', description: 'A build was approved: prepare the handover before deployment (note to #delivery).', check: onTicketApproved },
  { event: 'automation.error', priority: 'urgent', description: "A client's live automation failed: urgent alert to #delivery naming the client.", check: onAutomationError },
];
