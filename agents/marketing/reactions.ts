import type { z } from 'zod';
import { DomainEvents } from '../../bus/index.ts';
import { ticketByKey, type TicketView } from '../engineering/index.ts';
import { clip, notifyAction, parseInput } from '../kit/index.ts';
import type { Plan, PlanContext, ReactionDefinition } from '../types.ts';
import { caseStudyOutline } from './drafts.ts';

const TicketDeployed = DomainEvents['ticket.deployed'];
const LeadQualified = DomainEvents['lead.qualified'];

/**
 * `ticket.deployed` → a case study draft to #marketing: the outline of the build
 * just deployed, to fill in once the client sees results.
 */
export async function onTicketDeployed(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:ticket.deployed', TicketDeployed, ctx.input);
  const found = await ticketByKey(ctx, e.ticketId);
  const t = found ?? fromEvent(e);
  return {
    summary: `${e.ticketId} for ${e.client} is live: case study outline drafted for #marketing.`,
    findings: { ticketId: e.ticketId, client: e.client },
    actions: [
      notifyAction(
        {
          kind: 'draft',
          channel: 'marketing',
          severity: 'info',
          title: `Case study draft: ${e.client} (${t.title})`,
          body: `${caseStudyOutline(t)}\n\nJust deployed: collect two to four weeks of results before publishing.`,
          related: `ticket/${e.ticketId}`,
        },
        `Draft to #marketing: case study for ${e.client} (${e.ticketId}, just deployed)`,
        `ticket/${e.ticketId}`,
      ),
    ],
    hints: [],
  };
}

/** A ticket view from the event alone, for when the ticket cannot be read (the outline then has less to say). */
function fromEvent(e: z.infer<typeof TicketDeployed>): TicketView {
  return {
    key: e.ticketId,
    state: 'deployed',
    title: e.ticketId,
    client: e.client,
    clientContact: null,
    platform: e.platform,
    dealId: null,
    owner: null,
    reviewer: null,
    value: e.value,
    createdAt: null,
    stateSince: null,
    analyzedAt: null,
    approvedBy: null,
    revisions: 0,
    deployedAt: null,
    deployUrl: e.deployUrl,
    closedAt: null,
    failedDeploys: 0,
    deployments: [],
    lastActivityAt: null,
  };
}

/** `lead.qualified` → a note to #marketing to add the lead to the nurture sequence, with where they came from. */
export async function onLeadQualified(ctx: PlanContext): Promise<Plan> {
  const l = parseInput('react:lead.qualified', LeadQualified, ctx.input);
  const who = `${l.name}${l.company ? ` (${l.company})` : ''}`;
  return {
    summary: `New qualified lead ${who} from ${l.source}: added to the nurture list for #marketing.`,
    findings: { email: l.email, source: l.source, company: l.company },
    actions: [
      notifyAction(
        {
          kind: 'brief',
          channel: 'marketing',
          severity: 'info',
          title: `Add to nurture: ${who}`,
          body: [
            `${who} <${l.email}> came in through ${l.source}.`,
            l.message ? `Their message: "${clip(l.message, 1000)}"` : 'No message left.',
            'Add them to the nurture sequence (case studies and the monthly newsletter), tagged with the source. Sales follows up directly.',
          ].join('\n'),
          related: `lead/${l.email}`,
        },
        `Note to #marketing: add ${who} <${l.email}> to nurture`,
        `lead/${l.email}`,
      ),
    ],
    hints: [],
  };
}

/** Marketing's reactions. */
export const marketingReactions: ReactionDefinition[] = [
  { event: 'ticket.deployed', priority: 'normal', description: 'A build is live: draft its case study outline for #marketing.', check: onTicketDeployed },
  { event: 'lead.qualified', priority: 'normal', description: 'A new qualified lead: add them to the nurture sequence (note to #marketing).', check: onLeadQualified },
];
