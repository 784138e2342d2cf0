import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { orderEntity } from '../../machines/index.ts';
import type { Runtime } from '../../runtime/index.ts';
import { buildGateway } from '../../runtime/gateway/index.ts';
import { Tokens } from '../../runtime/gateway/tokens.ts';
import { coreRoutes } from '../../runtime/gateway/routes/index.ts';
import { counterEntity } from '../support/machines.ts';
import { makeEnv, type TestEnv } from '../support/runtime.ts';

/**
 * Bad input on every core route: malformed JSON, wrong types, oversized bodies
 * (over CADRE_MAX_MESSAGE_BYTES), unknown routes, missing, malformed, unknown and
 * revoked tokens, too weak a role. Always a 4xx `application/problem+json` with a
 * stable `code`; never a 5xx; and nothing changes.
 */

const ADMIN = `admin-${randomBytes(12).toString('hex')}`;
const MAX = 8192;
const T = 'acme';
let env: TestEnv;
let rt: Runtime;
let app: FastifyInstance;
const secret = { viewer: '', operator: '', admin: '', revoked: '' };

beforeAll(async () => {
  env = await makeEnv('services');
  rt = await env.start({ entities: [orderEntity, counterEntity], overrides: { partitions: 1, maxMessageBytes: MAX } });
  app = await buildGateway(rt, { adminToken: ADMIN }, coreRoutes);
  await app.ready();
  const tokens = new Tokens(rt.db, rt.clock, ADMIN);
  await tokens.createTenant(T, 'Acme', 'test');
  for (const role of ['viewer', 'operator', 'admin'] as const) secret[role] = (await tokens.create(T, role, role, 'test')).secret;
  const revoked = await tokens.create(T, 'admin', 'gone', 'test');
  await tokens.revoke(revoked.id, T, 'test');
  secret.revoked = revoked.secret;
  // Something to leave untouched: an actor with a dead letter.
  await rt.send.send({ tenant: T, kind: 'counter', key: 'C-1' }, { type: 'add', i: 1 }, { wait: true });
  await rt.send.send({ tenant: T, kind: 'counter', key: 'C-1' }, { type: 'boom' }, { wait: true });
});
afterAll(async () => {
  await app?.close();
  await env?.cleanup();
});

type Role = 'viewer' | 'operator' | 'admin';
interface Route {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  role: Role;
  /** Query strings (appended to `url`'s path) whose values have the wrong type or shape. */
  badQueries?: string[];
  /** JSON bodies of the wrong shape or types. */
  badBodies?: unknown[];
}

