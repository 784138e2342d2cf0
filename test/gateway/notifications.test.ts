/**
 * `/v1/notifications…` and `/v1/emails…` through `app.inject`, on PostgreSQL +
 * NATS: listing with filters and cursor pages, one by id, the webhook (host only,
 * roles, validation), emails, and the tenant wall.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { EffectHandler, EffectRequest, Runtime } from '../../runtime/index.ts';
import { buildGateway } from '../../runtime/gateway/index.ts';
import { Tokens } from '../../runtime/gateway/tokens.ts';
import { notificationRoutes, notificationRoutesWith } from '../../runtime/gateway/routes/notifications.ts';
import { emailSendEffect, loadNotifyConfig, notifySendEffect } from '../../runtime/notify/index.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { makeEnv, type TestEnv } from '../support/runtime.ts';

const ADMIN = `admin-${randomBytes(12).toString('hex')}`;
const ENV_HOOK = 'https://hooks.slack.example/services/T000/B000/envsecretpath';
let env: TestEnv;
let rt: Runtime;
let app: FastifyInstance;
let tokens: Tokens;
let slack: FakeSlack;
let notify: EffectHandler;
let email: EffectHandler;

beforeAll(async () => {
  env = await makeEnv('services');
  rt = await env.start({ overrides: { partitions: 1 } });
  slack = await startFakeSlack();
  app = await buildGateway(rt, { adminToken: ADMIN }, [notificationRoutesWith({ webhookUrl: ENV_HOOK })]);
  await app.ready();
  tokens = new Tokens(rt.db, rt.clock, ADMIN);
  const silent = pino({ level: 'silent' });
  // The records are made by the handlers themselves; the environment's webhook is
  // left out here so that only a tenant's own webhook receives posts.
  notify = notifySendEffect(rt.db, rt.clock, loadNotifyConfig({}), silent);
  email = emailSendEffect(rt.db, rt.clock, loadNotifyConfig({}), silent);
});
afterAll(async () => {
  await app?.close();
  await slack?.close();
  await env?.cleanup();
});

type Res = { status: number; body: any; type: string };
let tenants = 0;
let effects = 0;

/** A fresh tenant with a token of each role. */
async function tenant() {
  const name = `n${++tenants}-${randomBytes(3).toString('hex')}`;
  await tokens.createTenant(name, name, 'test');
  const secret = { viewer: '', operator: '', admin: '' };
  for (const role of ['viewer', 'operator', 'admin'] as const) secret[role] = (await tokens.create(name, role, `${role}-token`, 'test')).secret;
  const call = async (token: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
    const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}`, ...headers }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, type: String(res.headers['content-type'] ?? '') };
  };
  const as = (role: 'viewer' | 'operator' | 'admin') => ({
    get: (url: string) => call(secret[role], 'GET', url),
    put: (url: string, body?: unknown) => call(secret[role], 'PUT', url, body),
    delete: (url: string) => call(secret[role], 'DELETE', url),
  });
  const admin = { get: (url: string) => call(ADMIN, 'GET', url, undefined, { 'x-cadre-tenant': name }) };
  /** Runs a handler as the executor would, for an actor of this tenant. */
  const run = (h: EffectHandler, params: Record<string, unknown>, key = 'A-1') => {
    const req: EffectRequest = { id: `${name}/ops/${key}#${++effects}#x0`, tenant: name, actor: { tenant: name, kind: 'ops', key }, actionType: h.actionType, params, attempt: 1, signal: new AbortController().signal };
    return h.run(req).then(() => req.id);
  };
  return { name, run, admin, viewer: as('viewer'), operator: as('operator') };
}

function problem(res: Res, status: number, code: string) {
  expect(res.type).toContain('application/problem+json');
  expect(res).toMatchObject({ status, body: { status, code } });
}

const note = (kind: string, channel: string, title: string, o: Record<string, unknown> = {}) => ({ kind, channel, severity: 'info', title, body: `${title}.`, ...o });

