import { z } from 'zod';
import { assign } from 'xstate';

/**
 * The approval gate, as a statechart fragment. Every effect a machine asks for
 * goes through one: the runtime decides (autonomy level × risk class, then the
 * policies), and the decision comes back as events that move the fragment
 * through visible states:
 *
 *   deciding ─┬─ auto / dry-run ─────────────────────► approved ─► done target
 *             ├─ approval ─► awaitingApproval ─┬─ approve ─┘
 *             │                                ├─ reject ──► rejected
 *             │                                └─ expiry ──► expired
 *             ├─ blocked by a policy ────────────────────────► blocked
 *             └─ held (daily rate limit) ─► held ─► (decided again the next day)
 *   approved ─ effect failed ─► failed;  blocked at execution (kill switch) ─► blocked
 *
 * From rejected, expired, blocked and failed, a `gate.retry` event naming the
 * gate asks again (a new request, decided afresh). Leaving the fragment while
 * it waits withdraws the request: the runtime then never runs it.
 */

/** Where a gate request stands, kept in the actor's context under `gates.<name>`. */
export type GateStatus =
  | 'deciding'
  | 'held'
  | 'awaiting_approval'
  | 'approved'
  | 'done'
  | 'rejected'
  | 'expired'
  | 'blocked'
  | 'failed'
  | 'withdrawn';

/** A gate's record in the actor's context: what operators, the inspector and the runtime read. */
export interface GateRecord {
  /** Counts the requests made through this gate; the runtime's events name it. */
  request: number;
  actionType: string;
  status: GateStatus;
  effectId: string | null;
  approvalId: string | null;
  /** When the approval expires (awaiting_approval), or until when a held request waits. */
  until: string | null;
  /** The level and risk the decision was made under. */
  level: string | null;
  risk: string | null;
  /** The policy that blocked or held it, or the approver's note. */
  policy: string | null;
  reason: string | null;
  decidedBy: string | null;
  result: unknown;
  at: string | null;
}

/** Context a machine with gates carries. */
export interface GateContext {
  gates: Record<string, GateRecord>;
}

/** What a gated effect request carries to the runtime, besides action type and params. */
export interface GateParams {
  /** The gate's name in the machine. */
  name: string;
  request: number;
  /** The agent on whose behalf it acts (autonomy levels are per agent). */
  agent: string;
  /** One line for the approval queue: what approving releases. */
  preview: string;
  /** How long an approval may wait. @default the tenant's approval TTL */
  expiresInMs?: number;
}

/** Events the runtime sends to a gate (unwrapped from `cadre.gate.update`). */
export const GateDecided = z.object({
  type: z.literal('cadre.gate.decided'),
  gate: z.string(),
  request: z.number().int(),
  effectId: z.string(),
  outcome: z.enum(['auto', 'dry_run', 'approval', 'blocked', 'held']),
  level: z.string(),
  risk: z.string(),
  policy: z.string().nullable(),
  reason: z.string().nullable(),
  approvalId: z.string().nullable(),
  /** Approval expiry, or the end of a hold. */
  until: z.string().nullable(),
});
/** A person (or the expiry) settled an approval. */
export const GateSettled = z.object({
  type: z.enum(['cadre.gate.approved', 'cadre.gate.rejected', 'cadre.gate.expired']),
  gate: z.string(),
  request: z.number().int(),
  effectId: z.string(),
  approvalId: z.string(),
  by: z.string(),
  note: z.string().nullable(),
});
/** The gated effect ran: done, or failed / blocked at execution. */
export const GateOutcome = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cadre.gate.done'), gate: z.string(), request: z.number().int(), effectId: z.string(), result: z.unknown() }),
  z.object({
    type: z.literal('cadre.gate.failed'),
    gate: z.string(),
    request: z.number().int(),
    effectId: z.string(),
    status: z.string(),
    error: z.string(),
  }),
]);
/** Any event the runtime sends a gate. */
export const GateEvent = z.union([GateDecided, GateSettled, GateOutcome]);
/** Any event the runtime sends a gate. */
export type GateEvent = z.infer<typeof GateEvent>;

/** Asks a gate again after rejected, expired, blocked or failed; accepted from operators and other actors. */
export const GateRetry = z.object({ type: z.literal('gate.retry'), gate: z.string().min(1).max(100) });

/** Names of the events the gate fragment handles, for a machine's `events` type. */
export type GateMachineEvent = GateEvent | z.infer<typeof GateRetry>;

