import { z } from 'zod';
import { assign, enqueueActions, raise, setup } from 'xstate';
import { runtimeActions, RUNTIME_ACTION } from '../machines/effects.ts';
import { defineEntity, type Stamped } from '../machines/entity.ts';
import { DomainEvents } from '../bus/catalogue.ts';
import type { ActionOutcome, RunAction, RunCompleted } from '../bus/events/agent.ts';
import { AgentPublishParams, AgentSendParams, DelegateParams } from './actions.ts';
import { AgentName, INTERNAL_ACTIONS, PlannedAction } from './types.ts';

/** How long a run waits for its actions to report before it reflects anyway. */
export const ACT_DEADLINE_MS = 15 * 60 * 1000;
/** Runs waiting behind the current one; more are refused (the run record says why). */
export const MAX_QUEUE = 50;
/** Run digests and settled delegations an agent keeps in its context. */
export const KEEP_RECENT = 20;

const Delegation = z.object({ id: z.string().min(1).max(100), from: AgentName });

/** Events an agent accepts from the runtime and from other actors. */
export const AgentEvent = z.discriminatedUnion('type', [
  /** A planned run (runtime/agents plans it; the message id is `run:<runId>`). */
  z.object({
    type: z.literal('agent.run'),
    runId: z.string().min(1).max(100),
    job: z.string().min(1).max(200),
    trigger: z.string().min(1).max(40),
    planner: z.string().min(1).max(40),
    summary: z.string().max(20_000),
    findings: z.record(z.string(), z.unknown()),
    actions: z.array(PlannedAction).max(100),
    hints: z.array(z.string()).max(20),
    delegation: Delegation.nullable(),
    requestedAt: z.string(),
  }),
  /** Planning failed for good (the runtime recorded the run as failed). */
  z.object({
    type: z.literal('agent.run_failed'),
    runId: z.string().min(1).max(100),
    job: z.string().min(1).max(200),
    error: z.string().max(2000),
    delegation: Delegation.nullable(),
  }),
  /** A task reports what became of its action. */
  z.object({
    type: z.literal('agent.task.reported'),
    runId: z.string().min(1).max(100),
    index: z.number().int().min(0),
    task: z.string().min(1).max(200),
    outcome: z.enum(['done', 'awaiting_approval', 'held', 'blocked', 'rejected', 'expired', 'escalated', 'dropped']),
    detail: z.string().nullable(),
  }),
  /** Another agent asks this one for a task. */
  z.object({
    type: z.literal('agent.delegation.request'),
    delegationId: z.string().min(1).max(100),
    from: AgentName,
    task: z.string().min(1).max(80),
    input: z.record(z.string(), z.unknown()),
    deadline: z.iso.datetime({ offset: true }),
  }),
  /** The delegate's answers to this agent. */
  z.object({ type: z.literal('agent.delegation.accepted'), delegationId: z.string().min(1).max(100) }),
  z.object({ type: z.literal('agent.delegation.declined'), delegationId: z.string().min(1).max(100), reason: z.string().max(2000) }),
  z.object({
    type: z.literal('agent.delegation.completed'),
    delegationId: z.string().min(1).max(100),
    runId: z.string(),
    summary: z.string().max(20_000),
    result: z.record(z.string(), z.unknown()),
  }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

/** Raised inside the machine only (a delegation's deadline timer). */
type Internal = { type: 'agent.delegation.deadline'; delegationId: string };
type Ev = Stamped<AgentEvent | Internal>;
type RunEvent = Extract<AgentEvent, { type: 'agent.run' }>;

/** A delegation as the agent records it, on both sides. */
export interface DelegationRecord {
  id: string;
  direction: 'outgoing' | 'incoming';
  from: string;
  to: string;
  task: string;
  input: Record<string, unknown>;
  status: 'requested' | 'accepted' | 'declined' | 'completed' | 'timed_out';
  deadline: string;
  requestedAt: string;
  settledAt: string | null;
  reason: string | null;
  summary: string | null;
  /** The run that asked (outgoing) or the run that did it (incoming). */
  runId: string | null;
}

/** The run being acted on. */
export interface ActiveRun {
  runId: string;
  job: string;
  trigger: string;
  planner: string;
  summary: string;
  findings: Record<string, unknown>;
  hints: string[];
  delegation: { id: string; from: string } | null;
  requestedAt: string;
  startedAt: string;
  actions: RunAction[];
}

/** An agent's context. */
export interface AgentContext {
  tenant: string;
  key: string;
  queue: RunEvent[];
  run: ActiveRun | null;
  /** The last runs, newest first: id, job, when, counts. */
  recent: { runId: string; job: string; finishedAt: string; counts: Record<string, number>; actions: RunAction[] }[];
  delegations: Record<string, DelegationRecord>;
  stats: { runs: number; actions: number; refusedRuns: number };
}

type Args = { context: AgentContext; event: Ev };

/** Outcomes after which a task will not report again on its own. */
const RESTING: ReadonlySet<ActionOutcome> = new Set(['done', 'awaiting_approval', 'held', 'blocked', 'rejected', 'expired', 'escalated', 'dropped', 'delegated', 'sent', 'published', 'refused']);

function counts(actions: RunAction[]): Record<string, number> {
  const c: Record<string, number> = { requested: actions.length };
  for (const a of actions) c[a.outcome] = (c[a.outcome] ?? 0) + 1;
  return c;
}

function taskKey(runId: string, index: number): string {
  return `${runId}-${index}`;
}

/** Why an internal action cannot be carried out, or null. */
function internalProblem(a: PlannedAction, self: string): string | null {
  if (a.actionType === 'agent.delegate') {
    const p = DelegateParams.safeParse(a.params);
    if (!p.success) return `bad delegation: ${z.prettifyError(p.error)}`;
    if (p.data.to === self) return 'an agent cannot delegate to itself';
    return null;
  }
  if (a.actionType === 'agent.send') {
    const p = AgentSendParams.safeParse(a.params);
    if (!p.success) return `bad message: ${z.prettifyError(p.error)}`;
    if (p.data.to.kind === 'agent' || p.data.to.kind === 'task') return 'agents reach other agents by delegation, and tasks only through a run';
    return null;
  }
  const p = AgentPublishParams.safeParse(a.params);
  if (!p.success) return `bad event: ${z.prettifyError(p.error)}`;
  const schema = (DomainEvents as Record<string, z.ZodType>)[p.data.event];
  if (!schema) return `${p.data.event} is not in the event catalogue`;
  const data = schema.safeParse(p.data.data);
  return data.success ? null : `${p.data.event} does not match its schema: ${z.prettifyError(data.error)}`;
}

function delegationIdOf(runId: string, index: number): string {
  return `${runId}-d${index}`;
}

/**
 * A department agent (`<tenant>/agent/<name>`): Plan → Act → React → Reflect.
 *
 *   cycle:        idle ─ a planned run is queued ─► acting ─ every action reported
 *                 (or ACT_DEADLINE_MS) ─► reflecting ─► idle (next queued run)
 *   delegations:  tracking (requests to and from other agents, deadlines)
 *
 * Acting: each gated action becomes a task actor (`task/<runId>-<i>`) that asks the
 * gate; `agent.delegate`, `agent.send` and `agent.publish` are carried out by the
 * agent itself. Reacting: tasks report what became of their actions. Reflecting:
 * `agent.run_completed` is published (the run record), and a delegated run's result
 * goes back to the delegator. Runs are taken one at a time, in the order planned:
 * an agent never runs two cycles at once (the reference's tenant lock, here by
 * construction).
 */
export const agentMachine = setup({
  types: { context: {} as AgentContext, events: {} as Ev, input: {} as { tenant: string; key: string } },
  actions: { ...runtimeActions },
  guards: {
    queued: ({ context }) => context.queue.length > 0,
    allReported: ({ context }) => context.run !== null && context.run.actions.every((a) => RESTING.has(a.outcome)),
  },
  delays: { actDeadline: ACT_DEADLINE_MS },
}).createMachine({
  id: 'agent',
  context: ({ input }) => ({ tenant: input.tenant, key: input.key, queue: [], run: null, recent: [], delegations: {}, stats: { runs: 0, actions: 0, refusedRuns: 0 } }),
  type: 'parallel',
  on: {
    'agent.run': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const e = event as Stamped<RunEvent>;
        const known = context.run?.runId === e.runId || context.queue.some((q) => q.runId === e.runId) || context.recent.some((r) => r.runId === e.runId);
        if (known) return;
        if (context.queue.length >= MAX_QUEUE) {
          const reason = `${MAX_QUEUE} runs are already waiting for ${context.key}`;
          enqueue.assign({ stats: { ...context.stats, refusedRuns: context.stats.refusedRuns + 1 } });
          enqueue({ type: RUNTIME_ACTION.publish, params: { entity: 'agent', name: 'run_completed', data: refusedRecord(context, e, reason) } });
          if (e.delegation) declineIncoming(context, e.delegation, `not taken: ${reason}`, e.at, enqueue);
          return;
        }
        enqueue.assign({ queue: [...context.queue, e] });
      }),
    },
    'agent.run_failed': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const e = event as Stamped<Extract<AgentEvent, { type: 'agent.run_failed' }>>;
        if (e.delegation) declineIncoming(context, e.delegation, `planning failed: ${e.error}`, e.at, enqueue);
        // The failure is reported to people through an alert task, throttled per job by the notification handler.
        enqueue({
          type: RUNTIME_ACTION.send,
          params: {
            to: { kind: 'task', key: `${e.runId}-alert` },
            event: {
              type: 'task.start',
              agent: context.key,
              runId: e.runId,
              index: 0,
              actionType: 'notify.send',
              params: { kind: 'alert', channel: 'ops', severity: 'warning', title: `${context.key}: ${e.job} could not plan`, body: e.error, topic: `run.failed:${e.job}`, related: `run/${e.runId}` },
              preview: `Alert: ${context.key}'s ${e.job} could not plan: ${e.error.slice(0, 200)}`,
              target: `run/${e.runId}`,
            },
          },
        });
      }),
    },
    'agent.task.reported': {
      // Reports of earlier runs (an approval decided hours later) update their record.
      guard: ({ context, event }) => context.run?.runId !== (event as { runId: string }).runId,
      actions: enqueueActions(({ context, event, enqueue }) => {
        const e = event as Stamped<Extract<AgentEvent, { type: 'agent.task.reported' }>>;
        const recent = context.recent.map((r) =>
          r.runId !== e.runId ? r : { ...r, actions: r.actions.map((a) => (a.index === e.index ? { ...a, outcome: e.outcome, detail: e.detail } : a)) },
        );
        enqueue.assign({ recent: recent.map((r) => (r.runId === e.runId ? { ...r, counts: counts(r.actions) } : r)) });
        enqueue({ type: RUNTIME_ACTION.publish, params: { entity: 'agent', name: 'action_settled', data: { runId: e.runId, agent: context.key, index: e.index, outcome: e.outcome, detail: e.detail, at: e.at } } });
      }),
    },
  },
  states: {
    cycle: {
      initial: 'idle',
      states: {
        idle: { always: { guard: 'queued', target: 'acting' } },
        acting: {
          entry: enqueueActions(({ context, event, enqueue }) => {
            const at = (event as { at: string }).at;
            const next = context.queue[0]!;
            const self = context.key;
            const delegations = { ...context.delegations };
            const actions: RunAction[] = next.actions.map((a, index) => {
              const base = { index, actionType: a.actionType, preview: a.preview, target: a.target ?? null, task: null, detail: null };
              if (!(INTERNAL_ACTIONS as readonly string[]).includes(a.actionType)) {
                const task = taskKey(next.runId, index);
                enqueue({
                  type: RUNTIME_ACTION.send,
                  params: { to: { kind: 'task', key: task }, event: { type: 'task.start', agent: self, runId: next.runId, index, actionType: a.actionType, params: a.params, preview: a.preview, target: a.target ?? null, onDone: a.onDone ?? null } },
                });
                return { ...base, task, outcome: 'pending' as const };
              }
              const problem = internalProblem(a, self);
              if (problem) return { ...base, outcome: 'refused' as const, detail: problem };
              if (a.actionType === 'agent.send') {
                const p = AgentSendParams.parse(a.params);
                enqueue({ type: RUNTIME_ACTION.send, params: { to: p.to, event: p.event } });
                return { ...base, outcome: 'sent' as const };
              }
              if (a.actionType === 'agent.publish') {
                const p = AgentPublishParams.parse(a.params);
                const [entity, name] = p.event.split('.') as [string, string];
                enqueue({ type: RUNTIME_ACTION.publish, params: { entity, name, data: p.data } });
                return { ...base, outcome: 'published' as const };
              }
              const p = DelegateParams.parse(a.params);
              const id = delegationIdOf(next.runId, index);
              const deadline = new Date(Date.parse(at) + p.deadlineMs).toISOString();
              delegations[id] = { id, direction: 'outgoing', from: self, to: p.to, task: p.task, input: p.input, status: 'requested', deadline, requestedAt: at, settledAt: null, reason: null, summary: null, runId: next.runId };
              enqueue({ type: RUNTIME_ACTION.send, params: { to: { kind: 'agent', key: p.to }, event: { type: 'agent.delegation.request', delegationId: id, from: self, task: p.task, input: p.input, deadline } } });
              enqueue({ type: RUNTIME_ACTION.publish, params: { entity: 'agent', name: 'delegation_requested', data: { delegationId: id, from: self, to: p.to, task: p.task, input: p.input, deadline, runId: next.runId } } });
              enqueue(raise({ type: 'agent.delegation.deadline', delegationId: id, at } as Ev, { delay: p.deadlineMs }));
              return { ...base, outcome: 'delegated' as const, detail: `asked ${p.to} for ${p.task}, due ${deadline}` };
            });
            enqueue.assign({
              queue: context.queue.slice(1),
              delegations: prune(delegations),
              run: {
                runId: next.runId,
                job: next.job,
                trigger: next.trigger,
                planner: next.planner,
                summary: next.summary,
                findings: next.findings,
                hints: next.hints,
                delegation: next.delegation,
                requestedAt: next.requestedAt,
                startedAt: at,
                actions,
              },
              stats: { ...context.stats, runs: context.stats.runs + 1, actions: context.stats.actions + actions.length },
            });
          }),
          always: { guard: 'allReported', target: 'reflecting' },
          after: { actDeadline: 'reflecting' },
          on: {
            'agent.task.reported': {
              guard: ({ context, event }) => context.run?.runId === (event as { runId: string }).runId,
              actions: assign(({ context, event }) => {
                const e = event as Extract<AgentEvent, { type: 'agent.task.reported' }>;
                const run = context.run!;
                return { run: { ...run, actions: run.actions.map((a) => (a.index === e.index ? { ...a, outcome: e.outcome, detail: e.detail } : a)) } };
              }),
            },
          },
        },
        reflecting: {
          entry: enqueueActions(({ context, event, enqueue }) => {
            const at = (event as { at?: string }).at ?? context.run!.startedAt;
            const run = context.run!;
            const record = reflection(context, run, at);
            enqueue({ type: RUNTIME_ACTION.publish, params: { entity: 'agent', name: 'run_completed', data: record } });
            if (run.delegation) {
              enqueue({
                type: RUNTIME_ACTION.send,
                params: {
                  to: { kind: 'agent', key: run.delegation.from },
                  event: { type: 'agent.delegation.completed', delegationId: run.delegation.id, runId: run.runId, summary: run.summary, result: { findings: run.findings, counts: record.counts } },
                },
              });
            }
            const delegations = { ...context.delegations };
            const mine = run.delegation ? delegations[run.delegation.id] : undefined;
            if (mine) delegations[mine.id] = { ...mine, status: 'completed', settledAt: at, summary: run.summary, runId: run.runId };
            enqueue.assign({
              run: null,
              delegations: prune(delegations),
              recent: [{ runId: run.runId, job: run.job, finishedAt: at, counts: record.counts, actions: record.actions }, ...context.recent].slice(0, KEEP_RECENT),
            });
          }),
          always: { target: 'idle' },
        },
      },
    },
    delegations: {
      initial: 'tracking',
      states: {
        tracking: {
          on: {
            'agent.delegation.request': {
              actions: enqueueActions(({ context, event, enqueue }) => {
                const e = event as Stamped<Extract<AgentEvent, { type: 'agent.delegation.request' }>>;
                if (context.delegations[e.delegationId]) return; // asked twice: answered already
                const base: DelegationRecord = { id: e.delegationId, direction: 'incoming', from: e.from, to: context.key, task: e.task, input: e.input, status: 'accepted', deadline: e.deadline, requestedAt: e.at, settledAt: null, reason: null, summary: null, runId: null };
                const reason = declineReason(context, e);
                const data = { delegationId: e.delegationId, from: e.from, to: context.key, task: e.task };
                if (reason) {
                  enqueue.assign({ delegations: prune({ ...context.delegations, [e.delegationId]: { ...base, status: 'declined', settledAt: e.at, reason } }) });
                  enqueue({ type: RUNTIME_ACTION.send, params: { to: { kind: 'agent', key: e.from }, event: { type: 'agent.delegation.declined', delegationId: e.delegationId, reason } } });
                  enqueue({ type: RUNTIME_ACTION.publish, params: { entity: 'agent', name: 'delegation_declined', data: { ...data, reason } } });
                  return;
                }
                enqueue.assign({ delegations: prune({ ...context.delegations, [e.delegationId]: base }) });
                enqueue({ type: RUNTIME_ACTION.send, params: { to: { kind: 'agent', key: e.from }, event: { type: 'agent.delegation.accepted', delegationId: e.delegationId } } });
                // The runtime's event router turns an accepted delegation into a run of this agent.
                enqueue({ type: RUNTIME_ACTION.publish, params: { entity: 'agent', name: 'delegation_accepted', data: { ...data, input: e.input, deadline: e.deadline } } });
              }),
            },
            'agent.delegation.accepted': { actions: settle('accepted') },
            'agent.delegation.declined': { actions: settle('declined') },
            'agent.delegation.completed': { actions: settle('completed') },
            'agent.delegation.deadline': { actions: settle('timed_out') },
          },
        },
      },
    },
  },
});

