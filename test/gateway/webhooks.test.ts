import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { contactEntity, dealEntity } from '../../machines/index.ts';
import type { Runtime } from '../../runtime/index.ts';
import { mapDelivery, sign, verifySignature, webhookRoutes, WebhookSecrets, type WebhookSource } from '../../runtime/gateway/webhooks/index.ts';
import { eventually, makeEnv, useEnv, type TestEnv } from '../support/runtime.ts';

const TENANT = 'acme';
const SECRETS: Record<WebhookSource, string> = {
  form: 'form-secret-0123456789abcdef',
  n8n: 'n8n-secret-0123456789abcdef',
  pipedrive: 'pipedrive-secret-0123456789',
};

type Published = { subject: string; event: { id: string; tenant: string; entity: string; name: string; data: Record<string, unknown>; source: string } };

interface Harness {
  rt: Runtime;
  app: FastifyInstance;
  /** The server's base URL (real HTTP on loopback). */
  url: string;
  /** Domain events published for the tenant, as they came off the bus. */
  published: Published[];
  named(name: string): Published[];
}

/**
 * A runtime with the deal and contact entities, a Fastify instance with the
 * webhook plugin and the gateway's problem+json contract, listening on loopback.
 */
async function harness(env: TestEnv): Promise<Harness> {
  const rt = await env.start({ entities: [dealEntity, contactEntity] });
  const published: Published[] = [];
  const sub = rt.bus.subscribe(`${rt.subjects.prefix}.${TENANT}.events.>`, (subject, data) => {
    published.push({ subject, event: JSON.parse(new TextDecoder().decode(data)) });
  });
  const secrets = new WebhookSecrets(rt.db, rt.clock);
  for (const [source, secret] of Object.entries(SECRETS)) await secrets.set(TENANT, source as WebhookSource, secret, 'test');

  const app = Fastify();
  // The same contract as the gateway's handler: status and stable code as application/problem+json.
  app.setErrorHandler((err: FastifyError, _request, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    const code = typeof err.code === 'string' ? err.code : 'internal';
    void reply.status(status).type('application/problem+json').send({ type: `https://cadre.dev/problems/${code}`, title: err.name, status, code, detail: err.message });
  });
  await app.register(webhookRoutes, { runtime: rt });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const stop = rt.stop.bind(rt);
  // Closed before the runtime stops (the env's cleanup stops the runtime).
  rt.stop = async () => {
    sub.unsubscribe();
    await app.close();
    await stop();
  };
  return { rt, app, url, published, named: (name) => published.filter((p) => p.subject.endsWith(`.events.${name}`)) };
}

/** POSTs over real HTTP; signs with the source's secret unless told otherwise. */
async function post(
  h: Harness,
  source: string,
  body: string | object,
  opts: { secret?: string | null; tenant?: string | null; headers?: Record<string, string>; contentType?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; type: string | null }> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const secret = opts.secret === undefined ? SECRETS[source as WebhookSource] : opts.secret;
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json', ...opts.headers };
  if (opts.tenant !== null) headers['x-cadre-tenant'] = opts.tenant ?? TENANT;
  if (secret) headers['x-cadre-signature'] = sign(secret, raw);
  const res = await fetch(`${h.url}/v1/webhooks/${source}`, { method: 'POST', body: raw, headers });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, type: res.headers.get('content-type') };
}

/** Lets the relay publish what was committed, then a moment for the bus to deliver it. */
async function settle(h: Harness): Promise<void> {
  await h.rt.settle();
  await new Promise((r) => setTimeout(r, 150));
}

async function count(h: Harness, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await h.rt.db.query<{ n: number }>(sql, params);
  return Number(row?.n ?? 0);
}

async function actorState(h: Harness, kind: string, key: string): Promise<string | undefined> {
  const [row] = await h.rt.db.query<{ state: string }>(`SELECT state FROM actors WHERE tenant = $1 AND kind = $2 AND key = $3`, [TENANT, kind, key]);
  return row?.state;
}

const lead = (over: Record<string, unknown> = {}) => ({
  submissionId: `sub-${randomUUID()}`,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  company: 'Analytical Engines Ltd',
  message: 'We need our invoices automated.',
  source: 'website-contact',
  ...over,
});

