import { describe, expect, it } from 'vitest';
import { runtimeBackends, eventually, useEnv } from '../support/runtime.ts';

const MIN = 60_000;

describe.each(runtimeBackends)('durability on $name', ({ make }) => {
  const env = useEnv(make);

  const counter = (key: string) => ({ tenant: 'acme', kind: 'counter', key });

  it('a 10-minute delay set before a stop fires exactly once after the clock moved 30 minutes while nothing ran', async () => {
    let rt = await env.start();
    expect(await rt.send.send(counter('R-1'), { type: 'remind', minutes: 10 }, { wait: true })).toMatchObject({ ok: true, state: 'waiting' });
    const [timer] = await rt.db.query<{ due_at: Date }>(`SELECT due_at FROM timers WHERE key = 'R-1'`);
    expect(timer!.due_at.getTime()).toBe(env.clock.now() + 10 * MIN);
    await rt.stop();

    env.clock.advance(30 * MIN);
    rt = await env.start();
    await rt.timers.poll();
    await rt.settle();
    // A second process start and more polls must not fire it again.
    await rt.timers.poll();
    await rt.settle();
    await rt.stop();
    rt = await env.start();
    await rt.timers.poll();
    await rt.settle();

    const actor = await rt.operator.actor(counter('R-1'));
    expect(actor).toMatchObject({ state: 'reminded', seq: 2 });
    expect(actor!.context).toMatchObject({ reminders: 1 });
    expect(actor!.timers).toEqual([]);
    const fired = (await rt.operator.history(counter('R-1'))).filter((h) => h.event_type === 'cadre.timer.fire');
    expect(fired).toHaveLength(1);
    expect(fired[0]!.committed_at.getTime()).toBe(env.clock.now());
  });

  it('a delay that comes due while running fires when the clock passes it, not before', async () => {
    const rt = await env.start();
    await rt.send.send(counter('R-2'), { type: 'remind', minutes: 10 }, { wait: true });
    env.clock.advance(9 * MIN);
    await rt.settle();
    expect(await rt.operator.actor(counter('R-2'))).toMatchObject({ state: 'waiting' });
    env.clock.advance(1 * MIN); // wakes the timer service through the clock
    await eventuallyState(rt, counter('R-2'), 'reminded');
  });

  it('a timer whose transition fails fires once, into a dead letter, and never again', async () => {
    const rt = await env.start();
    await rt.send.send(counter('F-1'), { type: 'arm_fragile' }, { wait: true });
    env.clock.advance(11 * MIN);
    await eventually(async () => (await rt.db.query(`SELECT 1 FROM dead_letters WHERE key = 'F-1'`)).length === 1, 10_000, 'the dead letter');
    await rt.settle();
    expect(await rt.db.query(`SELECT * FROM timers WHERE key = 'F-1'`)).toEqual([]);
    const [dl] = await rt.db.query<{ code: string; reason: string }>(`SELECT code, reason FROM dead_letters WHERE key = 'F-1'`);
    expect(dl).toMatchObject({ code: 'machine_error' });
    expect(dl!.reason).toContain('exploded on purpose');
    env.clock.advance(60 * MIN);
    await rt.timers.poll();
    await rt.settle();
    expect(await rt.db.query(`SELECT 1 FROM dead_letters WHERE key = 'F-1'`)).toHaveLength(1);
    expect(await rt.operator.actor(counter('F-1'))).toMatchObject({ state: 'fragile', seq: 1 });
  });

  it('what a dead process left in the outbox is published in commit order, before the partition is consumed', async () => {
    let rt = await env.start();
    await rt.send.send(counter('S-2'), { type: 'add', i: 1 }, { wait: true }); // creates the receiver
    // As a process that committed A's seq 9 and 10 in one batch and died before publishing would leave them
    // (the ids sort the other way round as text):
    const subject = rt.subjects.mailbox(counter('S-2'));
    const partition = rt.subjects.parseMailbox(subject)!.partition;
    for (const [n, seq] of [9, 10].entries()) {
      const id = `acme/counter/S-1#${seq}#m0`;
      const m = { id, tenant: 'acme', to: { kind: 'counter', key: 'S-2' }, event: { type: 'add', i: n + 2 }, correlationId: id, causationId: null, from: 'acme/counter/S-1', sentAt: new Date().toISOString() };
      await rt.db.query(`INSERT INTO outbox (tenant, message_id, partition, subject, payload, created_at) VALUES ('acme', $1, $2, $3, $4, $5::timestamptz)`, [id, partition, subject, JSON.stringify(m), m.sentAt]);
    }
    await rt.stop();
    rt = await env.start();
    await eventually(async () => ((await rt.operator.actor(counter('S-2')))?.context as { count: number }).count === 3, 10_000, 'both messages');
    expect((await rt.operator.history(counter('S-2'))).map((h) => h.message_id)).toEqual([expect.any(String), 'acme/counter/S-1#9#m0', 'acme/counter/S-1#10#m0']);
    expect((await rt.operator.actor(counter('S-2')))!.context).toMatchObject({ outOfOrder: 0 });
  });

  it('the same message id delivered three times gives one transition', async () => {
    const rt = await env.start();
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await rt.send.send(counter('C-1'), { type: 'add', i: 1 }, { id: 'msg-once', wait: true }));
    // and once more straight on the bus, bypassing the outbox
    await rt.bus.publish(rt.subjects.mailbox(counter('C-1')), new TextEncoder().encode(JSON.stringify({
      id: 'msg-once', tenant: 'acme', to: { kind: 'counter', key: 'C-1' }, event: { type: 'add', i: 1 },
      correlationId: 'c', causationId: null, from: 'external:test', sentAt: new Date().toISOString(),
    })), { msgId: 'other-bus-id' });
    await rt.settle();
    expect(replies[0]).toMatchObject({ ok: true, seq: 1, duplicate: false });
    expect(replies[1]).toMatchObject({ ok: true, seq: 1 });
    expect((await rt.operator.actor(counter('C-1')))!.context).toMatchObject({ count: 1 });
    expect(await rt.operator.history(counter('C-1'))).toHaveLength(1);
  });

  it('1,000 events to one actor are applied in publish order', async () => {
    const rt = await env.start();
    // Published straight on the bus, pipelined: the bus's order is the publish order.
    const subject = rt.subjects.mailbox(counter('C-2'));
    const publishes = [];
    for (let i = 1; i <= 1000; i++) {
      const m = { id: `ord-${i}`, tenant: 'acme', to: { kind: 'counter', key: 'C-2' }, event: { type: 'add', i }, correlationId: 'c', causationId: null, from: 'external:test', sentAt: new Date().toISOString() };
      publishes.push(rt.bus.publish(subject, new TextEncoder().encode(JSON.stringify(m)), { msgId: m.id }));
    }
    await Promise.all(publishes);
    await eventuallyCount(rt, counter('C-2'), 1000);
    const actor = await rt.operator.actor(counter('C-2'));
    expect(actor!.context).toMatchObject({ count: 1000, outOfOrder: 0, sum: 1000 });
    const history = await rt.operator.history(counter('C-2'), { limit: 1000 });
    expect(history.map((h) => h.message_id)).toEqual(Array.from({ length: 1000 }, (_, i) => `ord-${i + 1}`));
    expect(history.map((h) => Number(h.seq))).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('actors message each other through the outbox, exactly once', async () => {
    const rt = await env.start();
    for (let i = 0; i < 5; i++) await rt.send.send(counter('P-1'), { type: 'ping', to: 'P-2' }, { wait: true });
    await eventuallyContext(rt, counter('P-2'), (c) => c.pongs === 5);
    const [row] = await rt.db.query<{ causation_id: string; sender: string }>(`SELECT causation_id, sender FROM journal WHERE key = 'P-2' ORDER BY seq LIMIT 1`);
    expect(row!.sender).toBe('acme/counter/P-1');
    expect(row!.causation_id).toBeTruthy();
  });
});

async function eventuallyState(rt: { operator: { actor(a: object): Promise<{ state?: unknown } | undefined> } }, a: object, state: string) {
  for (let i = 0; i < 200; i++) {
    if ((await rt.operator.actor(a))?.state === state) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`actor never reached ${state}`);
}

async function eventuallyCount(rt: { operator: { actor(a: object): Promise<{ context?: unknown } | undefined> } }, a: object, n: number) {
  return eventuallyContext(rt, a, (c) => c.count === n);
}

async function eventuallyContext(
  rt: { operator: { actor(a: object): Promise<{ context?: unknown } | undefined> } },
  a: object,
  ok: (c: Record<string, unknown>) => boolean,
) {
  for (let i = 0; i < 400; i++) {
    const c = (await rt.operator.actor(a))?.context as Record<string, unknown> | undefined;
    if (c && ok(c)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('actor context never reached the expected value');
}
