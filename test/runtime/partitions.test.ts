import { describe, expect, it } from 'vitest';
import { makeEnv, eventually, useEnv } from '../support/runtime.ts';

describe('several runtime processes on PostgreSQL + NATS', () => {
  const env = useEnv(() => makeEnv('services'));

  it('share the partitions, apply every message once, and take over the partitions of a process that stops', async () => {
    const fast = { leaseTtlMs: 1500, leaseRenewMs: 200, partitions: 8 };
    const a = await env.start({ overrides: { ...fast, nodeId: 'node-a' } });
    const b = await env.start({ overrides: { ...fast, nodeId: 'node-b' } });
    await eventually(async () => a.ownership.owned().length === 4 && b.ownership.owned().length === 4, 10_000, 'an even split');
    expect(new Set([...a.ownership.owned(), ...b.ownership.owned()]).size).toBe(8);

    const sends = [];
    for (let i = 1; i <= 10; i++) for (let k = 0; k < 40; k++) sends.push(a.send.send({ tenant: 'acme', kind: 'counter', key: `N-${k}` }, { type: 'add', i }, { id: `n-${k}-${i}` }));
    await Promise.all(sends);
    await eventually(async () => {
      const [r] = await a.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM journal`);
      return r!.n === 400;
    }, 20_000, '400 commits');
    const perNode = await a.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM actors WHERE (context->>'count')::int = 10`);
    expect(perNode[0]!.n).toBe(40);

    await b.stop();
    await eventually(async () => a.ownership.owned().length === 8, 10_000, 'node-a to own every partition');
    for (let k = 0; k < 40; k++) await a.send.send({ tenant: 'acme', kind: 'counter', key: `N-${k}` }, { type: 'add', i: 11 }, { id: `n-${k}-11`, wait: true });
    const [done] = await a.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM actors WHERE (context->>'count')::int = 11`);
    expect(done!.n).toBe(40);
  });
});