/** A Pipedrive webhooks v1 deal payload. */
function pipedriveV1(action: 'added' | 'updated', current: Record<string, unknown>, previous: Record<string, unknown> | null, at: number) {
  return {
    v: 1,
    event: `${action}.deal`,
    meta: { v: 1, action, object: 'deal', id: current.id, company_id: 77, user_id: 5, host: 'acme.pipedrive.com', timestamp: Math.floor(at / 1000), timestamp_micro: at * 1000, webhook_id: '12' },
    retry: 0,
    current,
    previous,
  };
}

describe.each([
  { name: 'services (PostgreSQL + NATS JetStream)', make: () => makeEnv('services') },
  { name: 'embedded (PGlite + in-process bus)', make: () => makeEnv('embedded') },
])('webhooks on $name', ({ make }) => {
  const env = useEnv(make);

  it('a bad or missing signature gets 401 and publishes and records nothing', async () => {
    const h = await harness(env);
    const body = lead();
    const bad = await post(h, 'form', body, { secret: 'not-the-secret-0123456789' });
    expect(bad.status).toBe(401);
    expect(bad.type).toMatch(/^application\/problem\+json/);
    expect(bad.body).toMatchObject({ status: 401, code: 'bad_signature' });

    const forged = await post(h, 'form', body, { headers: { 'x-cadre-signature': 'sha256=' + '0'.repeat(64) }, secret: null });
    expect(forged.body).toMatchObject({ status: 401, code: 'bad_signature' });
    const garbled = await post(h, 'form', body, { headers: { 'x-cadre-signature': 'md5=abc' }, secret: null });
    expect(garbled.body).toMatchObject({ status: 401, code: 'bad_signature' });
    const missing = await post(h, 'form', body, { secret: null });
    expect(missing.body).toMatchObject({ status: 401, code: 'missing_signature' });
    // Signed with another source's secret.
    const crossed = await post(h, 'n8n', body, { secret: SECRETS.form });
    expect(crossed.body).toMatchObject({ status: 401, code: 'bad_signature' });
    const stranger = await post(h, 'form', body, { tenant: 'globex' });
    expect(stranger.body).toMatchObject({ status: 401, code: 'unknown_tenant' });

    await settle(h);
    expect(h.published).toEqual([]);
    expect(await count(h, `SELECT count(*)::int AS n FROM outbox`)).toBe(0);
    expect(await count(h, `SELECT count(*)::int AS n FROM webhook_deliveries`)).toBe(0);
  });

  it('a form delivery publishes one lead.qualified; the same delivery replayed publishes nothing more', async () => {
    const h = await harness(env);
    const body = lead();
    const first = await post(h, 'form', body);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ accepted: true, deliveryId: body.submissionId, duplicate: false, outcome: 'queued' });
    await eventually(async () => h.named('lead.qualified').length === 1, 10_000, 'lead.qualified');

    const again = await post(h, 'form', body);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ accepted: true, deliveryId: body.submissionId, duplicate: true, outcome: 'queued' });
    // And through inject, byte for byte the same delivery.
    const raw = JSON.stringify(body);
    const injected = await h.app.inject({
      method: 'POST',
      url: '/v1/webhooks/form',
      payload: raw,
      headers: { 'content-type': 'application/json', 'x-cadre-tenant': TENANT, 'x-cadre-signature': sign(SECRETS.form, raw) },
    });
    expect(injected.statusCode).toBe(202);
    expect(injected.json()).toMatchObject({ duplicate: true });

    await settle(h);
    const events = h.named('lead.qualified');
    expect(events).toHaveLength(1);
    expect(events[0]!.subject).toBe(`${h.rt.subjects.prefix}.${TENANT}.events.lead.qualified`);
    expect(events[0]!.event).toMatchObject({
      tenant: TENANT,
      entity: 'lead',
      name: 'qualified',
      source: 'webhook:form',
      data: { name: 'Ada Lovelace', email: 'ada@example.com', company: 'Analytical Engines Ltd', phone: null, message: 'We need our invoices automated.', source: 'website-contact' },
    });
    const [row] = await h.rt.db.query<{ status: string; event: string }>(`SELECT status, event FROM webhook_deliveries WHERE tenant = $1 AND source = 'form'`, [TENANT]);
    expect(row).toEqual({ status: 'accepted', event: 'form.submitted' });
  });

  it('forms without their own id are deduplicated by X-Cadre-Delivery, else by the body; url-encoded forms are read', async () => {
    const h = await harness(env);
    const { submissionId: _drop, ...noId } = lead({ email: 'grace@example.com', name: 'Grace Hopper' });
    const a = await post(h, 'form', noId, { headers: { 'x-cadre-delivery': 'delivery-1' } });
    const b = await post(h, 'form', noId, { headers: { 'x-cadre-delivery': 'delivery-1' } });
    expect([a.body.deliveryId, a.body.duplicate, b.body.duplicate]).toEqual(['delivery-1', false, true]);
    const c = await post(h, 'form', { ...noId, message: 'second message' });
    const d = await post(h, 'form', { ...noId, message: 'second message' });
    expect(c.body.deliveryId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect([c.body.duplicate, d.body.duplicate]).toEqual([false, true]);

    const form = new URLSearchParams({ firstName: 'Katherine', lastName: 'Johnson', email: 'kj@example.com', submissionId: 'form-42' }).toString();
    const e = await post(h, 'form', form, { contentType: 'application/x-www-form-urlencoded' });
    expect(e.status).toBe(202);
    await settle(h);
    await eventually(async () => h.named('lead.qualified').length === 3, 10_000, 'three leads');
    expect(h.named('lead.qualified').map((p) => p.event.data.name)).toEqual(['Grace Hopper', 'Grace Hopper', 'Katherine Johnson']);
  });

  it('Pipedrive: added.deal then won makes the deal actor won and publishes deal.closed once', async () => {
    const h = await harness(env);
    const t0 = Date.parse('2026-01-05T09:00:00Z');
    const deal = { id: 1042, title: 'Roof for the depot', value: 48000, currency: 'eur', status: 'open', stage_id: 1, expected_close_date: '2026-03-01' };
    const basic = 'Basic ' + Buffer.from(`${TENANT}:${SECRETS.pipedrive}`).toString('base64');
    // Pipedrive cannot sign: HTTP Basic auth, the tenant as user name (no X-Cadre-Tenant).
    const send = (body: object) => post(h, 'pipedrive', body, { secret: null, tenant: null, headers: { authorization: basic } });

    const added = await send(pipedriveV1('added', deal, null, t0));
    expect(added.status).toBe(202);
    expect(added.body).toMatchObject({ outcome: 'queued', duplicate: false, detail: 'deal.create → deal/PD-1042' });
    await eventually(async () => (await actorState(h, 'deal', 'PD-1042'))?.startsWith('open'), 10_000, 'the deal opened');

    const moved = await send(pipedriveV1('updated', { ...deal, stage_id: 2 }, deal, t0 + 1000));
    expect(moved.body).toMatchObject({ outcome: 'queued', detail: 'deal.touch → deal/PD-1042' });
    const won = pipedriveV1('updated', { ...deal, stage_id: 2, status: 'won', value: 50000 }, { ...deal, stage_id: 2 }, t0 + 2000);
    const w1 = await send(won);
    expect(w1.body).toMatchObject({ outcome: 'queued', duplicate: false, detail: 'deal.update, deal.win → deal/PD-1042' });
    // Pipedrive retries carry the same meta: a duplicate.
    const w2 = await send({ ...won, retry: 1 });
    expect(w2.body).toMatchObject({ duplicate: true });
    // A later edit of the won deal is recorded and ignored.
    const later = await send(pipedriveV1('updated', { ...deal, stage_id: 2, status: 'won', title: 'Renamed' }, { ...deal, stage_id: 2, status: 'won' }, t0 + 3000));
    expect(later.body).toMatchObject({ outcome: 'ignored', duplicate: false });

    await eventually(async () => (await actorState(h, 'deal', 'PD-1042')) === 'won', 10_000, 'the deal won');
    await settle(h);
    const closed = h.named('deal.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]!.event.data).toMatchObject({ dealId: 'PD-1042', title: 'Roof for the depot', value: 50000, currency: 'EUR' });
    expect(h.named('deal.created')).toHaveLength(1);
    expect(await count(h, `SELECT count(*)::int AS n FROM dead_letters`)).toBe(0);
    const [journal] = await h.rt.db.query<{ types: string[] }>(
      `SELECT array_agg(event_type ORDER BY seq) AS types FROM journal WHERE tenant = $1 AND kind = 'deal' AND key = 'PD-1042'`,
      [TENANT],
    );
    expect(journal!.types).toEqual(['deal.create', 'deal.touch', 'deal.update', 'deal.win']);
  });

  it('Pipedrive v2: a change to an unseen deal creates it first; added persons become contacts', async () => {
    const h = await harness(env);
    const v2 = (entity: string, action: string, id: number, data: object, previous: object | null) => ({
      meta: { action, entity, entity_id: id, id: randomUUID(), version: '2.0', attempt: 1, timestamp: '2026-01-05T09:00:00.000Z', host: 'acme.pipedrive.com' },
      data,
      previous,
    });
    const won = v2('deal', 'change', 7, { id: 7, title: 'Gutters', value: 900, currency: 'USD', status: 'won', stage_id: 3 }, { status: 'open' });
    const r = await post(h, 'pipedrive', won);
    expect(r.body).toMatchObject({ outcome: 'queued', deliveryId: won.meta.id, detail: 'deal.win → deal/PD-7' });
    await eventually(async () => (await actorState(h, 'deal', 'PD-7')) === 'won', 10_000, 'the unseen deal created and won');

    const person = v2('person', 'create', 99, { id: 99, name: 'Tony Stark', emails: [{ value: 'tony@example.com', primary: true, label: 'work' }], phones: [] }, null);
    const p = await post(h, 'pipedrive', person);
    expect(p.body).toMatchObject({ outcome: 'queued', detail: 'contact.create → contact/PD-99' });
    await eventually(async () => (await actorState(h, 'contact', 'PD-99')) !== undefined, 10_000, 'the contact');
    await settle(h);
    expect(h.named('deal.closed')).toHaveLength(1);
    const created = h.named('contact.created');
    expect(created).toHaveLength(1);
    expect(created[0]!.event.data).toMatchObject({ contactId: 'PD-99', name: 'Tony Stark', email: 'tony@example.com' });

    const org = await post(h, 'pipedrive', v2('organization', 'create', 5, { id: 5, name: 'Stark Industries' }, null));
    expect(org.body).toMatchObject({ outcome: 'ignored' });
    expect(await count(h, `SELECT count(*)::int AS n FROM dead_letters`)).toBe(0);
  });

  it('n8n: an execution error publishes automation.error once; a success is recorded and ignored', async () => {
    const h = await harness(env);
    // What n8n's Error Trigger gives an error workflow, forwarded by its HTTP Request node.
    const failure = [
      {
        execution: {
          id: '231',
          url: 'https://n8n.example.com/workflow/1/executions/231',
          retryOf: '34',
          error: { message: 'Invoice API answered 500', stack: 'Stacktrace', node: { name: 'HTTP Request' } },
          lastNodeExecuted: 'HTTP Request',
          mode: 'trigger',
        },
        workflow: { id: '1', name: 'Invoice sync' },
      },
    ];
    const a = await post(h, 'n8n', failure);
    expect(a.body).toMatchObject({ accepted: true, deliveryId: '231', duplicate: false, outcome: 'queued' });
    const b = await post(h, 'n8n', failure);
    expect(b.body).toMatchObject({ deliveryId: '231', duplicate: true });
    const ok = await post(h, 'n8n', { workflowId: '1', status: 'success', executionId: '232' });
    expect(ok.body).toMatchObject({ outcome: 'ignored', duplicate: false });

    await eventually(async () => h.named('automation.error').length === 1, 10_000, 'automation.error');
    await settle(h);
    const events = h.named('automation.error');
    expect(events).toHaveLength(1);
    expect(events[0]!.event.data).toEqual({
      platform: 'n8n',
      workflowId: '1',
      workflowName: 'Invoice sync',
      executionId: '231',
      errorMessage: 'Invoice API answered 500',
      node: 'HTTP Request',
      url: 'https://n8n.example.com/workflow/1/executions/231',
      mode: 'trigger',
    });
    const rows = await h.rt.db.query<{ delivery_id: string; status: string }>(`SELECT delivery_id, status FROM webhook_deliveries ORDER BY delivery_id`);
    expect(rows).toEqual([
      { delivery_id: '231', status: 'accepted' },
      { delivery_id: '232', status: 'ignored' },
    ]);
  });

  it('malformed, oversized, unknown and unnamed deliveries get a 4xx problem, never a 5xx', async () => {
    const h = await harness(env);
    const cases: { what: string; res: Promise<{ status: number; body: Record<string, unknown>; type: string | null }>; status: number; code: string }[] = [
      { what: 'malformed JSON', res: post(h, 'form', '{"name": "Ada", '), status: 400, code: 'invalid_payload' },
      { what: 'JSON of the wrong shape', res: post(h, 'form', { name: 'Ada' }), status: 400, code: 'invalid_payload' },
      { what: 'not a Pipedrive payload', res: post(h, 'pipedrive', { hello: 'world' }), status: 400, code: 'invalid_payload' },
      { what: 'not an n8n payload', res: post(h, 'n8n', [1, 2]), status: 400, code: 'invalid_payload' },
      { what: 'a NUL character', res: post(h, 'form', JSON.stringify(lead({ message: 'a\u0000b' }))), status: 400, code: 'invalid_payload' },
      { what: 'an unknown source', res: post(h, 'stripe', lead(), { secret: SECRETS.form }), status: 404, code: 'unknown_source' },
      { what: 'no tenant', res: post(h, 'form', lead(), { tenant: null }), status: 400, code: 'tenant_required' },
      { what: 'a bad tenant name', res: post(h, 'form', lead(), { tenant: 'a.b' }), status: 400, code: 'invalid_tenant' },
      { what: 'XML', res: post(h, 'form', '<lead/>', { contentType: 'application/xml' }), status: 415, code: 'unsupported_media_type' },
      { what: 'url-encoded to n8n', res: post(h, 'n8n', 'a=b', { contentType: 'application/x-www-form-urlencoded' }), status: 415, code: 'unsupported_media_type' },
      { what: 'an empty body', res: post(h, 'form', ''), status: 400, code: 'invalid_payload' },
    ];
    for (const c of cases) {
      const r = await c.res;
      expect({ what: c.what, status: r.status, code: r.body.code, type: r.type?.split(';')[0] }).toEqual({ what: c.what, status: c.status, code: c.code, type: 'application/problem+json' });
    }
    // Over 256 KiB: refused while reading, before anything else.
    const big = JSON.stringify(lead({ message: 'x'.repeat(300 * 1024) }));
    const over = await post(h, 'form', big);
    expect(over.status).toBe(413);
    expect(over.body.code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
    const injected = await h.app.inject({ method: 'POST', url: '/v1/webhooks/form', payload: big, headers: { 'content-type': 'application/json', 'x-cadre-tenant': TENANT } });
    expect(injected.statusCode).toBe(413);

    await settle(h);
    expect(h.published).toEqual([]);
    expect(await count(h, `SELECT count(*)::int AS n FROM webhook_deliveries`)).toBe(0);
  });

  it('a rotated secret keeps working for its grace period, then is refused', async () => {
    const h = await harness(env);
    const secrets = new WebhookSecrets(h.rt.db, h.rt.clock);
    const next = WebhookSecrets.generate();
    const info = await secrets.rotate(TENANT, 'form', next, 'operator:ana', 60_000);
    expect(info).toMatchObject({ tenant: TENANT, source: 'form', setBy: 'operator:ana' });
    expect(JSON.stringify(await secrets.list(TENANT))).not.toContain(next);

    expect((await post(h, 'form', lead(), { secret: SECRETS.form })).status).toBe(202);
    expect((await post(h, 'form', lead(), { secret: next })).status).toBe(202);
    env.clock.advance(60_001);
    expect((await post(h, 'form', lead(), { secret: SECRETS.form })).body).toMatchObject({ status: 401, code: 'bad_signature' });
    expect((await post(h, 'form', lead(), { secret: next })).status).toBe(202);

    expect(await secrets.remove(TENANT, 'form')).toBe(true);
    expect((await post(h, 'form', lead(), { secret: next })).body).toMatchObject({ status: 401, code: 'unknown_tenant' });
    await expect(secrets.set(TENANT, 'form', 'short', 'x')).rejects.toThrow(/at least 16/);
  });
});

describe('mapping Pipedrive changes (pure)', () => {
  const map = (body: object) => mapDelivery({ source: 'pipedrive', tenant: TENANT, body, raw: Buffer.from(JSON.stringify(body)) });
  const deal = { id: 5, title: 'Fence', value: 1200, currency: 'USD', status: 'open', stage_id: 1, lost_reason: null };
  const at = Date.parse('2026-01-05T09:00:00Z');

  it('lost → deal.lose with the reason; the create comes first only if the actor is absent', () => {
    const plan = map(pipedriveV1('updated', { ...deal, status: 'lost', lost_reason: 'Too expensive' }, deal, at));
    expect(plan.status).toBe('accepted');
    expect(plan.messages.map((m) => [m.event.type, m.onlyIfAbsent ?? false, m.id])).toEqual([
      ['deal.create', true, `webhook:pipedrive:${TENANT}:deal:PD-5:create`],
      ['deal.lose', false, `webhook:pipedrive:${TENANT}:deal:PD-5:lose`],
    ]);
    expect(plan.messages[1]!.event).toEqual({ type: 'deal.lose', reason: 'Too expensive' });
    expect(plan.deliveryId).toBe(`v1:deal.updated:5:${at * 1000}`);
  });

  it('ignores reopened deals, deleted deals and changes Cadre does not follow', () => {
    expect(map(pipedriveV1('updated', deal, { ...deal, status: 'won' }, at))).toMatchObject({ status: 'ignored', detail: expect.stringContaining('reopened') });
    expect(map(pipedriveV1('updated', { ...deal, status: 'deleted' }, deal, at))).toMatchObject({ status: 'ignored' });
    expect(map(pipedriveV1('updated', { ...deal, currency: 'EUR' }, deal, at))).toMatchObject({ status: 'ignored', detail: expect.stringContaining('no change') });
    const del = { meta: { action: 'delete', entity: 'deal', entity_id: 5, id: randomUUID(), version: '2.0' }, data: null, previous: deal };
    expect(map(del)).toMatchObject({ status: 'ignored', deliveryId: del.meta.id });
  });

  it('a value change of an open deal is deal.update; a person without a name is ignored', () => {
    const plan = map(pipedriveV1('updated', { ...deal, value: '1500', expected_close_date: '2026-04-01' }, { ...deal, expected_close_date: null }, at));
    expect(plan.messages.filter((m) => !m.onlyIfAbsent).map((m) => m.event)).toEqual([{ type: 'deal.update', value: 1500, expectedCloseDate: '2026-04-01' }]);
    const person = { event: 'added.person', meta: { action: 'added', object: 'person', id: 3, timestamp: 1 }, current: { id: 3, name: '' }, previous: null };
    expect(map(person)).toMatchObject({ status: 'ignored', detail: 'the person has no name' });
  });

  it('verifies signatures in either hex case and refuses other schemes', () => {
    const raw = Buffer.from('{"a":1}');
    const sig = sign('s'.repeat(16), raw);
    expect(verifySignature(raw, sig, ['s'.repeat(16)])).toBe('ok');
    expect(verifySignature(raw, sig.toUpperCase().replace('SHA256=', 'sha256='), ['x'.repeat(16), 's'.repeat(16)])).toBe('ok');
    expect(verifySignature(Buffer.from('{"a":2}'), sig, ['s'.repeat(16)])).toBe('bad');
    expect(verifySignature(raw, undefined, ['s'.repeat(16)])).toBe('missing');
    expect(verifySignature(raw, 'sha1=abc', ['s'.repeat(16)])).toBe('bad');
  });
});
