import { describe, expect, it } from 'vitest';
import { runtimeBackends, eventually, useEnv } from '../support/runtime.ts';
import { TerminalEffectError, type EffectHandler, type EffectRequest } from '../../runtime/index.ts';

describe.each(runtimeBackends)('effects on $name', ({ make }) => {
  const env = useEnv(make);

  const counter = (key: string) => ({ tenant: 'acme', kind: 'counter', key });
  const charges = async (rt: { operator: { actor(a: object): Promise<{ context?: unknown } | undefined> } }, key: string) =>
    ((await rt.operator.actor(counter(key)))?.context as { charges: string[] } | undefined)?.charges ?? [];

  function handler(behaviour: (req: EffectRequest) => Promise<unknown>, retry = { attempts: 3, backoffMs: 1000 }): EffectHandler & { calls: EffectRequest[] } {
    const calls: EffectRequest[] = [];
    return { actionType: 'payment.charge', retry, calls, run: async (req) => (calls.push(req), behaviour(req)) };
  }

  it('runs an effect after the commit and returns its result to the actor as an event', async () => {
    const h = handler(async (req) => ({ receipt: `R-${req.params.amount}` }));
    const rt = await env.start({ effects: [h], overrides: { defaultAutonomy: 'autonomous' } });
    expect(await rt.send.send(counter('E-1'), { type: 'charge', amount: 42 }, { wait: true })).toMatchObject({ ok: true, state: 'charging.deciding' });
    await eventually(async () => (await charges(rt, 'E-1')).length === 1, 10_000, 'charge result');
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]).toMatchObject({ id: 'acme/counter/E-1#1#x0', tenant: 'acme', actionType: 'payment.charge', params: { amount: 42 }, attempt: 1 });
    expect(await charges(rt, 'E-1')).toEqual(['ok:acme/counter/E-1#1#x0']);
    const [row] = await rt.db.query(`SELECT status, attempts, result FROM effects`);
    expect(row).toEqual({ status: 'succeeded', attempts: 1, result: { receipt: 'R-42' } });
  });

  it('retries with exponential backoff on the runtime clock, with the same idempotency key, then succeeds', async () => {
    let n = 0;
    const h = handler(async () => {
      if (++n < 3) throw new Error(`gateway busy (${n})`);
      return { receipt: 'ok' };
    });
    const rt = await env.start({ effects: [h], overrides: { defaultAutonomy: 'autonomous' } });
    await rt.send.send(counter('E-2'), { type: 'charge', amount: 7 }, { wait: true });
    await eventually(async () => (await rt.db.query(`SELECT 1 FROM effects WHERE attempts = 1 AND last_error IS NOT NULL`)).length === 1, 5000, 'first attempt recorded');
    const [afterFirst] = await rt.db.query<{ attempts: number; next_attempt_at: Date; last_error: string }>(`SELECT attempts, next_attempt_at, last_error FROM effects`);
    expect(afterFirst).toMatchObject({ attempts: 1, last_error: 'gateway busy (1)' });
    expect(afterFirst!.next_attempt_at.getTime()).toBe(env.clock.now() + 1000);
    env.clock.advance(999);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.calls).toHaveLength(1);
    env.clock.advance(1);
    await eventually(async () => (await rt.db.query(`SELECT 1 FROM effects WHERE attempts = 2 AND last_error = 'gateway busy (2)'`)).length === 1, 5000, 'second attempt recorded');
    env.clock.advance(2000); // doubled
    await eventually(async () => (await charges(rt, 'E-2')).length === 1, 5000, 'result');
    expect(h.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(new Set(h.calls.map((c) => c.id)).size).toBe(1);
  });

  it('gives up after the configured attempts and sends the failure event; a terminal error fails at once', async () => {
    const h = handler(async (req) => {
      if (req.params.amount === 13) throw new TerminalEffectError('card declined', 'declined');
      throw new Error('timeout talking to the gateway');
    }, { attempts: 2, backoffMs: 10 });
    const rt = await env.start({ effects: [h], overrides: { defaultAutonomy: 'autonomous' } });
    await rt.send.send(counter('E-3'), { type: 'charge', amount: 13 }, { wait: true });
    await eventually(async () => (await charges(rt, 'E-3')).length === 1, 5000, 'terminal failure');
    expect(await charges(rt, 'E-3')).toEqual(['failed:card declined']);
    expect(h.calls).toHaveLength(1);

    await rt.send.send(counter('E-4'), { type: 'charge', amount: 5 }, { wait: true });
    await eventually(async () => (await rt.db.query(`SELECT 1 FROM effects WHERE key = 'E-4' AND attempts = 1 AND last_error IS NOT NULL`)).length === 1, 5000, 'first attempt recorded');
    env.clock.advance(10);
    await eventually(async () => (await charges(rt, 'E-4')).length === 1, 5000, 'gave up');
    expect(await charges(rt, 'E-4')).toEqual(['failed:timeout talking to the gateway (gave up after 2 attempts)']);
  });

  it('an effect whose retry was due while no process ran is retried at start', async () => {
    let fail = true;
    const h = handler(async () => {
      if (fail) throw new Error('down');
      return 'paid';
    });
    let rt = await env.start({ effects: [h], overrides: { defaultAutonomy: 'autonomous' } });
    await rt.send.send(counter('E-5'), { type: 'charge', amount: 1 }, { wait: true });
    await eventually(async () => h.calls.length === 1, 5000, 'first attempt');
    await eventually(async () => (await rt.db.query(`SELECT 1 FROM effects WHERE attempts = 1 AND last_error IS NOT NULL`)).length === 1, 5000, 'retry recorded');
    await rt.stop();
    fail = false;
    env.clock.advance(60_000);
    rt = await env.start({ effects: [h], overrides: { defaultAutonomy: 'autonomous' } });
    await eventually(async () => (await charges(rt, 'E-5')).length === 1, 10_000, 'retried after restart');
    expect(h.calls.map((c) => c.attempt)).toEqual([1, 2]);
  });

  it('an effect with no handler fails with a clear reason instead of waiting forever', async () => {
    const rt = await env.start({ overrides: { defaultAutonomy: 'autonomous' } });
    await rt.send.send(counter('E-6'), { type: 'charge', amount: 1 }, { wait: true });
    await eventually(async () => (await charges(rt, 'E-6')).length === 1, 5000, 'failure');
    expect(await charges(rt, 'E-6')).toEqual(['failed:no effect handler is registered for payment.charge']);
  });
});
