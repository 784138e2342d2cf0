import { z } from 'zod';
import { Token } from '../bus/address.ts';
import type { ReadModel } from '../runtime/read/index.ts';

/**
 * Department agents as data. An agent is one actor per tenant (`acme/agent/sales`)
 * running the Plan → Act → React → Reflect cycle:
 *
 * - Plan: a run is triggered (a schedule's occurrence, Run Now, a domain event the
 *   agent reacts to, a delegation it accepted). The runtime (runtime/agents) runs the
 *   planner for it outside the actor, since planning reads data and may call a model:
 *   the rule-based planner runs the job's checks on the read side; the Claude planner
 *   asks the model, whose tools map onto the same planned actions.
 * - Act: the plan reaches the agent actor as one `agent.run` event; each planned
 *   action becomes a task actor that requests its effect through the approval gate.
 * - React: task actors report what became of each action (done, held for approval,
 *   blocked by a policy, failed and escalated, …); replies, bounces and outcomes of
 *   entities reach agents as domain events they react to.
 * - Reflect: when every action has reported (or the act deadline passed) the agent
 *   publishes `agent.run.completed`: what it found, what it did, what was held or
 *   blocked, and hints for the next run. That is the run record.
 */

/** The five department agents; the key of their actor (`<tenant>/agent/<name>`). */
export const AgentName = z.enum(['sales', 'delivery', 'engineering', 'executive', 'marketing']);
/** The five department agents. */
export type AgentName = z.infer<typeof AgentName>;
export const AGENT_NAMES: readonly AgentName[] = AgentName.options;

/**
 * One thing a plan asks for. Most are gated effects (`email.send`, `notify.send`,
 * `social.publish`, …), each run by a task actor through the gate. Three action
 * types stay inside Cadre and are carried out by the agent actor itself, ungated
 * because they touch nothing outside (docs/agents.md):
 *
 * - `agent.delegate` `{ to, task, input, deadlineMs }`: ask another agent (see `Delegation`);
 * - `agent.send` `{ to: { kind, key }, event }`: a message to an entity actor (create a ticket, …);
 * - `agent.publish` `{ event, data }`: a domain event from the catalogue (`client.at_risk`, …).
 */
export const PlannedAction = z.object({
  actionType: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be an action type such as email.send'),
  params: z.record(z.string(), z.unknown()),
  /** One line for people: the approval queue shows it, the run record lists it. */
  preview: z.string().min(1).max(2000),
  /**
   * What the action concerns, `<kind>/<key>` (e.g. `deal/D-1`): the run record lists
   * it, and while an action of the same type for the same target still waits (for
   * approval, a hold, an escalation) the agent does not ask again.
   */
  target: z.string().max(300).optional(),
  /**
   * A message for an entity actor once the action is done, e.g. `contact.touch` after
   * an engagement email went out, so the next run sees the contact as touched.
   */
  onDone: z.object({ to: z.object({ kind: Token, key: Token }), event: z.object({ type: z.string().min(1).max(200) }).passthrough() }).optional(),
});
export type PlannedAction = z.infer<typeof PlannedAction>;

/** Action types the agent actor carries out itself (not gated effects). */
export const INTERNAL_ACTIONS = ['agent.delegate', 'agent.send', 'agent.publish'] as const;

/** What a planner returns for one run. */
export const Plan = z.object({
  /** A few sentences for people: what was found, what is proposed. */
  summary: z.string().max(20_000),
  /** What the checks found, as data (counts, lists of ids); kept in the run record. */
  findings: z.record(z.string(), z.unknown()),
  actions: z.array(PlannedAction).max(100),
  /** What the next run should look at. */
  hints: z.array(z.string().max(1000)).max(20),
});
export type Plan = z.infer<typeof Plan>;

/** Why a run happens. */
export const RunTrigger = z.enum(['schedule', 'catch_up', 'manual', 'event', 'delegation']);
export type RunTrigger = z.infer<typeof RunTrigger>;

/** Everything a planner may use. Planners never write: what they want done is in the plan. */
export interface PlanContext {
  tenant: string;
  agent: AgentName;
  /** The job (a scheduled job's name, `react:<event>` for a reaction, a delegation task's name). */
  job: string;
  trigger: RunTrigger;
  /** The event reacted to, or the delegation's input; `{}` for scheduled runs. */
  input: Record<string, unknown>;
  /** The read side: committed snapshots of every actor of the tenant. */
  read: ReadModel;
  /** The time of the run (the runtime clock), ms since the epoch. Checks compute ages from it. */
  now: number;
  /** Aborted when the run's time limit passes. */
  signal: AbortSignal;
  /**
   * What the gate would decide for an action now (level × risk, policies, limits),
   * without recording anything: the Claude planner tells the model. The real
   * decision is made when the action's task requests it.
   */
  foresee(action: PlannedAction): Promise<{ outcome: 'auto' | 'dry_run' | 'approval' | 'blocked' | 'held' | 'internal'; reason: string }>;
}

/** A job's or reaction's rule-based checks: real queries, a real plan. */
export type Check = (ctx: PlanContext) => Promise<Plan>;

/** A scheduled job of an agent (reference/scheduled-agents-event-bus-webhooks.md). */
export interface JobDefinition {
  /** Unique per tenant, e.g. `sales-pipeline-review`; the schedule's name. */
  name: string;
  /** A five-field cron expression (croner), e.g. `0 8 * * 1-5`. */
  cron: string;
  /** What the job does, for people and for the Claude planner's prompt. */
  description: string;
  /** What to do with occurrences that passed while no runtime ran. */
  missed: 'skip' | 'run_once';
  /** The planning time limit. @default 60000 */
  timeoutMs?: number;
  check: Check;
}

/** How an agent reacts to a domain event (`<entity>.<event>` from the catalogue). */
export interface ReactionDefinition {
  event: string;
  priority: 'low' | 'normal' | 'high' | 'urgent';
  /** What the reaction does, for people and the Claude planner. */
  description: string;
  /** The event's data is `ctx.input`. */
  check: Check;
}

/** A task an agent accepts from other agents by delegation. */
export interface DelegableTask {
  name: string;
  description: string;
  /** The input the task needs; a request whose input fails it is declined with the reason. */
  input: z.ZodType<Record<string, unknown>>;
  check: Check;
}

/** A department agent as data. */
export interface AgentDefinition {
  name: AgentName;
  /** For people: `Sales`, `Delivery`, … */
  title: string;
  /** What the agent is for (the Claude planner's system prompt starts with it). */
  mission: string;
  jobs: JobDefinition[];
  reactions: ReactionDefinition[];
  accepts: DelegableTask[];
  /** Tool names (agents/tools.ts) the Claude planner may use for this agent. */
  tools: string[];
}

/**
 * Decides what a run does. The rule-based planner runs the job's checks; the Claude
 * planner asks the model, with the checks' findings as facts and tools mapping
 * onto planned actions. A planner returns a plan or throws; it never acts.
 */
export interface Planner {
  readonly name: 'rules' | 'claude';
  plan(ctx: PlanContext, work: { description: string; check: Check; tools: string[]; mission: string }): Promise<Plan>;
}

/** A rule-based plan with nothing to do. */
export function emptyPlan(summary: string, findings: Record<string, unknown> = {}, hints: string[] = []): Plan {
  return { summary, findings, actions: [], hints };
}
