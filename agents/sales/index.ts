/**
 * agents/sales: the Sales agent as data (`acme/agent/sales`). Its checks are
 * real queries on the read side (committed snapshots of deals, contacts, bids
 * and orders; no actor activated) that return a plan of gated actions: follow-up
 * and touch emails are drafts the gate holds for approval (email.send is high
 * risk), summaries and alerts go to #sales.
 */
import type { AgentDefinition } from '../types.ts';
import { hourlyCycle } from './hourly.ts';
import { pipelineReview } from './pipeline.ts';
import { onClientAtRisk, onClientChurned, onLeadQualified } from './reactions.ts';
import { DealReviewInput, dealReview } from './review.ts';

export { closeScore, likelyToClose, followUpEmail, pipelineReview, STAGE_WEIGHT, STALE_AFTER_DAYS, MAX_FOLLOW_UP_DRAFTS } from './pipeline.ts';
export { hourlyCycle, touchEmail, overdueContact, TOUCHES_PER_HOUR, THIN_PIPELINE, ORDER_EXCEPTIONS_DEADLINE_MS, type OverdueContact } from './hourly.ts';
export { onClientAtRisk, onClientChurned, onLeadQualified } from './reactions.ts';
export { dealReview, DealReviewInput, type FollowUpVerdict } from './review.ts';

/**
 * The Sales agent: works the pipeline and the 21-day engagement clock.
 *
 * @example
 * import { salesAgent } from './agents/sales/index.ts';
 * const job = salesAgent.jobs.find((j) => j.name === 'sales-pipeline-review')!;
 * const plan = await job.check(ctx); // { summary, findings, actions, hints }
 */
export const salesAgent: AgentDefinition = {
  name: 'sales',
  title: 'Sales',
  mission:
    'You are the Sales agent. You keep every deal moving toward a close and every client contact engaged at least every 21 days, ' +
    'follow bids until their outcome, and welcome new leads quickly. You draft emails for people to approve; you never create a task ' +
    'for a person unless a client explicitly asked for it, never research while a contact is overdue for a touch, and never spam.',
  jobs: [
    {
      name: 'sales-pipeline-review',
      cron: '0 8 * * 1-5',
      missed: 'skip',
      description:
        'Daily pipeline review: draft a follow-up for each open deal without movement for 7+ days (unless the deal already followed up), ' +
        'flag deals past their expected close date, list deals valued 0, name the 3 deals most likely to close this week, and post a summary to #sales.',
      check: pipelineReview,
    },
    {
      name: 'hourly-cycle',
      cron: '0 * * * *',
      missed: 'run_once',
      description:
        'The hourly Plan → Act → React → Reflect cycle: touch the 5 highest-priority overdue contacts, list bid follow-ups that are due ' +
        '(the bids send them), delegate order exceptions to delivery, and research new prospects only when no engagement is overdue and fewer than 5 deals are open.',
      check: hourlyCycle,
    },
  ],
  reactions: [
    { event: 'client.at_risk', priority: 'high', description: 'Draft a re-engagement email to the client contact, when there is one, and alert #sales.', check: onClientAtRisk },
    { event: 'lead.qualified', priority: 'high', description: 'Alert the sales lead in #sales and draft an intro email to the new lead.', check: onLeadQualified },
    { event: 'client.churned', priority: 'normal', description: 'Alert #sales, naming the churned client’s contacts still on the engagement clock.', check: onClientChurned },
  ],
  accepts: [
    {
      name: 'deal-review',
      description: "A deal's facts (stage, value, movement, stall, follow-up, expected close) and a follow-up email draft if it stalled and nobody followed up.",
      input: DealReviewInput,
      check: dealReview,
    },
  ],
  tools: ['send_email', 'notify_team', 'delegate_task', 'create_human_task', 'flag_client_at_risk', 'update_entity', 'run_research'],
};
