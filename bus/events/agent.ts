import { z } from 'zod';

const Agent = z.enum(['sales', 'delivery', 'engineering', 'executive', 'marketing']);

/** What became of one planned action of a run. */
export const ActionOutcome = z.enum([
  'pending', // not reported before the run's act deadline
  'done', // the effect ran (or was recorded under dry-run)
  'awaiting_approval', // the gate holds it for a person
  'held', // held by a daily limit until tomorrow
  'blocked', // a policy blocked it
  'rejected', // a person rejected it
  'expired', // its approval expired
  'escalated', // it failed after its attempts; a person decides (approvals queue)
  'dropped', // a person dropped it after escalation
  'delegated', // asked of another agent
  'sent', // a message to an entity actor
  'published', // a domain event
  'refused', // the agent refused it (malformed action)
]);
export type ActionOutcome = z.infer<typeof ActionOutcome>;

/** One action of a run record. */
export const RunAction = z.object({
  index: z.number().int(),
  actionType: z.string(),
  preview: z.string(),
  target: z.string().nullable(),
  task: z.string().nullable(),
  outcome: ActionOutcome,
  detail: z.string().nullable(),
});
export type RunAction = z.infer<typeof RunAction>;

/** A run's reflection: its record, published when every action reported or the act deadline passed. */
export const RunCompleted = z.object({
  runId: z.string(),
  agent: Agent,
  job: z.string(),
  trigger: z.string(),
  planner: z.string(),
  summary: z.string(),
  findings: z.record(z.string(), z.unknown()),
  actions: z.array(RunAction),
  counts: z.record(z.string(), z.number().int()),
  hints: z.array(z.string()),
  delegationId: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** Set when the run was not acted on (the agent's queue was full): the run record says failed. */
  error: z.string().max(2000).optional(),
});
export type RunCompleted = z.infer<typeof RunCompleted>;

const Delegation = {
  delegationId: z.string(),
  from: Agent,
  to: Agent,
  task: z.string(),
};

/**
 * Domain events of department agents: `<prefix>.<tenant>.events.agent.<name>`.
 * The runtime's event router records runs and delegations from them.
 */
export const AgentEvents = {
  'agent.run_completed': RunCompleted,
  /** A later report about an action of a run already reflected (an approval decided hours later). */
  'agent.action_settled': z.object({ runId: z.string(), agent: Agent, index: z.number().int(), outcome: ActionOutcome, detail: z.string().nullable(), at: z.string() }),
  'agent.delegation_requested': z.object({ ...Delegation, input: z.record(z.string(), z.unknown()), deadline: z.string(), runId: z.string().nullable() }),
  'agent.delegation_accepted': z.object({ ...Delegation, input: z.record(z.string(), z.unknown()), deadline: z.string() }),
  'agent.delegation_declined': z.object({ ...Delegation, reason: z.string() }),
  'agent.delegation_completed': z.object({ ...Delegation, runId: z.string(), summary: z.string(), result: z.record(z.string(), z.unknown()), late: z.boolean() }),
  'agent.delegation_timed_out': z.object({ ...Delegation, deadline: z.string() }),
} as const satisfies Record<string, z.ZodType>;
