import { describe, expect, it } from 'vitest';
import { setup, assign, type AnyStateMachine } from 'xstate';
import { z } from 'zod';
import { dealEntity, defineEntity, type EntityDefinition } from '../../machines/index.ts';
import { ReadModel, ReadQueryError, parseActorQuery, type Page, type ReadItem } from '../../runtime/read/index.ts';
import { buildSelect } from '../../runtime/read/query.ts';
import type { Runtime } from '../../runtime/index.ts';
import { runtimeBackends, useEnv, type TestEnv } from '../support/runtime.ts';

const DAY = 86_400_000;

/**
 * A small stand-in for an entity whose real machine is written elsewhere: its
 * context is whatever `rec.set` merges in (the real machines' field names), and
 * `rec.to` moves it to any of its states.
 */
type Tree = { [state: string]: Tree };
function recordEntity(kind: string, tree: Tree): EntityDefinition {
  const paths: string[] = [];
  const build = (t: Tree, prefix: string): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(t).map(([name, sub]) => {
        const path = prefix ? `${prefix}.${name}` : name;
        paths.push(path);
        const children = Object.keys(sub);
        return [name, children.length ? { initial: children[0], states: build(sub, path) } : {}];
      }),
    );
  const states = build(tree, '');
  const Ev = z.discriminatedUnion('type', [
    z.object({ type: z.literal('rec.set'), patch: z.record(z.string(), z.unknown()) }),
    z.object({ type: z.literal('rec.to'), state: z.string() }),
  ]);
  type E = z.infer<typeof Ev> & { at: string };
  const machine: AnyStateMachine = setup({ types: { context: {} as Record<string, unknown>, events: {} as E } }).createMachine({
    id: kind,
    context: {},
    initial: Object.keys(tree)[0]!,
    on: {
      'rec.set': { actions: assign(({ context, event }) => ({ ...context, ...(event as { patch: Record<string, unknown> }).patch })) },
      'rec.to': paths.map((p) => ({ guard: ({ event }: { event: E }) => (event as { state: string }).state === p, target: `#${kind}.${p}` })),
    },
    states: states as never,
  }) as unknown as AnyStateMachine;
  return defineEntity({ kind, machine, events: Ev });
}

// The real machines' states (machines/contact, machines/order, machines/bid), in small.
const contactEntity = recordEntity('contact', { active: { compliant: {}, overdue: {}, optedOut: {} }, archived: {} });
const orderEntity = recordEntity('order', {
  received: {},
  validating: {},
  exceptions: { triage: {}, fixing: {} },
  accepted: {},
  delivered: {},
  closed: {},
  cancelled: {},
});
const bidEntity = recordEntity('bid', { open: { draft: {}, submitted: { following: {} } }, won: {}, lost: {} });
const probeEntity = recordEntity('probe', { open: { lead: {}, won: {} }, opened: {}, reopen: {}, elsewhere: {} });

const entities = [dealEntity, contactEntity, orderEntity, bidEntity, probeEntity];

async function put(rt: Runtime, tenant: string, kind: string, key: string, patch: Record<string, unknown>, state?: string) {
  const to = { tenant, kind, key };
  expect(await rt.send.send(to, { type: 'rec.set', patch }, { wait: true })).toMatchObject({ ok: true });
  if (state) expect(await rt.send.send(to, { type: 'rec.to', state }, { wait: true })).toMatchObject({ ok: true });
}

const keys = (p: Page | ReadItem[]) => (Array.isArray(p) ? p : p.items).map((i) => i.key);
const iso = (ms: number) => new Date(ms).toISOString();

