import { assign, setup, type AnyEventObject } from 'xstate';
import { z } from 'zod';
import { defineEntity, gate, GateRetry, runtimeActions, type GateContext, type GateMachineEvent, type GateRecord, type Stamped } from '../../machines/index.ts';
import { expect } from 'vitest';
import { ApprovalError, type ActorView, type Approval, type AuditRow, type EffectHandler, type EffectRequest, type Runtime } from '../../runtime/index.ts';
import { eventually } from './runtime.ts';

/**
 * Test machines for the gate's end-to-end tests. `outreach` asks, through one
 * gate each, for effects of several action types, from events:
 *
 *   email    → gate `email`    (email.send, agent `sales`, high risk)
 *   task     → gate `task`     (task.create, agent `sales`, medium risk, human task)
 *   research → gate `research` (research.run, agent `research`, low risk, waits for engagements)
 *   discover → gate `discover` (research.contact_discovery, agent `research`, low risk)
 *   pay      → gate `pay`      (payment.send, agent `billing`, critical)
 *
 * Each gate's params are the triggering event's fields, kept in the context so
 * that `gate.retry` asks again with the same params. Done goes back to `idle`
 * (recording `<gate>:done` in `results`); an expired email approval goes to
 * `lapsed` (counting `lapses`); `cancel` leaves any gate for `idle`.
 */
export const OutreachEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('email'),
    to: z.union([z.string(), z.array(z.string())]),
    cc: z.array(z.string()).optional(),
    subject: z.string(),
    body: z.string().default(''),
  }),
  z.object({
    type: z.literal('task'),
    title: z.string(),
    trigger: z.string().optional(),
    evidence: z.string().optional(),
    evidenceFrom: z.string().optional(),
  }),
  z.object({ type: z.literal('research'), topic: z.string() }),
  z.object({ type: z.literal('discover'), company: z.string() }),
  z.object({ type: z.literal('pay'), amount: z.number(), to: z.string() }),
  z.object({ type: z.literal('cancel') }),
  GateRetry,
]);
type OutreachEv = Stamped<z.infer<typeof OutreachEvent>> | Stamped<GateMachineEvent>;

export interface OutreachContext extends GateContext {
  key: string;
  /** The params of the current request, per gate. */
  request: Record<string, Record<string, unknown>>;
  results: string[];
  lapses: number;
}

const paramsOf = (e: AnyEventObject): Record<string, unknown> => {
  const { type: _t, at: _a, ...rest } = e as Record<string, unknown>;
  return rest;
};
const keep = (gateName: string) =>
  assign(({ context, event }: { context: OutreachContext; event: AnyEventObject }) => ({ request: { ...context.request, [gateName]: paramsOf(event) } }));
const note = (what: string) =>
  assign(({ context }: { context: OutreachContext }) => ({ results: [...context.results, what] }));

// Typed loosely: the machine's events are checked by OutreachEvent at the runtime's door.
const starts = {
  email: { target: 'emailing', actions: keep('email') },
  task: { target: 'tasking', actions: keep('task') },
  research: { target: 'researching', actions: keep('research') },
  discover: { target: 'discovering', actions: keep('discover') },
  pay: { target: 'paying', actions: keep('pay') },
} as const;

const gated = (name: string, actionType: string, agent: string, preview: (p: Record<string, unknown>) => string, extra: { expired?: string } = {}) =>
  gate<OutreachContext>({
    name,
    actionType,
    agent,
    params: ({ context }) => context.request[name] ?? {},
    preview: ({ context }) => preview(context.request[name] ?? {}),
    targets: { done: '#outreach.idle', ...extra },
    onDone: [note(`${name}:done`)],
    onFailed: [note(`${name}:failed`)],
  });

