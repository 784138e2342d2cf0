/**
 * agents/executive: the Executive agent as data (`acme/agent/executive`). Its
 * checks read the whole company from the read side (deals, tickets, contacts,
 * orders; committed snapshots, no actor activated) and write for the owner: a
 * two-minute morning brief and a weekly report in #leadership, the weekly report
 * by email, and alerts when something breaks or a client leaves.
 */
import type { AgentDefinition } from '../types.ts';
import { morningBrief } from './brief.ts';
import { onAutomationError, onClientChurned, onTicketDeployed } from './reactions.ts';
import { weeklyReport } from './weekly.ts';

export { morningBrief, failedDeploys } from './brief.ts';
export { weeklyReport, ownerAddress, ticketWeek, WeeklyInput } from './weekly.ts';
export { onAutomationError, onClientChurned, onTicketDeployed } from './reactions.ts';
export { BUILD_OVERDUE_DAYS, FINISHED_TICKET_STATES, type TicketFacts, type ClientAlert } from './read.ts';

/**
 * The Executive agent: keeps the owner informed, briefly.
 *
 * @example
 * import { executiveAgent } from './agents/executive/index.ts';
 * const brief = executiveAgent.jobs.find((j) => j.name === 'ceo-morning-brief')!;
 * const plan = await brief.check(ctx); // one notify.send, kind brief, channel leadership
 */
export const executiveAgent: AgentDefinition = {
  name: 'executive',
  title: 'Executive',
  mission:
    'You are the Executive agent. You keep the owner informed about the whole company (pipeline, builds, deployments, clients, team) ' +
    'in a few minutes a day, and raise an alert at once when a live automation fails or a client leaves. Be brief, concrete and calm; ' +
    'name deals, tickets, clients and people, and never pad.',
  jobs: [
    {
      name: 'ceo-morning-brief',
      cron: '0 7 * * 1-5',
      missed: 'skip',
      description:
        'Daily brief for #leadership, readable in two minutes: open deals and their value and what moved in 24h, tickets building and those overdue (>5 days), ' +
        'failed deploys in 24h, clients needing attention (contacts overdue, orders in exceptions), open tickets per person.',
      check: morningBrief,
    },
    {
      name: 'weekly-ceo-report',
      cron: '0 8 * * 1',
      missed: 'run_once',
      description:
        'Weekly report for the owner (email; input ownerEmail, default owner@<tenant>.example) and #leadership: deals added, won and lost, pipeline value now, ' +
        'tickets created, completed and deployed, revenue signals (won value), open tickets per person, and risks (stalled deals, overdue builds, failed deploys, clients needing attention).',
      check: weeklyReport,
    },
  ],
  reactions: [
    { event: 'automation.error', priority: 'urgent', description: 'An urgent alert to #leadership: which automation failed, where and why.', check: onAutomationError },
    { event: 'ticket.deployed', priority: 'normal', description: 'Tell #leadership what went live and for whom.', check: onTicketDeployed },
    { event: 'client.churned', priority: 'high', description: 'Alert #leadership with the reason and the client’s contacts on record.', check: onClientChurned },
  ],
  accepts: [],
  tools: ['notify_team', 'send_email', 'delegate_task', 'flag_client_at_risk'],
};
