import { describe, expect, it } from 'vitest';
import { contactEntity, compareContacts, contactPriority, roleFactor, valueFactor, type ContactContext, type PriorityInput } from '../../machines/contact/index.ts';
import { ContactEvents } from '../../bus/events/contact.ts';
import { cancelled, iso, PureActor, raised } from '../support/pure.ts';

const DAY = 86_400_000;
const START = Date.parse('2026-01-05T09:00:00.000Z');
const DUE = 'xstate.after.due.contact.active.compliant';

/**
 * A contact walked purely through `Kind`, as the runtime does (test/support/pure.ts):
 * persist/restore before every event, `at` stamped, refused unless the snapshot
 * `can` take it, delayed raises kept as timers (a cancel or re-arm drops them) and
 * fired at their due time, published events checked against the catalogue. A
 * contact requests no effects.
 */
const contact = (key = 'C-1', start = START) =>
  new PureActor<ContactContext>(contactEntity, { key, start, check: (a) => expect(a.type).not.toBe('cadre.effect') });

/** The contact's fields, as created. */
const pat = { name: 'Pat Lee', email: 'pat@acme.example', account: 'Acme Facilities', role: 'Facilities Manager', owner: 'sales' };
const create = { type: 'contact.create', ...pat };

describe('contact machine: the 21-day engagement clock (pure, persist/restore before every event)', () => {
  it('is created compliant, due cadenceDays later, with the timer armed for exactly that', () => {
    const c = contact().send(create);
    expect(c.value).toEqual({ active: 'compliant' });
    expect(c.ctx).toMatchObject({
      ...pat,
      phone: null,
      cadenceDays: 21,
      lastTouch: null,
      nextTouchDue: iso(START + 21 * DAY),
      overdueSince: null,
      overdueDays: 0,
      priority: 0,
      touches: 0,
      optedOut: false,
      gates: {},
    });
    expect(raised(c.last)).toEqual([expect.objectContaining({ id: DUE, delay: 21 * DAY })]);
    expect(c.published()).toEqual([
      {
        entity: 'contact',
        name: 'created',
        data: { contactId: 'C-1', name: 'Pat Lee', email: 'pat@acme.example', account: 'Acme Facilities', owner: 'sales', cadenceDays: 21, nextTouchDue: iso(START + 21 * DAY) },
      },
    ]);
  });

  it('after 21 days without a touch turns overdue and publishes engagement.overdue once; refresh recomputes the days', () => {
    const c = contact().send(create);
    c.advance(10 * DAY).send({ type: 'contact.refresh' });
    expect(c.value).toEqual({ active: 'compliant' });
    const halfway = c.ctx.priority;
    expect(halfway).toBeGreaterThan(0);
    c.fire(DUE);
    expect(c.now).toBe(START + 21 * DAY);
    expect(c.value).toEqual({ active: 'overdue' });
    expect(c.ctx).toMatchObject({ overdueSince: iso(START + 21 * DAY), overdueDays: 0 });
    expect(c.ctx.priority).toBeGreaterThanOrEqual(1000);
    const [overdue] = c.published('engagement.overdue');
    expect(overdue!.entity).toBe('engagement');
    expect(ContactEvents['engagement.overdue'].parse(overdue!.data)).toEqual({
      contactId: 'C-1',
      ...pat,
      cadenceDays: 21,
      lastTouch: null,
      nextTouchDue: iso(START + 21 * DAY),
      overdueSince: iso(START + 21 * DAY),
      overdueDays: 0,
      priority: c.ctx.priority,
    });
    const p0 = c.ctx.priority;
    c.advance(3 * DAY + 5 * 3_600_000).send({ type: 'contact.refresh' });
    expect(c.ctx.overdueDays).toBe(3);
    expect(c.ctx.priority).toBeGreaterThan(p0);
    c.advance(4 * DAY).send({ type: 'contact.refresh' });
    expect(c.ctx.overdueDays).toBe(7);
    expect(c.published('engagement.overdue')).toHaveLength(1);
    expect(c.timers.size).toBe(0);
  });

  it('a touch clears overdue, re-arms the 21 days from the touch, and publishes engagement.touched', () => {
    const c = contact().send(create).fire(DUE).advance(2 * DAY);
    c.send({ type: 'contact.touch', activity: 'call', by: 'tony' });
    expect(c.value).toEqual({ active: 'compliant' });
    expect(c.ctx).toMatchObject({
      lastTouch: { type: 'call', at: iso(c.now), by: 'tony' },
      nextTouchDue: iso(c.now + 21 * DAY),
      overdueSince: null,
      overdueDays: 0,
      touches: 1,
      priority: 0,
    });
    expect(raised(c.last)).toEqual([expect.objectContaining({ id: DUE, delay: 21 * DAY })]);
    expect(ContactEvents['engagement.touched'].parse(c.published('engagement.touched')[0]!.data)).toEqual({
      contactId: 'C-1',
      name: 'Pat Lee',
      account: 'Acme Facilities',
      owner: 'sales',
      type: 'call',
      by: 'tony',
      at: iso(c.now),
      lastTouchAt: iso(c.now),
      nextTouchDue: iso(c.now + 21 * DAY),
      wasOverdue: true,
      optedOut: false,
      touches: 1,
    });
    // The next period: overdue again 21 days after the touch, published again.
    const touchedAt = c.now;
    c.fire(DUE);
    expect(c.now).toBe(touchedAt + 21 * DAY);
    expect(c.value).toEqual({ active: 'overdue' });
    expect(c.published('engagement.overdue')).toHaveLength(2);
    expect(c.ctx.lastTouch).toMatchObject({ type: 'call', at: iso(touchedAt) });
  });

  it('a touch while compliant re-arms the timer (cancelled and set again, due 21 days from the touch)', () => {
    const c = contact().send(create).advance(15 * DAY);
    c.send({ type: 'contact.touch', activity: 'email', by: 'sales' });
    expect(cancelled(c.last)).toEqual([DUE]);
    expect(raised(c.last)).toEqual([expect.objectContaining({ id: DUE, delay: 21 * DAY })]);
    expect(c.timers.get(DUE)!.dueAt).toBe(START + 36 * DAY);
    expect(c.published('engagement.touched')[0]!.data).toMatchObject({ wasOverdue: false });
  });

  it('a touch that happened earlier counts from when it happened; one from the future counts as now', () => {
    const c = contact().send(create).advance(10 * DAY);
    c.send({ type: 'contact.touch', activity: 'meeting', by: 'tony', occurredAt: iso(START + 6 * DAY) });
    expect(c.ctx.lastTouch).toEqual({ type: 'meeting', at: iso(START + 6 * DAY), by: 'tony' });
    expect(c.ctx.nextTouchDue).toBe(iso(START + 27 * DAY));
    expect(raised(c.last)).toEqual([expect.objectContaining({ id: DUE, delay: 17 * DAY })]);
    c.send({ type: 'contact.touch', activity: 'email', by: 'sales', occurredAt: iso(c.now + 5 * DAY) });
    expect(c.ctx.lastTouch!.at).toBe(iso(c.now));
    // Offsets are accepted and normalised.
    c.advance(DAY).send({ type: 'contact.touch', activity: 'call', by: 'sales', occurredAt: '2026-01-16T10:00:00+01:00' });
    expect(c.ctx.lastTouch!.at).toBe('2026-01-16T09:00:00.000Z');
  });

  it('a touch older than the last one is counted but does not move the clock back', () => {
    const c = contact().send(create).advance(10 * DAY);
    c.send({ type: 'contact.touch', activity: 'call', by: 'tony' });
    const due = c.ctx.nextTouchDue;
    c.advance(DAY).send({ type: 'contact.touch', activity: 'email', by: 'sales', occurredAt: iso(START + 4 * DAY) });
    expect(c.value).toEqual({ active: 'compliant' });
    expect(c.ctx).toMatchObject({ lastTouch: { type: 'call', at: iso(START + 10 * DAY), by: 'tony' }, nextTouchDue: due, touches: 2 });
    expect(raised(c.last)).toEqual([]);
    expect(cancelled(c.last)).toEqual([]);
    expect(c.timers.get(DUE)!.dueAt).toBe(START + 31 * DAY);
    expect(c.published('engagement.touched')[1]!.data).toMatchObject({ at: iso(START + 4 * DAY), lastTouchAt: iso(START + 10 * DAY), touches: 2 });
    // Also when overdue: an old touch leaves it overdue, with no new overdue event.
    c.fire(DUE).advance(DAY).send({ type: 'contact.touch', activity: 'email', by: 'sales', occurredAt: iso(START + DAY) });
    expect(c.value).toEqual({ active: 'overdue' });
    expect(c.ctx).toMatchObject({ overdueSince: iso(START + 31 * DAY), overdueDays: 1, touches: 3 });
    expect(c.published('engagement.overdue')).toHaveLength(1);
  });

  it('a newer touch that is itself past due makes (or keeps) the contact overdue', () => {
    const c = contact().send(create).advance(2 * DAY);
    // Reported late: a call 30 days before this contact was created.
    c.send({ type: 'contact.touch', activity: 'call', by: 'tony', occurredAt: iso(START - 30 * DAY) });
    expect(c.value).toEqual({ active: 'overdue' });
    expect(c.ctx).toMatchObject({ nextTouchDue: iso(START - 9 * DAY), overdueSince: iso(START - 9 * DAY), overdueDays: 11 });
    expect(c.published('engagement.overdue')).toHaveLength(1);
    expect(c.timers.size).toBe(0);
    // A later (still old) touch keeps it overdue, from the new due date, without a second event.
    c.send({ type: 'contact.touch', activity: 'email', by: 'sales', occurredAt: iso(START - 25 * DAY) });
    expect(c.value).toEqual({ active: 'overdue' });
    expect(c.ctx).toMatchObject({ nextTouchDue: iso(START - 4 * DAY), overdueSince: iso(START - 4 * DAY), overdueDays: 6 });
    expect(c.published('engagement.overdue')).toHaveLength(1);
  });

  it('a new cadence moves the due date: shorter can make it overdue now, longer brings it back', () => {
    const c = contact().send(create).advance(10 * DAY);
    c.send({ type: 'contact.update', cadenceDays: 7, phone: '+1 555 0100' });
    expect(c.value).toEqual({ active: 'overdue' });
    expect(c.ctx).toMatchObject({ cadenceDays: 7, phone: '+1 555 0100', nextTouchDue: iso(START + 7 * DAY), overdueSince: iso(START + 7 * DAY), overdueDays: 3 });
    expect(c.published('engagement.overdue')).toHaveLength(1);
    c.send({ type: 'contact.update', cadenceDays: 30 });
    expect(c.value).toEqual({ active: 'compliant' });
    expect(c.ctx).toMatchObject({ nextTouchDue: iso(START + 30 * DAY), overdueSince: null });
    expect(raised(c.last)).toEqual([expect.objectContaining({ id: DUE, delay: 20 * DAY })]);
    c.send({ type: 'contact.update', cadenceDays: 45 });
    expect(cancelled(c.last)).toEqual([DUE]);
    expect(c.timers.get(DUE)!.dueAt).toBe(START + 45 * DAY);
    // Other fields do not touch the clock; null clears.
    c.send({ type: 'contact.update', role: 'Director of Operations', email: null });
    expect(raised(c.last)).toEqual([]);
    expect(c.ctx).toMatchObject({ role: 'Director of Operations', email: null });
  });

  it('refresh turns a contact whose due date passed overdue even if its timer has not fired yet', () => {
    const c = contact().send(create).advance(22 * DAY);
    c.send({ type: 'contact.refresh' });
    expect(c.value).toEqual({ active: 'overdue' });
    expect(c.ctx.overdueDays).toBe(1);
    expect(c.timers.size).toBe(0);
    expect(c.published('engagement.overdue')).toHaveLength(1);
  });

  it('opting out leaves the clock: no timer, never overdue, priority 0; touches are still recorded; opting in returns', () => {
    const c = contact().send(create).fire(DUE).advance(DAY);
    c.send({ type: 'contact.opt_out', reason: 'Replied STOP' });
    expect(c.value).toEqual({ active: 'optedOut' });
    expect(c.ctx).toMatchObject({ optedOut: true, optedOutAt: iso(c.now), nextTouchDue: null, overdueSince: null, overdueDays: 0, priority: 0 });
    expect(c.published('contact.opted_out').map((p) => p.data)).toEqual([
      { contactId: 'C-1', name: 'Pat Lee', email: 'pat@acme.example', account: 'Acme Facilities', reason: 'Replied STOP' },
    ]);
    c.send({ type: 'contact.opt_out' });
    expect(c.published('contact.opted_out')).toHaveLength(1);
    c.advance(60 * DAY).send({ type: 'contact.refresh' });
    expect(c.value).toEqual({ active: 'optedOut' });
    expect(c.ctx.priority).toBe(0);
    expect(c.timers.size).toBe(0);
    c.send({ type: 'contact.touch', activity: 'email', by: 'inbox' });
    expect(c.ctx).toMatchObject({ touches: 1, lastTouch: { type: 'email', at: iso(c.now) }, nextTouchDue: null });
    const touchedAt = c.now;
    expect(c.timers.size).toBe(0);
    expect(c.published('engagement.touched')[0]!.data).toMatchObject({ optedOut: true });
    expect(c.published('engagement.overdue')).toHaveLength(1);
    c.advance(DAY).send({ type: 'contact.opt_in' });
    expect(c.value).toEqual({ active: 'compliant' });
    expect(c.ctx).toMatchObject({ optedOut: false, optedOutAt: null, nextTouchDue: iso(touchedAt + 21 * DAY) });
    expect(raised(c.last)).toEqual([expect.objectContaining({ id: DUE, delay: 20 * DAY })]);
    expect(c.published('contact.opted_in')).toHaveLength(1);
  });

  it('opting back in after the due date passed makes it overdue at once', () => {
    const c = contact().send(create).send({ type: 'contact.opt_out' }).advance(30 * DAY);
    c.send({ type: 'contact.opt_in' });
    expect(c.value).toEqual({ active: 'overdue' });
    expect(c.ctx.overdueDays).toBe(9);
    expect(c.published().map((p) => `${p.entity}.${p.name}`)).toEqual(['contact.created', 'contact.opted_out', 'contact.opted_in', 'engagement.overdue']);
  });

  it.each([
    ['compliant', (c: ReturnType<typeof contact>) => c],
    ['overdue', (c: ReturnType<typeof contact>) => c.fire(DUE)],
    ['opted out', (c: ReturnType<typeof contact>) => c.send({ type: 'contact.opt_out' })],
  ])('is archived from %s: final, timer cancelled, publishes contact.archived', (_, to) => {
    const c = to(contact().send(create));
    c.advance(DAY).send({ type: 'contact.archive', reason: 'Left the company' });
    expect(c.value).toBe('archived');
    expect(c.status).toBe('done');
    expect(c.ctx.archivedAt).toBe(iso(c.now));
    expect(c.timers.size).toBe(0);
    expect(c.published('contact.archived').map((p) => p.data)).toEqual([{ contactId: 'C-1', name: 'Pat Lee', account: 'Acme Facilities', reason: 'Left the company' }]);
    expect(c.refuses({ type: 'contact.touch', activity: 'call', by: 'x' })).toBe(true);
  });

  it('nothing but contact.create before it exists', () => {
    const c = contact();
    for (const e of [{ type: 'contact.touch', activity: 'call', by: 'x' }, { type: 'contact.refresh' }, { type: 'contact.archive' }, { type: 'contact.opt_in' }]) {
      expect(c.refuses(e)).toBe(true);
    }
    const a = contact().send(create);
    expect(a.refuses({ type: 'contact.opt_in' })).toBe(true);
    expect(a.refuses(create)).toBe(true);
  });

  it('the schema refuses what the machine must never see', () => {
    const bad = [
      { type: 'contact.create' },
      { type: 'contact.create', name: '' },
      { type: 'contact.create', name: 'x', email: 'nope' },
      { type: 'contact.create', name: 'x', cadenceDays: 0 },
      { type: 'contact.create', name: 'x', importance: 6 },
      { type: 'contact.touch', activity: 'call' },
      { type: 'contact.touch', activity: 'letter', by: 'x' },
      { type: 'contact.touch', activity: 'call', by: 'x', occurredAt: 'yesterday' },
      { type: 'contact.update', cadenceDays: 2.5 },
    ];
    for (const e of bad) expect(contactEntity.events.safeParse(e).success, JSON.stringify(e)).toBe(false);
    expect(contactEntity.events.parse({ type: 'contact.create', name: 'x' })).toEqual({ type: 'contact.create', name: 'x', cadenceDays: 21, importance: 3, accountValue: 0 });
  });
});

