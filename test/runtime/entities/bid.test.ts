import { describe, expect, it } from 'vitest';
import { bidEntity } from '../../../machines/bid/index.ts';
import { ApprovalError } from '../../../runtime/index.ts';
import { runtimeBackends } from '../../support/runtime.ts';
import { DAY, gateOf, HOUR, LEVELS, needsApproval, useEntityKits, type EntityKit, type Level } from '../../support/entities.ts';

/**
 * The bid entity end to end through the runtime (P1.5 Quotes / Bids Engine):
 * submission confirmation, intel request and follow-ups on the cadence, each an
 * email through a gate (`email.send`, high risk, agent `sales`) under each
 * autonomy level, on the controllable clock, with a restart mid-cadence.
 */

const submitter = { name: 'Pat Lee', email: 'pat@client.example' };
const create = {
  type: 'bid.create',
  title: 'Roof repair, Building C',
  client: 'Acme Facilities',
  submitter,
  amount: 48_500,
  dueDate: '2026-02-15',
  followUpEveryDays: 3,
  maxFollowUps: 2,
};
const S = 'open.submitted';
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(runtimeBackends)('bid entity on $name', ({ make }) => {
  const kits = useEntityKits(make, { entities: [bidEntity] });
  const start = (level: Level) => kits([{ agent: 'sales', actionType: 'email.send', level }]);

  /** Creates and submits a bid, and takes the confirmation and the intel request through their gates. */
  async function submitted(kit: EntityKit, key: string, level: Level, patch: Record<string, unknown> = {}) {
    const b = kit.at('bid', key);
    expect(await kit.send(b, { ...create, ...patch })).toMatchObject({ state: 'open.draft' });
    expect(await kit.send(b, { type: 'bid.submit' })).toMatchObject({ state: `${S}.confirmation.sending.deciding` });
    await kit.pass(b, 'confirmation', level);
    await kit.pass(b, 'intel_request', level);
    return kit.until(b, `${S}.following.waiting`);
  }

  it.each(LEVELS)('submit → confirmation → intel request → follow-ups every 3 days (a restart mid-cadence) → exhausted → won, under %s', async (level) => {
    const kit = await start(level);
    const b = kit.at('bid', 'B-1');
    const waiting = await submitted(kit, 'B-1', level);
    const firstTickAt = kit.clock.now() + 3 * DAY;
    expect(waiting.context).toMatchObject({ followUps: 0, followUpsMissed: 0, nextFollowUpAt: iso(firstTickAt) });
    expect(waiting.timers).toEqual([expect.objectContaining({ due_at: new Date(firstTickAt) })]);
    expect(await kit.send(b, { type: 'bid.intel', competitors: ['RoofCo', 'TopDeck'], budget: 50_000, decisionDate: '2026-02-20' })).toMatchObject({
      state: `${S}.following.waiting`,
    });

    // The first tick: not a minute early.
    await kit.advance(3 * DAY - 60_000);
    expect((await kit.actor(b)).state).toBe(`${S}.following.waiting`);
    await kit.advance(60_000);
    if (needsApproval(level, 'high')) {
      const p = await kit.pendingApproval(b, 'follow_up');
      expect(p).toMatchObject({ action_type: 'email.send', risk: 'high', level, agent: 'sales', params: { to: submitter.email, bidId: 'B-1' } });
      expect(p.preview).toContain('Follow-up 1 of 2');
    }
    await kit.pass(b, 'follow_up', level);
    const afterFirst = await kit.until(b, `${S}.following.waiting`);
    const secondTickAt = kit.clock.now() + 3 * DAY;
    expect(afterFirst.context).toMatchObject({ followUps: 1, lastFollowUpAt: kit.now(), nextFollowUpAt: iso(secondTickAt) });

    // Mid-cadence: down across the second tick; it fires once when the runtime is back.
    await kit.restart({ whileDown: 3 * DAY + HOUR });
    await kit.pass(b, 'follow_up', level);
    const exhausted = await kit.until(b, `${S}.exhausted`);
    expect(exhausted.context).toMatchObject({ followUps: 2, followUpsMissed: 0, nextFollowUpAt: null });
    expect(gateOf(exhausted, 'follow_up')).toMatchObject({ request: 2, status: 'done', level, risk: 'high' });
    expect(exhausted.timers).toEqual([]);
    expect(await kit.timerFires(b)).toBe(2);

    // Nothing more is sent, however long it waits.
    await kit.advance(30 * DAY);
    expect((await kit.actor(b)).state).toBe(`${S}.exhausted`);
    expect(await kit.send(b, { type: 'bid.won', reason: 'Best warranty terms', amount: 47_000 })).toMatchObject({ state: 'won' });
    const won = await kit.actor(b);
    expect(won).toMatchObject({ machine_status: 'done' });
    expect(won.context).toMatchObject({ outcome: 'won', reason: 'Best warranty terms', amount: 47_000, closedAt: kit.now(), intel: { competitors: ['RoofCo', 'TopDeck'], budget: 50_000 } });

    const emails = kit.calls('email.send', b);
    expect(emails.map((c) => c.params.subject)).toEqual(['Bid submitted: Roof repair, Building C', 'Re: Roof repair, Building C', 'Re: Roof repair, Building C', 'Re: Roof repair, Building C']);
    expect(emails.every((c) => c.params.to === submitter.email && c.attempt === 1)).toBe(true);
    const rows = await kit.effectRows(b);
    expect(rows.map((r) => `${r.gate!.name}#${r.gate!.request}:${r.status}`)).toEqual(['confirmation#1:succeeded', 'intel_request#1:succeeded', 'follow_up#1:succeeded', 'follow_up#2:succeeded']);
    expect(rows.every((r) => r.level === level && r.risk === 'high' && r.agent === 'sales')).toBe(true);
    const approvals = await kit.approvals(b);
    expect(approvals.map((p) => p.status)).toEqual(needsApproval(level, 'high') ? ['approved', 'approved', 'approved', 'approved'] : []);
    const perEmail = needsApproval(level, 'high') ? ['decision:approval', 'approval:approved', 'execution:executed'] : ['decision:auto', 'execution:executed'];
    expect(await kit.auditTrail(b)).toEqual([...perEmail, ...perEmail, ...perEmail, ...perEmail]);

    await kit.untilEvent(b, 'bid.won');
    expect(kit.eventNames(b)).toEqual([
      'bid.created', 'bid.submitted', 'bid.intel_requested', 'bid.intel_received', 'bid.followed_up', 'bid.followed_up', 'bid.follow_ups_exhausted', 'bid.won',
    ]);
    expect(kit.events(b, 'bid.follow_ups_exhausted')[0]!.data).toMatchObject({ followUps: 2, missed: 0 });
    expect(kit.events(b, 'bid.won')[0]!.data).toMatchObject({ reason: 'Best warranty terms', amount: 47_000, followUps: 2 });
  });

  it('a rejected follow-up waits in missed (across a restart); the next tick counts the slot missed and asks for the next one; lost with a reason', async () => {
    const kit = await start('supervised');
    const b = kit.at('bid', 'B-2');
    await submitted(kit, 'B-2', 'supervised', { maxFollowUps: 3 });
    await kit.advance(3 * DAY);
    await kit.reject(b, 'follow_up', 'ana@acme.example', 'Pat asked for a week of quiet');
    const missed = await kit.until(b, `${S}.following.missed`);
    const nextTickAt = kit.clock.now() + 3 * DAY;
    expect(gateOf(missed, 'follow_up')).toMatchObject({ request: 1, status: 'rejected', decidedBy: 'ana@acme.example', reason: 'Pat asked for a week of quiet' });
    expect(missed.context).toMatchObject({ followUps: 0, followUpsMissed: 0, nextFollowUpAt: iso(nextTickAt) });

    await kit.restart({ whileDown: 2 * DAY });
    expect((await kit.actor(b)).state).toBe(`${S}.following.missed`);
    await kit.advance(DAY);
    // The slot is given up and the next slot's follow-up is asked for.
    const second = await kit.pendingApproval(b, 'follow_up');
    expect(second.preview).toContain('Follow-up 2 of 3');
    expect((await kit.actor(b)).context).toMatchObject({ followUps: 0, followUpsMissed: 1 });
    await kit.approve(b, 'follow_up');
    expect((await kit.until(b, `${S}.following.waiting`)).context).toMatchObject({ followUps: 1, followUpsMissed: 1 });

    expect(await kit.send(b, { type: 'bid.lost', reason: 'Price 8% above the winner', winner: 'RoofCo' })).toMatchObject({ state: 'lost' });
    const lost = await kit.actor(b);
    expect(lost.context).toMatchObject({ outcome: 'lost', reason: 'Price 8% above the winner', winner: 'RoofCo', nextFollowUpAt: null });
    expect(lost.timers).toEqual([]);
    // The rejected follow-up never went out.
    expect(kit.calls('email.send', b)).toHaveLength(3);
    expect((await kit.effectRows(b)).map((r) => `${r.gate!.name}#${r.gate!.request}:${r.status}`)).toEqual([
      'confirmation#1:succeeded', 'intel_request#1:succeeded', 'follow_up#1:rejected', 'follow_up#2:succeeded',
    ]);
    expect(await kit.auditTrail(b)).toEqual([
      'decision:approval', 'approval:approved', 'execution:executed',
      'decision:approval', 'approval:approved', 'execution:executed',
      'decision:approval', 'approval:rejected',
      'decision:approval', 'approval:approved', 'execution:executed',
    ]);
    await kit.untilEvent(b, 'bid.lost');
    expect(kit.events(b, 'bid.lost')[0]!.data).toMatchObject({ reason: 'Price 8% above the winner', winner: 'RoofCo', followUps: 1 });
    expect(kit.events(b, 'bid.followed_up').map((e) => e.data.followUp)).toEqual([1]);
  });

  it('held by the daily email limit: the intel request waits in held (across a restart) and goes out the next UTC day', async () => {
    const kit = await start('autonomous');
    await kit.rt.gate.settings.setLimit(kit.tenant, { actionType: 'email.send', perDay: 1 }, 'test');
    const b = kit.at('bid', 'B-4');
    await kit.send(b, create);
    await kit.send(b, { type: 'bid.submit' });
    await kit.untilGate(b, 'confirmation', 'done'); // the day's one email
    const held = await kit.untilGate(b, 'intel_request', 'held');
    const tomorrow = new Date(kit.clock.now());
    tomorrow.setUTCHours(24, 0, 0, 0);
    expect(held.state).toBe(`${S}.intelRequest.sending.held`);
    expect(gateOf(held, 'intel_request')).toMatchObject({ policy: 'rate_limit', until: tomorrow.toISOString() });
    await kit.restart({ whileDown: tomorrow.getTime() - kit.clock.now() - HOUR });
    expect((await kit.actor(b)).state).toBe(`${S}.intelRequest.sending.held`);
    await kit.advance(HOUR);
    const waiting = await kit.until(b, `${S}.following.waiting`);
    expect(gateOf(waiting, 'intel_request')).toMatchObject({ status: 'done', decidedBy: 'gate' });
    expect(kit.calls('email.send', b)).toHaveLength(2);
    expect(await kit.auditTrail(b)).toEqual(['decision:auto', 'execution:executed', 'decision:held', 'decision:auto', 'execution:executed']);
  });

  it('a follow-up approval that expired while down: missed, then exhausted by the tick (the only slot); raising maxFollowUps resumes; gate.retry from missed', async () => {
    const kit = await start('supervised');
    const b = kit.at('bid', 'B-3');
    await submitted(kit, 'B-3', 'supervised', { maxFollowUps: 1 });
    await kit.advance(3 * DAY);
    const p = await kit.pendingApproval(b, 'follow_up');
    await kit.restart({ whileDown: 48 * HOUR + 1 });
    const missed = await kit.until(b, `${S}.following.missed`);
    expect(gateOf(missed, 'follow_up')).toMatchObject({ status: 'expired', decidedBy: 'expiry' });
    expect(await kit.rt.approvals.get(kit.tenant, p.id)).toMatchObject({ status: 'expired' });
    const late = await kit.rt.approvals.approve(kit.tenant, p.id, 'ana@acme.example').catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ApprovalError);

    await kit.advance(3 * DAY);
    const exhausted = await kit.until(b, `${S}.exhausted`);
    expect(exhausted.context).toMatchObject({ followUps: 0, followUpsMissed: 1, nextFollowUpAt: null });
    await kit.untilEvent(b, 'bid.follow_ups_exhausted');
    expect(kit.events(b, 'bid.follow_ups_exhausted')[0]!.data).toMatchObject({ followUps: 0, missed: 1, lastFollowUpAt: null });

    // One more slot: the cadence resumes; its follow-up is rejected, then asked again at once with gate.retry.
    expect(await kit.send(b, { type: 'bid.update', maxFollowUps: 2 })).toMatchObject({ state: `${S}.following.waiting` });
    await kit.advance(3 * DAY);
    await kit.reject(b, 'follow_up');
    await kit.until(b, `${S}.following.missed`);
    expect(await kit.send(b, { type: 'gate.retry', gate: 'follow_up' })).toMatchObject({ state: `${S}.following.sending.deciding` });
    await kit.approve(b, 'follow_up');
    const done = await kit.until(b, `${S}.exhausted`);
    expect(done.context).toMatchObject({ followUps: 1, followUpsMissed: 1 });
    expect(gateOf(done, 'follow_up')).toMatchObject({ request: 3, status: 'done' });
    expect(kit.calls('email.send', b).map((c) => c.params.subject)).toEqual(['Bid submitted: Roof repair, Building C', 'Re: Roof repair, Building C', 'Re: Roof repair, Building C']);
    expect((await kit.approvals(b)).map((a) => a.status)).toEqual(['approved', 'approved', 'expired', 'rejected', 'approved']);
    expect(await kit.send(b, { type: 'bid.withdraw', reason: 'Client cancelled the project' })).toMatchObject({ state: 'withdrawn' });
  });
});
