/**
 * `GET /healthz` and `GET /metrics`, and `cadre start` serving the gateway.
 *
 * Failures are real: the runtime reaches PostgreSQL and NATS through TCP proxies
 * on loopback, and the test cuts a proxy (closes the listener and every
 * connection through it), so the service is unreachable exactly as after a
 * network failure, then restores it.
 */
import { rm, readFile, stat } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../runtime/index.ts';
import { buildGateway } from '../../runtime/gateway/app.ts';
import { healthRoutes, HEALTH_TIMEOUT_MS } from '../../runtime/gateway/routes/health.ts';
import { METRICS } from '../../runtime/gateway/metrics.ts';
import { email, OutreachProbe, outreachEntity, Recorder } from '../support/gated.ts';
import { eventually, makeEnv, NATS_URL, runtimeBackends, type TestEnv } from '../support/runtime.ts';
import { ADMIN_URL, openTestPglite } from '../support/db.ts';
import { SLOW, startNode } from '../support/cli.ts';

const get = async (app: FastifyInstance, url: string) => {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.body, type: String(res.headers['content-type'] ?? ''), json: () => JSON.parse(res.body) };
};

/** One sample of the Prometheus text: `name{labels} value`, the labels as written. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe.each(runtimeBackends)('/healthz and /metrics on $name', ({ make }) => {
  let env: TestEnv;
  let rt: Runtime;
  let app: FastifyInstance;

  beforeAll(async () => {
    env = await make();
    rt = await env.start({ entities: [outreachEntity], effects: new Recorder().handlers() });
    app = await buildGateway(rt, { adminToken: null }, [healthRoutes]);
  });
  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  it('/healthz: 200 with the runtime, the database and the bus checked, without a token', async () => {
    const h = await get(app, '/healthz');
    expect(h.status).toBe(200);
    const services = env.backend === 'services';
    expect(h.json()).toMatchObject({
      status: 'ok',
      checks: {
        runtime: { ok: true, state: 'running' },
        database: { ok: true, kind: services ? 'postgres' : 'pglite', latencyMs: expect.any(Number) },
        bus: { ok: true, kind: services ? 'nats' : 'memory', latencyMs: expect.any(Number) },
      },
    });
  });

  it('/metrics: every documented name, with the numbers of what happened', async () => {
    const p = new OutreachProbe(rt);
    // acme: supervised, so a high-risk email waits for approval.
    await rt.gate.settings.setLevel('acme', { level: 'supervised' }, 'test');
    await p.awaitingEmail('O-1', 'acme');
    // globex: autonomous; research runs, an email to an opted-out address is blocked.
    await rt.gate.settings.setLevel('globex', { level: 'autonomous' }, 'test');
    await rt.gate.settings.suppress('globex', { address: 'no@globex.example', kind: 'opt_out' }, 'test');
    await p.send('O-2', 'globex', { type: 'research', topic: 'roofs' });
    await p.finished('O-2', 'globex', 'research:done');
    await p.send('O-3', 'globex', email('no@globex.example'));
    await p.waitActor('O-3', 'globex', (v) => v.context.gates?.email?.status === 'blocked', 'email blocked');
    // acme: a dead letter.
    expect(await rt.send.send({ tenant: 'acme', kind: 'outreach', key: 'O-1' }, { type: 'no.such.event' }, { wait: true })).toMatchObject({ ok: false });
    await rt.settle();

    const m = await get(app, '/metrics');
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    for (const d of METRICS) {
      expect(m.body, d.name).toContain(`# HELP ${d.name} `);
      expect(m.body, d.name).toContain(`# TYPE ${d.name} ${d.type}`);
    }
    expect(m.body).toContain('# TYPE process_resident_memory_bytes gauge');
    const t = m.body;
    expect(sample(t, 'cadre_actions_executed_total', 'tenant="globex",action_type="research.run"')).toBe(1);
    expect(sample(t, 'cadre_actions_blocked_total', 'tenant="globex",action_type="email.send"')).toBe(1);
    expect(sample(t, 'cadre_actions_executed_total', 'tenant="acme",action_type="email.send"')).toBeUndefined();
    expect(sample(t, 'cadre_approvals_pending', 'tenant="acme",risk="high"')).toBe(1);
    expect(sample(t, 'cadre_dead_letters_open', 'tenant="acme"')).toBe(1);
    expect(sample(t, 'cadre_effects', 'status="awaiting_approval"')).toBe(1);
    expect(sample(t, 'cadre_effects', 'status="succeeded"')).toBe(1);
    expect(sample(t, 'cadre_effects', 'status="blocked"')).toBe(1);
    expect(sample(t, 'cadre_outbox_waiting')).toBe(0);
    expect(sample(t, 'cadre_outbox_oldest_age_seconds')).toBe(0);
    expect(sample(t, 'cadre_actors', 'kind="outreach",state="emailing.awaitingApproval"')).toBe(1);
    expect(sample(t, 'cadre_metrics_database_up')).toBe(1);
    expect(sample(t, 'cadre_transitions_total')).toBeGreaterThanOrEqual(6);
    expect(sample(t, 'cadre_commits_total')).toBeGreaterThan(0);
    expect(sample(t, 'cadre_committed_messages_total')).toBeGreaterThanOrEqual(sample(t, 'cadre_commits_total')!);
    expect(sample(t, 'cadre_commit_batch_size_mean')).toBeGreaterThanOrEqual(1);
    expect(sample(t, 'cadre_dead_letters_total')).toBe(1);
    expect(sample(t, 'cadre_active_actors')).toBe(3);
    expect(sample(t, 'cadre_partitions_owned')).toBe(4);

    // A second gateway has its own registry: no "already registered" clash, the same numbers.
    const other = await buildGateway(rt, { adminToken: null }, [healthRoutes]);
    try {
      expect(sample((await get(other, '/metrics')).body, 'cadre_approvals_pending', 'tenant="acme",risk="high"')).toBe(1);
    } finally {
      await other.close();
    }
  });
});

/** A TCP proxy on loopback that can be cut (listener closed, every connection dropped) and restored on the same port. */
async function tcpProxy(target: { host: string; port: number }): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('error', () => undefined);
          sock.on('close', () => {
            sockets.delete(sock);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve((s.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  return { port, cut, restore: async () => void (await listen(port)), close: cut };
}

describe('/healthz when a service is unreachable (PostgreSQL + NATS through proxies)', () => {
  let env: TestEnv;
  let rt: Runtime;
  let app: FastifyInstance;
  let pg: Awaited<ReturnType<typeof tcpProxy>>;
  let nats: Awaited<ReturnType<typeof tcpProxy>>;

  beforeAll(async () => {
    env = await makeEnv('services');
    const pgUrl = new URL(env.config().databaseUrl!);
    pg = await tcpProxy({ host: new URL(ADMIN_URL).hostname, port: Number(pgUrl.port || 5432) });
    const natsUrl = new URL(NATS_URL);
    nats = await tcpProxy({ host: natsUrl.hostname, port: Number(natsUrl.port || 4222) });
    pgUrl.host = `127.0.0.1:${pg.port}`;
    // Leases long enough that a short cut does not make the node give up its partitions.
    rt = await env.start({ overrides: { databaseUrl: pgUrl.toString(), natsUrl: `nats://127.0.0.1:${nats.port}`, leaseTtlMs: 60_000, leaseRenewMs: 1000 } });
    app = await buildGateway(rt, { adminToken: null }, [healthRoutes]);
  });
  afterAll(async () => {
    await app?.close();
    await pg?.restore().catch(() => undefined);
    await nats?.restore().catch(() => undefined);
    await env?.cleanup();
    await pg?.close();
    await nats?.close();
  });

  it('503 naming PostgreSQL while it is cut off, 200 again once it is back; /metrics says the database is down', async () => {
    expect((await get(app, '/healthz')).status).toBe(200);
    await pg.cut();
    const h = await get(app, '/healthz');
    expect(h.status).toBe(503);
    expect(h.json()).toMatchObject({ status: 'unavailable', checks: { runtime: { ok: true }, database: { ok: false, kind: 'postgres', error: expect.any(String) }, bus: { ok: true } } });
    const m = await get(app, '/metrics');
    expect(m.status).toBe(200);
    expect(sample(m.body, 'cadre_metrics_database_up')).toBe(0);
    expect(m.body).not.toMatch(/^cadre_effects\{/m);
    await pg.restore();
    await eventually(async () => (await get(app, '/healthz')).status === 200, 15_000, 'healthz 200 after PostgreSQL is back');
  });

  it('503 naming NATS while it is cut off, within the check timeout; 200 again once it is back', async () => {
    await nats.cut();
    const started = Date.now();
    const h = await get(app, '/healthz');
    expect(Date.now() - started).toBeLessThan(HEALTH_TIMEOUT_MS + 1500);
    expect(h.status).toBe(503);
    expect(h.json()).toMatchObject({ status: 'unavailable', checks: { runtime: { ok: true }, database: { ok: true }, bus: { ok: false, kind: 'nats', error: expect.any(String) } } });
    await nats.restore();
    await eventually(async () => (await get(app, '/healthz')).status === 200, 20_000, 'healthz 200 after NATS is back');
  });

  it('503 once the runtime has stopped', async () => {
    await rt.stop();
    const h = await get(app, '/healthz');
    expect(h.status).toBe(503);
    expect(h.json()).toMatchObject({ status: 'unavailable', checks: { runtime: { ok: false, state: 'stopped' } } });
  });
});

describe('cadre start serves the gateway', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('prints the gateway URL and where the admin token is, serves /healthz, and reuses the token on the next start', async () => {
    const opened = await openTestPglite();
    await opened.db.close();
    cleanups.push(() => rm(opened.dataDir!, { recursive: true, force: true }));
    const env = { CADRE_DATA_DIR: opened.dataDir!, PORT: '0', CADRE_HOST: '127.0.0.1' };

    const node = await startNode(env);
    let stopped = false;
    cleanups.push(() => (stopped ? Promise.resolve() : node.stop('SIGKILL')));
    const out = node.stdout();
    const url = /^Gateway: (http:\/\/127\.0\.0\.1:\d+) \(listening on 127\.0\.0\.1:\d+; API docs at http:\/\/127\.0\.0\.1:\d+\/docs\)$/m.exec(out)?.[1];
    expect(url, out).toBeDefined();
    const path = /^Admin token: in (\S+) \(readable by its owner only; generated now\)$/m.exec(out)?.[1];
    expect(path, out).toBe(`${opened.dataDir}/admin-token`);
    expect((await stat(path!)).mode & 0o777).toBe(0o600);
    const token = (await readFile(path!, 'utf8')).trim();

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', checks: { database: { ok: true, kind: 'pglite' }, bus: { ok: true, kind: 'memory' } } });
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/v1/tenants`)).status).toBe(401);
    const made = await fetch(`${url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'acme', name: 'Acme' }) });
    expect(made.status).toBe(201);

    // SIGTERM: the gateway closes, then the runtime stops; exit 0.
    const end = await node.stop('SIGTERM');
    stopped = true;
    expect(end).toMatchObject({ code: 0 });
    expect(end.stderr).toContain('stopped');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();

    // The next start reads the same token, and the tenant made before is there.
    const again = await startNode(env);
    try {
      expect(again.stdout()).toContain(`Admin token: in ${path} (readable by its owner only)\n`);
      const url2 = /^Gateway: (\S+) /m.exec(again.stdout())![1]!;
      const tenants = await fetch(`${url2}/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
      expect(tenants.status).toBe(200);
      expect(await tenants.json()).toMatchObject({ items: [{ tenant: 'acme', name: 'Acme' }] });
    } finally {
      expect(await again.stop('SIGTERM')).toMatchObject({ code: 0 });
    }
  }, SLOW);
});
