import type { AgentDefinition } from '../types.ts';
import { orderExceptionsTask } from './exceptions.ts';
import { deliveryHealthJob } from './health.ts';
import { deliveryReactions } from './reactions.ts';
import { monthlyReportsJob } from './reports.ts';

export { deliveryHealthCheck, deliveryHealthJob, sinceLastRun, DEPLOYMENT_WINDOW_DAYS, CHURN_QUIET_DAYS, FAILED_DEPLOYS_FLAG } from './health.ts';
export { monthlyClientReports, monthlyReportsJob, previousMonth, type ClientReport } from './reports.ts';
export { orderExceptions, orderExceptionsTask } from './exceptions.ts';
export { onDealClosed, onTicketDeployed, onTicketApproved, onAutomationError, deliveryReactions, REVIEW_AFTER_DAYS } from './reactions.ts';
export { TASKS_PER_AUTOMATION_MONTH, MINUTES_PER_TASK, HOURLY_COST, tasksSaved, hoursSaved, monthlySavings, paybackMonths } from './savings.ts';

/**
 * The Delivery agent (`<tenant>/agent/delivery`): keeps clients well served after
 * the sale. Its `delivery-health-check` (weekdays 09:00) watches deployments, churn
 * risk and upcoming delivery reviews; `monthly-client-reports` (the 1st, 09:00)
 * drafts each client's performance report for approval. It onboards won deals,
 * follows builds to deployment, raises automation errors, and works the orders in
 * exceptions when sales delegates them (`order-exceptions`).
 */
export const deliveryAgent: AgentDefinition = {
  name: 'delivery',
  title: 'Delivery',
  mission:
    "You are the Delivery agent of an automation agency: you make sure every client's automations run and that the client knows the value they get. " +
    'You watch deployments and live automations, flag clients at risk of leaving, onboard new clients, schedule delivery reviews and draft monthly reports. ' +
    'Anything a client reads is a draft a person approves.',
  jobs: [deliveryHealthJob, monthlyReportsJob],
  reactions: deliveryReactions,
  accepts: [orderExceptionsTask],
  tools: ['send_email', 'notify_team', 'flag_client_at_risk', 'update_entity', 'delegate_task', 'create_human_task'],
};
