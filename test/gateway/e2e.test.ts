import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { orderEntity } from '../../machines/index.ts';
import type { Runtime } from '../../runtime/index.ts';
import { buildGateway } from '../../runtime/gateway/index.ts';
import { Tokens } from '../../runtime/gateway/tokens.ts';
import { coreRoutes } from '../../runtime/gateway/routes/index.ts';
import { counterEntity } from '../support/machines.ts';
import { eventually, makeEnv, type TestEnv } from '../support/runtime.ts';
import { broken, fixes } from '../support/fixtures/order.ts';

/**
 * The gateway's acceptance over real HTTP (a listening Fastify and fetch), on
 * PostgreSQL + NATS: an order's auto-fix held under supervised autonomy is
 * approved through the API and the order moves on, with the approver in the
 * audit log; and a tenant's token reaches nothing of another tenant.
 */

const ADMIN = `admin-${randomBytes(12).toString('hex')}`;
let env: TestEnv;
let rt: Runtime;
let app: FastifyInstance;
let tokens: Tokens;
let base: string;

beforeAll(async () => {
  env = await makeEnv('services');
  rt = await env.start({ entities: [orderEntity, counterEntity], overrides: { partitions: 1 } });
  app = await buildGateway(rt, { adminToken: ADMIN }, coreRoutes);
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  tokens = new Tokens(rt.db, rt.clock, ADMIN);
});
afterAll(async () => {
  await app?.close();
  await env?.cleanup();
});

type Res = { status: number; type: string; body: any };

async function http(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : undefined };
}