describe('actor queries: validation and SQL (no database)', () => {
  const issues = (q: unknown) => {
    try {
      parseActorQuery(q);
    } catch (e) {
      expect(e).toBeInstanceOf(ReadQueryError);
      return (e as ReadQueryError).message;
    }
    throw new Error('accepted');
  };

  it('fills defaults', () => {
    expect(parseActorQuery({ kind: 'deal' })).toEqual({ kind: 'deal', where: [], orderBy: { field: 'key', dir: 'asc' }, limit: 100 });
  });

  it('refuses unknown operators, fields and malformed values, naming what was wrong', () => {
    expect(issues({ kind: 'deal', where: [{ field: 'value', op: 'like', value: 'x' }] })).toBe(
      'invalid actor query: where[0].op: unknown operator "like"; use one of eq, ne, gt, gte, lt, lte, in, exists, contains',
    );
    expect(issues({ kind: 'deal', filter: {} })).toBe('invalid actor query: query: unknown field "filter"');
    expect(issues({ kind: 'deal', where: [{ field: 'value', op: 'eq', value: 1, negate: true }] })).toBe('invalid actor query: where[0]: unknown field "negate"');
    expect(issues({ kind: 'deal', where: [{ field: 'a.b.c', op: 'eq', value: 1 }] })).toMatch(/where\[0\]\.field: must be a context field/);
    expect(issues({ kind: 'deal', where: [{ field: "x'); DROP TABLE actors; --", op: 'eq', value: 1 }] })).toMatch(/where\[0\]\.field: must be a context field/);
    expect(issues({ kind: 'deal', where: [{ field: '1abc', op: 'eq', value: 1 }] })).toMatch(/where\[0\]\.field/);
    expect(issues({ kind: 'deal', where: [{ field: 'value', op: 'gt', value: true }] })).toBe(
      'invalid actor query: where[0].value: gt needs a number or a string (an ISO time compares as text), not true',
    );
    expect(issues({ kind: 'deal', where: [{ field: 'value', op: 'in', value: [] }] })).toMatch(/where\[0\]\.value: in needs a list of 1 to 100/);
    expect(issues({ kind: 'deal', where: [{ field: 'value', op: 'exists', value: 'yes' }] })).toMatch(/where\[0\]\.value: exists needs true or false/);
    expect(issues({ kind: 'deal', where: [{ field: 'value', op: 'eq', value: { a: 1 } }] })).toMatch(/where\[0\]\.value: eq needs a string, number, boolean or null/);
    expect(issues({ kind: 'deal', orderBy: { field: 'value', dir: 'up' } })).toMatch(/orderBy\.dir: unknown direction "up"; use asc or desc/);
    expect(issues({ kind: 'deal', orderBy: { field: 'val-ue' } })).toMatch(/orderBy\.field: must be a context field/);
    expect(issues({ kind: 'deal', limit: 1001 })).toBe('invalid actor query: limit: must be at most 1000');
    expect(issues({ kind: 'deal', limit: 0 })).toBe('invalid actor query: limit: must be at least 1');
    expect(issues({ kind: 'deal', state: "open' OR '1'='1" })).toMatch(/state: must be a state such as "open"/);
    expect(issues({ kind: 'de al' })).toMatch(/kind: use only letters/);
    expect(issues({ where: [] })).toMatch(/^invalid actor query: kind: /);
  });

  it('values, fields and states are parameters, never SQL text', () => {
    const evil = "x'); DELETE FROM actors; --";
    const st = buildSelect('acme', parseActorQuery({ kind: 'deal', state: 'open', where: [{ field: 'title', op: 'contains', value: evil }, { field: 'owner', op: 'eq', value: evil }], orderBy: { field: 'title' } }));
    expect(st.text).not.toContain(evil);
    expect(st.text).not.toContain('title');
    expect(st.text).not.toContain("'open'");
    expect(st.params).toEqual(expect.arrayContaining(['acme', 'deal', 'open', 'title', evil, JSON.stringify(evil)]));
  });

  it('refuses a cursor that is not one, or that belongs to another query', () => {
    expect(() => buildSelect('acme', parseActorQuery({ kind: 'deal', after: 'garbage' }))).toThrow(/after: is not the `next` of a page/);
    const q = parseActorQuery({ kind: 'deal', orderBy: { field: 'value' } });
    const fp = buildSelect('acme', q).fingerprint;
    const cursor = Buffer.from(JSON.stringify({ q: fp, v: '5', k: 'D-1' })).toString('base64url');
    expect(() => buildSelect('acme', { ...q, after: cursor })).not.toThrow();
    expect(() => buildSelect('acme', parseActorQuery({ kind: 'deal', orderBy: { field: 'value', dir: 'desc' }, after: cursor }))).toThrow(/belongs to a different query/);
    expect(() => buildSelect('globex', { ...q, after: cursor })).toThrow(/belongs to a different query/);
  });
});

