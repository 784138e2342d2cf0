import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { orderEntity } from '../../machines/index.ts';
import type { Runtime } from '../../runtime/index.ts';
import { buildGateway } from '../../runtime/gateway/index.ts';
import { Tokens } from '../../runtime/gateway/tokens.ts';
import { coreRoutes, durationSeconds } from '../../runtime/gateway/routes/index.ts';
import { adminRoutes } from '../../runtime/gateway/routes/admin.ts';
import { SCOPE_SQL } from '../../runtime/gateway/tenant-scope.ts';
import type { Database, Row, Transaction } from '../../runtime/store/index.ts';
import { counterEntity } from '../support/machines.ts';
import { eventually, makeEnv, type TestEnv } from '../support/runtime.ts';
import { broken, receive } from '../support/fixtures/order.ts';

/**
 * The core routes through `app.inject`, on PostgreSQL + NATS: each route's happy
 * path and its role checks. One runtime for the file; each test on its own tenant.
 */

const ADMIN = `admin-${randomBytes(12).toString('hex')}`;
let env: TestEnv;
let rt: Runtime;
let app: FastifyInstance;
let tokens: Tokens;

beforeAll(async () => {
  env = await makeEnv('services');
  rt = await env.start({ entities: [orderEntity, counterEntity], overrides: { partitions: 1 } });
  app = await buildGateway(rt, { adminToken: ADMIN }, [...coreRoutes, adminRoutes]);
  await app.ready();
  tokens = new Tokens(rt.db, rt.clock, ADMIN);
});
afterAll(async () => {
  await app?.close();
  await env?.cleanup();
});

type Res = { status: number; body: any; type: string };
let tenants = 0;

