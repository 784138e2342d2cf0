/**
 * The agents' routes over real HTTP (a listening gateway and fetch), on PostgreSQL +
 * NATS: schedules (list, change, Run Now), runs (pages, one run), delegations, the
 * agents' live state, the roles, and the wall between tenants. Tenants are made
 * through POST /v1/tenants, which gives them their agents' schedules.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { dealEntity } from '../../machines/index.ts';
import type { EffectHandler, Runtime } from '../../runtime/index.ts';
import type { AgentDefinition, Plan } from '../../agents/types.ts';
import { buildGateway } from '../../runtime/gateway/index.ts';
import { agentRoutes, coreRoutes } from '../../runtime/gateway/routes/index.ts';
import { adminRoutes } from '../../runtime/gateway/routes/admin.ts';
import { healthRoutes } from '../../runtime/gateway/routes/health.ts';
import { eventually, makeEnv, type TestEnv } from '../support/runtime.ts';

const ADMIN = `admin-${randomBytes(12).toString('hex')}`;

const followUp = (n: number): Plan['actions'][number] => ({
  actionType: 'email.send',
  params: { to: `c${n}@client.example`, subject: `Following up ${n}`, body: 'Hello again.' },
  preview: `Follow-up email to c${n}@client.example`,
  target: `deal/D-${n}`,
});

function agent(name: AgentDefinition['name'], over: Partial<AgentDefinition> = {}): AgentDefinition {
  return { name, title: name[0]!.toUpperCase() + name.slice(1), mission: `the ${name} agent of the tests`, jobs: [], reactions: [], accepts: [], tools: [], ...over };
}

/** Sales: a daily review proposing two follow-ups (held for approval: supervised is the default) and a job delegating to delivery. */
const DEFINITIONS: AgentDefinition[] = [
  agent('sales', {
    jobs: [
      {
        name: 'daily-review',
        cron: '0 8 * * *',
        description: 'Daily review: a follow-up for each idle deal',
        missed: 'run_once',
        check: async () => ({ summary: 'two deals need a follow-up', findings: { idle: ['D-1', 'D-2'] }, actions: [followUp(1), followUp(2)], hints: ['look again tomorrow'] }),
      },
      {
        name: 'ask-delivery',
        cron: '0 9 * * 1',
        description: 'Ask delivery to review order exceptions',
        missed: 'skip',
        check: async () => ({
          summary: 'asking delivery',
          findings: {},
          actions: [{ actionType: 'agent.delegate', params: { to: 'delivery', task: 'order-exceptions', input: { count: 2 } }, preview: 'Ask delivery to review order exceptions' }],
          hints: [],
        }),
      },
    ],
    reactions: [{ event: 'deal.closed', priority: 'high', description: 'thank the client', check: async () => ({ summary: 'nothing', findings: {}, actions: [], hints: [] }) }],
  }),
  agent('delivery', {
    accepts: [
      {
        name: 'order-exceptions',
        description: 'reviews order exceptions',
        input: z.object({ count: z.number() }),
        check: async (ctx) => ({ summary: `reviewed ${String(ctx.input.count)} exceptions`, findings: { reviewed: ctx.input.count }, actions: [], hints: [] }),
      },
    ],
  }),
];

/** Records what it was asked to send; under supervised autonomy nothing reaches it. */
const email: EffectHandler = { actionType: 'email.send', async run() { return { id: 'm-1' }; } };

let env: TestEnv;
let rt: Runtime;
let app: FastifyInstance;
let base: string;

type Res = { status: number; type: string; location: string | null; body: any };

async function http(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, location: res.headers.get('location'), body: text && type.includes('json') ? JSON.parse(text) : text };
}

/** A tenant made through POST /v1/tenants, with a viewer's and an operator's token made through POST /v1/tokens. */
async function tenant(name: string) {
  expect(await http(ADMIN, 'POST', '/v1/tenants', { tenant: name, name: name.toUpperCase() })).toMatchObject({ status: 201 });
  const token = async (role: 'viewer' | 'operator') => {
    const t = await http(ADMIN, 'POST', '/v1/tokens', { tenant: name, role, name: `${name}-${role}` });
    expect(t.status).toBe(201);
    return t.body as { id: string; secret: string };
  };
  const viewer = await token('viewer');
  const operator = await token('operator');
  const as = (secret: string) => (method: string, path: string, body?: unknown, headers?: Record<string, string>) => http(secret, method, path, body, headers);
  return { name, ids: { viewer: viewer.id, operator: operator.id }, viewer: as(viewer.secret), operator: as(operator.secret) };
}

