import { z } from 'zod';
import { assign, enqueueActions, setup } from 'xstate';
import { runtimeActions, RUNTIME_ACTION } from '../machines/effects.ts';
import { defineEntity, type Stamped } from '../machines/entity.ts';
import { gate, GateRetry, type GateContext, type GateMachineEvent } from '../machines/gate.ts';
import { AgentName } from './types.ts';
import { clip } from './kit/text.ts';

/** After this many escalations a task is dropped without asking again. */
export const MAX_ESCALATIONS = 3;

/** The action type of an escalation: a person decides whether a failed task is tried again (critical: always a person). */
export const TASK_ESCALATE = 'task.escalate';

/** What a task reports to its agent. */
export type TaskOutcome = 'done' | 'awaiting_approval' | 'held' | 'blocked' | 'rejected' | 'expired' | 'escalated' | 'dropped';

/** Events a task accepts from outside. */
export const TaskEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('task.start'),
    agent: AgentName,
    runId: z.string().min(1).max(100),
    index: z.number().int().min(0),
    actionType: z.string().min(1).max(100),
    params: z.record(z.string(), z.unknown()),
    preview: z.string().min(1).max(2000),
    target: z.string().max(300).nullable(),
    onDone: z.object({ to: z.object({ kind: z.string(), key: z.string() }), event: z.object({ type: z.string() }).passthrough() }).nullable().default(null),
  }),
  GateRetry,
]);
export type TaskEvent = z.infer<typeof TaskEvent>;

/** A task's context. */
export interface TaskContext extends GateContext {
  tenant: string;
  key: string;
  agent: string;
  runId: string;
  index: number;
  actionType: string;
  params: Record<string, unknown>;
  preview: string;
  target: string | null;
  /** Sent to an entity actor once the action is done. */
  onDone: { to: { kind: string; key: string }; event: { type: string } } | null;
  escalations: number;
  lastError: string | null;
  startedAt: string | null;
  settledAt: string | null;
}

type Ev = Stamped<TaskEvent | GateMachineEvent>;
type Args = { context: TaskContext; event: Ev };

/** A message to the task's agent: what became of the action. */
function report(outcome: TaskOutcome | ((a: Args) => TaskOutcome)) {
  return {
    type: RUNTIME_ACTION.send,
    params: (a: Args) => {
      const o = typeof outcome === 'function' ? outcome(a) : outcome;
      const g = a.context.gates.act;
      const detail = o === 'escalated' || o === 'dropped' ? a.context.lastError : (g?.reason ?? null);
      return {
        to: { kind: 'agent', key: a.context.agent },
        event: { type: 'agent.task.reported', runId: a.context.runId, index: a.context.index, task: a.context.key, outcome: o, detail },
      };
    },
  };
}

const retryAct = { 'gate.retry': { guard: ({ event }: Args) => event.type === 'gate.retry' && event.gate === 'act', target: '#gate_act' } };

/**
 * One planned action of an agent's run, carried out through the approval gate
 * (reference/task-executor-approvals-retries.md):
 *
 *   new ─ task.start ─► acting (the `act` gate: decided, maybe approved, run with
 *   3 attempts and exponential backoff by the effect executor)
 *     ├─ done ─────────► done
 *     ├─ rejected / expired / blocked ─► settled there (`gate.retry` gate `act` asks again)
 *     └─ failed ───────► escalated: the `escalation` gate (`task.escalate`, critical, so a
 *                        person decides in the approvals queue): approve → acting again;
 *                        reject or expiry → dropped
 *
 * The task reports to its agent (`agent.task.reported`) when it first waits
 * (awaiting approval, held) and whenever it settles.
 */
export const taskMachine = setup({
  types: { context: {} as TaskContext, events: {} as Ev, input: {} as { tenant: string; key: string } },
  actions: { ...runtimeActions },
}).createMachine({
  id: 'task',
  context: ({ input }) => ({
    tenant: input.tenant,
    key: input.key,
    agent: '',
    runId: '',
    index: 0,
    actionType: '',
    params: {},
    preview: '',
    target: null,
    onDone: null,
    escalations: 0,
    lastError: null,
    startedAt: null,
    settledAt: null,
    gates: {},
  }),
  initial: 'new',
  states: {
    new: {
      on: {
        'task.start': {
          target: 'acting',
          actions: assign(({ event }) => {
            const e = event as Extract<Ev, { type: 'task.start' }>;
            return { agent: e.agent, runId: e.runId, index: e.index, actionType: e.actionType, params: e.params, preview: e.preview, target: e.target, onDone: e.onDone, startedAt: e.at };
          }),
        },
      },
    },
    acting: gate<TaskContext>({
      name: 'act',
      actionType: ({ context }) => context.actionType,
      agent: ({ context }) => context.agent,
      params: ({ context }) => context.params,
      preview: ({ context }) => context.preview,
      targets: { done: '#task.done', rejected: '#task.rejected', expired: '#task.expired', blocked: '#task.blocked', failed: '#task.escalated' },
      onWaiting: [report(({ context }) => (context.gates.act?.status === 'held' ? 'held' : 'awaiting_approval'))],
      onFailed: [assign(({ event }) => ({ lastError: clip(String((event as { error?: string }).error ?? 'failed'), 2000) }))],
    }),
    done: {
      entry: [
        assign({ settledAt: ({ event }) => event.at }),
        report('done'),
        enqueueActions(({ context, enqueue }) => {
          if (context.onDone) enqueue({ type: RUNTIME_ACTION.send, params: { to: context.onDone.to, event: context.onDone.event } });
        }),
      ],
    },
    rejected: { entry: [assign({ settledAt: ({ event }) => event.at }), report('rejected')], on: retryAct },
    expired: { entry: [assign({ settledAt: ({ event }) => event.at }), report('expired')], on: retryAct },
    blocked: { entry: [assign({ settledAt: ({ event }) => event.at }), report('blocked')], on: retryAct },
    escalated: {

      initial: 'deciding',
      entry: assign({ escalations: ({ context }) => context.escalations + 1 }),
      states: {
        deciding: {
          always: [
            { guard: ({ context }) => context.escalations > MAX_ESCALATIONS, target: '#task.dropped' },
            { target: 'asking', actions: report('escalated') },
          ],
        },
        asking: gate<TaskContext>({
          name: 'escalation',
          actionType: TASK_ESCALATE,
          agent: ({ context }) => context.agent,
          params: ({ context }) => ({ task: context.key, actionType: context.actionType, error: context.lastError, escalations: context.escalations }),
          preview: ({ context }) =>
            clip(
              `Escalated: "${clip(context.preview, 900)}" (${context.actionType}) failed after its attempts: ${clip(context.lastError ?? 'no error recorded', 700)}. Approve to try it again; reject to drop it.`,
              2000,
            ),
          // A blocked escalation (the kill switch) waits in `blocked` for `gate.retry`; a failed one is dropped.
          targets: { done: '#gate_act', rejected: '#task.dropped', expired: '#task.dropped', blocked: '#task.blocked', failed: '#task.dropped' },
        }),
      },
    },
    dropped: { entry: [assign({ settledAt: ({ event }) => event.at }), report('dropped')] },
  },
});

/** The task entity: `tenant/task/<runId>-<index>`. */
export const taskEntity = defineEntity({ kind: 'task', machine: taskMachine, events: TaskEvent });