/** A tenant with a token of each role. */
async function tenant(name: string) {
  await tokens.createTenant(name, name, 'test');
  const made = Object.fromEntries(
    await Promise.all((['viewer', 'operator', 'admin'] as const).map(async (role) => [role, await tokens.create(name, role, `${name}-${role}`, 'test')] as const)),
  );
  const as = (role: 'viewer' | 'operator' | 'admin') => (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    http(made[role]!.secret, method, path, body, headers);
  return { name, ids: { viewer: made.viewer!.id, operator: made.operator!.id, admin: made.admin!.id }, viewer: as('viewer'), operator: as('operator'), admin: as('admin') };
}

describe('the gateway over HTTP', () => {
  it("an order's auto-fix held under supervised autonomy is listed with its preview, approved, and the order moves on; the audit log names the approver", async () => {
    const acme = await tenant('acme');
    const sent = await acme.operator('POST', '/v1/actors/order/O-1/events?wait=true', broken);
    expect(sent).toMatchObject({ status: 200, body: { ok: true, state: 'exceptions.autofix.deciding' } });

    // The gate holds it for a person: supervised is the default level.
    const queue = await eventually(async () => {
      const r = await acme.viewer('GET', '/v1/approvals?status=pending');
      return r.body.items.length > 0 ? r : undefined;
    }, 10_000, 'the approval in the queue');
    expect(queue.body.items).toEqual([
      expect.objectContaining({ kind: 'order', key: 'O-1', actionType: 'order.autofix', agent: 'delivery', risk: 'medium', level: 'supervised', status: 'pending', preview: expect.stringMatching(/\S/) }),
    ]);
    const approval = queue.body.items[0] as { id: string; preview: string };
    expect((await acme.viewer('GET', `/v1/approvals/${approval.id}`)).body).toMatchObject({ preview: approval.preview, params: { orderId: 'O-1', fixes } });
    const waiting = await acme.viewer('GET', '/v1/actors/order/O-1');
    expect(waiting.body).toMatchObject({ state: 'exceptions.autofix.awaitingApproval', approvals: [{ id: approval.id }] });

    const approved = await acme.operator('POST', `/v1/approvals/${approval.id}/approve`, { note: 'pricing from the catalogue' });
    expect(approved).toMatchObject({ status: 200, body: { status: 'approved', decidedBy: `token:${acme.ids.operator}` } });

    const accepted = await eventually(async () => {
      const r = await acme.viewer('GET', '/v1/actors/order/O-1');
      return r.body.state === 'accepted' ? r : undefined;
    }, 15_000, 'the order accepted');
    expect(accepted.body).toMatchObject({ status: 'active', context: { techFee: 25, total: 475 }, approvals: [] });

    const audit = await acme.viewer('GET', '/v1/audit?actor=order/O-1');
    expect(audit.body.items.map((e: { entry: string; outcome: string }) => `${e.entry}:${e.outcome}`)).toEqual(['execution:executed', 'approval:approved', 'decision:approval']);
    expect(audit.body.items[1]).toMatchObject({ decidedBy: `token:${acme.ids.operator}`, approvalId: approval.id, reason: 'pricing from the catalogue' });
    expect((await acme.operator('POST', `/v1/approvals/${approval.id}/approve`)).status).toBe(409);
  });

  it("tenant isolation: with tenant A's tokens every route on tenant B's actors, approvals, audit, dead letters and settings is refused or empty", async () => {
    const a = await tenant('tenant-a');
    const b = await tenant('tenant-b');
    // B: a held order, a dead letter, an accepted order and a proposal (learning after one approval).
    await rt.gate.settings.setTenantSettings(b.name, { learnAfter: 1 }, 'test');
    await b.operator('POST', '/v1/actors/order/B-1/events?wait=true', broken);
    const first = await eventually(async () => (await b.viewer('GET', '/v1/approvals?status=pending')).body.items[0] as { id: string } | undefined, 10_000, "B's first approval");
    await b.operator('POST', `/v1/approvals/${first.id}/approve`);
    await b.operator('POST', '/v1/actors/order/B-2/events?wait=true', broken);
    const held = await eventually(async () => (await b.viewer('GET', '/v1/approvals?status=pending')).body.items[0] as { id: string } | undefined, 10_000, "B's held approval");
    await b.operator('POST', '/v1/actors/counter/B-3/events?wait=true', { type: 'boom' });
    const deadLetter = (await b.viewer('GET', '/v1/dead-letters')).body.items[0] as { id: number };
    const proposal = (await b.viewer('GET', '/v1/autonomy/proposals')).body.items[0] as { id: string };
    expect(deadLetter && proposal).toBeTruthy();
    const before = (await b.viewer('GET', '/v1/actors/order/B-2')).body as { seq: number; state: string };
    const autonomyBefore = (await b.viewer('GET', '/v1/autonomy')).body;
    const auditBefore = (await b.viewer('GET', '/v1/audit')).body.items.length as number;

    // A's own things, so that empty answers are not empty for want of data.
    await a.operator('POST', '/v1/actors/counter/A-1/events?wait=true', { type: 'add', i: 1 });

    const refused: [string, string, unknown?][] = [
      ['GET', '/v1/actors/order/B-2'],
      ['GET', '/v1/actors/order/B-2/history'],
      ['POST', '/v1/actors/order/B-2/pause', {}],
      ['POST', '/v1/actors/order/B-2/resume', {}],
      ['POST', '/v1/actors/order/B-2/stop', {}],
      ['GET', `/v1/approvals/${held.id}`],
      ['POST', `/v1/approvals/${held.id}/approve`, {}],
      ['POST', `/v1/approvals/${held.id}/reject`, {}],
      ['POST', `/v1/dead-letters/${deadLetter.id}/replay`],
      ['POST', `/v1/dead-letters/${deadLetter.id}/discard`],
      ['POST', `/v1/autonomy/proposals/${proposal.id}/accept`, {}],
      ['POST', `/v1/autonomy/proposals/${proposal.id}/dismiss`, {}],
    ];
    for (const [method, path, body] of refused) {
      const r = await a.admin(method, path, body);
      expect([r.status, r.body?.code], `${method} ${path}`).toEqual([404, 'not_found']);
    }

    const empty: string[] = [
      '/v1/actors?kind=order',
      '/v1/approvals',
      `/v1/approvals?status=pending`,
      '/v1/audit',
      '/v1/audit?actor=order/B-2',
      '/v1/dead-letters',
      '/v1/autonomy/proposals?status=all',
    ];
    for (const path of empty) {
      const r = await a.viewer('GET', path);
      expect([r.status, r.body.items], path).toEqual([200, []]);
    }
    expect((await a.viewer('GET', '/v1/actors?kind=counter')).body.items.map((x: { key: string }) => x.key)).toEqual(['A-1']);

    const bulk = await a.operator('POST', '/v1/approvals/bulk', { ids: [held.id, first.id], decision: 'reject' });
    expect(bulk.body).toMatchObject({ decided: 0, results: [{ ok: false, code: 'not_found' }, { ok: false, code: 'not_found' }] });

    // Naming tenant B is refused outright, on every route, by header or query.
    const named: [string, string, unknown?][] = [
      ['GET', '/v1/actors?kind=order'], ['GET', '/v1/actors/order/B-2'], ['GET', '/v1/actors/order/B-2/history'],
      ['POST', '/v1/actors/order/B-2/events', { type: 'order.cancel', reason: 'x' }], ['POST', '/v1/actors/order/B-2/stop', {}],
      ['GET', '/v1/dead-letters'], ['POST', `/v1/dead-letters/${deadLetter.id}/discard`],
      ['GET', '/v1/approvals'], ['GET', `/v1/approvals/${held.id}`], ['POST', `/v1/approvals/${held.id}/approve`, {}],
      ['POST', '/v1/approvals/bulk', { ids: [held.id], decision: 'approve' }],
      ['GET', '/v1/audit'], ['GET', '/v1/autonomy'], ['PUT', '/v1/autonomy', { levels: [{ level: 'autonomous' }] }],
      ['GET', '/v1/autonomy/proposals'], ['POST', `/v1/autonomy/proposals/${proposal.id}/accept`, {}], ['POST', '/v1/pause', {}], ['POST', '/v1/resume', {}],
    ];
    for (const [method, path, body] of named) {
      const byHeader = await a.admin(method, path, body, { 'x-cadre-tenant': b.name });
      expect([byHeader.status, byHeader.body.code], `${method} ${path} (header)`).toEqual([403, 'forbidden']);
      const byQuery = await a.admin(method, `${path}${path.includes('?') ? '&' : '?'}tenant=${b.name}`, body);
      expect([byQuery.status, byQuery.body.code], `${method} ${path} (query)`).toEqual([403, 'forbidden']);
    }

    // What A may do lands in A: its event, its levels, its kill switch.
    expect([200, 422]).toContain((await a.operator('POST', '/v1/actors/order/B-2/events?wait=true', { type: 'order.cancel', reason: 'mine' })).status);
    expect((await a.admin('PUT', '/v1/autonomy', { levels: [{ level: 'autonomous' }] })).status).toBe(200);
    expect((await a.operator('POST', '/v1/pause', { reason: 'A only' })).status).toBe(200);

    // B is untouched.
    expect((await b.viewer('GET', '/v1/actors/order/B-2')).body).toMatchObject({ seq: before.seq, state: before.state, status: 'active' });
    expect((await b.viewer('GET', `/v1/approvals/${held.id}`)).body).toMatchObject({ status: 'pending' });
    expect((await b.viewer('GET', '/v1/dead-letters')).body.items).toEqual([expect.objectContaining({ id: deadLetter.id, status: 'open' })]);
    expect((await b.viewer('GET', '/v1/autonomy/proposals')).body.items).toEqual([expect.objectContaining({ id: proposal.id, status: 'proposed' })]);
    expect((await b.viewer('GET', '/v1/autonomy')).body).toEqual(autonomyBefore);
    expect((await b.viewer('GET', '/v1/audit')).body.items).toHaveLength(auditBefore);
    expect((await a.viewer('GET', '/v1/autonomy')).body.switches).toEqual([expect.objectContaining({ scope: a.name, paused: true })]);
  });
});