describe('contact priority', () => {
  const base: PriorityInput = {
    now: iso(START),
    lastTouchAt: null,
    createdAt: iso(START - 10 * DAY),
    cadenceDays: 21,
    overdue: false,
    overdueDays: 0,
    importance: 3,
    accountValue: 0,
    role: null,
    optedOut: false,
  };

  it('follows the documented formula', () => {
    expect(contactPriority(base)).toBe(Math.round((100 * 10) / 21));
    expect(contactPriority({ ...base, overdue: true, overdueDays: 14 })).toBe(1300);
    expect(contactPriority({ ...base, overdue: true, overdueDays: 500 })).toBe(Math.round(1000 + 100 * (1 + 90 / 7)));
    expect(contactPriority({ ...base, optedOut: true, overdue: true, overdueDays: 14 })).toBe(0);
    expect(contactPriority({ ...base, lastTouchAt: iso(START - 100 * DAY) })).toBe(100);
    expect(roleFactor('VP Purchasing')).toBe(1.5);
    expect(roleFactor('Facilities Manager')).toBe(1.2);
    expect(roleFactor('Receptionist')).toBe(1);
    expect(roleFactor(null)).toBe(1);
    expect(valueFactor(0)).toBe(1);
    expect(valueFactor(999_000)).toBeCloseTo(2, 5);
    expect(valueFactor(1e9)).toBe(2);
  });

  it('orders a few contacts: overdue first (weight × weeks overdue), then the compliant by weight and share of the cycle used', () => {
    // Each contact runs its own machine, created 60 days ago; all are refreshed at START.
    const make = (key: string, create: Record<string, unknown>, touchDaysAgo: number | null, optOut = false) => {
      const c = contact(key, START - 60 * DAY).send({ type: 'contact.create', ...create });
      if (optOut) c.send({ type: 'contact.opt_out' });
      if (touchDaysAgo !== null) c.advance(START - touchDaysAgo * DAY - c.now).send({ type: 'contact.touch', activity: 'email', by: 'sales' });
      // The overdue timer fires if it came due before the refresh, as the runtime would fire it.
      const t = c.timers.get(DUE);
      if (t && t.dueAt <= START) c.fire(DUE);
      c.advance(START - c.now).send({ type: 'contact.refresh' });
      return { ...c.ctx, state: c.value };
    };
    const contacts = [
      make('minor-long-overdue', { name: 'Minor', importance: 1 }, 51), // 30 days overdue, weight 0.33
      make('key-just-overdue', { name: 'Key', importance: 5, accountValue: 1_000_000, role: 'CEO' }, 22), // 1 day overdue, weight 5
      make('mid-overdue', { name: 'Mid', role: 'Buyer', accountValue: 50_000 }, 28), // 7 days overdue, weight 2.35
      make('key-compliant', { name: 'Key, fresh', importance: 5, accountValue: 1_000_000, role: 'Owner' }, 20), // due tomorrow
      make('plain-compliant', { name: 'Plain' }, 20),
      make('just-touched', { name: 'Touched', importance: 5 }, 0),
      make('opted-out', { name: 'Out', importance: 5 }, null, true),
    ];
    expect(contacts.find((c) => c.key === 'minor-long-overdue')).toMatchObject({ state: { active: 'overdue' }, overdueDays: 30 });
    expect(contacts.find((c) => c.key === 'key-just-overdue')).toMatchObject({ state: { active: 'overdue' }, overdueDays: 1 });
    expect(contacts.find((c) => c.key === 'key-compliant')).toMatchObject({ state: { active: 'compliant' } });

    const order = [...contacts].sort(compareContacts).map((c) => c.key);
    expect(order).toEqual(['key-just-overdue', 'mid-overdue', 'minor-long-overdue', 'key-compliant', 'plain-compliant', 'just-touched', 'opted-out']);
    const by = Object.fromEntries(contacts.map((c) => [c.key, c.priority]));
    expect(by['minor-long-overdue']).toBeGreaterThanOrEqual(1000);
    expect(by['key-compliant']).toBeLessThan(1000);
    expect(by['just-touched']).toBe(0);
    expect(by['opted-out']).toBe(0);
  });

  it('ties go to the earlier due date, then the key', () => {
    const a = { key: 'b', priority: 10, nextTouchDue: iso(START + DAY) };
    const b = { key: 'a', priority: 10, nextTouchDue: iso(START + 2 * DAY) };
    const c = { key: 'c', priority: 10, nextTouchDue: iso(START + DAY) };
    expect([b, c, a].sort(compareContacts).map((x) => x.key)).toEqual(['b', 'c', 'a']);
  });
});