/** The delegator's side: an answer, a result, or the deadline. */
function settle(status: 'accepted' | 'declined' | 'completed' | 'timed_out'): any {
  return enqueueActions(({ context, event, enqueue }: { context: AgentContext; event: Ev; enqueue: any }) => {
    const e = event as Stamped<{ type: string; delegationId: string; reason?: string; summary?: string; runId?: string }>;
    const d = context.delegations[e.delegationId];
    if (!d || d.direction !== 'outgoing') return;
    const open = d.status === 'requested' || d.status === 'accepted';
    const data = { delegationId: d.id, from: d.from, to: d.to, task: d.task };
    if (status === 'accepted') {
      if (d.status === 'requested') enqueue.assign({ delegations: { ...context.delegations, [d.id]: { ...d, status: 'accepted' } } });
      return;
    }
    if (status === 'timed_out') {
      if (!open) return;
      enqueue.assign({ delegations: { ...context.delegations, [d.id]: { ...d, status: 'timed_out', settledAt: e.at, reason: `no result by ${d.deadline}` } } });
      enqueue({ type: RUNTIME_ACTION.publish, params: { entity: 'agent', name: 'delegation_timed_out', data: { ...data, deadline: d.deadline } } });
      return;
    }
    if (status === 'declined') {
      if (!open) return;
      enqueue.assign({ delegations: { ...context.delegations, [d.id]: { ...d, status: 'declined', settledAt: e.at, reason: e.reason ?? null } } });
      return; // the delegate published delegation_declined
    }
    // completed: a late result is kept and said to be late; the delegation stays timed out.
    const late = d.status === 'timed_out';
    enqueue.assign({ delegations: { ...context.delegations, [d.id]: { ...d, status: late ? 'timed_out' : 'completed', settledAt: late ? d.settledAt : e.at, summary: e.summary ?? null } } });
    enqueue({
      type: RUNTIME_ACTION.publish,
      params: { entity: 'agent', name: 'delegation_completed', data: { ...data, runId: e.runId ?? '', summary: e.summary ?? '', result: (event as { result?: Record<string, unknown> }).result ?? {}, late } },
    });
  });
}

