import { describe, expect, it } from 'vitest';
import { setup, assign } from 'xstate';
import { z } from 'zod';
import { defineEntity, gate, runtimeActions, GateRetry, type GateContext, type GateMachineEvent, type Stamped } from '../../machines/index.ts';
import { gateEvents, PureActor } from '../support/pure.ts';

interface Ctx extends GateContext {
  key: string;
  sent: number;
}
const Ev = z.discriminatedUnion('type', [z.object({ type: z.literal('go') }), z.object({ type: z.literal('cancel') }), GateRetry]);
type E = Stamped<z.infer<typeof Ev> | GateMachineEvent>;

const machine = setup({
  types: { context: {} as Ctx, events: {} as E, input: {} as { tenant: string; key: string } },
  actions: { ...runtimeActions },
}).createMachine({
  id: 'thing',
  context: ({ input }) => ({ key: input.key, sent: 0, gates: {} }),
  initial: 'idle',
  states: {
    idle: { on: { go: 'sending' } },
    sending: {
      on: { cancel: 'idle' },
      initial: 'mail',
      states: {
        mail: gate<Ctx>({
        name: 'mail',
        actionType: 'email.send',
        agent: 'sales',
        params: ({ context }) => ({ to: `${context.key}@client.example`, subject: 'Hello' }),
        preview: ({ context }) => `Email ${context.key}`,
        targets: { done: '#thing.sent' },
        onDone: [assign({ sent: ({ context }: { context: Ctx }) => context.sent + 1 })],
      }),
      },
    },
    sent: { type: 'final' },
  },
});
const entity = defineEntity({ kind: 'thing', machine, events: Ev });
const at = '2026-01-05T09:00:00.000Z';

/** Applies events purely (test/support/pure.ts), through the persisted JSON before each; one the state does not take changes nothing. */
function run(events: { type: string; [k: string]: unknown }[]) {
  const t = new PureActor<Ctx>(entity, { key: 'T-1', start: at });
  for (const e of events) t.offer(e);
  return { snapshot: t.snapshot, actions: t.actions, ctx: t.ctx };
}

const gates = gateEvents({ effectId: () => 'x1', approvalId: () => 'a1', level: 'supervised', risk: 'high', by: 'ana', result: () => ({ id: 'm1' }) });
const decided = (outcome: string, extra: Record<string, unknown> = {}) => gates.decided('mail', 1, outcome, extra);

describe('gate fragment (pure)', () => {
  it('requests the effect with the gate record and goes deciding → approved → done', () => {
    const r = run([{ type: 'go' }, decided('auto'), gates.done('mail', 1)]);
    const eff = r.actions.filter((a) => a.type === 'cadre.effect');
    expect(eff).toHaveLength(1);
    expect(eff[0]!.params).toEqual({
      actionType: 'email.send',
      params: { to: 'T-1@client.example', subject: 'Hello' },
      gate: { name: 'mail', request: 1, agent: 'sales', preview: 'Email T-1' },
    });
    expect(r.snapshot.value).toBe('sent');
    expect(r.ctx.sent).toBe(1);
    expect(r.ctx.gates.mail).toMatchObject({ status: 'done', effectId: 'x1', result: { id: 'm1' }, decidedBy: 'gate' });
  });

  it('waits for approval, ignores events of other requests, and is rejected', () => {
    const r = run([
      { type: 'go' },
      decided('approval', { approvalId: 'a1', until: '2026-01-07T09:00:00.000Z' }),
      { type: 'cadre.gate.approved', gate: 'mail', request: 7, effectId: 'old', approvalId: 'a0', by: 'ana', note: null },
    ]);
    expect(r.snapshot.value).toEqual({ sending: { mail: 'awaitingApproval' } });
    const r2 = run([
      { type: 'go' },
      decided('approval', { approvalId: 'a1' }),
      gates.settled('rejected', 'mail', 1, 'not now'),
    ]);
    expect(r2.snapshot.value).toEqual({ sending: { mail: 'rejected' } });
    expect(r2.ctx.gates.mail).toMatchObject({ status: 'rejected', decidedBy: 'ana', reason: 'not now' });
  });

  it('gate.retry after blocked makes a new request', () => {
    const r = run([{ type: 'go' }, decided('blocked', { policy: 'kill_switch', reason: 'paused' }), { type: 'gate.retry', gate: 'mail' }]);
    expect(r.snapshot.value).toEqual({ sending: { mail: 'deciding' } });
    expect(r.ctx.gates.mail!.request).toBe(2);
    expect(r.actions.filter((a) => a.type === 'cadre.effect')).toHaveLength(2);
  });

  it('leaving while waiting withdraws the request', () => {
    const r = run([{ type: 'go' }, decided('approval', { approvalId: 'a1' }), { type: 'cancel' }]);
    expect(r.snapshot.value).toBe('idle');
    expect(r.ctx.gates.mail!.status).toBe('withdrawn');
  });
});

describe('gate fragment: events of one request out of order', () => {
  it('an approval that overtakes its decision, and a done that overtakes its approval, are taken', () => {
    const a = run([{ type: 'go' }, { type: 'cadre.gate.approved', gate: 'mail', request: 1, effectId: 'x1', approvalId: 'a1', by: 'ana', note: null }]);
    expect(a.snapshot.value).toEqual({ sending: { mail: 'approved' } });
    // The late decision does not take it back to waiting for approval.
    const late = run([
      { type: 'go' },
      { type: 'cadre.gate.approved', gate: 'mail', request: 1, effectId: 'x1', approvalId: 'a1', by: 'ana', note: null },
      decided('approval', { approvalId: 'a1' }),
    ]);
    expect(late.snapshot.value).toEqual({ sending: { mail: 'approved' } });
    const d = run([{ type: 'go' }, decided('approval', { approvalId: 'a1' }), { type: 'cadre.gate.done', gate: 'mail', request: 1, effectId: 'x1', result: null }]);
    expect(d.snapshot.value).toBe('sent');
  });
});
