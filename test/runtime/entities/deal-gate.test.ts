import { describe, expect, it } from 'vitest';
import { dealEntity } from '../../../machines/deal/index.ts';
import { ApprovalError } from '../../../runtime/index.ts';
import { runtimeBackends } from '../../support/runtime.ts';
import { DAY, gateOf, HOUR, LEVELS, needsApproval, useEntityKits, type Level } from '../../support/entities.ts';

/**
 * The deal's stall follow-up end to end through the runtime (P1.4): 7 days
 * without movement → `deal.stalled` and a follow-up email to the contact through
 * the `follow_up` gate (`email.send`, high risk, agent `sales`) under each level,
 * on the controllable clock, with a restart in the middle.
 */

const create = { type: 'deal.create', title: 'Roof', value: 12_000, contact: 'ana@client.example', owner: 'ben' };
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(runtimeBackends)('deal stall follow-up on $name', ({ make }) => {
  const kits = useEntityKits(make, { entities: [dealEntity] });
  const start = (level: Level) => kits([{ agent: 'sales', actionType: 'email.send', level }]);

  it.each(LEVELS)('stalled after 7 days (passed during a restart) → follow-up through the gate under %s → sent once; movement ends the stall; won', async (level) => {
    const kit = await start(level);
    const d = kit.at('deal', 'D-1');
    expect(await kit.send(d, create)).toMatchObject({ state: 'open.stage.lead|followUp.idle' });
    expect(await kit.send(d, { type: 'deal.qualify' })).toMatchObject({ state: 'open.stage.qualified|followUp.idle' });
    const movedAt = kit.clock.now();
    await kit.advance(4 * DAY);
    await kit.restart({ whileDown: 3 * DAY + HOUR }); // the seventh day passes while nothing runs
    const stalledAt = kit.now();

    const asked = await kit.untilGate(d, 'follow_up', needsApproval(level, 'high') ? 'awaiting_approval' : 'done');
    expect(asked.context).toMatchObject({ stalledSince: stalledAt, lastMovedAt: iso(movedAt) });
    if (needsApproval(level, 'high')) {
      expect(asked.state).toBe('open.stage.qualified|followUp.sending.awaitingApproval');
      const p = await kit.pendingApproval(d, 'follow_up');
      expect(p).toMatchObject({ action_type: 'email.send', risk: 'high', level, agent: 'sales', params: { to: 'ana@client.example', dealId: 'D-1', subject: 'Following up: Roof' } });
      expect(p.preview).toContain('Follow-up email to ana@client.example on stalled deal D-1 "Roof"');
      expect(kit.calls()).toEqual([]);
      await kit.approve(d, 'follow_up', 'ben@acme.example');
    }
    const sent = await kit.until(d, 'open.stage.qualified|followUp.sent');
    expect(sent.context).toMatchObject({ followedUpAt: kit.now(), stalledSince: stalledAt });
    expect(gateOf(sent, 'follow_up')).toMatchObject({ request: 1, status: 'done', level, risk: 'high', decidedBy: needsApproval(level, 'high') ? 'ben@acme.example' : 'gate' });
    expect(kit.calls('email.send', d).map((c) => c.params)).toEqual([expect.objectContaining({ to: 'ana@client.example', subject: 'Following up: Roof', dealId: 'D-1' })]);
    expect(await kit.auditTrail(d)).toEqual(
      needsApproval(level, 'high') ? ['decision:approval', 'approval:approved', 'execution:executed'] : ['decision:auto', 'execution:executed'],
    );

    // Stalled once: no second stall and no second follow-up without movement.
    await kit.advance(30 * DAY);
    expect(await kit.timerFires(d)).toBe(1);
    expect(kit.calls('email.send', d)).toHaveLength(1);
    // Movement ends the stall and re-arms the timer; the sent follow-up stays on record.
    expect(await kit.send(d, { type: 'deal.propose' })).toMatchObject({ state: 'open.stage.proposal|followUp.idle' });
    const moved = await kit.actor(d);
    expect(moved.context).toMatchObject({ stalledSince: null, lastMovedAt: kit.now() });
    expect(gateOf(moved, 'follow_up')).toMatchObject({ status: 'done' });
    expect(moved.timers).toEqual([expect.objectContaining({ due_at: new Date(kit.clock.now() + 7 * DAY) })]);
    expect(await kit.send(d, { type: 'deal.win' })).toMatchObject({ state: 'won' });
    expect((await kit.actor(d)).timers).toEqual([]);

    await kit.untilEvent(d, 'deal.closed');
    expect(kit.eventNames(d)).toEqual(['deal.created', 'deal.stage_changed', 'deal.stalled', 'deal.followed_up', 'deal.stage_changed', 'deal.closed']);
    expect(kit.events(d, 'deal.stalled')[0]!.data).toMatchObject({ dealId: 'D-1', stage: 'qualified', days: 7, lastMovedAt: iso(movedAt) });
    expect(kit.events(d, 'deal.followed_up')[0]!.data).toEqual({ dealId: 'D-1', title: 'Roof', contact: 'ana@client.example', owner: 'ben', stalledSince: stalledAt });
  });

  it('movement while the follow-up awaits approval withdraws it (approving is refused, nothing is sent); the next stall asks again, is rejected, and gate.retry sends it', async () => {
    const kit = await start('supervised');
    const d = kit.at('deal', 'D-2');
    await kit.send(d, create);
    await kit.advance(7 * DAY);
    const first = await kit.pendingApproval(d, 'follow_up');
    await kit.restart({ whileDown: HOUR }); // the approval waits across a restart
    expect((await kit.actor(d)).state).toBe('open.stage.lead|followUp.sending.awaitingApproval');

    expect(await kit.send(d, { type: 'deal.touch', activity: 'call', by: 'ben' })).toMatchObject({ state: 'open.stage.lead|followUp.idle' });
    expect(gateOf(await kit.actor(d), 'follow_up')).toMatchObject({ request: 1, status: 'withdrawn' });
    const err = await kit.rt.approvals.approve(kit.tenant, first.id, 'ben@acme.example').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApprovalError);
    expect((err as ApprovalError).code).toBe('withdrawn');
    expect(await kit.rt.approvals.get(kit.tenant, first.id)).toMatchObject({ status: 'withdrawn' });

    // Seven days after the touch: stalled again, request 2.
    await kit.advance(7 * DAY);
    await kit.reject(d, 'follow_up', 'ben@acme.example', 'I will call them');
    const rejected = await kit.until(d, 'open.stage.lead|followUp.sending.rejected');
    expect(gateOf(rejected, 'follow_up')).toMatchObject({ request: 2, status: 'rejected', reason: 'I will call them' });
    expect(rejected.context).toMatchObject({ followedUpAt: null });
    expect(await kit.send(d, { type: 'gate.retry', gate: 'follow_up' })).toMatchObject({ state: 'open.stage.lead|followUp.sending.deciding' });
    await kit.approve(d, 'follow_up');
    expect(gateOf(await kit.until(d, 'open.stage.lead|followUp.sent'), 'follow_up')).toMatchObject({ request: 3, status: 'done' });

    expect(kit.calls('email.send', d)).toHaveLength(1);
    expect((await kit.approvals(d)).map((p) => p.status)).toEqual(['withdrawn', 'rejected', 'approved']);
    expect((await kit.effectRows(d)).map((r) => `${r.gate!.request}:${r.status}`)).toEqual(['1:withdrawn', '2:rejected', '3:succeeded']);
    expect(await kit.timerFires(d)).toBe(2);
  });

  it('a follow-up approval that expired while down: the gate shows expired and nothing is sent; lost with a reason', async () => {
    const kit = await start('semi_autonomous');
    const d = kit.at('deal', 'D-3');
    await kit.send(d, create);
    await kit.advance(7 * DAY);
    const p = await kit.pendingApproval(d, 'follow_up');
    await kit.restart({ whileDown: 48 * HOUR + 1 });
    const expired = await kit.until(d, 'open.stage.lead|followUp.sending.expired');
    expect(gateOf(expired, 'follow_up')).toMatchObject({ status: 'expired', decidedBy: 'expiry', level: 'semi_autonomous' });
    expect(await kit.rt.approvals.get(kit.tenant, p.id)).toMatchObject({ status: 'expired', decided_by: 'expiry' });
    expect(await kit.send(d, { type: 'deal.lose', reason: 'went quiet' })).toMatchObject({ state: 'lost' });
    expect(kit.calls()).toEqual([]);
    expect(await kit.auditTrail(d)).toEqual(['decision:approval', 'approval:expired']);
  });

  it('without a contact a stall is published and nothing is asked for', async () => {
    const kit = await start('autonomous');
    const d = kit.at('deal', 'D-4');
    await kit.send(d, { type: 'deal.create', title: 'Gutter', value: 900 });
    await kit.advance(3 * DAY);
    await kit.restart({ whileDown: 5 * DAY });
    await kit.until(d, (v) => v.context.stalledSince !== null, 'stalled');
    expect((await kit.actor(d)).state).toBe('open.stage.lead|followUp.idle');
    await kit.untilEvent(d, 'deal.stalled');
    expect(await kit.effectRows(d)).toEqual([]);
    expect(kit.calls()).toEqual([]);
  });
});
