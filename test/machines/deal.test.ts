import { describe, expect, it } from 'vitest';
import { dealEntity, type DealContext } from '../../machines/index.ts';
import { stateString, type RequestedAction } from '../../runtime/host/kind.ts';
import { cancelled, effectsIn, gateEvents, publishedIn, PureActor, raised, type Ev } from '../support/pure.ts';

const at = '2026-01-05T09:00:00.000Z';

/**
 * Applies events purely (test/support/pure.ts), restoring from the persisted JSON
 * before each one (the rehydration round trip). Events from outside go through the
 * deal's schema; the runtime's own (timers, `cadre.gate.*`) are handed over as the
 * runtime does. An event carries its own `at`, else `at` above; one the state does
 * not take changes nothing (the runtime dead-letters it).
 */
function walk(events: Ev[]) {
  const d = new PureActor<DealContext>(dealEntity, { key: 'D-1', start: at });
  for (const e of events) d.offer(e, e.at as string | undefined);
  return { snapshot: d.snapshot, actions: d.actions, ctx: d.ctx, state: stateString(d.value) };
}

const published = (actions: RequestedAction[]) => publishedIn(actions).map((p) => p.name);
const effects = effectsIn;

const stall = (stage = 'lead') => ({ type: `xstate.after.stall.deal.open.stage.${stage}`, at: '2026-01-12T09:00:00.000Z' });
const gates = gateEvents({ effectId: () => 'acme/deal/D-1#3#x1', approvalId: () => 'ap-1', level: 'supervised', by: 'ana', result: () => ({ messageId: 'm-1' }) });
const decided = (outcome: string, extra: Record<string, unknown> = {}) => gates.decided('follow_up', 1, outcome, extra);
const settled = (type: 'approved' | 'rejected' | 'expired', extra: Record<string, unknown> = {}) => ({ ...gates.settled(type, 'follow_up', 1), ...extra });
const done = (extra: Record<string, unknown> = {}) => ({ ...gates.done('follow_up', 1), at: '2026-01-12T10:00:00.000Z', ...extra });

const create = { type: 'deal.create', title: 'Roof', value: 5000, contact: 'ana@client.example', owner: 'ben' };

describe('deal machine (pure, with a persist/restore round trip before every event)', () => {
  it('may skip stages forward, never back', () => {
    const { snapshot, state } = walk([{ type: 'deal.create', title: 'Roof' }, { type: 'deal.negotiate' }]);
    expect(snapshot.value).toEqual({ open: { stage: 'negotiation', followUp: 'idle' } });
    expect(state).toBe('open.stage.negotiation|followUp.idle');
    expect(snapshot.can({ type: 'deal.qualify', at } as never)).toBe(false);
  });

  it('publishes created, stage_changed and closed with value and contact on the way to won', () => {
    const { snapshot, actions } = walk([create, { type: 'deal.qualify' }, { type: 'deal.propose' }, { type: 'deal.win' }]);
    expect(snapshot.value).toBe('won');
    expect(snapshot.status).toBe('done');
    expect(published(actions)).toEqual(['created', 'stage_changed', 'stage_changed', 'closed']);
    const closed = actions.find((a) => a.type === 'cadre.publish' && (a.params as { name: string }).name === 'closed');
    expect(closed!.params).toMatchObject({ data: { dealId: 'D-1', value: 5000, contact: 'ana@client.example' } });
    expect(effects(actions)).toEqual([]);
  });

  it('arms a stall timer per stage and cancels it when the stage is left', () => {
    const { actions } = walk([{ type: 'deal.create', title: 'Roof', stallAfterDays: 3 }, { type: 'deal.qualify' }]);
    expect(raised(actions)).toEqual([
      expect.objectContaining({ id: 'xstate.after.stall.deal.open.stage.lead', delay: 3 * 86_400_000 }),
      expect.objectContaining({ id: 'xstate.after.stall.deal.open.stage.qualified', delay: 3 * 86_400_000 }),
    ]);
    expect(cancelled(actions)).toEqual(['xstate.after.stall.deal.open.stage.lead']);
  });

  it('an update changes the fields and counts as movement', () => {
    const { snapshot } = walk([
      { type: 'deal.create', title: 'Roof', value: 100 },
      { type: 'deal.update', value: 250, expectedCloseDate: '2026-02-01' },
    ]);
    expect(snapshot.context).toMatchObject({ value: 250, expectedCloseDate: '2026-02-01', lastMovedAt: at, title: 'Roof' });
  });

  it('accepts the touch types email, call, meeting and note', () => {
    for (const activity of ['email', 'call', 'meeting', 'note']) {
      const { ctx } = walk([{ type: 'deal.create', title: 'Roof' }, { type: 'deal.touch', activity, by: 'ben', at: '2026-01-06T09:00:00.000Z' }]);
      expect(ctx.lastMovedAt).toBe('2026-01-06T09:00:00.000Z');
    }
    expect(dealEntity.events.safeParse({ type: 'deal.touch', activity: 'fax' }).success).toBe(false);
  });

  it('the events schema refuses what the machine must never see', () => {
    expect(dealEntity.events.safeParse({ type: 'deal.lose' }).success).toBe(false);
    expect(dealEntity.events.safeParse({ type: 'deal.create', title: '' }).success).toBe(false);
    expect(dealEntity.events.safeParse({ type: 'deal.create', title: 'x', value: -1 }).success).toBe(false);
    expect(dealEntity.events.safeParse({ type: 'deal.update', expectedCloseDate: 'tomorrow' }).success).toBe(false);
    // The follow-up's internal events cannot come from outside; gate.retry can.
    expect(dealEntity.events.safeParse({ type: 'deal.follow_up' }).success).toBe(false);
    expect(dealEntity.events.safeParse({ type: 'deal.moved' }).success).toBe(false);
    expect(dealEntity.events.safeParse({ type: 'gate.retry', gate: 'follow_up' }).success).toBe(true);
  });
});

