import { describe, expect, it } from 'vitest';
import { runtimeBackends, eventually, useEnv } from '../support/runtime.ts';

describe.each(runtimeBackends)('operator control on $name', ({ make }) => {
  const env = useEnv(make);

  const counter = (key: string) => ({ tenant: 'acme', kind: 'counter', key });

  it('pause holds messages in order, across a restart; resume replays them first; the journal records both', async () => {
    let rt = await env.start();
    await rt.send.send(counter('O-1'), { type: 'add', i: 1 }, { wait: true });
    expect(await rt.operator.control(counter('O-1'), 'pause', 'ana', 'checking a complaint')).toMatchObject({ ok: true, seq: 2 });
    for (let i = 2; i <= 4; i++) expect(await rt.send.send(counter('O-1'), { type: 'add', i }, { wait: true })).toMatchObject({ ok: true, state: 'held' });
    expect(await rt.operator.actor(counter('O-1'))).toMatchObject({ status: 'paused', heldMessages: 3, context: { count: 1 } });
    await rt.stop();

    rt = await env.start();
    expect(await rt.operator.control(counter('O-1'), 'resume', 'ana')).toMatchObject({ ok: true });
    await rt.send.send(counter('O-1'), { type: 'add', i: 5 }, { wait: true });
    const actor = await rt.operator.actor(counter('O-1'));
    expect(actor).toMatchObject({ status: 'active', heldMessages: 0, context: { count: 5, outOfOrder: 0 } });
    const history = await rt.operator.history(counter('O-1'));
    expect(history.map((h) => h.event_type)).toEqual(['add', 'cadre.control.pause', 'cadre.control.resume', 'add', 'add', 'add', 'add']);
    expect(history[1]).toMatchObject({ sender: 'operator:ana', event: { by: 'ana', reason: 'checking a complaint' } });
  });

  it('a timer that fires while paused waits with the held messages', async () => {
    const rt = await env.start();
    await rt.send.send(counter('O-2'), { type: 'remind', minutes: 10 }, { wait: true });
    await rt.operator.control(counter('O-2'), 'pause', 'ana');
    env.clock.advance(11 * 60_000);
    await eventually(async () => (await rt.operator.actor(counter('O-2')))?.heldMessages === 1, 10_000, 'timer held');
    expect(await rt.operator.actor(counter('O-2'))).toMatchObject({ state: 'waiting', timers: [] });
    await rt.operator.control(counter('O-2'), 'resume', 'ana');
    expect(await rt.operator.actor(counter('O-2'))).toMatchObject({ state: 'reminded', heldMessages: 0 });
  });

  it('stop is final: timers are cancelled and later messages are dead letters', async () => {
    const rt = await env.start();
    await rt.send.send(counter('O-3'), { type: 'remind', minutes: 10 }, { wait: true });
    await rt.operator.control(counter('O-3'), 'stop', 'ana', 'customer left');
    expect(await rt.operator.actor(counter('O-3'))).toMatchObject({ status: 'stopped', timers: [] });
    expect(await rt.send.send(counter('O-3'), { type: 'add', i: 1 }, { wait: true })).toMatchObject({ ok: false, code: 'actor_stopped' });
    expect(await rt.operator.control(counter('O-3'), 'resume', 'ana')).toMatchObject({ ok: false, code: 'actor_stopped' });
    env.clock.advance(20 * 60_000);
    await rt.timers.poll();
    await rt.settle();
    expect(await rt.operator.actor(counter('O-3'))).toMatchObject({ state: 'waiting', status: 'stopped' });
  });

  it('controlling an actor that never existed is refused with a reason', async () => {
    const rt = await env.start();
    expect(await rt.operator.control(counter('nobody'), 'pause', 'ana')).toMatchObject({ ok: false, code: 'actor_not_found' });
    expect(await rt.operator.actor(counter('nobody'))).toBeUndefined();
  });
});