/** A fresh tenant with a token of each role; `as(role)` calls the API with that token. */
async function tenant() {
  const name = `t${++tenants}-${randomBytes(3).toString('hex')}`;
  await tokens.createTenant(name, name, 'test');
  const secret = { viewer: '', operator: '', admin: '' };
  const ids = { viewer: '', operator: '', admin: '' };
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    const t = await tokens.create(name, role, `${role}-token`, 'test');
    secret[role] = t.secret;
    ids[role] = t.id;
  }
  const call = async (token: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
    const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}`, ...headers }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, type: String(res.headers['content-type'] ?? '') };
  };
  const as = (role: 'viewer' | 'operator' | 'admin') => ({
    get: (url: string) => call(secret[role], 'GET', url),
    post: (url: string, body?: unknown, headers?: Record<string, string>) => call(secret[role], 'POST', url, body, headers),
    put: (url: string, body?: unknown) => call(secret[role], 'PUT', url, body),
  });
  const admin = {
    get: (url: string) => call(ADMIN, 'GET', url, undefined, { 'x-cadre-tenant': name }),
    post: (url: string, body?: unknown, headers: Record<string, string> = { 'x-cadre-tenant': name }) => call(ADMIN, 'POST', url, body, headers),
  };
  return { name, ids, as, admin, viewer: as('viewer'), operator: as('operator'), tenantAdmin: as('admin') };
}

/** Receives a broken order (fixable pricing): it waits in the autofix gate for a person under supervised autonomy. */
async function heldOrder(t: Awaited<ReturnType<typeof tenant>>, key: string) {
  const sent = await t.operator.post(`/v1/actors/order/${key}/events?wait=true`, broken);
  expect(sent.status).toBe(200);
  return eventually(async () => (await rt.approvals.list(t.name, { status: 'pending', kind: 'order', key }))[0], 10_000, `approval of ${key}`);
}

function problem(res: Res, status: number, code: string) {
  expect(res.type).toContain('application/problem+json');
  expect(res).toMatchObject({ status, body: { status, code } });
}

describe('actors', () => {
  it('send (queued and waited), list by kind and state with pages, show, history; viewers read but cannot send', async () => {
    const t = await tenant();
    const queued = await t.operator.post('/v1/actors/counter/C-1/events', { type: 'add', i: 1 });
    expect(queued).toMatchObject({ status: 202, body: { ok: true, queued: true, id: expect.any(String) } });
    for (let i = 2; i <= 3; i++) {
      expect(await t.operator.post('/v1/actors/counter/C-1/events?wait=true', { type: 'add', i })).toMatchObject({ status: 200, body: { ok: true, seq: i, state: 'counting' } });
    }
    for (const k of ['C-2', 'C-3']) await t.operator.post(`/v1/actors/counter/${k}/events?wait=1`, { type: 'add', i: 1 });
    await t.operator.post('/v1/actors/counter/C-4/events?wait=true', { type: 'remind', minutes: 5 });

    const first = await t.viewer.get('/v1/actors?kind=counter&state=counting&limit=2');
    expect(first).toMatchObject({ status: 200, body: { items: [{ key: 'C-1', state: 'counting', status: 'active', context: { count: 3 } }, { key: 'C-2' }], next: expect.any(String) } });
    const second = await t.viewer.get(`/v1/actors?kind=counter&state=counting&limit=2&after=${encodeURIComponent(first.body.next)}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ key: 'C-3' })], next: null });
    expect((await t.viewer.get('/v1/actors?kind=counter&state=waiting')).body.items.map((a: { key: string }) => a.key)).toEqual(['C-4']);
    expect((await t.viewer.get('/v1/actors?kind=order')).body).toEqual({ items: [], next: null });

    const shown = await t.viewer.get('/v1/actors/counter/C-4');
    expect(shown).toMatchObject({
      status: 200,
      body: { kind: 'counter', key: 'C-4', state: 'waiting', stateValue: 'waiting', status: 'active', seq: 1, heldMessages: 0, pendingEffects: [], approvals: [] },
    });
    expect(shown.body.timers).toEqual([expect.objectContaining({ id: expect.any(String), dueAt: '2026-01-05T09:10:00.000Z' })]);
    problem(await t.viewer.get('/v1/actors/counter/nobody'), 404, 'not_found');

    const h1 = await t.viewer.get('/v1/actors/counter/C-1/history?limit=2');
    expect(h1.body.items.map((e: { seq: number; eventType: string }) => [e.seq, e.eventType])).toEqual([[1, 'add'], [2, 'add']]);
    expect(h1.body.items[0]).toMatchObject({ messageId: queued.body.id, sender: `external:token:${t.ids.operator}`, state: 'counting', event: { type: 'add', i: 1 } });
    expect(h1.body.next).toBe('2');
    expect((await t.viewer.get('/v1/actors/counter/C-1/history?limit=2&after=2')).body).toMatchObject({ items: [{ seq: 3 }], next: null });
    problem(await t.viewer.get('/v1/actors/counter/nobody/history'), 404, 'not_found');

    problem(await t.viewer.post('/v1/actors/counter/C-1/events', { type: 'add', i: 4 }), 403, 'forbidden');
    expect((await t.viewer.get('/v1/actors/counter/C-1')).body.seq).toBe(3);
  });

  it('refuses reserved events (400), unknown kinds (404), invalid events (422 with the issues); a refused event with ?wait is 422 with its reason', async () => {
    const t = await tenant();
    problem(await t.operator.post('/v1/actors/counter/C-1/events', { type: 'cadre.control.stop', by: 'x' }), 400, 'reserved_event');
    problem(await t.operator.post('/v1/actors/counter/C-1/events', { type: 'cadre.gate.update', effectId: 'e', event: { type: 'x' } }), 400, 'reserved_event');
    problem(await t.operator.post('/v1/actors/widget/W-1/events', { type: 'add', i: 1 }), 404, 'unknown_kind');
    const invalid = await t.operator.post('/v1/actors/counter/C-1/events', { type: 'add', i: 'one' });
    problem(invalid, 422, 'invalid_event');
    expect(invalid.body.issues).toEqual([expect.objectContaining({ path: 'i' })]);
    problem(await t.operator.post('/v1/actors/counter/C-1/events', { type: 'explode' }), 422, 'invalid_event');
    problem(await t.operator.post('/v1/actors/order/O-1/events', { ...receive, fee: 'a lot' }), 422, 'invalid_event');
    // Nothing was sent for any of them.
    expect(await rt.operator.actor({ tenant: t.name, kind: 'counter', key: 'C-1' })).toBeUndefined();

    const refused = await t.operator.post('/v1/actors/counter/C-1/events?wait=true', { type: 'boom' });
    problem(refused, 422, 'event_refused');
    expect(refused.body).toMatchObject({ deadLetterCode: expect.any(String), messageId: expect.any(String) });
    expect(refused.body.detail).toContain('boom');
  });

  it('an Idempotency-Key makes the message id: sent twice, applied once', async () => {
    const t = await tenant();
    const headers = { 'idempotency-key': 'order-42-add' };
    const a = await t.operator.post('/v1/actors/counter/C-1/events?wait=true', { type: 'add', i: 1 }, headers);
    const b = await t.operator.post('/v1/actors/counter/C-1/events?wait=true', { type: 'add', i: 1 }, headers);
    expect(a).toMatchObject({ status: 200, body: { ok: true, seq: 1, duplicate: false } });
    expect(b).toMatchObject({ status: 200, body: { ok: true, id: a.body.id, seq: 1, duplicate: true } });
    expect(a.body.id).toContain('order-42-add');
    const other = await t.operator.post('/v1/actors/counter/C-2/events?wait=true', { type: 'add', i: 1 }, headers);
    expect(other.body).toMatchObject({ ok: true, seq: 1, duplicate: false });
    expect(other.body.id).not.toBe(a.body.id);
    expect((await t.viewer.get('/v1/actors/counter/C-1')).body).toMatchObject({ seq: 1, context: { count: 1 } });
    problem(await t.operator.post('/v1/actors/counter/C-1/events', { type: 'add', i: 2 }, { 'idempotency-key': 'x'.repeat(201) }), 400, 'invalid_request');
  });

  it('pause holds events, resume applies them, stop is final; operators only; unknown actors 404', async () => {
    const t = await tenant();
    await t.operator.post('/v1/actors/counter/C-1/events?wait=true', { type: 'add', i: 1 });
    problem(await t.viewer.post('/v1/actors/counter/C-1/pause', { reason: 'x' }), 403, 'forbidden');
    expect(await t.operator.post('/v1/actors/counter/C-1/pause', { reason: 'checking' })).toMatchObject({ status: 200, body: { status: 'paused', seq: 2, changed: true } });
    expect(await t.operator.post('/v1/actors/counter/C-1/pause')).toMatchObject({ status: 200, body: { status: 'paused', changed: false } });
    expect(await t.operator.post('/v1/actors/counter/C-1/events?wait=true', { type: 'add', i: 2 })).toMatchObject({ status: 200, body: { ok: true, state: 'held' } });
    expect((await t.viewer.get('/v1/actors/counter/C-1')).body).toMatchObject({ status: 'paused', heldMessages: 1, context: { count: 1 } });
    expect(await t.operator.post('/v1/actors/counter/C-1/resume', {})).toMatchObject({ status: 200, body: { status: 'active', changed: true } });
    expect((await t.viewer.get('/v1/actors/counter/C-1')).body).toMatchObject({ status: 'active', heldMessages: 0, context: { count: 2 } });
    const history = (await t.viewer.get('/v1/actors/counter/C-1/history')).body.items;
    expect(history[1]).toMatchObject({ eventType: 'cadre.control.pause', sender: `operator:token:${t.ids.operator}`, event: { by: `token:${t.ids.operator}`, reason: 'checking' } });

    expect(await t.operator.post('/v1/actors/counter/C-1/stop', { reason: 'done' })).toMatchObject({ status: 200, body: { status: 'stopped' } });
    problem(await t.operator.post('/v1/actors/counter/C-1/resume'), 409, 'actor_stopped');
    problem(await t.operator.post('/v1/actors/counter/C-1/stop'), 409, 'actor_stopped');
    problem(await t.operator.post('/v1/actors/counter/nobody/pause'), 404, 'not_found');
    expect(await rt.operator.deadLetters(t.name)).toEqual([]); // refused at the door: nothing went to a mailbox
  });

  it('dead letters: viewers list them (filters, pages); operators replay or discard each once', async () => {
    const t = await tenant();
    for (const k of ['C-1', 'C-2', 'C-3']) await t.operator.post(`/v1/actors/counter/${k}/events?wait=true`, { type: 'boom' });
    const all = await t.viewer.get('/v1/dead-letters?limit=2');
    expect(all).toMatchObject({ status: 200, body: { items: [{ key: 'C-3', status: 'open', kind: 'counter' }, { key: 'C-2' }], next: expect.any(String) } });
    expect(all.body.items[0]).toMatchObject({ id: expect.any(Number), code: expect.any(String), reason: expect.any(String), payloadEncoding: 'utf8', resolvedAt: null });
    expect((await t.viewer.get(`/v1/dead-letters?limit=2&after=${all.body.next}`)).body).toMatchObject({ items: [{ key: 'C-1' }], next: null });
    const [c3, c2] = all.body.items as { id: number }[];

    problem(await t.viewer.post(`/v1/dead-letters/${c3!.id}/discard`), 403, 'forbidden');
    expect(await t.operator.post(`/v1/dead-letters/${c3!.id}/discard`)).toMatchObject({ status: 200, body: { id: c3!.id, status: 'discarded' } });
    problem(await t.operator.post(`/v1/dead-letters/${c3!.id}/discard`), 409, 'conflict');
    problem(await t.operator.post(`/v1/dead-letters/${c3!.id}/replay`), 409, 'conflict');
    const replayed = await t.operator.post(`/v1/dead-letters/${c2!.id}/replay`);
    expect(replayed).toMatchObject({ status: 200, body: { id: c2!.id, status: 'replayed', messageId: expect.stringContaining('~replay-') } });
    problem(await t.operator.post('/v1/dead-letters/999999999/replay'), 404, 'not_found');
    expect((await t.viewer.get('/v1/dead-letters?status=discarded')).body.items).toEqual([expect.objectContaining({ id: c3!.id, resolvedBy: `token:${t.ids.operator}` })]);
    expect((await t.viewer.get('/v1/dead-letters?status=open&kind=counter&key=C-1')).body.items).toHaveLength(1);
  });
});

