import type { RiskClass } from './levels.ts';

/** What Cadre knows about an action type before any tenant changes it. */
export interface ActionTypeInfo {
  risk: RiskClass;
  /** Sends something to people outside the company: suppression, opt-out and spam rules apply. */
  outbound?: boolean;
  /** Executions per tenant per UTC day. */
  perDay?: number;
  /** Creates work for a person. */
  humanTask?: boolean;
  /** Research that waits until no engagement is overdue. */
  research?: boolean;
}

/**
 * Built-in action types, their risk classes (reference/autonomy-levels-approval-queue.md:
 * low = reads, logging, status; medium = CRM updates, task creation, internal
 * notifications; high = external emails, data changes; critical = money, bulk
 * customer communication, deletion) and daily limits
 * (reference/task-executor-approvals-retries.md). A tenant can change risks and
 * limits; an unknown action type is treated as high risk.
 */
export const ACTION_TYPES: Readonly<Record<string, ActionTypeInfo>> = Object.freeze({
  'email.send': { risk: 'high', outbound: true, perDay: 50 },
  'sms.send': { risk: 'high', outbound: true, perDay: 50 },
  'broadcast.send': { risk: 'critical', outbound: true, perDay: 1 },
  'newsletter.send': { risk: 'critical', outbound: true, perDay: 1 },
  'social.publish': { risk: 'high', perDay: 20 },
  'order.autofix': { risk: 'medium' },
  'order.accept': { risk: 'high' },
  'browser.accept_order': { risk: 'high' },
  'crm.update': { risk: 'medium' },
  'task.create': { risk: 'medium', humanTask: true },
  'notify.internal': { risk: 'low' },
  'notify.send': { risk: 'low' },
  'research.run': { risk: 'low', research: true, perDay: 20 },
  'research.contact_discovery': { risk: 'low' },
  'script.run': { risk: 'medium', perDay: 200 },
  'report.generate': { risk: 'low' },
  'payment.send': { risk: 'critical' },
  'data.delete': { risk: 'critical' },
  /** A failed task escalated to a person: approving tries it again (agents/task.ts). Critical, so a person always decides. */
  'task.escalate': { risk: 'critical' },
});

/** The built-in facts about an action type; unknown types are high risk with no other rule. */
export function actionTypeInfo(actionType: string): ActionTypeInfo {
  return ACTION_TYPES[actionType] ?? { risk: 'high' };
}
