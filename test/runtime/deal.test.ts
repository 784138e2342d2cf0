import { describe, expect, it } from 'vitest';
import { runtimeBackends, useEnv } from '../support/runtime.ts';

const DAY = 24 * 3600 * 1000;

describe.each(runtimeBackends)('deal lifecycle on $name', ({ make }) => {
  const env = useEnv(make);

  const deal = (key: string) => ({ tenant: 'acme', kind: 'deal', key });

  it('walks lead → qualified → proposal → negotiation → won, surviving a restart midway, and publishes deal.closed', async () => {
    let rt = await env.start();
    const seen: string[] = [];
    rt.bus.subscribe(`${rt.subjects.prefix}.acme.events.deal.>`, (s, d) => seen.push(`${s.split('.').slice(-1)[0]}:${JSON.parse(new TextDecoder().decode(d)).data.dealId}`));
    expect(await rt.send.send(deal('D-1'), { type: 'deal.create', title: 'Roof repair', value: 12_000, contact: 'ana@client.example' }, { wait: true })).toMatchObject({ ok: true, state: 'open.stage.lead|followUp.idle', seq: 1 });
    await rt.send.send(deal('D-1'), { type: 'deal.qualify' }, { wait: true });
    await rt.stop();

    rt = await env.start();
    rt.bus.subscribe(`${rt.subjects.prefix}.acme.events.deal.>`, (s, d) => seen.push(`${s.split('.').slice(-1)[0]}:${JSON.parse(new TextDecoder().decode(d)).data.dealId}`));
    expect(await rt.send.send(deal('D-1'), { type: 'deal.propose' }, { wait: true })).toMatchObject({ ok: true, state: 'open.stage.proposal|followUp.idle', seq: 3 });
    await rt.send.send(deal('D-1'), { type: 'deal.negotiate' }, { wait: true });
    expect(await rt.send.send(deal('D-1'), { type: 'deal.win' }, { wait: true })).toMatchObject({ ok: true, state: 'won', seq: 5 });
    await rt.settle();

    const actor = await rt.operator.actor(deal('D-1'));
    expect(actor).toMatchObject({ state: 'won', machine_status: 'done', seq: 5 });
    expect(actor!.timers).toEqual([]); // the stall timer is cancelled on leaving the open states
    const history = await rt.operator.history(deal('D-1'));
    // Open deals are in two parallel regions: the stage, and the follow-up of a stall.
    expect(history.map((h) => h.state)).toEqual([
      'open.stage.lead|followUp.idle',
      'open.stage.qualified|followUp.idle',
      'open.stage.proposal|followUp.idle',
      'open.stage.negotiation|followUp.idle',
      'won',
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toContain('closed:D-1');
    expect(await rt.db.query(`SELECT count(*)::int AS n FROM outbox`)).toEqual([{ n: 0 }]);
  });

  it('loses with a reason, and refuses a loss without one', async () => {
    const rt = await env.start();
    await rt.send.send(deal('D-2'), { type: 'deal.create', title: 'Gutter' }, { wait: true });
    const refused = await rt.send.send(deal('D-2'), { type: 'deal.lose' }, { wait: true });
    expect(refused).toMatchObject({ ok: false, code: 'invalid_event' });
    expect(await rt.send.send(deal('D-2'), { type: 'deal.lose', reason: 'went with a competitor' }, { wait: true })).toMatchObject({ ok: true, state: 'lost' });
    const after = await rt.send.send(deal('D-2'), { type: 'deal.touch', activity: 'call' }, { wait: true });
    expect(after).toMatchObject({ ok: false, code: 'actor_done' });
    const actor = await rt.operator.actor(deal('D-2'));
    expect(actor!.context).toMatchObject({ lostReason: 'went with a competitor' });
  });

  it('publishes deal.stalled once after 7 days without movement; movement re-arms the timer; a restart keeps it', async () => {
    let rt = await env.start();
    await rt.send.send(deal('D-3'), { type: 'deal.create', title: 'Solar', value: 30_000 }, { wait: true });
    env.clock.advance(6 * DAY);
    await rt.send.send(deal('D-3'), { type: 'deal.touch', activity: 'email' }, { wait: true }); // movement on day 6
    env.clock.advance(6 * DAY); // day 12: 6 days since the touch
    await rt.timers.poll();
    await rt.settle();
    expect((await rt.operator.actor(deal('D-3')))!.context).toMatchObject({ stalledSince: null });
    await rt.stop();

    env.clock.advance(2 * DAY); // day 14: 8 days since the touch, while nothing runs
    rt = await env.start();
    await rt.timers.poll();
    await rt.settle();
    const actor = await rt.operator.actor(deal('D-3'));
    expect(actor!.context).toMatchObject({ stalledSince: new Date(env.clock.now()).toISOString() });
    const history = await rt.operator.history(deal('D-3'));
    expect(history.filter((h) => h.event_type === 'cadre.timer.fire')).toHaveLength(1);

    env.clock.advance(30 * DAY); // no second stalled event without movement
    await rt.timers.poll();
    await rt.settle();
    expect((await rt.operator.history(deal('D-3'))).filter((h) => h.event_type === 'cadre.timer.fire')).toHaveLength(1);
  });
});
