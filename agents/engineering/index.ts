import type { AgentDefinition } from '../types.ts';
import { buildEstimateTask } from './estimate.ts';
import { buildQueueJob } from './queue.ts';
import { engineeringReactions } from './reactions.ts';

export { buildQueueCheck, buildQueueJob, BUILD_AT_RISK_DAYS, ANALYSIS_STUCK_DAYS, REVIEW_NUDGE_DAYS } from './queue.ts';
export { onDealClosed, onTicketFailed, onTicketCreated, engineeringReactions, ticketKeyOf } from './reactions.ts';
export { buildEstimate, buildEstimateTask, DEFAULT_BUILD_DAYS, MIN_SAMPLES, DAYS_PER_REVISION } from './estimate.ts';
// Engineering owns tickets: delivery and marketing read and name them with these.
export { readTickets, ticketByKey, ticketView, inStateLongerThan, READ_CAP, type TicketView, type TicketQuery } from './tickets.ts';
export { ticketName, platformName } from './names.ts';

/**
 * The Engineering agent (`<tenant>/agent/engineering`): keeps the build queue
 * moving. Its job `build-queue-check` (weekdays 09:00) flags builds at risk, starts
 * analyses that waited, nudges reviewers and posts the queue to #builds; it opens
 * the build ticket of every won deal (`deal.closed`), acknowledges new tickets and
 * alerts on failed deployments; other agents may ask it for a `build-estimate`.
 */
export const engineeringAgent: AgentDefinition = {
  name: 'engineering',
  title: 'Engineering',
  mission:
    'You are the Engineering agent of an automation agency: you keep client builds (n8n, Make.com, Zapier) moving from a won deal ' +
    'through analysis, build, review and deployment. You flag builds at risk, start stuck analyses, nudge reviewers, and keep #builds informed. ' +
    'You never promise clients dates: you tell the team what is late and why.',
  jobs: [buildQueueJob],
  reactions: engineeringReactions,
  accepts: [buildEstimateTask],
  tools: ['notify_team', 'send_email', 'update_entity', 'delegate_task', 'create_human_task'],
};
