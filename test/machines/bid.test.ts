import { describe, expect, it } from 'vitest';
import { bidEntity, type BidContext } from '../../machines/bid/index.ts';
import { BidEvents } from '../../bus/events/bid.ts';
import { cancelled, gateEvents, iso, PureActor } from '../support/pure.ts';

const DAY = 86_400_000;
const START = Date.parse('2026-01-05T09:00:00.000Z');

/**
 * A bid walked purely through `Kind`, as the runtime does (test/support/pure.ts):
 * a persist/restore round trip before every event, refused unless the snapshot
 * `can` take it, delayed raises kept as timers and fired at their due time, every
 * published domain event checked against the catalogue.
 */
const bid = (key = 'B-1') => new PureActor<BidContext>(bidEntity, { key, start: START });
type Bid = PureActor<BidContext>;

const create = {
  type: 'bid.create',
  title: 'Roof repair, Building C',
  client: 'Acme Facilities',
  submitter: { name: 'Pat Lee', email: 'pat@acme.example' },
  amount: 48_500,
  currency: 'USD',
  dueDate: '2026-01-20',
};

// The runtime's gate events, as test/machines/gate.test.ts sends them.
const { decided, settled, done, failed } = gateEvents({
  effectId: (g, n) => `acme/bid/B-1#${g}#${n}`,
  approvalId: (g, n) => `ap-${g}-${n}`,
  level: 'supervised',
  by: 'ana@tenant.example',
  result: (g, n) => ({ messageId: `m-${g}-${n}` }),
  error: (status) => `${status}: smtp said no`,
});

/** Drives one gate request to an outcome, the way the runtime reports it. */
function outcome(b: Bid, g: string, n: number, how: Outcome) {
  switch (how) {
    case 'auto':
      return b.gate(decided(g, n, 'auto', { level: 'autonomous' })).gate(done(g, n));
    case 'approved':
      return b
        .gate(decided(g, n, 'approval', { approvalId: `ap-${g}-${n}`, until: iso(b.now + 2 * DAY) }))
        .advance(3_600_000)
        .gate(settled('approved', g, n))
        .gate(done(g, n));
    case 'held':
      b.gate(decided(g, n, 'held', { policy: 'rate_limit', reason: 'daily limit of email.send reached', until: iso(b.now + DAY) }));
      expect(b.ctx.gates[g]).toMatchObject({ status: 'held', policy: 'rate_limit' });
      return b.advance(DAY).gate(decided(g, n, 'auto', { level: 'autonomous' })).gate(done(g, n));
    case 'rejected':
      return b.gate(decided(g, n, 'approval', { approvalId: `ap-${g}-${n}` })).gate(settled('rejected', g, n, 'not this week'));
    case 'expired':
      return b.gate(decided(g, n, 'approval', { approvalId: `ap-${g}-${n}` })).advance(2 * DAY).gate(settled('expired', g, n));
    case 'blocked':
      return b.gate(decided(g, n, 'blocked', { policy: 'suppression', reason: 'pat@acme.example is suppressed' }));
    case 'failed':
      return b.gate(decided(g, n, 'auto')).gate(failed(g, n));
    case 'blocked_at_execution':
      return b.gate(decided(g, n, 'auto')).gate(failed(g, n, 'blocked'));
  }
}
type Outcome = 'auto' | 'approved' | 'held' | 'rejected' | 'expired' | 'blocked' | 'failed' | 'blocked_at_execution';
const SENT: Outcome[] = ['auto', 'approved', 'held'];
const MISSED: Outcome[] = ['rejected', 'expired', 'blocked', 'failed', 'blocked_at_execution'];
const statusAfter: Record<Outcome, string> = {
  auto: 'done',
  approved: 'done',
  held: 'done',
  rejected: 'rejected',
  expired: 'expired',
  blocked: 'blocked',
  failed: 'failed',
  blocked_at_execution: 'blocked',
};

/** The follow-up cadence's timer in a state. */
const after = (stateId: string) => `xstate.after.followUp.${stateId}`;
const W = after('bid.open.submitted.following.waiting');
const M = after('bid.open.submitted.following.missed');
const submitted = (sub: unknown) => ({ open: { submitted: sub } });