const nested = (depth: number) => `{"type":"add","i":1,"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;

const ROUTES: Route[] = [
  { method: 'GET', url: '/v1/actors?kind=counter', role: 'viewer', badQueries: ['', 'kind=bad.kind', 'kind=counter&limit=0', 'kind=counter&limit=abc', 'kind=counter&limit=1e9', 'kind=counter&limit=1&limit=2', 'kind=counter&state=no%20spaces', 'kind=counter&after=not-a-cursor', `kind=${'k'.repeat(101)}`] },
  { method: 'GET', url: '/v1/actors/counter/C-1', role: 'viewer' },
  { method: 'GET', url: '/v1/actors/counter/C-1/history', role: 'viewer', badQueries: ['after=-1', 'after=x', 'limit=0', 'limit=501'] },
  {
    method: 'POST', url: '/v1/actors/counter/C-9/events', role: 'operator',
    badBodies: [{}, { type: 5 }, { type: '' }, { type: 'x'.repeat(201) }, { type: 'add' }, { type: 'add', i: 'one' }, { type: 'cadre.timer.fire' }, { type: 'xstate.init' }, [{ type: 'add', i: 1 }], 'add', 7, null],
    badQueries: ['wait=maybe'],
  },
  { method: 'POST', url: '/v1/actors/counter/C-1/pause', role: 'operator', badBodies: [{ reason: 5 }, { reason: 'r'.repeat(1001) }, [], 'pause'] },
  { method: 'POST', url: '/v1/actors/counter/C-1/resume', role: 'operator', badBodies: [{ reason: ['x'] }] },
  { method: 'POST', url: '/v1/actors/counter/C-1/stop', role: 'operator', badBodies: [{ reason: {} }, 1] },
  { method: 'GET', url: '/v1/dead-letters', role: 'viewer', badQueries: ['status=lost', 'limit=-5', 'after=abc', 'kind=a/b'] },
  { method: 'POST', url: '/v1/dead-letters/999999/replay', role: 'operator' },
  { method: 'POST', url: '/v1/dead-letters/999999/discard', role: 'operator' },
  { method: 'GET', url: '/v1/approvals', role: 'viewer', badQueries: ['status=maybe', 'risk=extreme', 'limit=1000', 'olderThan=yesterday', 'olderThan=P', 'after=%%%', `after=${Buffer.from('{"t":"no","id":1}').toString('base64url')}`, `agent=${'a'.repeat(201)}`] },
  { method: 'GET', url: '/v1/approvals/apr_none', role: 'viewer' },
  { method: 'POST', url: '/v1/approvals/apr_none/approve', role: 'operator', badBodies: [{ note: 1 }, { note: 'n'.repeat(2001) }, []] },
  { method: 'POST', url: '/v1/approvals/apr_none/reject', role: 'operator', badBodies: [{ note: false }] },
  {
    method: 'POST', url: '/v1/approvals/bulk', role: 'operator',
    badBodies: [{}, { ids: [], decision: 'approve' }, { ids: 'apr_1', decision: 'approve' }, { ids: ['apr_1'], decision: 'maybe' }, { ids: [1], decision: 'reject' }, { ids: Array.from({ length: 501 }, (_, i) => `a${i}`), decision: 'approve' }, null],
  },
  { method: 'GET', url: '/v1/audit', role: 'viewer', badQueries: ['actor=order', 'actor=a/b/c', 'since=yesterday', 'since=2026-13-45T00:00:00Z', 'entry=other', 'limit=0', 'before=-1', 'after=x'] },
  { method: 'GET', url: '/v1/autonomy', role: 'viewer' },
  {
    method: 'PUT', url: '/v1/autonomy', role: 'admin',
    badBodies: [{ levels: [{ level: 'reckless' }] }, { levels: [{ agent: 'bad agent!', level: 'autonomous' }] }, { risks: [{ actionType: '*', risk: 'low' }] }, { risks: [{ actionType: 'email.send', risk: 'none' }] }, { limits: [{ actionType: 'email.send', perDay: -1 }] }, { limits: [{ actionType: 'email.send', perDay: 1.5 }] }, { levels: 'all' }, { switches: [] }, [], null],
  },
  { method: 'GET', url: '/v1/autonomy/proposals', role: 'viewer', badQueries: ['status=maybe'] },
  { method: 'POST', url: '/v1/autonomy/proposals/prop_none/accept', role: 'admin', badBodies: [{ note: 3 }] },
  { method: 'POST', url: '/v1/autonomy/proposals/prop_none/dismiss', role: 'admin', badBodies: [[]] },
  { method: 'POST', url: '/v1/pause', role: 'operator', badBodies: [{ scope: 'universe' }, { reason: 1 }, []] },
  { method: 'POST', url: '/v1/resume', role: 'operator', badBodies: [{ scope: 1 }] },
];

const WEAKER: Record<Role, Role | null> = { viewer: null, operator: 'viewer', admin: 'operator' };
const hasBody = (r: Route) => r.method !== 'GET';
const pathOf = (url: string) => url.split('?')[0]!;

async function send(opts: InjectOptions & { token?: string | null }) {
  const { token, ...rest } = opts;
  const headers = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(rest.headers ?? {}) };
  return app.inject({ ...rest, headers });
}

/** A 4xx problem document with a stable code (and the status asked for, when given). */
function expectProblem(res: Awaited<ReturnType<typeof send>>, what: string, status?: number | number[], code?: string) {
  expect(res.statusCode, `${what}: ${res.body}`).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, `${what}: ${res.body}`).toBeLessThan(500);
  if (status !== undefined) expect([status].flat(), `${what}: ${res.body}`).toContain(res.statusCode);
  expect(res.headers['content-type'], what).toContain('application/problem+json');
  const body = res.json() as { status: number; code: string; requestId: string; detail: string };
  expect(body.code, what).toMatch(/^[a-z_]+$/);
  expect(body.status, what).toBe(res.statusCode);
  expect(body.requestId, what).toBe(res.headers['x-request-id']);
  expect(typeof body.detail, what).toBe('string');
  if (code) expect(body.code, what).toBe(code);
}

/** What bad input must leave as it was. */
async function snapshot() {
  const [actors, deadLetters, switches, levels, journal] = await Promise.all([
    rt.db.query(`SELECT kind, key, seq, status FROM actors WHERE tenant = $1 ORDER BY kind, key`, [T]),
    rt.db.query(`SELECT id, status FROM dead_letters WHERE tenant = $1 ORDER BY id`, [T]),
    rt.db.query(`SELECT tenant, paused FROM gate_switches ORDER BY tenant`),
    rt.db.query(`SELECT agent, action_type, level FROM autonomy_levels ORDER BY agent, action_type`),
    rt.db.query(`SELECT count(*)::int AS n FROM journal`),
  ]);
  return { actors, deadLetters, switches, levels, journal };
}

describe('bad input on every route', () => {
  it.each(ROUTES.map((r) => [`${r.method} ${pathOf(r.url)}`, r] as const))('%s: missing, malformed, unknown and revoked tokens, too weak a role', async (_name, r) => {
    const before = await snapshot();
    const body = hasBody(r) ? { payload: {} } : {};
    const cases: [string, InjectOptions & { token?: string | null }, number, string][] = [
      ['no token', { method: r.method, url: r.url, ...body }, 401, 'unauthorized'],
      ['unknown token', { method: r.method, url: r.url, token: `cdr_${randomBytes(8).toString('hex')}_nope`, ...body }, 401, 'unauthorized'],
      ['revoked token', { method: r.method, url: r.url, token: secret.revoked, ...body }, 401, 'unauthorized'],
      ['overlong token', { method: r.method, url: r.url, token: 'x'.repeat(5000), ...body }, 401, 'unauthorized'],
      ['basic auth', { method: r.method, url: r.url, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, ...body }, 401, 'unauthorized'],
      ['bearer without a token', { method: r.method, url: r.url, headers: { authorization: 'Bearer ' }, ...body }, 401, 'unauthorized'],
      ['the token in the query', { method: r.method, url: `${r.url}${r.url.includes('?') ? '&' : '?'}token=${secret.admin}`, ...body }, 401, 'unauthorized'],
      ['the instance admin naming no tenant', { method: r.method, url: r.url, token: ADMIN, ...body }, 400, 'tenant_required'],
      ['the instance admin naming a malformed tenant', { method: r.method, url: r.url, token: ADMIN, headers: { 'x-cadre-tenant': 'no such/tenant' }, ...body }, 400, 'invalid_tenant'],
      ['a tenant token naming another tenant', { method: r.method, url: r.url, token: secret.admin, headers: { 'x-cadre-tenant': 'other' }, ...body }, 403, 'forbidden'],
    ];
    const weaker = WEAKER[r.role];
    if (weaker) cases.push([`a ${weaker} token`, { method: r.method, url: r.url, token: secret[weaker], ...body }, 403, 'forbidden']);
    for (const [what, opts, status, code] of cases) expectProblem(await send(opts), what, status, code);
    expect(await snapshot()).toEqual(before);
  });

  it.each(ROUTES.filter(hasBody).map((r) => [`${r.method} ${pathOf(r.url)}`, r] as const))('%s: malformed JSON, wrong media type, oversized, wrong types', async (_name, r) => {
    const before = await snapshot();
    const as = { method: r.method, url: r.url, token: secret[r.role] };
    const json = { 'content-type': 'application/json' };
    const raw: [string, string, Record<string, string>, number | number[], string?][] = [
      ['truncated JSON', '{"type":', json, 400, 'invalid_json'],
      ['not JSON at all', 'type=add&i=1', json, 400, 'invalid_json'],
      ['a trailing comma', '{"reason":"x",}', json, 400, 'invalid_json'],
      ['an empty JSON body', '', json, 400, 'invalid_json'],
      ['a prototype-poisoning body', '{"__proto__":{"admin":true},"type":"add","i":1}', json, 400, 'invalid_json'],
      ['a constructor-poisoning body', '{"constructor":{"prototype":{"admin":true}},"type":"add","i":1}', json, 400, 'invalid_json'],
      ['form encoding', 'type=add', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
      ['plain text', '{"type":"add","i":1}', { 'content-type': 'text/plain' }, [400, 404, 415]],
      ['XML', '<event type="add"/>', { 'content-type': 'application/xml' }, 415, 'unsupported_media_type'],
      ['oversized (over CADRE_MAX_MESSAGE_BYTES)', JSON.stringify({ type: 'add', i: 1, reason: 'x', pad: 'p'.repeat(MAX) }), json, 413, 'payload_too_large'],
      ['oversized, many small fields', JSON.stringify(Object.fromEntries(Array.from({ length: MAX / 4 }, (_, i) => [`f${i}`, i]))), json, 413, 'payload_too_large'],
    ];
    for (const [what, payload, headers, status, code] of raw) expectProblem(await send({ ...as, payload, headers }), what, status, code);
    for (const bad of r.badBodies ?? []) expectProblem(await send({ ...as, payload: JSON.stringify(bad), headers: json }), `body ${JSON.stringify(bad).slice(0, 80)}`, [400, 422]);
    expect(await snapshot()).toEqual(before);
  });

  it.each(ROUTES.filter((r) => r.badQueries?.length).map((r) => [`${r.method} ${pathOf(r.url)}`, r] as const))('%s: query parameters of the wrong type or shape', async (_name, r) => {
    const before = await snapshot();
    const valid = r.method === 'GET' ? {} : { payload: { type: 'add', i: 1 } };
    for (const q of r.badQueries!) {
      expectProblem(await send({ method: r.method, url: `${pathOf(r.url)}?${q}`, token: secret[r.role], ...valid }), `?${q}`, 400);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('the codes of refused queries', async () => {
    const codes: [string, string][] = [
      ['/v1/actors?kind=counter&after=not-a-cursor', 'invalid_query'],
      ['/v1/actors?kind=counter&state=no%20spaces', 'invalid_query'],
      ['/v1/actors?kind=counter&limit=0', 'invalid_request'],
      ['/v1/approvals?after=%25%25', 'invalid_cursor'],
      ['/v1/approvals?olderThan=soon', 'invalid_request'],
      ['/v1/audit?since=yesterday', 'invalid_request'],
    ];
    for (const [url, code] of codes) expectProblem(await send({ method: 'GET', url, token: secret.viewer }), url, 400, code);
  });

  it('malformed path parameters', async () => {
    const bad: [string, string, Role][] = [
      ['GET', '/v1/actors/bad.kind/C-1', 'viewer'],
      ['GET', '/v1/actors/counter/a%20b', 'viewer'],
      ['GET', '/v1/actors/counter/%C3%A9t%C3%A9/history', 'viewer'],
      ['POST', '/v1/actors/count%2Fer/C-1/events', 'operator'],
      ['POST', '/v1/actors/counter/C-1%00/pause', 'operator'],
      ['POST', '/v1/dead-letters/abc/replay', 'operator'],
      ['POST', '/v1/dead-letters/-1/discard', 'operator'],
      ['POST', '/v1/dead-letters/1.5/discard', 'operator'],
      ['POST', '/v1/dead-letters/99999999999999999999/replay', 'operator'],
      ['GET', `/v1/approvals/${'a'.repeat(99)}%20`, 'viewer'],
      ['POST', '/v1/autonomy/proposals/a.b/accept', 'admin'],
    ];
    for (const [method, url, role] of bad) {
      expectProblem(await send({ method: method as 'GET', url, token: secret[role], ...(method === 'POST' ? { payload: { type: 'add', i: 1 } } : {}) }), `${method} ${url}`, 400);
    }
  });

  it('events: unknown kinds, reserved types, refused events, a bad Idempotency-Key, deep nesting, and a body that fits the limit but not its envelope', async () => {
    const op = { method: 'POST' as const, token: secret.operator, headers: { 'content-type': 'application/json' } };
    expectProblem(await send({ ...op, url: '/v1/actors/widget/W-1/events', payload: '{"type":"add","i":1}' }), 'unknown kind', 404, 'unknown_kind');
    expectProblem(await send({ ...op, url: '/v1/actors/counter/C-2/events', payload: '{"type":"cadre.control.stop","by":"x"}' }), 'reserved', 400, 'reserved_event');
    expectProblem(await send({ ...op, url: '/v1/actors/counter/C-2/events', payload: '{"type":"add","i":0}' }), 'invalid event', 422, 'invalid_event');
    expectProblem(await send({ ...op, url: '/v1/actors/counter/C-1/events?wait=true', payload: '{"type":"boom"}' }), 'refused', 422, 'event_refused');
    expectProblem(await send({ ...op, url: '/v1/actors/counter/C-2/events', payload: '{"type":"add","i":1}', headers: { ...op.headers, 'idempotency-key': 'with space' } }), 'bad idempotency key', 400);
    const deep = await send({ ...op, url: '/v1/actors/counter/C-3/events?wait=true', payload: nested(3000) });
    expect(deep.statusCode, deep.body).toBeLessThan(500);
    const near = JSON.stringify({ type: 'add', i: 1, pad: 'p'.repeat(MAX - 60) });
    expect(Buffer.byteLength(near)).toBeLessThan(MAX);
    expectProblem(await send({ ...op, url: '/v1/actors/counter/C-4/events', payload: near }), 'too large for its envelope', 413, 'payload_too_large');
    expect(await rt.operator.actor({ tenant: T, kind: 'counter', key: 'C-4' })).toBeUndefined();
  });

  it('unknown routes and methods: 404 problems, with a token or without', async () => {
    const urls: [string, string][] = [
      ['GET', '/'], ['GET', '/v1'], ['GET', '/v1/nothing'], ['GET', '/v2/actors?kind=counter'], ['GET', '/v1/actors/counter'],
      ['GET', '/v1/actors/counter/C-1/extra'], ['DELETE', '/v1/actors/counter/C-1'], ['PATCH', '/v1/approvals/apr_1'],
      ['POST', '/v1/actors'], ['PUT', '/v1/approvals/bulk'], ['GET', '/v1/approvals/bulk/approve'], ['POST', '/v1/autonomy'],
      ['DELETE', '/v1/autonomy'], ['GET', '/v1/pause'], ['POST', '/v1/actors/counter/C-1/explode'],
    ];
    for (const [method, url] of urls) {
      for (const token of [null, secret.admin]) expectProblem(await send({ method: method as 'GET', url, token }), `${method} ${url}`, 404, 'not_found');
    }
  });

  // Refused by the router before any route runs: answered by Fastify's `frameworkErrors` (runtime/gateway/app.ts).
  it('a malformed URL or an overlong path segment is a 4xx problem', async () => {
    for (const url of ['/v1/actors/%E0%A4%A/x', '/v1/approvals/%', `/v1/actors/counter/${'k'.repeat(101)}`, `/v1/approvals/${'a'.repeat(300)}/approve`]) {
      expectProblem(await send({ method: 'GET', url, token: secret.viewer }), url);
    }
  });
});