describe('approvals', () => {
  it('list (filters, age, pages) and show with preview and params; approve, reject, 409 once decided; viewers cannot decide; the order moves on', async () => {
    const t = await tenant();
    const p1 = await heldOrder(t, 'O-1');
    env.clock.advance(3_600_000);
    const p2 = await heldOrder(t, 'O-2');
    const p3 = await heldOrder(t, 'O-3');

    const list = await t.viewer.get('/v1/approvals?status=pending&limit=2');
    expect(list).toMatchObject({ status: 200, body: { items: [{ key: expect.any(String) }, { key: expect.any(String) }], next: expect.any(String) } });
    const rest = await t.viewer.get(`/v1/approvals?status=pending&limit=2&after=${list.body.next}`);
    expect([...list.body.items, ...rest.body.items].map((a: { id: string }) => a.id).sort()).toEqual([p1.id, p2.id, p3.id].sort());
    expect(rest.body.next).toBeNull();
    expect(list.body.items[0]).toMatchObject({ actionType: 'order.autofix', agent: 'delivery', risk: 'medium', level: 'supervised', status: 'pending', preview: expect.any(String) });
    expect(list.body.items[0].params).toBeUndefined();
    const ids = async (q: string) => (await t.viewer.get(`/v1/approvals?${q}`)).body.items.map((a: { id: string }) => a.id);
    expect(await ids('olderThan=PT30M')).toEqual([p1.id]);
    expect(await ids('olderThan=1800')).toEqual([p1.id]);
    expect((await ids('olderThan=0')).sort()).toEqual([p1.id, p2.id, p3.id].sort());
    expect(await ids('actionType=email.send')).toEqual([]);
    expect(await ids('actionType=order.autofix&agent=delivery&risk=medium')).toHaveLength(3);
    expect(await ids('risk=high')).toEqual([]);

    const shown = await t.viewer.get(`/v1/approvals/${p1.id}`);
    expect(shown).toMatchObject({ status: 200, body: { id: p1.id, kind: 'order', key: 'O-1', preview: p1.preview, params: { orderId: 'O-1', fixes: expect.any(Array) } } });
    expect((await t.viewer.get('/v1/actors/order/O-1')).body.approvals).toEqual([expect.objectContaining({ id: p1.id, preview: p1.preview })]);
    problem(await t.viewer.get('/v1/approvals/nope'), 404, 'not_found');

    problem(await t.viewer.post(`/v1/approvals/${p1.id}/approve`, {}), 403, 'forbidden');
    const approved = await t.operator.post(`/v1/approvals/${p1.id}/approve`, { note: 'fine' });
    expect(approved).toMatchObject({ status: 200, body: { id: p1.id, status: 'approved', decidedBy: `token:${t.ids.operator}`, note: 'fine' } });
    const again = await t.operator.post(`/v1/approvals/${p1.id}/reject`);
    problem(again, 409, 'conflict');
    expect((await t.viewer.get(`/v1/approvals/${p1.id}`)).body).toMatchObject({ status: 'approved', note: 'fine' });
    await eventually(async () => (await t.viewer.get('/v1/actors/order/O-1')).body.state === 'accepted', 10_000, 'O-1 accepted');

    expect(await t.operator.post(`/v1/approvals/${p2.id}/reject`, { note: 'ask the client' })).toMatchObject({ status: 200, body: { status: 'rejected' } });
    await eventually(async () => (await t.viewer.get('/v1/actors/order/O-2')).body.state === 'exceptions.autofix.rejected', 10_000, 'O-2 rejected');
    problem(await t.operator.post('/v1/approvals/nope/approve'), 404, 'not_found');
    expect((await t.viewer.get('/v1/approvals?status=pending')).body.items.map((a: { id: string }) => a.id)).toEqual([p3.id]);
  });

  it('bulk: each id decided on its own, with its result; operators only', async () => {
    const t = await tenant();
    const a = await heldOrder(t, 'B-1');
    const b = await heldOrder(t, 'B-2');
    problem(await t.viewer.post('/v1/approvals/bulk', { ids: [a.id], decision: 'approve' }), 403, 'forbidden');
    await t.operator.post(`/v1/approvals/${b.id}/reject`);
    const res = await t.operator.post('/v1/approvals/bulk', { ids: [a.id, b.id, 'nope'], decision: 'approve', note: 'batch' });
    expect(res).toMatchObject({
      status: 200,
      body: {
        decided: 1,
        refused: 2,
        results: [{ id: a.id, ok: true, status: 'approved' }, { id: b.id, ok: false, code: 'conflict' }, { id: 'nope', ok: false, code: 'not_found' }],
      },
    });
    await eventually(async () => (await t.viewer.get('/v1/actors/order/B-1')).body.state === 'accepted', 10_000, 'B-1 accepted');
  });
});