/** A bid whose gate `g` just made its first request. */
function at(g: 'confirmation' | 'intel_request' | 'follow_up', extra: Record<string, unknown> = {}) {
  const b = bid().send({ ...create, ...extra }).send({ type: 'bid.submit' });
  if (g === 'confirmation') return b;
  outcome(b, 'confirmation', 1, 'auto');
  if (g === 'intel_request') return b;
  outcome(b, 'intel_request', 1, 'auto');
  return b.fire(W);
}

describe('bid machine (pure, with a persist/restore round trip before every event)', () => {
  it('is created as a draft, with defaults, and publishes bid.created', () => {
    const b = bid().send({ type: 'bid.create', title: 'Paint', client: 'Beta', submitter: { name: 'Jo', email: 'jo@beta.example' }, amount: 900 });
    expect(b.value).toEqual({ open: 'draft' });
    expect(b.ctx).toMatchObject({
      title: 'Paint',
      client: 'Beta',
      submitter: { name: 'Jo', email: 'jo@beta.example' },
      amount: 900,
      currency: 'USD',
      dueDate: null,
      followUpEveryDays: 3,
      maxFollowUps: 5,
      submittedAt: null,
      followUps: 0,
      nextFollowUpAt: null,
      intel: null,
      outcome: null,
      reason: null,
      closedAt: null,
      gates: {},
    });
    expect(b.published()).toEqual([
      { entity: 'bid', name: 'created', data: { bidId: 'B-1', title: 'Paint', client: 'Beta', amount: 900, currency: 'USD', submitter: { name: 'Jo', email: 'jo@beta.example' }, dueDate: null } },
    ]);
    expect(b.effects()).toEqual([]);
    expect(b.refuses({ type: 'bid.won', reason: 'cheapest' })).toBe(true);
    expect(b.refuses({ type: 'bid.lost', reason: 'price' })).toBe(true);
  });

  it('submitting publishes bid.submitted and asks the confirmation gate for an email to the submitter', () => {
    const b = bid().send(create).send({ type: 'bid.submit' });
    expect(b.value).toEqual(submitted({ confirmation: { sending: 'deciding' } }));
    expect(b.ctx.submittedAt).toBe(iso(START));
    expect(BidEvents['bid.submitted'].parse(b.published('bid.submitted')[0]!.data)).toMatchObject({ bidId: 'B-1', amount: 48_500, submittedAt: iso(START) });
    const [eff] = b.effects();
    expect(eff).toMatchObject({
      actionType: 'email.send',
      params: { to: 'pat@acme.example', toName: 'Pat Lee', subject: 'Bid submitted: Roof repair, Building C', bidId: 'B-1' },
      gate: { name: 'confirmation', request: 1, agent: 'sales' },
    });
    expect(eff!.params.body).toContain('48500 USD');
    expect(eff!.gate.preview).toContain('pat@acme.example');
    expect(b.ctx.gates.confirmation).toMatchObject({ request: 1, actionType: 'email.send', status: 'deciding' });
  });

  describe.each(['confirmation', 'intel_request', 'follow_up'] as const)('the %s email', (g) => {
    const next = {
      confirmation: submitted({ intelRequest: { sending: 'deciding' } }),
      intel_request: submitted({ following: 'waiting' }),
      follow_up: submitted({ following: 'waiting' }),
    }[g];
    const missedState = {
      confirmation: submitted({ confirmation: 'missed' }),
      intel_request: submitted({ intelRequest: 'missed' }),
      follow_up: submitted({ following: 'missed' }),
    }[g];
    const missedId = { confirmation: after('bid.open.submitted.confirmation.missed'), intel_request: after('bid.open.submitted.intelRequest.missed'), follow_up: M }[g];

    it.each(SENT)('goes out after %s and the bid moves on', (how) => {
      const b = at(g);
      const effects = b.effects().length;
      expect(b.effects().at(-1)!.gate).toMatchObject({ name: g, request: 1, agent: 'sales' });
      outcome(b, g, 1, how);
      expect(b.value).toEqual(next);
      expect(b.ctx.gates[g]).toMatchObject({ request: 1, status: 'done', result: { messageId: `m-${g}-1` } });
      if (how === 'approved') expect(b.ctx.gates[g]!.decidedBy).toBe('ana@tenant.example');
      if (g === 'intel_request') expect(b.published('bid.intel_requested').map((p) => p.data)).toEqual([{ bidId: 'B-1', client: 'Acme Facilities', submitter: create.submitter }]);
      if (g === 'follow_up') {
        expect(b.ctx.followUps).toBe(1);
        expect(b.ctx.lastFollowUpAt).toBe(iso(b.now));
        expect(b.published('bid.followed_up').map((p) => p.data)).toEqual([{ bidId: 'B-1', client: 'Acme Facilities', followUp: 1, maxFollowUps: 5 }]);
      }
      if (g !== 'confirmation') expect(b.ctx.nextFollowUpAt).toBe(iso(b.now + 3 * DAY));
      // Only the next step's request (if any) was added: one request per gate, none repeated.
      expect(b.effects().filter((e) => e.gate.name === g)).toHaveLength(1);
      expect(b.effects().length).toBe(effects + (g === 'confirmation' ? 1 : 0));
    });

    it.each(MISSED)('after %s waits in missed; gate.retry asks again (request 2) and then it goes out', (how) => {
      const b = at(g);
      outcome(b, g, 1, how);
      expect(b.value).toEqual(missedState);
      expect(b.ctx.gates[g]).toMatchObject({ request: 1, status: statusAfter[how] });
      expect(b.timers.get(missedId)!.delay).toBe(3 * DAY);
      expect(b.ctx.nextFollowUpAt).toBe(g === 'follow_up' ? iso(b.now + 3 * DAY) : null);
      // A retry naming another gate is not this state's business.
      expect(b.refuses({ type: 'gate.retry', gate: g === 'follow_up' ? 'confirmation' : 'follow_up' })).toBe(true);
      b.send({ type: 'gate.retry', gate: g });
      expect(b.ctx.gates[g]).toMatchObject({ request: 2, status: 'deciding' });
      expect(b.effects().filter((e) => e.gate.name === g).map((e) => e.gate.request)).toEqual([1, 2]);
      expect(b.timers.has(missedId)).toBe(false);
      expect(b.ctx.nextFollowUpAt).toBe(null);
      // The old request's late news is ignored; the new one's counts.
      expect(b.takes(done(g, 1))).toBe(false);
      expect(b.takes(decided(g, 1, 'auto'))).toBe(false);
      outcome(b, g, 2, 'auto');
      expect(b.value).toEqual(next);
      expect(b.ctx.gates[g]).toMatchObject({ request: 2, status: 'done' });
      expect(b.ctx.followUpsMissed).toBe(0);
    });

    it.each(MISSED)('after %s the next cadence tick moves on without it', (how) => {
      const b = at(g);
      outcome(b, g, 1, how);
      b.fire(missedId);
      if (g === 'confirmation') {
        expect(b.value).toEqual(submitted({ intelRequest: { sending: 'deciding' } }));
        expect(b.effects().map((e) => e.gate.name)).toEqual(['confirmation', 'intel_request']);
      } else if (g === 'intel_request') {
        expect(b.value).toEqual(submitted({ following: 'waiting' }));
        expect(b.published('bid.intel_requested')).toEqual([]);
      } else {
        // The slot is given up (counted as missed) and the next slot's follow-up is asked for.
        expect(b.value).toEqual(submitted({ following: { sending: 'deciding' } }));
        expect(b.ctx).toMatchObject({ followUps: 0, followUpsMissed: 1 });
        expect(b.ctx.gates.follow_up).toMatchObject({ request: 2, status: 'deciding' });
        expect(b.published('bid.followed_up')).toEqual([]);
      }
    });
  });

  it('a gate event for another request, or another gate, is not accepted', () => {
    const b = at('follow_up');
    b.gate(decided('follow_up', 1, 'approval', { approvalId: 'ap-follow_up-1' }));
    expect(b.value).toEqual(submitted({ following: { sending: 'awaitingApproval' } }));
    expect(b.takes(settled('approved', 'follow_up', 7))).toBe(false);
    expect(b.takes(settled('approved', 'confirmation', 1))).toBe(false);
    expect(b.takes(done('follow_up', 7))).toBe(false);
    expect(b.takes(done('follow_up', 1))).toBe(true); // events of one request may overtake each other: the outcome is taken
    expect(b.takes(settled('approved', 'follow_up', 1))).toBe(true);
  });

  it('follows up every followUpEveryDays until maxFollowUps, then publishes bid.follow_ups_exhausted once and waits for the outcome', () => {
    const b = at('intel_request', { followUpEveryDays: 4, maxFollowUps: 3 });
    outcome(b, 'intel_request', 1, 'auto');
    for (let n = 1; n <= 3; n++) {
      expect(b.value).toEqual(submitted({ following: 'waiting' }));
      const t = b.timers.get(W)!;
      expect(t.delay).toBe(4 * DAY);
      expect(b.ctx.nextFollowUpAt).toBe(iso(t.dueAt));
      b.fire(W);
      expect(b.now).toBe(t.dueAt);
      expect(b.value).toEqual(submitted({ following: { sending: 'deciding' } }));
      expect(b.ctx.nextFollowUpAt).toBe(null);
      expect(b.effects().at(-1)).toMatchObject({ actionType: 'email.send', params: { to: 'pat@acme.example' }, gate: { name: 'follow_up', request: n } });
      expect(b.effects().at(-1)!.gate.preview).toContain(`Follow-up ${n} of 3`);
      outcome(b, 'follow_up', n, n === 2 ? 'approved' : 'auto');
      expect(b.ctx.followUps).toBe(n);
    }
    expect(b.value).toEqual(submitted('exhausted'));
    expect(b.ctx.nextFollowUpAt).toBe(null);
    expect(b.timers.size).toBe(0);
    expect(b.published().map((p) => p.name)).toEqual([
      'created', 'submitted', 'intel_requested', 'followed_up', 'followed_up', 'followed_up', 'follow_ups_exhausted',
    ]);
    expect(b.published('bid.follow_ups_exhausted')[0]!.data).toEqual({
      bidId: 'B-1', title: create.title, client: create.client, amount: 48_500, currency: 'USD', followUps: 3, missed: 0, lastFollowUpAt: iso(b.now),
    });
    // It waits: intel and the outcome are still taken.
    b.send({ type: 'bid.intel', decisionDate: '2026-02-01' });
    b.advance(10 * DAY).send({ type: 'bid.won', reason: 'Best warranty terms', amount: 47_000 });
    expect(b.value).toBe('won');
    expect(b.status).toBe('done');
    expect(b.ctx).toMatchObject({ outcome: 'won', reason: 'Best warranty terms', amount: 47_000, closedAt: iso(b.now) });
    expect(BidEvents['bid.won'].parse(b.published('bid.won')[0]!.data)).toEqual({
      bidId: 'B-1', title: create.title, client: 'Acme Facilities', amount: 47_000, currency: 'USD', reason: 'Best warranty terms', followUps: 3,
    });
  });

  it('missed slots count towards maxFollowUps, so a blocked contact is not chased forever', () => {
    const b = at('follow_up', { maxFollowUps: 2 });
    outcome(b, 'follow_up', 1, 'rejected');
    b.fire(M);
    expect(b.ctx).toMatchObject({ followUps: 0, followUpsMissed: 1 });
    outcome(b, 'follow_up', 2, 'blocked');
    expect(b.value).toEqual(submitted({ following: 'missed' }));
    b.fire(M);
    expect(b.value).toEqual(submitted('exhausted'));
    expect(b.ctx).toMatchObject({ followUps: 0, followUpsMissed: 2, nextFollowUpAt: null });
    expect(b.effects().filter((e) => e.gate.name === 'follow_up')).toHaveLength(2);
    expect(b.published('bid.follow_ups_exhausted')[0]!.data).toMatchObject({ followUps: 0, missed: 2, lastFollowUpAt: null });
    expect(b.timers.size).toBe(0);
  });

  it('a sent follow-up after a missed one uses the remaining slot', () => {
    const b = at('follow_up', { maxFollowUps: 2 });
    outcome(b, 'follow_up', 1, 'expired');
    b.fire(M);
    outcome(b, 'follow_up', 2, 'auto');
    expect(b.value).toEqual(submitted('exhausted'));
    expect(b.ctx).toMatchObject({ followUps: 1, followUpsMissed: 1 });
  });

  it('with maxFollowUps 0 the bid is exhausted as soon as the intel request is settled', () => {
    const b = at('intel_request', { maxFollowUps: 0 });
    outcome(b, 'intel_request', 1, 'auto');
    expect(b.value).toEqual(submitted('exhausted'));
    expect(b.timers.size).toBe(0);
  });

  it('raising maxFollowUps in exhausted resumes the cadence; other updates just apply', () => {
    const b = at('follow_up', { maxFollowUps: 1 });
    outcome(b, 'follow_up', 1, 'auto');
    expect(b.value).toEqual(submitted('exhausted'));
    b.send({ type: 'bid.update', amount: 50_000 });
    expect(b.value).toEqual(submitted('exhausted'));
    expect(b.ctx.amount).toBe(50_000);
    b.send({ type: 'bid.update', maxFollowUps: 2, followUpEveryDays: 7 });
    expect(b.value).toEqual(submitted({ following: 'waiting' }));
    expect(b.timers.get(W)!.delay).toBe(7 * DAY);
    b.fire(W);
    outcome(b, 'follow_up', 2, 'auto');
    expect(b.value).toEqual(submitted('exhausted'));
    expect(b.published('bid.follow_ups_exhausted')).toHaveLength(2);
  });

  it('bid.update changes the fields the emails and events use', () => {
    const b = bid().send(create).send({ type: 'bid.update', amount: 51_000, title: 'Roof, Building C', submitter: { name: 'Sam', email: 'sam@acme.example' }, dueDate: null });
    expect(b.ctx).toMatchObject({ amount: 51_000, title: 'Roof, Building C', dueDate: null, client: 'Acme Facilities' });
    b.send({ type: 'bid.submit' });
    expect(b.effects()[0]!.params).toMatchObject({ to: 'sam@acme.example', toName: 'Sam', subject: 'Bid submitted: Roof, Building C' });
    expect(b.published('bid.submitted')[0]!.data).toMatchObject({ amount: 51_000, dueDate: null });
  });

  it('bid.intel records and merges what the submitter told, and publishes bid.intel_received', () => {
    const b = at('follow_up');
    b.send({ type: 'bid.intel', competitors: ['RoofCo', 'TopShield'], budget: 50_000 });
    b.advance(DAY).send({ type: 'bid.intel', competitors: ['TopShield', 'Skyline'], decisionDate: '2026-01-30', notes: 'Board meets on the 29th' });
    expect(b.ctx.intel).toEqual({
      competitors: ['RoofCo', 'TopShield', 'Skyline'],
      budget: 50_000,
      decisionDate: '2026-01-30',
      notes: 'Board meets on the 29th',
      receivedAt: iso(b.now),
    });
    expect(b.published('bid.intel_received').map((p) => p.data)).toEqual([
      { bidId: 'B-1', client: 'Acme Facilities', competitors: ['RoofCo', 'TopShield'], budget: 50_000, decisionDate: null, notes: null },
      { bidId: 'B-1', client: 'Acme Facilities', competitors: ['RoofCo', 'TopShield', 'Skyline'], budget: 50_000, decisionDate: '2026-01-30', notes: 'Board meets on the 29th' },
    ]);
    // Intel does not disturb the follow-up in flight.
    expect(b.value).toEqual(submitted({ following: { sending: 'deciding' } }));
  });

  it('is lost with a reason (and the winner) while a follow-up awaits approval: the request is withdrawn, the timers cancelled', () => {
    const b = at('follow_up');
    b.gate(decided('follow_up', 1, 'approval', { approvalId: 'ap-follow_up-1' }));
    b.send({ type: 'bid.lost', reason: 'Price: 12% above the winner', winner: 'RoofCo' });
    expect(b.value).toBe('lost');
    expect(b.status).toBe('done');
    expect(b.ctx).toMatchObject({ outcome: 'lost', reason: 'Price: 12% above the winner', winner: 'RoofCo', closedAt: iso(b.now) });
    expect(b.ctx.gates.follow_up!.status).toBe('withdrawn');
    expect(b.timers.size).toBe(0);
    expect(BidEvents['bid.lost'].parse(b.published('bid.lost')[0]!.data)).toEqual({
      bidId: 'B-1', title: create.title, client: 'Acme Facilities', amount: 48_500, currency: 'USD', reason: 'Price: 12% above the winner', winner: 'RoofCo', followUps: 0,
    });
  });

  it('is won from the waiting state: the follow-up timer is cancelled', () => {
    const b = at('intel_request');
    outcome(b, 'intel_request', 1, 'auto');
    expect(b.timers.has(W)).toBe(true);
    b.send({ type: 'bid.won', reason: 'Fastest start date' });
    expect(b.value).toBe('won');
    expect(cancelled(b.last)).toEqual([W]);
    expect(b.timers.size).toBe(0);
    expect(b.ctx.nextFollowUpAt).toBe(null);
  });

  it('is won or lost already during the confirmation', () => {
    const b = at('confirmation');
    b.send({ type: 'bid.won', reason: 'Sole bidder' });
    expect(b.value).toBe('won');
    expect(b.ctx.gates.confirmation!.status).toBe('withdrawn');
  });

  it('an outcome without a reason is refused by the schema', () => {
    for (const t of ['bid.won', 'bid.lost', 'bid.withdraw']) {
      expect(bidEntity.events.safeParse({ type: t }).success).toBe(false);
      expect(bidEntity.events.safeParse({ type: t, reason: '' }).success).toBe(false);
      expect(bidEntity.events.safeParse({ type: t, reason: '   ' }).success).toBe(false);
      expect(bidEntity.events.safeParse({ type: t, reason: 'ok' }).success).toBe(true);
    }
  });

  it('the schema refuses malformed bids and intel', () => {
    const bad = [
      { ...create, title: '' },
      { ...create, amount: -1 },
      { ...create, currency: 'usd' },
      { ...create, submitter: { name: 'Pat', email: 'not-an-email' } },
      { ...create, dueDate: 'next week' },
      { ...create, followUpEveryDays: 0 },
      { ...create, maxFollowUps: -1 },
      { type: 'bid.intel' },
      { type: 'bid.intel', budget: -5 },
      { type: 'bid.update', followUpEveryDays: 1.5 },
      { type: 'gate.retry' },
    ];
    for (const e of bad) expect(bidEntity.events.safeParse(e).success, JSON.stringify(e)).toBe(false);
    expect(bidEntity.events.parse({ ...create, currency: undefined })).toMatchObject({ currency: 'USD', followUpEveryDays: 3, maxFollowUps: 5 });
  });

  it.each([
    ['the draft', (b: Bid) => b],
    ['a missed confirmation', (b: Bid) => outcome(b.send({ type: 'bid.submit' }), 'confirmation', 1, 'rejected')],
    ['the follow-up wait', (b: Bid) => {
      b.send({ type: 'bid.submit' });
      outcome(b, 'confirmation', 1, 'auto');
      return outcome(b, 'intel_request', 1, 'auto');
    }],
  ])('is withdrawn with a reason from %s', (_, to) => {
    const b = to(bid().send(create));
    const wasSubmitted = b.ctx.submittedAt !== null;
    b.send({ type: 'bid.withdraw', reason: 'Capacity: crew booked through March' });
    expect(b.value).toBe('withdrawn');
    expect(b.status).toBe('done');
    expect(b.ctx).toMatchObject({ outcome: 'withdrawn', reason: 'Capacity: crew booked through March', closedAt: iso(b.now), nextFollowUpAt: null });
    expect(b.timers.size).toBe(0);
    expect(b.published('bid.withdrawn')[0]!.data).toEqual({
      bidId: 'B-1', title: create.title, client: 'Acme Facilities', amount: 48_500, currency: 'USD', reason: 'Capacity: crew booked through March', submitted: wasSubmitted,
    });
  });

  it('a closed bid takes nothing more', () => {
    const b = at('follow_up');
    b.send({ type: 'bid.lost', reason: 'Went with incumbent' });
    expect(b.status).toBe('done');
    for (const e of [{ type: 'bid.won', reason: 'x' }, { type: 'bid.withdraw', reason: 'x' }, { type: 'bid.intel', notes: 'x' }]) expect(b.refuses(e)).toBe(true);
  });
});