export const outreachMachine = setup({
  types: { context: {} as OutreachContext, events: {} as OutreachEv, input: {} as { tenant: string; key: string } },
  actions: { ...runtimeActions },
}).createMachine({
  id: 'outreach',
  context: ({ input }) => ({ key: input.key, request: {}, results: [], lapses: 0, gates: {} }),
  initial: 'idle',
  on: { cancel: { target: '.idle' } },
  states: {
    idle: { on: starts as never },
    lapsed: { entry: assign({ lapses: ({ context }) => context.lapses + 1 }), on: starts as never },
    emailing: gated('email', 'email.send', 'sales', (p) => `Email ${String(p.to)}: ${String(p.subject)}`, { expired: '#outreach.lapsed' }),
    tasking: gated('task', 'task.create', 'sales', (p) => `Task: ${String(p.title)}`),
    researching: gated('research', 'research.run', 'research', (p) => `Research ${String(p.topic)}`),
    discovering: gated('discover', 'research.contact_discovery', 'research', (p) => `Discover contacts at ${String(p.company)}`),
    paying: gated('pay', 'payment.send', 'billing', (p) => `Pay ${String(p.amount)} to ${String(p.to)}`),
  },
});

/** The `outreach` kind. */
export const outreachEntity = defineEntity({ kind: 'outreach', machine: outreachMachine, events: OutreachEvent });

/**
 * A minimal `contact`: what the research policy reads is the committed context's
 * `nextTouchDue` of the tenant's contacts (not archived).
 */
export const ContactTestEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('due'), nextTouchDue: z.string().nullable() }),
  z.object({ type: z.literal('archive') }),
]);
export const contactTestMachine = setup({
  types: { context: {} as { nextTouchDue: string | null }, events: {} as Stamped<z.infer<typeof ContactTestEvent>> },
}).createMachine({
  id: 'contact',
  context: { nextTouchDue: null },
  initial: 'active',
  states: {
    active: {
      on: {
        due: { actions: assign({ nextTouchDue: ({ event }) => event.nextTouchDue }) },
        archive: { target: 'archived' },
      },
    },
    archived: {},
  },
});
export const contactTestEntity = defineEntity({ kind: 'contact', machine: contactTestMachine, events: ContactTestEvent });

/** The action types `outreach` requests. */
export const OUTREACH_ACTIONS = ['email.send', 'task.create', 'research.run', 'research.contact_discovery', 'payment.send'] as const;

/** Effect handlers for every action type of `outreach`, recording each call. */
export class Recorder {
  readonly calls: EffectRequest[] = [];
  /** Set to make a handler throw (retryable) for the matching calls. */
  failWhen: ((req: EffectRequest) => boolean) | null = null;

  handlers(): EffectHandler[] {
    return OUTREACH_ACTIONS.map((actionType) => ({
      actionType,
      retry: { attempts: 3, backoffMs: 1000 },
      run: async (req: EffectRequest) => {
        this.calls.push(req);
        if (this.failWhen?.(req)) throw new Error(`${actionType} failed on purpose`);
        return { sent: true, actionType, key: req.actor.key };
      },
    }));
  }

  /** The calls of one action type, optionally of one actor key and tenant. */
  of(actionType: string, key?: string, tenant?: string): EffectRequest[] {
    return this.calls.filter((c) => c.actionType === actionType && (key === undefined || c.actor.key === key) && (tenant === undefined || c.tenant === tenant));
  }

  /** Every call of one tenant. */
  ofTenant(tenant: string): EffectRequest[] {
    return this.calls.filter((c) => c.tenant === tenant);
  }
}

/** The gate record of one gate in an outreach context. */
export function gateRecord(context: unknown, name: string): GateRecord | undefined {
  return (context as OutreachContext | undefined)?.gates?.[name];
}

type Ev = { type: string; [k: string]: unknown };
/** An outreach actor as the operator reads it. */
export type Outreach = ActorView & { context: OutreachContext };
/** An effect row of an outreach actor, as the tests read it. */
export type OutreachEffect = {
  id: string;
  status: string;
  level: string | null;
  risk: string | null;
  approval_id: string | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  requested_seq: string;
  partition: number;
  gate: Record<string, unknown>;
};

/** An email request of `outreach`. */
export const email = (to: string | string[] = 'ann@client.example', subject = 'Hello', body = 'About your roof.') => ({ type: 'email', to, subject, body });