describe('governance', () => {
  it('audit: newest first, by actor and agent, pages; names who decided', async () => {
    const t = await tenant();
    const p = await heldOrder(t, 'A-1');
    await t.operator.post(`/v1/approvals/${p.id}/approve`);
    await eventually(async () => (await t.viewer.get('/v1/audit?actor=order/A-1')).body.items.length === 3, 10_000, 'three audit entries');
    const all = await t.viewer.get('/v1/audit?actor=order/A-1');
    expect(all.body.items.map((e: { entry: string; outcome: string }) => `${e.entry}:${e.outcome}`)).toEqual(['execution:executed', 'approval:approved', 'decision:approval']);
    expect(all.body.items[1]).toMatchObject({ decidedBy: `token:${t.ids.operator}`, approvalId: p.id, actionType: 'order.autofix', kind: 'order', key: 'A-1' });
    const page = await t.viewer.get('/v1/audit?actor=order/A-1&limit=2');
    expect(page.body.items).toHaveLength(2);
    expect((await t.viewer.get(`/v1/audit?actor=order/A-1&limit=2&after=${page.body.next}`)).body).toMatchObject({ items: [{ outcome: 'approval' }], next: null });
    expect((await t.viewer.get(`/v1/audit?actor=order/A-1&before=${page.body.next}`)).body.items).toHaveLength(1);
    expect((await t.viewer.get('/v1/audit?agent=delivery&entry=approval')).body.items).toHaveLength(1);
    expect((await t.viewer.get('/v1/audit?actor=order/other')).body).toEqual({ items: [], next: null });
    expect((await t.viewer.get('/v1/audit?since=2030-01-01T00:00:00Z')).body.items).toEqual([]);
  });

  it('autonomy: viewers read, admins set levels (null clears), risks and limits; operators cannot', async () => {
    const t = await tenant();
    expect(await t.viewer.get('/v1/autonomy')).toMatchObject({ status: 200, body: { levels: [], risks: [], limits: [], switches: [], defaults: { level: 'supervised' } } });
    const change = {
      levels: [{ agent: 'delivery', actionType: 'order.autofix', level: 'autonomous' }, { level: 'semi_autonomous' }],
      risks: [{ actionType: 'email.send', risk: 'critical' }],
      limits: [{ actionType: 'email.send', perDay: 10 }],
    };
    problem(await t.operator.put('/v1/autonomy', change), 403, 'forbidden');
    const set = await t.tenantAdmin.put('/v1/autonomy', change);
    expect(set).toMatchObject({
      status: 200,
      body: {
        levels: [
          { agent: '*', actionType: '*', level: 'semi_autonomous', setBy: `token:${t.ids.admin}` },
          { agent: 'delivery', actionType: 'order.autofix', level: 'autonomous' },
        ],
        risks: [{ actionType: 'email.send', risk: 'critical' }],
        limits: [{ actionType: 'email.send', perDay: 10 }],
      },
    });
    const cleared = await t.tenantAdmin.put('/v1/autonomy', { levels: [{ agent: '*', actionType: '*', level: null }] });
    expect(cleared.body.levels).toEqual([expect.objectContaining({ agent: 'delivery' })]);
    expect((await t.viewer.get('/v1/autonomy')).body.levels).toHaveLength(1);
    problem(await t.tenantAdmin.put('/v1/autonomy', { levels: [{ level: 'reckless' }] }), 400, 'invalid_request');
    problem(await t.tenantAdmin.put('/v1/autonomy', { switches: [] }), 400, 'invalid_request');

    // The new level applies: the autofix runs without asking.
    await t.operator.post('/v1/actors/order/L-1/events?wait=true', broken);
    await eventually(async () => (await t.viewer.get('/v1/actors/order/L-1')).body.state === 'accepted', 10_000, 'L-1 accepted on its own');
  });

  it('proposals: listed after a streak of approvals; admins accept (the level is set) or dismiss, once', async () => {
    const t = await tenant();
    await rt.gate.settings.setTenantSettings(t.name, { learnAfter: 2 }, 'test');
    for (const k of ['P-1', 'P-2']) {
      const p = await heldOrder(t, k);
      await t.operator.post(`/v1/approvals/${p.id}/approve`);
    }
    const listed = await t.viewer.get('/v1/autonomy/proposals');
    expect(listed).toMatchObject({ status: 200, body: { items: [{ agent: 'delivery', actionType: 'order.autofix', fromLevel: 'supervised', toLevel: 'autonomous', streak: 2, status: 'proposed' }], next: null } });
    const id = listed.body.items[0].id as string;
    problem(await t.operator.post(`/v1/autonomy/proposals/${id}/accept`), 403, 'forbidden');
    expect(await t.tenantAdmin.post(`/v1/autonomy/proposals/${id}/accept`, { note: 'earned it' })).toMatchObject({
      status: 200,
      body: { id, status: 'accepted', decidedBy: `token:${t.ids.admin}`, note: 'earned it' },
    });
    problem(await t.tenantAdmin.post(`/v1/autonomy/proposals/${id}/dismiss`), 409, 'conflict');
    problem(await t.tenantAdmin.post('/v1/autonomy/proposals/nope/dismiss'), 404, 'not_found');
    expect((await t.viewer.get('/v1/autonomy')).body.levels).toEqual([expect.objectContaining({ agent: 'delivery', actionType: 'order.autofix', level: 'autonomous' })]);
    expect((await t.viewer.get('/v1/autonomy/proposals')).body.items).toEqual([]);
    expect((await t.viewer.get('/v1/autonomy/proposals?status=all')).body.items).toHaveLength(1);
  });

  it('the kill switch: operators pause and resume their tenant; only the instance admin switches every tenant', async () => {
    const t = await tenant();
    const u = await tenant();
    problem(await t.viewer.post('/v1/pause'), 403, 'forbidden');
    expect(await t.operator.post('/v1/pause', { reason: 'incident' })).toMatchObject({ status: 200, body: { scope: t.name, paused: true, reason: 'incident', changedBy: `token:${t.ids.operator}` } });
    expect((await t.viewer.get('/v1/autonomy')).body.switches).toEqual([expect.objectContaining({ scope: t.name, paused: true, reason: 'incident' })]);
    expect((await u.viewer.get('/v1/autonomy')).body.switches).toEqual([]);
    // While paused the gate blocks the autofix.
    await t.operator.post('/v1/actors/order/K-1/events?wait=true', broken);
    await eventually(async () => (await t.viewer.get('/v1/actors/order/K-1')).body.state === 'exceptions.autofix.blocked', 10_000, 'K-1 blocked');
    expect(await t.operator.post('/v1/resume', {})).toMatchObject({ status: 200, body: { scope: t.name, paused: false } });

    problem(await t.tenantAdmin.post('/v1/pause', { scope: 'global' }), 403, 'forbidden');
    problem(await t.admin.post('/v1/pause', {}, {}), 400, 'tenant_required');
    expect(await t.admin.post('/v1/pause', { scope: 'global', reason: 'all stop' }, {})).toMatchObject({ status: 200, body: { scope: 'global', paused: true, changedBy: 'token:instance-admin' } });
    expect((await u.viewer.get('/v1/autonomy')).body.switches).toEqual([expect.objectContaining({ scope: 'global', paused: true })]);
    expect(await t.admin.post('/v1/resume', { scope: 'global' }, {})).toMatchObject({ status: 200, body: { scope: 'global', paused: false } });
    expect((await u.viewer.get('/v1/autonomy')).body.switches).toEqual([expect.objectContaining({ scope: 'global', paused: false })]);
  });
});