/**
 * The delegate's side: a delegation it had accepted cannot be done after all
 * (planning failed, too many runs waiting). Recorded as declined, told to the
 * delegator, published.
 */
function declineIncoming(context: AgentContext, d: { id: string; from: string }, why: string, at: string, enqueue: any): void {
  const reason = why.length <= 2000 ? why : `${why.slice(0, 1999)}…`;
  const mine = context.delegations[d.id];
  if (mine) enqueue.assign({ delegations: prune({ ...context.delegations, [d.id]: { ...mine, status: 'declined', settledAt: at, reason } }) });
  enqueue({ type: RUNTIME_ACTION.send, params: { to: { kind: 'agent', key: d.from }, event: { type: 'agent.delegation.declined', delegationId: d.id, reason } } });
  enqueue({ type: RUNTIME_ACTION.publish, params: { entity: 'agent', name: 'delegation_declined', data: { delegationId: d.id, from: d.from, to: context.key, task: mine?.task ?? 'unknown', reason } } });
}

/** Why a delegation request is declined, or null to accept it. Which tasks an agent accepts is checked by the runtime (agents/registry). */
function declineReason(context: AgentContext, e: Stamped<Extract<AgentEvent, { type: 'agent.delegation.request' }>>): string | null {
  if (e.from === context.key) return 'an agent cannot delegate to itself';
  if (Date.parse(e.deadline) <= Date.parse(e.at)) return `the deadline ${e.deadline} has already passed`;
  if (context.queue.length >= MAX_QUEUE) return `${context.key} is busy: ${context.queue.length} runs are waiting`;
  const accepts = ACCEPTS.get(context.key);
  if (accepts && !accepts.has(e.task)) return `${context.key} does not take "${e.task}"; it takes: ${[...accepts].join(', ') || 'no delegated tasks'}`;
  return null;
}

