import { describe, expect, it } from 'vitest';
import { contactEntity } from '../../../machines/contact/index.ts';
import { runtimeBackends } from '../../support/runtime.ts';
import { DAY, useEntityKits, walk } from '../../support/entities.ts';

/**
 * The contact entity end to end through the runtime: the 21-day engagement clock
 * (P0.4) as a durable timer, on the controllable clock, across restarts. The
 * contact has no gates: it sends nothing itself.
 */

const create = {
  type: 'contact.create',
  name: 'Pat Lee',
  email: 'pat@client.example',
  account: 'Acme Facilities',
  role: 'Purchasing Manager',
  owner: 'sales',
  importance: 4,
  accountValue: 250_000,
};
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(runtimeBackends)('contact entity on $name', ({ make }) => {
  const kits = useEntityKits(make, { entities: [contactEntity] });

  it('21 days without a touch → overdue, fired once after a restart when the deadline passed while stopped; a touch → compliant; the next 21 days → overdue again', async () => {
    const kit = await kits();
    const c = kit.at('contact', 'K-1');
    const t0 = kit.clock.now();
    expect(await kit.send(c, create)).toMatchObject({ state: 'active.compliant' });
    const created = await kit.actor(c);
    expect(created.context).toMatchObject({ cadenceDays: 21, nextTouchDue: iso(t0 + 21 * DAY), overdueSince: null, lastTouch: null });
    expect(created.timers).toEqual([expect.objectContaining({ due_at: new Date(t0 + 21 * DAY) })]);

    await kit.advance(20 * DAY);
    expect((await kit.actor(c)).state).toBe('active.compliant');
    // Down from day 20 to day 23: the deadline passes while nothing runs.
    await kit.restart({ whileDown: 3 * DAY });
    const overdue = await kit.until(c, 'active.overdue');
    expect(overdue.context).toMatchObject({ overdueSince: iso(t0 + 21 * DAY), overdueDays: 2, nextTouchDue: iso(t0 + 21 * DAY) });
    expect(overdue.context.priority as number).toBeGreaterThanOrEqual(1000);
    expect(overdue.timers).toEqual([]);
    const [event] = await kit.untilEvent(c, 'engagement.overdue');
    expect(event!.data).toMatchObject({ contactId: 'K-1', name: 'Pat Lee', email: 'pat@client.example', owner: 'sales', overdueSince: iso(t0 + 21 * DAY), overdueDays: 2, lastTouch: null });
    expect(event!.occurredAt).toBe(iso(t0 + 23 * DAY));

    // Once: another restart and more time do not fire it again.
    await kit.restart();
    await kit.advance(10 * DAY);
    expect(await kit.timerFires(c)).toBe(1);
    expect(kit.events(c, 'engagement.overdue')).toHaveLength(1);
    expect(await kit.send(c, { type: 'contact.refresh' })).toMatchObject({ state: 'active.overdue' });
    expect((await kit.actor(c)).context).toMatchObject({ overdueDays: 12 });

    // A touch: compliant again, due 21 days after it.
    const touchedAt = kit.clock.now();
    expect(await kit.send(c, { type: 'contact.touch', activity: 'call', by: 'sales' })).toMatchObject({ state: 'active.compliant' });
    const compliant = await kit.actor(c);
    expect(compliant.context).toMatchObject({
      lastTouch: { type: 'call', at: iso(touchedAt), by: 'sales' }, nextTouchDue: iso(touchedAt + 21 * DAY), overdueSince: null, overdueDays: 0, touches: 1,
    });
    expect(compliant.timers).toEqual([expect.objectContaining({ due_at: new Date(touchedAt + 21 * DAY) })]);
    const [touched] = await kit.untilEvent(c, 'engagement.touched');
    expect(touched!.data).toMatchObject({ wasOverdue: true, type: 'call', nextTouchDue: iso(touchedAt + 21 * DAY) });

    // The next period, on the running clock.
    await kit.advance(21 * DAY - 60_000);
    expect((await kit.actor(c)).state).toBe('active.compliant');
    await kit.advance(60_000);
    expect((await kit.until(c, 'active.overdue')).context).toMatchObject({ overdueSince: iso(touchedAt + 21 * DAY), overdueDays: 0 });
    await kit.untilEvent(c, 'engagement.overdue', 2);
    expect(await kit.timerFires(c)).toBe(2);
    expect(kit.eventNames(c)).toEqual(['contact.created', 'engagement.overdue', 'engagement.touched', 'engagement.overdue']);
  });

  it('a touch before the due date moves the clock: the first deadline passes during a restart without firing; overdue 21 days after the touch', async () => {
    const kit = await kits();
    const c = kit.at('contact', 'K-2');
    const t0 = kit.clock.now();
    await walk(kit, c, [
      { send: create },
      { advance: 10 * DAY },
      { send: { type: 'contact.touch', activity: 'email', by: 'sales' } },
      { until: 'active.compliant', context: { nextTouchDue: iso(t0 + 31 * DAY), touches: 1 } },
      { advance: 5 * DAY },
      { restart: true, whileDown: 6 * DAY }, // day 21, the first due date, passes while down
      { until: 'active.compliant' },
      { advance: 10 * DAY - 60_000 },
      { until: 'active.compliant' },
      { advance: 60_000 },
      { until: 'active.overdue', context: { overdueSince: iso(t0 + 31 * DAY), overdueDays: 0 } },
    ]);
    expect(await kit.timerFires(c)).toBe(1);
    await kit.untilEvent(c, 'engagement.overdue');
    expect(kit.eventNames(c)).toEqual(['contact.created', 'engagement.touched', 'engagement.overdue']);
    expect(kit.events(c, 'engagement.overdue')[0]!.data).toMatchObject({ lastTouch: { type: 'email', at: iso(t0 + 10 * DAY), by: 'sales' } });
  });

  it('an opted-out contact is never overdue (across a restart); opting in long after the due date makes it overdue at once', async () => {
    const kit = await kits();
    const c = kit.at('contact', 'K-3');
    const t0 = kit.clock.now();
    await kit.send(c, create);
    expect(await kit.send(c, { type: 'contact.opt_out', reason: 'asked by email' })).toMatchObject({ state: 'active.optedOut' });
    const out = await kit.actor(c);
    expect(out.context).toMatchObject({ optedOut: true, nextTouchDue: null, priority: 0 });
    expect(out.timers).toEqual([]);
    await kit.restart({ whileDown: 30 * DAY });
    await kit.advance(10 * DAY);
    expect((await kit.actor(c)).state).toBe('active.optedOut');
    expect(kit.events(c, 'engagement.overdue')).toEqual([]);

    expect(await kit.send(c, { type: 'contact.opt_in' })).toMatchObject({ state: 'active.overdue' });
    expect((await kit.actor(c)).context).toMatchObject({ optedOut: false, nextTouchDue: iso(t0 + 21 * DAY), overdueSince: iso(t0 + 21 * DAY), overdueDays: 19 });
    await kit.untilEvent(c, 'engagement.overdue');
    expect(kit.eventNames(c)).toEqual(['contact.created', 'contact.opted_out', 'contact.opted_in', 'engagement.overdue']);
    expect(await kit.timerFires(c)).toBe(0);
  });
});