describe('row-level security', () => {
  /** `rt.db` replaced by one that records each statement: run as the owner, or inside a transaction after the scope (role cadre_tenant, the tenant set). */
  function recordingDb(real: Database) {
    const seen = { owner: [] as string[], walled: [] as string[] };
    const db: Database = {
      kind: real.kind,
      query: <T extends Row = Row>(text: string, params?: unknown[]) => (seen.owner.push(text), real.query<T>(text, params)),
      exec: (text: string) => (seen.owner.push(text), real.exec(text)),
      transaction: <T>(fn: (tx: Transaction) => Promise<T>) =>
        real.transaction((tx) => {
          let scoped = false;
          return fn({
            query: <R extends Row = Row>(text: string, params?: unknown[]) => {
              if (text === SCOPE_SQL) scoped = true;
              (scoped ? seen.walled : seen.owner).push(text);
              return tx.query<R>(text, params);
            },
            exec: (text: string) => ((scoped ? seen.walled : seen.owner).push(text), tx.exec(text)),
          });
        }),
      ping: () => real.ping(),
      close: () => real.close(),
    };
    return { db, seen };
  }

  it('every GET route reads each of its tables as cadre_tenant with its tenant set, never as the table owner', async () => {
    const t = await tenant();
    const held = await heldOrder(t, 'W-1'); // an approval, its pending effect, audit entries
    await t.operator.post('/v1/actors/counter/W-2/events?wait=true', { type: 'remind', minutes: 5 }); // a timer
    await t.operator.post('/v1/actors/counter/W-2/pause');
    await t.operator.post('/v1/actors/counter/W-2/events?wait=true', { type: 'add', i: 1 }); // a held message
    await t.operator.post('/v1/actors/counter/W-3/events?wait=true', { type: 'boom' }); // a dead letter

    // Each route, and the tables it reads: every one of them must be read under the wall
    // (a read through a service made on the owner's database would not be recorded at all).
    const actor = ['actors', 'timers', 'effects', 'held_messages', 'approvals'];
    const gets: [typeof t.viewer, string, number, string[]][] = [
      [t.viewer, '/v1/actors?kind=order', 200, ['actors']],
      [t.viewer, '/v1/actors/order/W-1', 200, actor],
      [t.viewer, '/v1/actors/counter/W-2', 200, actor],
      [t.viewer, '/v1/actors/order/W-1/history', 200, ['journal']],
      [t.viewer, '/v1/actors/counter/nobody', 404, ['actors']],
      [t.viewer, '/v1/actors/counter/nobody/history', 404, ['journal', 'actors']],
      [t.viewer, '/v1/dead-letters', 200, ['dead_letters']],
      [t.viewer, '/v1/approvals?status=pending', 200, ['approvals']],
      [t.viewer, `/v1/approvals/${held.id}`, 200, ['approvals']],
      [t.viewer, '/v1/approvals/nope', 404, ['approvals']],
      [t.viewer, '/v1/audit', 200, ['audit_log']],
      [t.viewer, '/v1/autonomy', 200, ['autonomy_levels', 'action_risks', 'rate_limits', 'gate_switches', 'gate_settings']],
      [t.viewer, '/v1/autonomy/proposals?status=all', 200, ['autonomy_proposals']],
      [t.viewer, '/v1/tenants', 200, ['tenants']],
      [t.tenantAdmin, '/v1/tokens', 200, ['api_tokens']],
      [t.admin as typeof t.viewer, '/v1/actors/order/W-1', 200, actor],
    ];
    const real = rt.db;
    const after: Res[] = [];
    try {
      for (const [who, url, status, tables] of gets) {
        const { db, seen } = recordingDb(real);
        rt.db = db;
        const res = await who.get(url);
        rt.db = real;
        expect(res.status, url).toBe(status);
        expect(seen.owner.filter((q) => !/delivery_attempts/.test(q)), url).toEqual([]); // (the runtime's own maintenance may run meanwhile)
        for (const table of tables) expect(seen.walled.some((q) => new RegExp(`\\bFROM ${table}\\b`).test(q)), `${url} reads ${table} under the wall`).toBe(true);
        after.push(res);
      }
    } finally {
      rt.db = real;
    }
    expect((after[1]!.body as { approvals: unknown[] }).approvals).toHaveLength(1);
    expect(after[2]!.body).toMatchObject({ heldMessages: 1, timers: [expect.any(Object)] });
  });
});