function problem(res: Res, status: number, code: string): void {
  expect(res.type).toContain('application/problem+json');
  expect(res, JSON.stringify(res.body)).toMatchObject({ status, body: { status, code } });
}

/** Waits until the run is completed and answers it. */
async function completed(t: Awaited<ReturnType<typeof tenant>>, id: string): Promise<any> {
  return eventually(async () => {
    const r = await t.viewer('GET', `/v1/runs/${id}`);
    return r.body.status === 'completed' ? r.body : undefined;
  }, 20_000, `run ${id} completed`);
}

let acme: Awaited<ReturnType<typeof tenant>>;
let globex: Awaited<ReturnType<typeof tenant>>;

beforeAll(async () => {
  env = await makeEnv('services');
  rt = await env.start({ entities: [dealEntity], agents: DEFINITIONS, effects: [email], overrides: { partitions: 1, schedulerTickMs: 200 } });
  app = await buildGateway(rt, { adminToken: ADMIN }, [agentRoutes, adminRoutes, healthRoutes]);
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  acme = await tenant('acme');
  globex = await tenant('globex');
});
afterAll(async () => {
  await app?.close();
  await env?.cleanup();
});

describe('the agents over HTTP', () => {
  it('lists the schedules POST /v1/tenants made, with each job description; the agent routes are core routes', async () => {
    expect(coreRoutes).toContain(agentRoutes);
    const res = await acme.viewer('GET', '/v1/schedules');
    expect(res.status).toBe(200);
    expect(res.body.next).toBeNull();
    expect(res.body.items).toEqual([
      {
        name: 'ask-delivery', agent: 'sales', job: 'ask-delivery', description: 'Ask delivery to review order exceptions', cron: '0 9 * * 1', timezone: 'UTC',
        enabled: true, missed: 'skip', timeoutMs: 60_000, nextDueAt: '2026-01-12T09:00:00.000Z', lastRunId: null, lastFiredAt: null, updatedAt: '2026-01-05T09:00:00.000Z', updatedBy: 'cadre',
      },
      expect.objectContaining({ name: 'daily-review', agent: 'sales', description: 'Daily review: a follow-up for each idle deal', cron: '0 8 * * *', missed: 'run_once', nextDueAt: '2026-01-06T08:00:00.000Z' }),
    ]);
    // The instance admin names the tenant.
    expect((await http(ADMIN, 'GET', '/v1/schedules', undefined, { 'x-cadre-tenant': 'acme' })).body.items).toHaveLength(2);
    problem(await http(ADMIN, 'GET', '/v1/schedules'), 400, 'tenant_required');
  });

  it('PATCH enables, disables and changes the cron and time zone; a bad cron, time zone or name is a problem that says what is wrong', async () => {
    const off = await acme.operator('PATCH', '/v1/schedules/daily-review', { enabled: false });
    expect(off).toMatchObject({ status: 200, body: { name: 'daily-review', enabled: false, updatedBy: `token:${acme.ids.operator}` } });
    const on = await acme.operator('PATCH', '/v1/schedules/daily-review', { enabled: true, cron: '30 6 * * 1-5', timezone: 'Europe/Berlin', missed: 'skip', timeoutMs: 30_000 });
    // Monday 09:00 UTC: the next weekday 06:30 in Berlin (CET, UTC+1) is Tuesday 05:30 UTC.
    expect(on.body).toMatchObject({ enabled: true, cron: '30 6 * * 1-5', timezone: 'Europe/Berlin', missed: 'skip', timeoutMs: 30_000, nextDueAt: '2026-01-06T05:30:00.000Z' });
    expect((await acme.viewer('GET', '/v1/schedules')).body.items.find((s: { name: string }) => s.name === 'daily-review')).toMatchObject({ cron: '30 6 * * 1-5', enabled: true });

    const badCron = await acme.operator('PATCH', '/v1/schedules/daily-review', { cron: '61 * * * *' });
    problem(badCron, 422, 'invalid_cron');
    expect(badCron.body.detail).toContain('"61 * * * *" is not a cron expression of five fields');
    const badZone = await acme.operator('PATCH', '/v1/schedules/daily-review', { timezone: 'Mars/Olympus_Mons' });
    problem(badZone, 422, 'invalid_timezone');
    expect(badZone.body.detail).toContain('"Mars/Olympus_Mons" is not a time zone');
    const short = await acme.operator('PATCH', '/v1/schedules/daily-review', { cron: '* *' });
    problem(short, 422, 'invalid_cron');
    expect(short.body.detail).toContain('"* *" is not a cron expression of five fields');
    const empty = await acme.operator('PATCH', '/v1/schedules/daily-review', { cron: '' });
    problem(empty, 400, 'invalid_request');
    expect(empty.body.detail).toContain('body/cron');
    const nothing = await acme.operator('PATCH', '/v1/schedules/daily-review', {});
    problem(nothing, 400, 'invalid_request');
    expect(nothing.body.detail).toContain('give at least one of enabled, cron, timezone, missed, timeoutMs');
    problem(await acme.operator('PATCH', '/v1/schedules/daily-review', { enabled: 'yes' }), 400, 'invalid_request');
    problem(await acme.operator('PATCH', '/v1/schedules/daily-review', { paused: true }), 400, 'invalid_request');
    const unknown = await acme.operator('PATCH', '/v1/schedules/no-such-job', { enabled: false });
    problem(unknown, 404, 'schedule_not_found');
    expect(unknown.body.detail).toContain('no schedule named "no-such-job"');
    // Nothing of the refused changes was applied.
    expect((await acme.viewer('GET', '/v1/schedules')).body.items.find((s: { name: string }) => s.name === 'daily-review')).toMatchObject({ cron: '30 6 * * 1-5', timezone: 'Europe/Berlin' });
  });

  it('a viewer may read but not change or run; a bad token is refused', async () => {
    problem(await acme.viewer('PATCH', '/v1/schedules/daily-review', { enabled: false }), 403, 'forbidden');
    problem(await acme.viewer('POST', '/v1/schedules/daily-review/run'), 403, 'forbidden');
    problem(await http('nope', 'GET', '/v1/runs'), 401, 'unauthorized');
    // Role before validation: the viewer learns nothing about the body it would need.
    problem(await acme.viewer('PATCH', '/v1/schedules/daily-review', { nonsense: 1 }), 403, 'forbidden');
  });

  it('Run Now answers 202 with the run; the run completes with its actions held for approval', async () => {
    const res = await acme.operator('POST', '/v1/schedules/daily-review/run');
    expect(res).toMatchObject({ status: 202, body: { runId: expect.any(String), status: 'queued' } });
    expect(res.location).toBe(`/v1/runs/${res.body.runId}`);
    const run = await completed(acme, res.body.runId);
    expect(run).toMatchObject({
      id: res.body.runId, agent: 'sales', job: 'daily-review', trigger: 'manual', schedule: 'daily-review', planner: 'rules', attempts: 1,
      summary: 'two deals need a follow-up', findings: { idle: ['D-1', 'D-2'] }, hints: ['look again tomorrow'], error: null,
      counts: { requested: 2, awaiting_approval: 2 }, requestedBy: `token:${acme.ids.operator}`, requestedAt: '2026-01-05T09:00:00.000Z', delegationId: null, input: {},
    });
    expect(run.durationMs).toBeGreaterThanOrEqual(0);
    expect(run.actions).toEqual([0, 1].map((i) => expect.objectContaining({
      index: i, actionType: 'email.send', preview: `Follow-up email to c${i + 1}@client.example`, target: `deal/D-${i + 1}`, task: `${run.id}-${i}`, outcome: 'awaiting_approval',
    })));
    problem(await acme.operator('POST', '/v1/schedules/no-such-job/run'), 404, 'schedule_not_found');
  });

  it('lists runs newest first in pages; filters; refuses bad parameters', async () => {
    env.clock.advance(1000);
    const ask = (await acme.operator('POST', '/v1/schedules/ask-delivery/run')).body.runId as string;
    env.clock.advance(1000);
    const again = (await acme.operator('POST', '/v1/schedules/daily-review/run')).body.runId as string;
    await completed(acme, ask);
    await completed(acme, again);
    const delegated = await eventually(async () => {
      const r = await acme.viewer('GET', '/v1/runs?agent=delivery');
      return r.body.items[0]?.status === 'completed' ? r.body.items[0] : undefined;
    }, 20_000, 'the delegated run');
    expect(delegated).toMatchObject({ agent: 'delivery', job: 'order-exceptions', trigger: 'delegation', summary: 'reviewed 2 exceptions', delegationId: expect.any(String) });

    const all = (await acme.viewer('GET', '/v1/runs')).body;
    expect(all.next).toBeNull();
    expect(all.items).toHaveLength(4);
    const times = all.items.map((r: { requestedAt: string }) => r.requestedAt);
    expect([...times].sort().reverse()).toEqual(times);
    const first = await acme.viewer('GET', '/v1/runs?limit=3');
    expect(first.body.items).toHaveLength(3);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await acme.viewer('GET', `/v1/runs?limit=3&after=${encodeURIComponent(first.body.next)}`);
    expect(second.body).toMatchObject({ next: null });
    expect([...first.body.items, ...second.body.items].map((r: { id: string }) => r.id)).toEqual(all.items.map((r: { id: string }) => r.id));

    expect((await acme.viewer('GET', '/v1/runs?agent=sales&trigger=manual&status=completed')).body.items).toHaveLength(3);
    expect((await acme.viewer('GET', '/v1/runs?job=ask-delivery')).body.items.map((r: { id: string }) => r.id)).toEqual([ask]);
    expect((await acme.viewer('GET', `/v1/runs?since=${encodeURIComponent('2026-01-05T09:00:01Z')}`)).body.items.map((r: { id: string }) => r.id)).not.toContain(all.items[3].id);
    expect((await acme.viewer('GET', '/v1/runs?status=failed')).body.items).toEqual([]);

    for (const q of ['limit=0', 'limit=501', 'limit=ten', 'status=bogus', 'agent=finance', 'trigger=cron', 'since=yesterday']) {
      const res = await acme.viewer('GET', `/v1/runs?${q}`);
      problem(res, 400, 'invalid_request');
      expect(res.body.detail, q).toContain(q.split('=')[0]);
    }
    const garbage = await acme.viewer('GET', '/v1/runs?after=garbage');
    problem(garbage, 400, 'invalid_cursor');
    expect(garbage.body.detail).toContain('pass the `next` value');
    problem(await acme.viewer('GET', '/v1/runs/no-such-run'), 404, 'run_not_found');
    problem(await acme.viewer('GET', '/v1/runs/not%20an%20id'), 400, 'invalid_request');
  });

  it('lists delegations, and the agents with their live state, jobs and reactions', async () => {
    const d = await eventually(async () => {
      const r = await acme.viewer('GET', '/v1/delegations');
      return r.body.items[0]?.status === 'completed' ? r.body : undefined;
    }, 20_000, 'the delegation completed');
    expect(d).toMatchObject({ next: null, items: [{ from: 'sales', to: 'delivery', task: 'order-exceptions', input: { count: 2 }, status: 'completed', summary: 'reviewed 2 exceptions', late: false, result: { findings: { reviewed: 2 } } }] });
    expect((await acme.viewer('GET', '/v1/delegations?agent=delivery&status=completed')).body.items).toHaveLength(1);
    expect((await acme.viewer('GET', '/v1/delegations?agent=executive')).body.items).toEqual([]);
    expect((await acme.viewer('GET', '/v1/delegations?status=declined')).body.items).toEqual([]);
    problem(await acme.viewer('GET', '/v1/delegations?status=lost'), 400, 'invalid_request');
    problem(await acme.viewer('GET', '/v1/delegations?limit=0'), 400, 'invalid_request');

    const agents = (await acme.viewer('GET', '/v1/agents')).body;
    expect(agents.planner).toBe('rules');
    expect(agents.items.map((a: { name: string }) => a.name)).toEqual(['sales', 'delivery']);
    const [sales, delivery] = agents.items;
    expect(sales).toMatchObject({
      title: 'Sales', status: 'active', state: expect.stringContaining('cycle.idle'), queued: 0, current: null, stats: { runs: 3, refusedRuns: 0 }, delegations: [],
      jobs: [
        { name: 'daily-review', cron: '0 8 * * *', missed: 'run_once', description: 'Daily review: a follow-up for each idle deal', schedule: { cron: '30 6 * * 1-5', timezone: 'Europe/Berlin', enabled: true, nextDueAt: '2026-01-06T05:30:00.000Z' } },
        { name: 'ask-delivery', cron: '0 9 * * 1', schedule: { cron: '0 9 * * 1', enabled: true } },
      ],
      reactions: [{ event: 'deal.closed', priority: 'high', description: 'thank the client' }],
      accepts: [],
    });
    // The second review asked for nothing new: its follow-ups still wait from the first.
    expect(sales.stats.actions).toBeGreaterThanOrEqual(3);
    expect(sales.recent).toHaveLength(3);
    expect(sales.recent).toEqual(expect.arrayContaining([{ runId: expect.any(String), job: 'daily-review', finishedAt: expect.any(String), counts: { requested: 2, awaiting_approval: 2 } }]));
    expect(delivery).toMatchObject({ stats: { runs: 1 }, jobs: [], accepts: [{ name: 'order-exceptions', description: 'reviews order exceptions' }] });
    expect(delivery.recent[0]).toMatchObject({ job: 'order-exceptions' });
  });

  it("a tenant's token sees nothing of another tenant's schedules, runs or delegations", async () => {
    const mine = (await acme.viewer('GET', '/v1/runs')).body.items as { id: string }[];
    expect(mine.length).toBeGreaterThan(0);
    // globex has its own schedules, as the definitions made them; acme's changes are not there.
    const theirs = (await globex.viewer('GET', '/v1/schedules')).body.items;
    expect(theirs.find((s: { name: string }) => s.name === 'daily-review')).toMatchObject({ cron: '0 8 * * *', timezone: 'UTC', updatedBy: 'cadre', lastRunId: null });
    expect((await globex.viewer('GET', '/v1/runs')).body).toEqual({ items: [], next: null });
    for (const r of mine) problem(await globex.viewer('GET', `/v1/runs/${r.id}`), 404, 'run_not_found');
    expect((await globex.viewer('GET', '/v1/delegations')).body).toEqual({ items: [], next: null });
    const agents = (await globex.viewer('GET', '/v1/agents')).body.items;
    expect(agents.map((a: { state: unknown; stats: { runs: number }; recent: unknown[] }) => [a.state, a.stats.runs, a.recent.length])).toEqual([[null, 0, 0], [null, 0, 0]]);
    // Naming the other tenant is refused.
    problem(await globex.viewer('GET', '/v1/runs', undefined, { 'x-cadre-tenant': 'acme' }), 403, 'forbidden');
    problem(await globex.operator('POST', '/v1/schedules/daily-review/run?tenant=acme'), 403, 'forbidden');
    // globex's change and run stay globex's.
    expect(await globex.operator('PATCH', '/v1/schedules/daily-review', { enabled: false })).toMatchObject({ status: 200, body: { enabled: false } });
    expect((await acme.viewer('GET', '/v1/schedules')).body.items.find((s: { name: string }) => s.name === 'daily-review')).toMatchObject({ enabled: true });
    const run = (await globex.operator('POST', '/v1/schedules/daily-review/run')).body.runId as string;
    await completed(globex, run);
    problem(await acme.viewer('GET', `/v1/runs/${run}`), 404, 'run_not_found');
    expect((await acme.viewer('GET', '/v1/runs')).body.items).toHaveLength(mine.length);
  });

  it('is in the OpenAPI document, and /metrics counts runs by status', async () => {
    const doc = await http(ADMIN, 'GET', '/docs/json');
    expect(doc.status).toBe(200);
    for (const path of ['/v1/schedules', '/v1/schedules/{name}', '/v1/schedules/{name}/run', '/v1/runs', '/v1/runs/{id}', '/v1/delegations', '/v1/agents']) {
      expect(doc.body.paths[path], path).toBeDefined();
    }
    expect(doc.body.paths['/v1/schedules/{name}'].patch.tags).toEqual(['agents']);
    expect(doc.body.paths['/v1/schedules/{name}/run'].post.responses['202']).toBeDefined();
    const metrics = await http(ADMIN, 'GET', '/metrics');
    expect(metrics.body).toContain('cadre_agent_runs{tenant="acme",agent="sales",status="completed"} 3');
    expect(metrics.body).toContain('cadre_agent_runs{tenant="acme",agent="delivery",status="completed"} 1');
  });
});