describe('notifications', () => {
  it('lists newest first with filters and cursor pages, and shows one by its effect id', async () => {
    const t = await tenant();
    const ids: string[] = [];
    ids.push(await t.run(notify, note('brief', 'leadership', 'Morning brief')));
    env.clock.advance(60_000);
    ids.push(await t.run(notify, note('alert', 'builds', 'Build failed', { severity: 'urgent', topic: 'build.failed', related: 'ticket/T-9' })));
    env.clock.advance(60_000);
    ids.push(await t.run(notify, note('summary', 'sales', 'Pipeline review')));
    ids.push(await t.run(notify, note('report', 'leadership', 'Weekly report', { severity: 'warning' })));

    const all = await t.viewer.get('/v1/notifications');
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: { title: string }) => i.title)).toEqual(['Weekly report', 'Pipeline review', 'Build failed', 'Morning brief']);
    expect(all.body.next).toBeNull();
    expect(all.body.items[2]).toEqual({
      id: ids[1], kind: 'alert', channel: 'builds', severity: 'urgent', title: 'Build failed', body: 'Build failed.', topic: 'build.failed', related: 'ticket/T-9',
      agent: null, actor: 'ops/A-1', createdAt: new Date(env.clock.now() - 60_000).toISOString(), delivery: 'not_configured', sentAt: null, deliveredAt: null,
      target: null, error: null, attempts: 1,
    });

    const p1 = await t.viewer.get('/v1/notifications?limit=3');
    expect(p1.body.items).toHaveLength(3);
    const p2 = await t.viewer.get(`/v1/notifications?limit=3&after=${encodeURIComponent(p1.body.next)}`);
    expect(p2.body).toMatchObject({ items: [{ title: 'Morning brief' }], next: null });

    const titles = async (q: string) => (await t.viewer.get(`/v1/notifications?${q}`)).body.items.map((i: { title: string }) => i.title);
    expect(await titles('kind=alert')).toEqual(['Build failed']);
    expect(await titles('channel=leadership')).toEqual(['Weekly report', 'Morning brief']);
    expect(await titles('severity=warning')).toEqual(['Weekly report']);
    expect(await titles(`since=${encodeURIComponent(new Date(env.clock.now() - 60_000).toISOString())}`)).toEqual(['Weekly report', 'Pipeline review', 'Build failed']);
    expect(await titles('delivery=delivered')).toEqual([]);

    const one = await t.viewer.get(`/v1/notifications/${encodeURIComponent(ids[0]!)}`);
    expect(one).toMatchObject({ status: 200, body: { id: ids[0], title: 'Morning brief', delivery: 'not_configured' } });
    problem(await t.viewer.get(`/v1/notifications/${encodeURIComponent(`${t.name}/ops/A-1#999#x0`)}`), 404, 'not_found');
    problem(await t.viewer.get('/v1/notifications?after=bm9wZQ'), 400, 'invalid_cursor');
    problem(await t.viewer.get('/v1/notifications?kind=memo'), 400, 'invalid_request');
    expect((await t.admin.get('/v1/notifications?kind=brief')).body.items).toHaveLength(1);
  });

  it("another tenant's notifications are neither listed nor found", async () => {
    const a = await tenant();
    const b = await tenant();
    const id = await a.run(notify, note('brief', 'leadership', 'Secret brief'));
    expect((await b.viewer.get('/v1/notifications')).body.items).toEqual([]);
    problem(await b.viewer.get(`/v1/notifications/${encodeURIComponent(id)}`), 404, 'not_found');
    expect((await a.viewer.get('/v1/notifications')).body.items).toHaveLength(1);
  });
});