describe.each(runtimeBackends)('the read side on $name', ({ name, make }) => {
  const env: TestEnv = useEnv(make);
  const start = (overrides = {}) => env.start({ entities, overrides });

  it('sees every commit a waiting send reported, at once; a restart changes nothing; queries activate no actor', async () => {
    let rt = await start();
    let read = new ReadModel(rt.db, rt.clock);
    for (let i = 1; i <= 10; i++) {
      await put(rt, 'acme', 'contact', `C-${i % 3}`, { n: i, name: `Contact ${i % 3}` });
      // The commit is in PostgreSQL before the reply: the very next query sees it.
      const page = await read.query('acme', { kind: 'contact', where: [{ field: 'n', op: 'eq', value: i }] });
      expect(page).toEqual({ items: [expect.objectContaining({ kind: 'contact', key: `C-${i % 3}`, state: 'active.compliant', status: 'active' })], next: null });
      expect(page.items[0]!.context).toEqual({ n: i, name: `Contact ${i % 3}` });
      expect(page.items[0]!.updatedAt).toBe(iso(env.clock.now()));
    }
    await put(rt, 'acme', 'contact', 'C-1', {}, 'archived');
    const before = await read.query('acme', { kind: 'contact' });
    expect(keys(before)).toEqual(['C-0', 'C-1', 'C-2']);
    expect(before.items.map((i) => i.state)).toEqual(['active.compliant', 'archived', 'active.compliant']);
    await rt.stop();

    rt = await start();
    read = new ReadModel(rt.db, rt.clock);
    expect(await read.query('acme', { kind: 'contact' })).toEqual(before);
    expect(await read.query('acme', { kind: 'contact', state: 'archived' })).toMatchObject({ items: [{ key: 'C-1', context: { n: 10 } }] });
    expect(rt.host.cells.size).toBe(0); // read from the table: nothing was activated
  });

  // Embedded mode is one process by design (PGlite's data directory is locked), so
  // this test exists on the services backend only (never a skipped test).
  const servicesOnly = name.startsWith('services') ? it : ((() => undefined) as unknown as typeof it);
  servicesOnly('a second runtime process on the same database sees what the first committed', async () => {
    const a = await start();
    const b = await start({ nodeId: `other-${Math.random().toString(16).slice(2, 8)}` });
    const readA = new ReadModel(a.db, a.clock);
    const readB = new ReadModel(b.db, b.clock);
    for (let i = 0; i < 8; i++) {
      // Keys spread over the partitions, so both processes apply some of them.
      const sender = i % 2 ? a : b;
      await put(sender, 'acme', 'order', `O-${i}`, { clientId: 'CL-1', paymentMethod: 'bill', total: 10 + i, paidAt: null }, 'accepted');
      const expected = Array.from({ length: i + 1 }, (_, j) => 10 + j).reduce((x, y) => x + y, 0);
      expect(await readA.outstandingBalance('acme', 'CL-1')).toBe(expected);
      expect(await readB.outstandingBalance('acme', 'CL-1')).toBe(expected);
    }
    expect(keys(await readB.query('acme', { kind: 'order', state: 'accepted' }))).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4', 'O-5', 'O-6', 'O-7']);
  });

  it('matches a state exactly or as a prefix of nested states, in any parallel region, never a longer name', async () => {
    const rt = await start();
    const read = new ReadModel(rt.db, rt.clock);
    await put(rt, 'acme', 'probe', 'lead', {});
    await put(rt, 'acme', 'probe', 'won', {}, 'open.won');
    await put(rt, 'acme', 'probe', 'opened', {}, 'opened');
    await put(rt, 'acme', 'probe', 'reopen', {}, 'reopen');
    await put(rt, 'acme', 'probe', 'other', {}, 'elsewhere');
    const st = async (state: string) => keys(await read.query('acme', { kind: 'probe', state }));
    expect(await st('open')).toEqual(['lead', 'won']);
    expect(await st('open.lead')).toEqual(['lead']);
    expect(await st('opened')).toEqual(['opened']);
    expect(await st('ope')).toEqual([]);
    expect(await st('lead')).toEqual([]);
    expect(await st('open.lead.x')).toEqual([]);

    // The deal's parallel regions: `open.stage.lead|followUp.idle`.
    await rt.send.send({ tenant: 'acme', kind: 'deal', key: 'D-1' }, { type: 'deal.create', title: 'Roof' }, { wait: true });
    await rt.send.send({ tenant: 'acme', kind: 'deal', key: 'D-2' }, { type: 'deal.create', title: 'Solar' }, { wait: true });
    await rt.send.send({ tenant: 'acme', kind: 'deal', key: 'D-2' }, { type: 'deal.qualify' }, { wait: true });
    const deals = async (state: string) => keys(await read.query('acme', { kind: 'deal', state }));
    expect(await deals('open')).toEqual(['D-1', 'D-2']);
    expect(await deals('open.stage.lead')).toEqual(['D-1']);
    expect(await deals('open.stage.qualified|followUp.idle')).toEqual(['D-2']);
    expect(await deals('followUp.idle')).toEqual(['D-1', 'D-2']);
    expect(await deals('open.lead')).toEqual([]);
    // Tenants never see each other's actors.
    expect(await read.query('globex', { kind: 'deal' })).toEqual({ items: [], next: null });
  });

  it('filters on context fields: numbers numerically, strings and ISO times as text, null as missing, one nested level', async () => {
    const rt = await start();
    const read = new ReadModel(rt.db, rt.clock);
    const t0 = env.clock.now();
    await put(rt, 'acme', 'contact', 'A', { name: 'Ana Lima', email: 'ana@client.example', owner: 'ben', priority: 9, lastTouch: { type: 'call', at: iso(t0 - 3 * DAY), by: 'ben' }, nextTouchDue: iso(t0 + DAY) });
    await put(rt, 'acme', 'contact', 'B', { name: 'Bruno', email: 'bruno@other.example', owner: 'cy', priority: 10, lastTouch: { type: 'email', at: iso(t0 - DAY), by: 'cy' }, nextTouchDue: null });
    await put(rt, 'acme', 'contact', 'C', { name: 'Carla ANA', owner: 'ben', priority: '11', optedOut: true });
    await put(rt, 'acme', 'contact', 'D', { name: 'Dora', owner: null, priority: 2.5 });
    const w = async (...where: { field: string; op: string; value?: unknown }[]) => keys(await read.query('acme', { kind: 'contact', where } as never));

    expect(await w({ field: 'owner', op: 'eq', value: 'ben' })).toEqual(['A', 'C']);
    expect(await w({ field: 'owner', op: 'ne', value: 'ben' })).toEqual(['B', 'D']);
    expect(await w({ field: 'owner', op: 'eq', value: null })).toEqual(['D']);
    expect(await w({ field: 'owner', op: 'ne', value: null })).toEqual(['A', 'B', 'C']);
    // 10 > 9 as numbers (as text "10" < "9"); the string "11" is not a number.
    expect(await w({ field: 'priority', op: 'gt', value: 9 })).toEqual(['B']);
    expect(await w({ field: 'priority', op: 'gte', value: 9 })).toEqual(['A', 'B']);
    expect(await w({ field: 'priority', op: 'lt', value: 9.5 })).toEqual(['A', 'D']);
    expect(await w({ field: 'priority', op: 'lte', value: 2.5 })).toEqual(['D']);
    expect(await w({ field: 'priority', op: 'eq', value: 9 })).toEqual(['A']);
    expect(await w({ field: 'priority', op: 'eq', value: '11' })).toEqual(['C']);
    expect(await w({ field: 'priority', op: 'in', value: [10, '11', 2.5] })).toEqual(['B', 'C', 'D']);
    expect(await w({ field: 'owner', op: 'in', value: ['cy', null] })).toEqual(['B', 'D']);
    expect(await w({ field: 'nextTouchDue', op: 'lt', value: iso(t0 + 2 * DAY) })).toEqual(['A']);
    expect(await w({ field: 'nextTouchDue', op: 'exists', value: true })).toEqual(['A']);
    expect(await w({ field: 'nextTouchDue', op: 'exists', value: false })).toEqual(['B', 'C', 'D']);
    expect(await w({ field: 'optedOut', op: 'eq', value: true })).toEqual(['C']);
    expect(await w({ field: 'optedOut', op: 'ne', value: true })).toEqual(['A', 'B', 'D']);
    expect(await w({ field: 'name', op: 'contains', value: 'ana' })).toEqual(['A', 'C']);
    expect(await w({ field: 'email', op: 'contains', value: '%' })).toEqual([]);
    expect(await w({ field: 'name', op: 'gte', value: 'Bruno' })).toEqual(['B', 'C', 'D']);
    // One nested level.
    expect(await w({ field: 'lastTouch.at', op: 'gte', value: iso(t0 - 2 * DAY) })).toEqual(['B']);
    expect(await w({ field: 'lastTouch.type', op: 'in', value: ['call', 'meeting'] })).toEqual(['A']);
    expect(await w({ field: 'lastTouch.by', op: 'exists', value: false })).toEqual(['C', 'D']);
    // Conditions combine with AND.
    expect(await w({ field: 'owner', op: 'eq', value: 'ben' }, { field: 'priority', op: 'gte', value: 0 })).toEqual(['A']);
    // A value that looks like SQL is only a value.
    expect(await w({ field: 'owner', op: 'eq', value: "ben' OR '1'='1" })).toEqual([]);
    // Kind and state narrow the same way.
    expect(await read.query('acme', { kind: 'order', where: [{ field: 'owner', op: 'eq', value: 'ben' }] })).toEqual({ items: [], next: null });
  });

  it('orders by a field, updatedAt or key, both ways, and pages with an opaque cursor without gaps or repeats', async () => {
    const rt = await start();
    const read = new ReadModel(rt.db, rt.clock);
    const prio = (i: number) => (i % 5 === 0 ? null : i % 4); // ties, and some without a priority
    for (let i = 1; i <= 23; i++) {
      env.clock.advance(60_000);
      await put(rt, 'acme', 'contact', `P-${String(i).padStart(2, '0')}`, prio(i) === null ? { i } : { i, priority: prio(i) });
    }
    const all = async (orderBy: { field: string; dir?: 'asc' | 'desc' }, limit: number) => {
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await read.query('acme', { kind: 'contact', orderBy, limit, after });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...keys(page));
        after = page.next ?? undefined;
        pages++;
      } while (after);
      return { seen, pages };
    };
    const names = Array.from({ length: 23 }, (_, j) => j + 1);
    const key = (i: number) => `P-${String(i).padStart(2, '0')}`;
    // jsonb order: missing/null lowest, then numbers; ties by key in the same direction.
    const byPrio = [...names].sort((x, y) => (prio(x) ?? -1) - (prio(y) ?? -1) || x - y).map(key);
    expect(await all({ field: 'priority' }, 5)).toEqual({ seen: byPrio, pages: 5 });
    expect(await all({ field: 'priority', dir: 'desc' }, 7)).toEqual({ seen: [...byPrio].reverse(), pages: 4 });
    expect(await all({ field: 'updatedAt', dir: 'desc' }, 10)).toEqual({ seen: names.map(key).reverse(), pages: 3 });
    expect(await all({ field: 'key' }, 23)).toEqual({ seen: names.map(key), pages: 1 });
    expect(await all({ field: 'key', dir: 'desc' }, 22)).toEqual({ seen: names.map(key).reverse(), pages: 2 });
    const first = await read.query('acme', { kind: 'contact', limit: 3 });
    await expect(read.query('acme', { kind: 'contact', state: 'archived', limit: 3, after: first.next! })).rejects.toThrow(/belongs to a different query/);
    expect((await read.query('acme', { kind: 'contact' })).items).toHaveLength(23);
  });

  it('overdue contacts by time, before any timer fired, most important first; anyOverdueEngagement', async () => {
    const rt = await start();
    const read = new ReadModel(rt.db, rt.clock);
    const t0 = env.clock.now();
    await put(rt, 'acme', 'contact', 'C-1', { name: 'a', nextTouchDue: iso(t0 - DAY), priority: 2 });
    await put(rt, 'acme', 'contact', 'C-2', { name: 'b', nextTouchDue: iso(t0 - 3_600_000), priority: 5 });
    await put(rt, 'acme', 'contact', 'C-3', { name: 'c', nextTouchDue: iso(t0 + DAY), priority: 9 });
    await put(rt, 'acme', 'contact', 'C-4', { name: 'd', nextTouchDue: iso(t0 - DAY), priority: 9 }, 'archived');
    await put(rt, 'acme', 'contact', 'C-5', { name: 'e', nextTouchDue: iso(t0 - DAY), priority: 9, optedOut: true }, 'active.optedOut');
    await put(rt, 'acme', 'contact', 'C-6', { name: 'f', nextTouchDue: null, priority: 9 });
    await put(rt, 'acme', 'contact', 'C-7', { name: 'g', nextTouchDue: iso(t0 - 2 * DAY) }, 'active.overdue');
    await put(rt, 'acme', 'contact', 'C-8', { name: 'h', nextTouchDue: iso(t0 - 2 * DAY), priority: 8 });
    expect(await rt.operator.control({ tenant: 'acme', kind: 'contact', key: 'C-8' }, 'stop', 'ana')).toMatchObject({ ok: true });
    await put(rt, 'globex', 'contact', 'G-1', { name: 'x', nextTouchDue: iso(t0 + 5 * DAY), priority: 1 });

    expect(keys(await read.overdueContacts('acme'))).toEqual(['C-2', 'C-1', 'C-7']);
    expect(await read.anyOverdueEngagement('acme')).toBe(true);
    expect(await read.anyOverdueEngagement('globex')).toBe(false);
    expect(await read.anyOverdueEngagement('nobody')).toBe(false);
    // C-3 is due in a day: overdue once the clock passes it, with no event in between.
    env.clock.advance(DAY + 1);
    expect(keys(await read.overdueContacts('acme'))).toEqual(['C-3', 'C-2', 'C-1', 'C-7']);
    expect(keys(await read.overdueContacts('acme', t0 - 2 * DAY + 1))).toEqual(['C-7']);
    expect(keys(await read.overdueContacts('acme', new Date(t0 - 30 * DAY)))).toEqual([]);
    expect(await read.anyOverdueEngagement('globex', iso(t0 + 6 * DAY))).toBe(true);
    const paged = await read.overdueContacts('acme', undefined, { limit: 2 });
    expect(keys(paged)).toEqual(['C-3', 'C-2']);
    expect(keys(await read.overdueContacts('acme', undefined, { limit: 2, after: paged.next! }))).toEqual(['C-1', 'C-7']);
    await expect(read.overdueContacts('acme', 'not a time')).rejects.toThrow(/now: "not a time" is not a time/);
  });

  it("a client's outstanding balance: billed, unpaid, past intake", async () => {
    const rt = await start();
    const read = new ReadModel(rt.db, rt.clock);
    const order = (key: string, fields: Record<string, unknown>, state: string) =>
      put(rt, 'acme', 'order', key, { clientId: 'CL-1', paymentMethod: 'bill', paidAt: null, ...fields }, state);
    await order('O-1', { total: 100 }, 'accepted');
    await order('O-2', { total: 250.5 }, 'delivered');
    await order('O-3', { total: 4.5, paidAt: undefined }, 'closed'); // no paidAt at all: unpaid
    await order('O-4', { total: 1000, paidAt: iso(env.clock.now()) }, 'delivered');
    await order('O-5', { total: 70, paymentMethod: 'card' }, 'delivered');
    await order('O-6', { total: 40 }, 'exceptions');
    await order('O-7', { total: 30 }, 'cancelled');
    await order('O-8', { total: 20 }, 'validating');
    await order('O-9', { total: 5 }, 'received');
    await order('O-10', { total: 500, clientId: 'CL-2' }, 'accepted');
    await order('O-11', { total: '9' }, 'accepted'); // not a number: counts as nothing
    expect(await read.outstandingBalance('acme', 'CL-1')).toBe(355);
    expect(await read.outstandingBalance('acme', 'CL-2')).toBe(500);
    expect(await read.outstandingBalance('acme', 'CL-3')).toBe(0);
    expect(await read.outstandingBalance('globex', 'CL-1')).toBe(0);

    // Exceptions, nested states included, the longest waiting first.
    env.clock.advance(60_000);
    await order('O-12', { total: 1 }, 'exceptions.fixing');
    expect(keys(await read.orderExceptions('acme'))).toEqual(['O-6', 'O-12']);
    expect((await read.orderExceptions('acme')).items[1]).toMatchObject({ state: 'exceptions.fixing', context: { total: 1 } });
  });

  it('open bids and stalled deals', async () => {
    const rt = await start();
    const read = new ReadModel(rt.db, rt.clock);
    await put(rt, 'acme', 'bid', 'B-1', { title: 'draft', outcome: null });
    await put(rt, 'acme', 'bid', 'B-2', { title: 'waiting', outcome: null, submittedAt: iso(env.clock.now() + 1000) }, 'open.submitted');
    await put(rt, 'acme', 'bid', 'B-3', { title: 'won', outcome: 'won', submittedAt: iso(env.clock.now()) }, 'won');
    await put(rt, 'acme', 'bid', 'B-4', { title: 'following', outcome: null, submittedAt: iso(env.clock.now()) }, 'open.submitted.following');
    expect(keys(await read.openBids('acme'))).toEqual(['B-4', 'B-2']);

    const deal = (key: string) => ({ tenant: 'acme', kind: 'deal', key });
    for (const k of ['D-1', 'D-2', 'D-3', 'D-4']) await rt.send.send(deal(k), { type: 'deal.create', title: k, value: 100 }, { wait: true });
    env.clock.advance(DAY);
    await rt.send.send(deal('D-4'), { type: 'deal.qualify' }, { wait: true }); // its stall comes a day later
    env.clock.advance(6 * DAY + 1);
    await rt.timers.poll();
    await rt.settle();
    expect(keys(await read.stalledDeals('acme'))).toEqual(['D-1', 'D-2', 'D-3']);
    await rt.send.send(deal('D-2'), { type: 'deal.touch', activity: 'call' }, { wait: true });
    await rt.send.send(deal('D-3'), { type: 'deal.win' }, { wait: true });
    env.clock.advance(DAY);
    await rt.timers.poll();
    await rt.settle();
    const stalled = await read.stalledDeals('acme');
    expect(keys(stalled)).toEqual(['D-1', 'D-4']);
    expect(stalled.items[0]).toMatchObject({ state: 'open.stage.lead|followUp.idle', context: { stalledSince: iso(Date.parse('2026-01-05T09:00:00Z') + 7 * DAY + 1) } });
    expect(stalled.items[1]).toMatchObject({ state: 'open.stage.qualified|followUp.idle' });
  });
});
