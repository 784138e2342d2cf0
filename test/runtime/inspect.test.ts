import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../runtime/index.ts';
import { dealEntity } from '../../machines/index.ts';
import type { InspectionEvent, InspectionSubscription, InspectSnapshotEvent } from '../../runtime/inspect/index.ts';
import { counterEntity } from '../support/machines.ts';
import { eventually, runtimeBackends, useEnv } from '../support/runtime.ts';

const counter = (tenant: string, key: string) => ({ tenant, kind: 'counter', key });
const snapshots = (evs: InspectionEvent[]) => evs.filter((e): e is InspectSnapshotEvent => e.type === '@xstate.snapshot');
const countOf = (e: InspectSnapshotEvent) => (e.snapshot.context as { count: number }).count;

/** Takes events from `sub` until `done` holds for all taken so far. */
async function collect(sub: InspectionSubscription, done: (evs: InspectionEvent[]) => boolean, timeoutMs = 10_000): Promise<InspectionEvent[]> {
  const out: InspectionEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(out)) {
    if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(out.map((e) => e.type))}`);
    await Promise.race([sub.readable(), new Promise((r) => setTimeout(r, 50))]);
    out.push(...sub.take());
  }
  return out;
}

/** Lets what is in flight arrive (a few turns of the loop, and the bus). */
async function quiet(ms = 150): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe.each(runtimeBackends)('inspection on $name', ({ name, make }) => {
  const env = useEnv(make);

  it('sends the actor with its definition, then each committed event and the committed snapshot', async () => {
    const rt = await env.start();
    const sub = rt.inspection.subscribe({ tenant: 'acme' });
    const reply = await rt.send.send(counter('acme', 'c1'), { type: 'add', i: 1, n: 5 }, { wait: true, from: 'external:test' });
    const evs = await collect(sub, (e) => snapshots(e).length === 1);
    expect(evs.map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
    const [actor, event, snapshot] = evs as [InspectionEvent & { type: '@xstate.actor' }, InspectionEvent & { type: '@xstate.event' }, InspectSnapshotEvent];
    expect(actor).toMatchObject({ sessionId: 'acme/counter/c1', rootId: 'acme/counter/c1', name: 'counter/c1', _version: expect.any(String) });
    const definition = JSON.parse(actor.definition!) as { id: string; states: Record<string, unknown> };
    expect(definition.id).toBe('counter');
    expect(Object.keys(definition.states)).toContain('counting');
    expect(event).toMatchObject({ sessionId: 'acme/counter/c1', id: reply.id, sourceId: 'external:test', event: { type: 'add', i: 1, n: 5 } });
    expect(Number(event.createdAt)).toBe(env.clock.now());
    expect(snapshot).toMatchObject({ sessionId: 'acme/counter/c1', event: { type: 'add' }, snapshot: { value: 'counting', status: 'active', context: { count: 1, sum: 5 } } });
    sub.close();
  });

  it('shows committed transitions only: refused, failing and held messages leave nothing until they are applied', async () => {
    const rt = await env.start();
    await rt.send.send(counter('acme', 'c2'), { type: 'add', i: 1 }, { wait: true });
    const sub = rt.inspection.subscribe({ tenant: 'acme' });
    expect(await rt.send.send(counter('acme', 'c2'), { type: 'nope' }, { wait: true })).toMatchObject({ ok: false, code: 'invalid_event' });
    expect(await rt.send.send(counter('acme', 'c2'), { type: 'boom' }, { wait: true })).toMatchObject({ ok: false, code: 'machine_error' });
    await rt.operator.control(counter('acme', 'c2'), 'pause', 'ana');
    expect(await rt.send.send(counter('acme', 'c2'), { type: 'add', i: 2 }, { wait: true })).toMatchObject({ ok: true, state: 'held' });
    let evs = await collect(sub, (e) => snapshots(e).length === 1);
    await quiet();
    evs.push(...sub.take());
    // Only the pause was committed: the refused, failing and held messages are not transitions.
    expect(evs.map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
    expect(evs[1]).toMatchObject({ type: '@xstate.event', event: { type: 'cadre.control.pause' }, sourceId: 'operator:ana' });

    await rt.operator.control(counter('acme', 'c2'), 'resume', 'ana');
    evs = await collect(sub, (e) => snapshots(e).length === 1);
    // The resume and the held message it replays commit together: two events, one committed snapshot.
    expect(evs.map((e) => (e.type === '@xstate.event' ? e.event.type : e.type))).toEqual(['cadre.control.resume', 'add', '@xstate.snapshot']);
    expect(countOf(snapshots(evs)[0]!)).toBe(2);
    sub.close();
  });

  it('keeps tenants apart, and filters by kind', async () => {
    const rt = await env.start();
    const acme = rt.inspection.subscribe({ tenant: 'acme' });
    const globex = rt.inspection.subscribe({ tenant: 'globex' });
    const deals = rt.inspection.subscribe({ tenant: 'acme', kind: 'deal' });
    await rt.send.send(counter('acme', 'a1'), { type: 'add', i: 1 }, { wait: true });
    await rt.send.send(counter('globex', 'g1'), { type: 'add', i: 1 }, { wait: true });
    await rt.send.send({ tenant: 'globex', kind: 'deal', key: 'D-1' }, { type: 'deal.create', title: 'Roof' }, { wait: true });
    const a = await collect(acme, (e) => snapshots(e).length === 1);
    const g = await collect(globex, (e) => snapshots(e).length === 2);
    await quiet();
    a.push(...acme.take());
    g.push(...globex.take());
    expect(new Set(a.map((e) => e.sessionId))).toEqual(new Set(['acme/counter/a1']));
    expect(new Set(g.map((e) => e.sessionId))).toEqual(new Set(['globex/counter/g1', 'globex/deal/D-1']));
    expect(deals.take()).toEqual([]);
    expect(() => rt.inspection.subscribe({ tenant: 'acme.>' })).toThrow();
    for (const s of [acme, globex, deals]) s.close();
    expect(rt.inspection.subscribers()).toEqual({});
  });

  it('bounds a slow subscriber: the oldest records are dropped and counted, the actor still comes first', async () => {
    const rt = await env.start();
    const slow = rt.inspection.subscribe({ tenant: 'acme', maxQueue: 3 });
    for (let i = 1; i <= 10; i++) await rt.send.send(counter('acme', 's1'), { type: 'add', i }, { wait: true }); // ten commits
    await eventually(async () => slow.dropped === 14, 5000, 'seven records dropped');
    expect(slow.pending).toBe(3);
    const evs = slow.take();
    expect(evs[0]).toMatchObject({ type: '@xstate.actor', sessionId: 'acme/counter/s1' });
    expect(snapshots(evs).map(countOf)).toEqual([8, 9, 10]);
    slow.close();
  });

  it('publishes on the bus only while somebody watches the tenant', async () => {
    const rt = await env.start();
    const raw: unknown[] = [];
    rt.bus.subscribe(`${rt.subjects.prefix}.acme.inspect`, (_s, d) => raw.push(JSON.parse(new TextDecoder().decode(d))));
    await rt.send.send(counter('acme', 'p1'), { type: 'add', i: 1 }, { wait: true });
    await quiet();
    expect(raw).toEqual([]);
    const sub = rt.inspection.subscribe({ tenant: 'acme' });
    await rt.send.send(counter('acme', 'p1'), { type: 'add', i: 2 }, { wait: true });
    await eventually(async () => raw.length === 1, 5000, 'one record');
    expect(raw[0]).toMatchObject({ v: 1, tenant: 'acme', kind: 'counter', key: 'p1', seq: 2, messages: [{ event: { type: 'add', i: 2 } }] });
    sub.close();
  });

  // Embedded mode is one process; with NATS a gateway may run beside the nodes.
  // Defined on one backend only (never a skipped test).
  (name.startsWith('services') ? it : ((() => undefined) as unknown as typeof it))('reaches a subscriber in another process through the bus', async () => {
    const node = await env.start();
    const gw = createRuntime(env.config({ nodeId: `gw-${process.pid}` }), { role: 'client', clock: env.clock, entities: [dealEntity, counterEntity] });
    await gw.start();
    try {
      const sub = gw.inspection.subscribe({ tenant: 'acme' });
      // The node hears of the subscriber within a bus round trip; until then its commits are not published.
      let i = 0;
      await eventually(async () => {
        await node.send.send(counter('acme', 'x1'), { type: 'add', i: ++i }, { wait: true });
        await quiet(50);
        return sub.pending > 0;
      }, 10_000, 'a record from the node');
      const evs = sub.take();
      expect(evs[0]).toMatchObject({ type: '@xstate.actor', sessionId: 'acme/counter/x1' });
      expect(JSON.parse((evs[0] as { definition: string }).definition)).toMatchObject({ id: 'counter' });
      expect(snapshots(evs).at(-1)!.snapshot).toMatchObject({ value: 'counting', status: 'active' });
      sub.close();
    } finally {
      await gw.stop();
    }
  });
});