describe('deal follow-up through the approval gate (pure)', () => {
  it('a stall with a contact asks for a follow-up email through the gate; the stage stays visible', () => {
    const r = walk([create, { type: 'deal.qualify' }, stall('qualified')]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'qualified', followUp: { sending: 'deciding' } } });
    expect(r.state).toBe('open.stage.qualified|followUp.sending.deciding');
    expect(published(r.actions)).toEqual(['created', 'stage_changed', 'stalled']);
    expect(effects(r.actions)).toEqual([
      {
        actionType: 'email.send',
        params: {
          to: 'ana@client.example',
          subject: 'Following up: Roof',
          body: expect.stringContaining('follow up on "Roof"'),
          dealId: 'D-1',
        },
        gate: { name: 'follow_up', request: 1, agent: 'sales', preview: expect.stringContaining('Follow-up email to ana@client.example on stalled deal D-1 "Roof"') },
      },
    ]);
    expect(r.ctx.stalledSince).toBe('2026-01-12T09:00:00.000Z');
    expect(r.ctx.gates.follow_up).toMatchObject({ request: 1, status: 'deciding', actionType: 'email.send', at: '2026-01-12T09:00:00.000Z' });
  });

  it('auto, then done: the follow-up is sent and published; the deal stays stalled', () => {
    const r = walk([create, stall(), decided('auto', { level: 'autonomous' }), done()]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'lead', followUp: 'sent' } });
    expect(r.ctx.gates.follow_up).toMatchObject({ status: 'done', decidedBy: 'gate', level: 'autonomous', result: { messageId: 'm-1' } });
    expect(r.ctx.followedUpAt).toBe('2026-01-12T10:00:00.000Z');
    expect(r.ctx.stalledSince).toBe('2026-01-12T09:00:00.000Z');
    const followed = r.actions.find((a) => a.type === 'cadre.publish' && (a.params as { name: string }).name === 'followed_up');
    expect(followed!.params).toEqual({
      entity: 'deal',
      name: 'followed_up',
      data: { dealId: 'D-1', title: 'Roof', contact: 'ana@client.example', owner: 'ben', stalledSince: '2026-01-12T09:00:00.000Z' },
    });
    expect(effects(r.actions)).toHaveLength(1);
  });

  it('approval → approved → done', () => {
    const waiting = walk([create, stall(), decided('approval', { approvalId: 'ap-1', until: '2026-01-14T09:00:00.000Z' })]);
    expect(waiting.snapshot.value).toEqual({ open: { stage: 'lead', followUp: { sending: 'awaitingApproval' } } });
    expect(waiting.ctx.gates.follow_up).toMatchObject({ status: 'awaiting_approval', approvalId: 'ap-1', until: '2026-01-14T09:00:00.000Z' });

    const r = walk([create, stall(), decided('approval', { approvalId: 'ap-1' }), settled('approved'), done()]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'lead', followUp: 'sent' } });
    expect(r.ctx.gates.follow_up).toMatchObject({ status: 'done', decidedBy: 'ana' });
    expect(published(r.actions)).toContain('followed_up');
  });

  it('rejected: nothing is sent, the rejection is visible, and gate.retry asks again', () => {
    const r = walk([create, stall(), decided('approval', { approvalId: 'ap-1' }), settled('rejected', { note: 'I will call them' })]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'lead', followUp: { sending: 'rejected' } } });
    expect(r.ctx.gates.follow_up).toMatchObject({ status: 'rejected', decidedBy: 'ana', reason: 'I will call them' });
    expect(r.ctx.followedUpAt).toBeNull();
    expect(published(r.actions)).not.toContain('followed_up');

    const again = walk([create, stall(), decided('approval', { approvalId: 'ap-1' }), settled('rejected'), { type: 'gate.retry', gate: 'follow_up' }]);
    expect(again.snapshot.value).toEqual({ open: { stage: 'lead', followUp: { sending: 'deciding' } } });
    expect(again.ctx.gates.follow_up!.request).toBe(2);
    expect(effects(again.actions).map((e) => (e.gate as { request: number }).request)).toEqual([1, 2]);
  });

  it('expired', () => {
    const r = walk([create, stall(), decided('approval', { approvalId: 'ap-1' }), settled('expired')]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'lead', followUp: { sending: 'expired' } } });
    expect(r.ctx.gates.follow_up).toMatchObject({ status: 'expired', decidedBy: 'expiry' });
  });

  it('blocked by a policy', () => {
    const r = walk([create, stall(), decided('blocked', { policy: 'opt_out', reason: 'ana@client.example opted out' })]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'lead', followUp: { sending: 'blocked' } } });
    expect(r.ctx.gates.follow_up).toMatchObject({ status: 'blocked', policy: 'opt_out', reason: 'ana@client.example opted out' });
    expect(published(r.actions)).not.toContain('followed_up');
  });

  it('held by a rate limit, decided again later, then sent', () => {
    const held = walk([create, stall(), decided('held', { policy: 'rate_limit', until: '2026-01-13T00:00:00.000Z' })]);
    expect(held.snapshot.value).toEqual({ open: { stage: 'lead', followUp: { sending: 'held' } } });
    expect(held.ctx.gates.follow_up).toMatchObject({ status: 'held', policy: 'rate_limit', until: '2026-01-13T00:00:00.000Z' });

    const r = walk([create, stall(), decided('held', { policy: 'rate_limit' }), decided('auto'), done()]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'lead', followUp: 'sent' } });
    expect(r.ctx.gates.follow_up!.status).toBe('done');
  });

  it('failed at execution stays visible for a retry', () => {
    const r = walk([
      create,
      stall(),
      decided('auto'),
      gates.failed('follow_up', 1, 'failed', 'smtp refused'),
    ]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'lead', followUp: { sending: 'failed' } } });
    expect(r.ctx.gates.follow_up).toMatchObject({ status: 'failed', reason: 'smtp refused' });
  });

  it('no follow-up without a contact: the stall is published and nothing else', () => {
    const r = walk([{ type: 'deal.create', title: 'Roof', value: 5000 }, stall()]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'lead', followUp: 'idle' } });
    expect(published(r.actions)).toEqual(['created', 'stalled']);
    expect(effects(r.actions)).toEqual([]);
    expect(r.ctx.stalledSince).toBe('2026-01-12T09:00:00.000Z');
    expect(r.ctx.gates).toEqual({});
  });

  it('movement while the follow-up waits: the stage moves, the request is withdrawn, the stall timer re-armed', () => {
    const r = walk([create, stall(), decided('approval', { approvalId: 'ap-1' }), { type: 'deal.qualify', at: '2026-01-12T11:00:00.000Z' }]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'qualified', followUp: 'idle' } });
    expect(r.ctx.gates.follow_up).toMatchObject({ status: 'withdrawn', request: 1 });
    expect(r.ctx).toMatchObject({ stalledSince: null, lastMovedAt: '2026-01-12T11:00:00.000Z' });
    // Late answers about the withdrawn request change nothing.
    const late = walk([create, stall(), decided('approval', { approvalId: 'ap-1' }), { type: 'deal.qualify' }, settled('approved')]);
    expect(late.snapshot.value).toEqual({ open: { stage: 'qualified', followUp: 'idle' } });
    expect(late.ctx.gates.follow_up!.status).toBe('withdrawn');

    // A touch is movement too; the next stall follows up again, as request 2.
    const t = walk([create, stall(), decided('auto'), { type: 'deal.touch', activity: 'call', by: 'ben' }, stall()]);
    expect(t.snapshot.value).toEqual({ open: { stage: 'lead', followUp: { sending: 'deciding' } } });
    expect(t.ctx.gates.follow_up!.request).toBe(2);
    expect(effects(t.actions)).toHaveLength(2);
  });

  it('win and lose work while the follow-up waits, and withdraw it', () => {
    const won = walk([create, stall(), decided('approval', { approvalId: 'ap-1' }), { type: 'deal.win' }]);
    expect(won.snapshot.value).toBe('won');
    expect(won.ctx.gates.follow_up!.status).toBe('withdrawn');
    expect(published(won.actions)).toEqual(['created', 'stalled', 'closed']);

    const lost = walk([create, stall(), decided('held'), { type: 'deal.lose', reason: 'budget cut' }]);
    expect(lost.snapshot.value).toBe('lost');
    expect(lost.ctx.gates.follow_up!.status).toBe('withdrawn');
  });

  it('a sent follow-up is kept when the deal then moves, and the gate record stays done', () => {
    const r = walk([create, stall(), decided('auto'), done(), { type: 'deal.propose' }]);
    expect(r.snapshot.value).toEqual({ open: { stage: 'proposal', followUp: 'idle' } });
    expect(r.ctx.gates.follow_up!.status).toBe('done');
    expect(r.ctx.followedUpAt).toBe('2026-01-12T10:00:00.000Z');
  });
});