describe('the webhook', () => {
  it('shows the source and host only; operators set and clear it; deliveries then go to it', async () => {
    const t = await tenant();
    const shown = await t.viewer.get('/v1/notifications/webhook');
    expect(shown).toMatchObject({ status: 200, body: { configured: true, source: 'environment', host: 'hooks.slack.example', setBy: null, updatedAt: null } });
    expect(JSON.stringify(shown.body)).not.toContain('envsecretpath');

    problem(await t.viewer.put('/v1/notifications/webhook', { url: slack.url }), 403, 'forbidden');
    const set = await t.operator.put('/v1/notifications/webhook', { url: slack.url });
    expect(set).toMatchObject({ status: 200, body: { configured: true, source: 'tenant', host: new URL(slack.url).host, setBy: expect.stringMatching(/^token:/) } });
    expect(JSON.stringify(set.body)).not.toContain('s3cr3t');
    expect(JSON.stringify((await t.viewer.get('/v1/notifications/webhook')).body)).not.toContain('s3cr3t');

    const id = await t.run(notify, note('alert', 'builds', 'Deploy failed', { severity: 'urgent', topic: 'deploy' }));
    expect(slack.posts.filter((p) => p.json?.blocks?.[0]?.text?.text === ':rotating_light: Urgent: Deploy failed')).toHaveLength(1);
    expect((await t.viewer.get(`/v1/notifications/${encodeURIComponent(id)}`)).body).toMatchObject({ delivery: 'delivered', target: new URL(slack.url).host });

    problem(await t.viewer.delete('/v1/notifications/webhook'), 403, 'forbidden');
    expect(await t.operator.delete('/v1/notifications/webhook')).toMatchObject({ status: 200, body: { removed: true, configured: true, source: 'environment' } });
    expect(await t.operator.delete('/v1/notifications/webhook')).toMatchObject({ status: 200, body: { removed: false } });
  });

  it('refuses webhooks that are not https (http only to loopback), and bad bodies', async () => {
    const t = await tenant();
    for (const url of ['http://hooks.slack.com/services/x', 'ftp://example.com/x', 'not a url', 'https://user:pw@hooks.slack.com/x']) {
      problem(await t.operator.put('/v1/notifications/webhook', { url }), 400, 'invalid_webhook');
    }
    problem(await t.operator.put('/v1/notifications/webhook', { href: 'https://x.example' }), 400, 'invalid_request');
    expect((await t.operator.put('/v1/notifications/webhook', { url: 'https://hooks.slack.com/services/T1/B1/xyz' })).body).toMatchObject({ host: 'hooks.slack.com' });
    expect((await t.operator.put('/v1/notifications/webhook', { url: 'http://localhost:9/relay' })).body).toMatchObject({ host: 'localhost:9' });
  });

  it('without a webhook anywhere it says so', async () => {
    const other = await buildGateway(rt, { adminToken: ADMIN }, [notificationRoutesWith({})]);
    try {
      const t = await tenant();
      const secret = (await tokens.create(t.name, 'viewer', 'v2', 'test')).secret;
      const res = await other.inject({ method: 'GET', url: '/v1/notifications/webhook', headers: { authorization: `Bearer ${secret}` } });
      expect(JSON.parse(res.body)).toEqual({ configured: false, source: null, host: null, setBy: null, updatedAt: null });
    } finally {
      await other.close();
    }
  });

  it('notificationRoutes reads CADRE_NOTIFY_WEBHOOK_URL when the gateway is built', async () => {
    const before = process.env.CADRE_NOTIFY_WEBHOOK_URL;
    process.env.CADRE_NOTIFY_WEBHOOK_URL = 'https://relay.example/hook/abc';
    try {
      const other = await buildGateway(rt, { adminToken: ADMIN }, [notificationRoutes]);
      const t = await tenant();
      const secret = (await tokens.create(t.name, 'viewer', 'v2', 'test')).secret;
      const res = await other.inject({ method: 'GET', url: '/v1/notifications/webhook', headers: { authorization: `Bearer ${secret}` } });
      expect(JSON.parse(res.body)).toMatchObject({ configured: true, source: 'environment', host: 'relay.example' });
      await other.close();
    } finally {
      if (before === undefined) delete process.env.CADRE_NOTIFY_WEBHOOK_URL;
      else process.env.CADRE_NOTIFY_WEBHOOK_URL = before;
    }
  });
});

describe('emails', () => {
  it('lists recorded emails newest first with pages, shows one, and keeps tenants apart', async () => {
    const t = await tenant();
    const first = await t.run(email, { to: 'ann@client.example', subject: 'Quote', body: 'Your quote.', related: 'deal/D-1' });
    env.clock.advance(1000);
    await t.run(email, { to: ['bob@client.example', 'cy@client.example'], cc: ['ops@acme.example'], subject: 'Follow-up', body: 'Any news?' });

    const page = await t.viewer.get('/v1/emails?limit=1');
    expect(page).toMatchObject({ status: 200, body: { items: [{ subject: 'Follow-up', to: ['bob@client.example', 'cy@client.example'], cc: ['ops@acme.example'], transport: 'log', status: 'logged' }] } });
    const rest = await t.viewer.get(`/v1/emails?limit=1&after=${encodeURIComponent(page.body.next)}`);
    expect(rest.body).toEqual({
      items: [
        {
          id: first, actor: 'ops/A-1', agent: null, from: null, to: ['ann@client.example'], cc: [], replyTo: null, subject: 'Quote', body: 'Your quote.', related: 'deal/D-1',
          transport: 'log', providerId: null, threadId: null, status: 'logged', error: null, attempts: 1, at: expect.any(String), sentAt: null,
        },
      ],
      next: null,
    });
    expect((await t.viewer.get('/v1/emails?status=sent')).body.items).toEqual([]);
    expect((await t.viewer.get(`/v1/emails/${encodeURIComponent(first)}`)).body).toMatchObject({ id: first, subject: 'Quote' });

    const other = await tenant();
    expect((await other.viewer.get('/v1/emails')).body.items).toEqual([]);
    problem(await other.viewer.get(`/v1/emails/${encodeURIComponent(first)}`), 404, 'not_found');
    problem(await app.inject({ method: 'GET', url: '/v1/emails' }).then((r) => ({ status: r.statusCode, body: JSON.parse(r.body), type: String(r.headers['content-type']) })), 401, 'unauthorized');
  });
});