/** Delegable tasks per agent, filled by agents/registry.ts when the agent definitions load. */
export const ACCEPTS = new Map<string, Set<string>>();

/** Keeps every open delegation and the most recent settled ones. */
function prune(d: Record<string, DelegationRecord>): Record<string, DelegationRecord> {
  const all = Object.values(d);
  const settled = all.filter((x) => x.settledAt !== null).sort((a, b) => (b.settledAt! < a.settledAt! ? -1 : 1));
  if (settled.length <= KEEP_RECENT) return d;
  const drop = new Set(settled.slice(KEEP_RECENT).map((x) => x.id));
  return Object.fromEntries(all.filter((x) => !drop.has(x.id)).map((x) => [x.id, x]));
}

function reflection(context: AgentContext, run: ActiveRun, at: string): RunCompleted {
  return {
    runId: run.runId,
    agent: context.key as RunCompleted['agent'],
    job: run.job,
    trigger: run.trigger,
    planner: run.planner,
    summary: run.summary,
    findings: run.findings,
    actions: run.actions,
    counts: counts(run.actions),
    hints: run.hints,
    delegationId: run.delegation?.id ?? null,
    startedAt: run.startedAt,
    finishedAt: at,
  };
}

function refusedRecord(context: AgentContext, e: Stamped<RunEvent>, reason: string): RunCompleted {
  const actions: RunAction[] = e.actions.map((a, index) => ({ index, actionType: a.actionType, preview: a.preview, target: a.target ?? null, task: null, outcome: 'refused', detail: reason }));
  return {
    runId: e.runId,
    agent: context.key as RunCompleted['agent'],
    job: e.job,
    trigger: e.trigger,
    planner: e.planner,
    summary: `${e.summary}\n\nNot acted on: ${reason}.`,
    findings: e.findings,
    actions,
    counts: counts(actions),
    hints: e.hints,
    delegationId: e.delegation?.id ?? null,
    startedAt: e.at,
    finishedAt: e.at,
    error: `not acted on: ${reason}`,
  };
}

/** The agent entity: `tenant/agent/<sales|delivery|engineering|executive|marketing>`. */
export const agentEntity = defineEntity({ kind: 'agent', machine: agentMachine, events: AgentEvent });