describe('the instance admin and the OpenAPI document', () => {
  it('the instance admin acts on the tenant it names, which must exist', async () => {
    const t = await tenant();
    await t.operator.post('/v1/actors/counter/C-1/events?wait=true', { type: 'add', i: 1 });
    expect((await t.admin.get('/v1/actors/counter/C-1')).body).toMatchObject({ key: 'C-1', seq: 1 });
    expect((await t.admin.get(`/v1/actors?kind=counter&tenant=${t.name}`)).body.items).toHaveLength(1);
    const noTenant = await app.inject({ method: 'GET', url: '/v1/approvals', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(noTenant.statusCode).toBe(400);
    expect(noTenant.json()).toMatchObject({ code: 'tenant_required' });
    const unknown = await app.inject({ method: 'GET', url: '/v1/approvals', headers: { authorization: `Bearer ${ADMIN}`, 'x-cadre-tenant': 'nobody-here' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'unknown_tenant' });
  });

  it('documents every route at /docs/json', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /v1/actors', 'GET /v1/actors/{kind}/{key}', 'GET /v1/actors/{kind}/{key}/history', 'POST /v1/actors/{kind}/{key}/events',
        'POST /v1/actors/{kind}/{key}/pause', 'POST /v1/actors/{kind}/{key}/resume', 'POST /v1/actors/{kind}/{key}/stop',
        'GET /v1/dead-letters', 'POST /v1/dead-letters/{id}/replay', 'POST /v1/dead-letters/{id}/discard',
        'GET /v1/approvals', 'GET /v1/approvals/{id}', 'POST /v1/approvals/{id}/approve', 'POST /v1/approvals/{id}/reject', 'POST /v1/approvals/bulk',
        'GET /v1/audit', 'GET /v1/autonomy', 'PUT /v1/autonomy', 'GET /v1/autonomy/proposals',
        'POST /v1/autonomy/proposals/{id}/accept', 'POST /v1/autonomy/proposals/{id}/dismiss', 'POST /v1/pause', 'POST /v1/resume',
      ]),
    );
  });

  it('olderThan takes seconds or an ISO 8601 duration', () => {
    expect([durationSeconds('90'), durationSeconds('PT1H30M'), durationSeconds('P1DT2H'), durationSeconds('P2W'), durationSeconds('PT0.5S')]).toEqual([90, 5400, 93_600, 1_209_600, 0.5]);
    expect([durationSeconds('P'), durationSeconds('PT'), durationSeconds('1h'), durationSeconds('-5'), durationSeconds('P1DT')]).toEqual([null, null, null, null, null]);
  });
});