type Args<C> = { context: C; event: { type: string; at?: string } };

/** How to build a gate. */
export interface GateOptions<C extends GateContext> {
  /** Unique within the machine; names the gate's record and its state node id (`gate_<name>`). */
  name: string;
  /** The effect's action type, e.g. `email.send`; a function of the context for gates whose action is data (agents' tasks). */
  actionType: string | ((args: Args<C>) => string);
  /** The agent on whose behalf it acts. */
  agent: string | ((args: Args<C>) => string);
  params: (args: Args<C>) => Record<string, unknown>;
  /** One line for the approval queue. @default the action type and its params */
  preview?: (args: Args<C>) => string;
  /** How long an approval may wait. @default the tenant's approval TTL */
  expiresInMs?: number;
  /**
   * Where to go when the outcome is known: state ids like `#order.delivered`.
   * `done` is required; the others default to staying in the gate's own state
   * of that name (visible, and ready for `gate.retry`).
   */
  targets: { done: string; rejected?: string; expired?: string; blocked?: string; failed?: string };
  /** Actions to run on done (assign the result, publish an event), before leaving. */
  onDone?: unknown[];
  /** Actions to run when the effect failed (or was blocked at execution), before leaving. */
  onFailed?: unknown[];
  /** Actions to run when the decision is known and the request waits (for a person's approval, or held by a daily limit). */
  onWaiting?: unknown[];
}

/**
 * A gate's state node config. Opaque to TypeScript (it fits any machine's typed
 * `states`); XState checks it, targets included, when the machine is created.
 */
export type GateNode = never;

const settledStates = ['rejected', 'expired', 'blocked', 'failed'] as const;

/**
 * A gated effect as a state node, to place in a machine's `states`. The machine's
 * context must have `gates: {}` (see `GateContext`) and its events should include
 * `GateMachineEvent`.
 *
 * @example
 * states: {
 *   fixing: gate<OrderContext>({
 *     name: 'autofix', actionType: 'order.autofix', agent: 'delivery',
 *     params: ({ context }) => ({ orderId: context.key, fixes: context.fixes }),
 *     targets: { done: '#order.validating', rejected: '#order.exceptions' },
 *   }),
 * }
 */