/** Audit rows reduced to what the tests compare. */
export const brief = (rows: AuditRow[]) => rows.map((a) => ({ entry: a.entry, outcome: a.outcome, decided_by: a.decided_by, policy: a.policy }));

/** Awaits a promise that must fail with an ApprovalError, and returns the error. */
export async function refused(p: Promise<unknown>): Promise<ApprovalError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApprovalError);
  return err as ApprovalError;
}

/** Drives and reads `outreach` actors of one runtime. */
export class OutreachProbe {
  constructor(readonly rt: Runtime) {}

  at(key: string, tenant: string) {
    return { tenant, kind: 'outreach', key };
  }

  /** Sends and waits for the commit (the gate decides after it). */
  async send(key: string, tenant: string, event: Ev) {
    const reply = await this.rt.send.send(this.at(key, tenant), event, { wait: true });
    expect(reply, `${event.type} to ${tenant}/${key}`).toMatchObject({ ok: true });
    return reply;
  }

  async actor(key: string, tenant: string): Promise<Outreach | undefined> {
    return (await this.rt.operator.actor(this.at(key, tenant))) as Outreach | undefined;
  }

  /** Waits until the actor's committed snapshot satisfies `pred`. */
  waitActor(key: string, tenant: string, pred: (v: Outreach) => boolean, what: string): Promise<Outreach> {
    return eventually(
      async () => {
        const v = await this.actor(key, tenant);
        return v && pred(v) ? v : undefined;
      },
      10_000,
      `${tenant}/${key}: ${what}`,
    );
  }

  inState(key: string, tenant: string, state: string): Promise<Outreach> {
    return this.waitActor(key, tenant, (v) => v.state === state, `state ${state}`);
  }

  /** Waits until the actor is back in idle with `result` (e.g. `email:done`) recorded. */
  finished(key: string, tenant: string, result: string): Promise<Outreach> {
    return this.waitActor(key, tenant, (v) => v.state === 'idle' && v.context.results.includes(result), result);
  }

  /** The latest effect of an actor (of one gate). */
  async effectOf(key: string, tenant: string, gateName?: string): Promise<OutreachEffect | undefined> {
    const rows = await this.rt.db.query<OutreachEffect>(
      `SELECT id, status, level, risk, approval_id, attempts, last_error, next_attempt_at, requested_seq, partition, gate FROM effects
       WHERE tenant = $1 AND kind = 'outreach' AND key = $2 AND ($3::text IS NULL OR gate ->> 'name' = $3) ORDER BY requested_seq DESC, id`,
      [tenant, key, gateName ?? null],
    );
    return rows[0];
  }

  effectIs(key: string, tenant: string, status: string): Promise<OutreachEffect> {
    return eventually(
      async () => {
        const e = await this.effectOf(key, tenant);
        return e?.status === status ? e : undefined;
      },
      10_000,
      `${tenant}/${key}: effect ${status}`,
    );
  }

  /** The actor's audit entries, oldest first. */
  async auditOf(key: string, tenant: string): Promise<AuditRow[]> {
    return (await this.rt.audit(tenant, { actor: `outreach/${key}` })).reverse();
  }

  /** The pending approval of an actor, once the gate opened it. */
  pendingApproval(key: string, tenant: string): Promise<Approval> {
    return eventually(async () => (await this.rt.approvals.list(tenant, { status: 'pending' })).find((a) => a.key === key), 10_000, `pending approval of ${tenant}/${key}`);
  }

  /** Sends an email request and waits until it waits for a person. */
  async awaitingEmail(key: string, tenant: string, event: Ev = email()): Promise<Approval> {
    await this.send(key, tenant, event);
    await this.inState(key, tenant, 'emailing.awaitingApproval');
    return this.pendingApproval(key, tenant);
  }

  /** Lets whatever could still happen happen: a poll of the executor, the bus drained. */
  async quiesce(): Promise<void> {
    await this.rt.effects.poll();
    await this.rt.settle();
    await new Promise((res) => setTimeout(res, 100));
    await this.rt.settle();
  }
}