export function gate<C extends GateContext>(o: GateOptions<C>): GateNode {
  const name = o.name;
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`gate name ${JSON.stringify(name)}: use lower-case letters, digits and _`);
  const mine = ({ context, event }: { context: C; event: unknown }) => {
    const e = event as { gate?: string; request?: number };
    return e.gate === name && e.request === context.gates[name]?.request;
  };
  const outcome = (want: string) => ({ context, event }: { context: C; event: unknown }) =>
    mine({ context, event }) && (event as { outcome?: string }).outcome === want;
  const record = (patch: (r: GateRecord, e: Record<string, unknown> & { at?: string }) => Partial<GateRecord>) =>
    assign(({ context, event }: { context: C; event: unknown }) => {
      const r = context.gates[name]!;
      const e = event as Record<string, unknown> & { at?: string };
      return { gates: { ...context.gates, [name]: { ...r, ...patch(r, e), at: e.at ?? r.at } } } as Partial<C>;
    });
  const fromDecision = record((_, e) => ({
    status: statusOf(e.outcome as string),
    effectId: e.effectId as string,
    level: e.level as string,
    risk: e.risk as string,
    policy: (e.policy as string | null) ?? null,
    reason: (e.reason as string | null) ?? null,
    approvalId: (e.approvalId as string | null) ?? null,
    until: (e.until as string | null) ?? null,
    decidedBy: e.outcome === 'auto' || e.outcome === 'dry_run' ? 'gate' : null,
  }));
  const decided = [
    { guard: outcome('auto'), target: 'approved', actions: fromDecision },
    { guard: outcome('dry_run'), target: 'approved', actions: fromDecision },
    { guard: outcome('approval'), target: 'awaitingApproval', actions: [fromDecision, ...(o.onWaiting ?? [])] },
    { guard: outcome('blocked'), target: o.targets.blocked ?? 'blocked', actions: fromDecision },
    { guard: outcome('held'), target: 'held', actions: [fromDecision, ...(o.onWaiting ?? [])] },
  ];
  const settledBy = (status: GateStatus) => record((_, e) => ({ status, decidedBy: e.by as string, reason: (e.note as string | null) ?? null }));
  const done = { guard: mine, target: o.targets.done, actions: [record((_, e) => ({ status: 'done', result: e.result ?? null })), ...(o.onDone ?? [])] };
  const failed = [
    {
      guard: ({ context, event }: { context: C; event: unknown }) => mine({ context, event }) && (event as { status?: string }).status === 'blocked',
      target: o.targets.blocked ?? 'blocked',
      actions: [record((_, e) => ({ status: 'blocked', reason: e.error as string })), ...(o.onFailed ?? [])],
    },
    { guard: mine, target: o.targets.failed ?? 'failed', actions: [record((_, e) => ({ status: 'failed', reason: e.error as string })), ...(o.onFailed ?? [])] },
  ];
  const settled = {
    'cadre.gate.approved': { guard: mine, target: 'approved', actions: settledBy('approved') },
    'cadre.gate.rejected': { guard: mine, target: o.targets.rejected ?? 'rejected', actions: settledBy('rejected') },
    'cadre.gate.expired': { guard: mine, target: o.targets.expired ?? 'expired', actions: settledBy('expired') },
  };
  const waiting = new Set<GateStatus>(['deciding', 'held', 'awaiting_approval', 'approved']);
  return {
    id: gateStateId(name),
    initial: 'deciding' as const,
    entry: [
      assign(({ context, event }: { context: C; event: unknown }) => {
        const at = (event as { at?: string }).at;
        const prev = context.gates[name];
        const next: GateRecord = {
          request: (prev?.request ?? 0) + 1,
          actionType: typeof o.actionType === 'function' ? o.actionType({ context, event: event as Args<C>['event'] }) : o.actionType,
          status: 'deciding',
          effectId: null,
          approvalId: null,
          until: null,
          level: null,
          risk: null,
          policy: null,
          reason: null,
          decidedBy: null,
          result: null,
          at: at ?? null,
        };
        return { gates: { ...context.gates, [name]: next } } as Partial<C>;
      }),
      {
        type: 'cadre.effect' as const,
        params: (args: Args<C>) => {
          const gateParams: GateParams = {
            name,
            request: args.context.gates[name]!.request,
            agent: typeof o.agent === 'function' ? o.agent(args) : o.agent,
            preview: o.preview ? o.preview(args) : '',
            ...(o.expiresInMs !== undefined ? { expiresInMs: o.expiresInMs } : {}),
          };
          return { actionType: args.context.gates[name]!.actionType, params: o.params(args), gate: gateParams };
        },
      },
    ],
    // Leaving while the request waits withdraws it: the runtime checks this record before it runs anything.
    exit: assign(({ context }: { context: C }) => {
      const r = context.gates[name];
      if (!r || !waiting.has(r.status)) return {} as Partial<C>;
      return { gates: { ...context.gates, [name]: { ...r, status: 'withdrawn' as const } } } as Partial<C>;
    }),
    on: {
      'gate.retry': {
        guard: ({ context, event }: { context: C; event: unknown }) =>
          (event as { gate?: string }).gate === name && (settledStates as readonly string[]).includes(context.gates[name]?.status ?? ''),
        target: `#${gateStateId(name)}`,
        reenter: true,
      },
    },
    // Events of one request can arrive out of order (an approval decided in another
    // process, a relay that lagged): every waiting state takes every later outcome.
    states: {
      deciding: { on: { 'cadre.gate.decided': decided, ...settled, 'cadre.gate.done': done, 'cadre.gate.failed': failed } },
      held: { on: { 'cadre.gate.decided': decided, ...settled, 'cadre.gate.done': done, 'cadre.gate.failed': failed } },
      awaitingApproval: { on: { ...settled, 'cadre.gate.done': done, 'cadre.gate.failed': failed } },
      // Approved: only a hold by the daily limit at execution moves it back.
      approved: { on: { 'cadre.gate.done': done, 'cadre.gate.failed': failed, 'cadre.gate.decided': decided.filter((t) => t.target === 'held') } },
      rejected: {},
      expired: {},
      blocked: {},
      failed: {},
    },
  } as unknown as GateNode;
}

/** The state node id of a gate (`#gate_<name>` targets it). */
export function gateStateId(name: string): string {
  return `gate_${name}`;
}

function statusOf(outcome: string): GateStatus {
  switch (outcome) {
    case 'auto':
    case 'dry_run':
      return 'approved';
    case 'approval':
      return 'awaiting_approval';
    case 'blocked':
      return 'blocked';
    default:
      return 'held';
  }
}
