/**
 * Tenants and tokens over the gateway (inject and real HTTP), the CLI's `tenant`
 * and `token` commands, and the instance admin token file.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Runtime } from '../../runtime/index.ts';
import { buildGateway } from '../../runtime/gateway/app.ts';
import { adminRoutes } from '../../runtime/gateway/routes/admin.ts';
import { healthRoutes } from '../../runtime/gateway/routes/health.ts';
import { startGateway } from '../../runtime/gateway/server.ts';
import { AdminTokenError, adminTokenPath, resolveAdminToken } from '../../runtime/gateway/admin-token.ts';
import { registerToken } from '../../runtime/cli/commands/token.ts';
import { makeEnv, runtimeBackends, type TestEnv } from '../support/runtime.ts';

const ADMIN = 'instance-admin-token-for-tests-0123456789';

type Call = (method: string, url: string, opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> }) => Promise<{ status: number; body: any; type: string }>;

/** Requests through Fastify's inject. */
const injector = (app: FastifyInstance): Call => async (method, url, opts = {}) => {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? ADMIN : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await app.inject({ method: method as 'GET', url, headers, ...(opts.body === undefined ? {} : { payload: opts.body as object }) });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null, type: String(res.headers['content-type'] ?? '') };
};

/** Requests over real HTTP. */
const fetcher = (base: string): Call => async (method, url, opts = {}) => {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? ADMIN : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${url}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, type: res.headers.get('content-type') ?? '' };
};

describe.each(runtimeBackends)('tenants and tokens on $name', ({ make }) => {
  let env: TestEnv;
  let rt: Runtime;
  let app: FastifyInstance;
  let call: Call;

  beforeAll(async () => {
    env = await make();
    rt = await env.start();
    app = await buildGateway(rt, { adminToken: ADMIN }, [adminRoutes, healthRoutes]);
    call = injector(app);
  });
  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  it('the instance admin creates tenants; nobody else may', async () => {
    const made = await call('POST', '/v1/tenants', { body: { tenant: 'acme', name: 'Acme Roofing' } });
    expect(made).toMatchObject({ status: 201, body: { tenant: 'acme', name: 'Acme Roofing', created: true, createdBy: 'token:instance-admin' } });
    const again = await call('POST', '/v1/tenants', { body: { tenant: 'acme', name: 'Another name' } });
    expect(again).toMatchObject({ status: 200, body: { tenant: 'acme', name: 'Acme Roofing', created: false } });

    expect(await call('POST', '/v1/tenants', { token: null, body: { tenant: 'x', name: 'X' } })).toMatchObject({ status: 401, body: { code: 'unauthorized' }, type: expect.stringContaining('application/problem+json') });
    expect(await call('POST', '/v1/tenants', { token: 'cdr_nope_nope', body: { tenant: 'x', name: 'X' } })).toMatchObject({ status: 401 });
    expect(await call('POST', '/v1/tenants', { body: { tenant: 'no spaces', name: 'X' } })).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(await call('POST', '/v1/tenants', { body: { tenant: 'x' } })).toMatchObject({ status: 400, body: { code: 'invalid_request' } });

    // A tenant's own admin cannot make tenants.
    const acmeAdmin = await call('POST', '/v1/tokens', { body: { tenant: 'acme', role: 'admin', name: 'acme admin' } });
    expect(await call('POST', '/v1/tenants', { token: acmeAdmin.body.secret, body: { tenant: 'evil', name: 'Evil' } })).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    const listed = await call('GET', '/v1/tenants', { token: acmeAdmin.body.secret });
    expect(listed.body.items.map((t: { tenant: string }) => t.tenant)).toEqual(['acme']);
  });

  it('tokens: the instance admin names the tenant; a tenant admin makes tokens for its own tenant only; revoked tokens fail at once', async () => {
    await call('POST', '/v1/tenants', { body: { tenant: 'north', name: 'North' } });
    await call('POST', '/v1/tenants', { body: { tenant: 'south', name: 'South' } });

    // The instance admin must name the tenant, which must exist.
    expect(await call('POST', '/v1/tokens', { body: { role: 'admin', name: 'x' } })).toMatchObject({ status: 400, body: { code: 'tenant_required' } });
    expect(await call('POST', '/v1/tokens', { body: { tenant: 'nowhere', role: 'admin', name: 'x' } })).toMatchObject({ status: 404, body: { code: 'unknown_tenant' } });
    expect(await call('POST', '/v1/tokens', { body: { tenant: 'north', role: 'root', name: 'x' } })).toMatchObject({ status: 400, body: { code: 'invalid_request' } });

    const northAdmin = await call('POST', '/v1/tokens', { body: { tenant: 'north', role: 'admin', name: 'north admin' } });
    expect(northAdmin).toMatchObject({ status: 201, body: { id: expect.stringMatching(/^tok_/), secret: expect.stringMatching(/^cdr_/), tenant: 'north', role: 'admin', name: 'north admin' } });
    // …or by the header.
    const southAdmin = await call('POST', '/v1/tokens', { headers: { 'x-cadre-tenant': 'south' }, body: { role: 'admin', name: 'south admin' } });
    expect(southAdmin).toMatchObject({ status: 201, body: { tenant: 'south' } });

    // A tenant admin: its own tenant, without naming it or naming it; never another.
    const n = northAdmin.body.secret as string;
    const op = await call('POST', '/v1/tokens', { token: n, body: { role: 'operator', name: 'n8n' } });
    expect(op).toMatchObject({ status: 201, body: { tenant: 'north', role: 'operator', name: 'n8n' } });
    const viewer = await call('POST', '/v1/tokens', { token: n, body: { tenant: 'north', role: 'viewer', name: 'wall screen' } });
    expect(viewer).toMatchObject({ status: 201, body: { tenant: 'north', role: 'viewer' } });
    expect(await call('POST', '/v1/tokens', { token: n, body: { tenant: 'south', role: 'admin', name: 'takeover' } })).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await call('POST', '/v1/tokens', { token: n, headers: { 'x-cadre-tenant': 'south' }, body: { role: 'admin', name: 'takeover' } })).toMatchObject({ status: 403 });
    // Operators and viewers make no tokens.
    expect(await call('POST', '/v1/tokens', { token: op.body.secret, body: { role: 'viewer', name: 'x' } })).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await call('GET', '/v1/tokens', { token: viewer.body.secret })).toMatchObject({ status: 403 });

    // Lists: never a secret; a tenant admin sees its tenant's; the instance admin all or the named one.
    const northList = await call('GET', '/v1/tokens', { token: n });
    expect(northList.status).toBe(200);
    expect(new Set(northList.body.items.map((t: { tenant: string }) => t.tenant))).toEqual(new Set(['north']));
    expect(northList.body.items.map((t: { name: string }) => t.name).sort()).toEqual(['n8n', 'north admin', 'wall screen']);
    expect(JSON.stringify(northList.body)).not.toContain(op.body.secret);
    expect(northList.body.items.find((t: { id: string }) => t.id === op.body.id)).toMatchObject({ createdBy: `token:${northAdmin.body.id}`, revokedAt: null });
    expect(await call('GET', '/v1/tokens?tenant=south', { token: n })).toMatchObject({ status: 403 });
    const all = await call('GET', '/v1/tokens');
    expect(new Set(all.body.items.map((t: { tenant: string }) => t.tenant))).toEqual(new Set(['acme', 'north', 'south']));
    const south = await call('GET', '/v1/tokens?tenant=south');
    expect(south.body.items.map((t: { id: string }) => t.id)).toEqual([southAdmin.body.id]);
    // Stored as a hash only.
    const stored = await rt.db.query<{ secret_hash: string }>(`SELECT secret_hash FROM api_tokens WHERE id = $1`, [op.body.id]);
    expect(stored[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);

    // The operator token works, and its use is recorded…
    expect(await call('GET', '/v1/tenants', { token: op.body.secret })).toMatchObject({ status: 200 });
    const used = (await call('GET', '/v1/tokens', { token: n })).body.items.find((t: { id: string }) => t.id === op.body.id);
    expect(used.lastUsedAt).toEqual(expect.any(String));
    // …another tenant's admin cannot revoke it (it does not exist for them)…
    expect(await call('DELETE', `/v1/tokens/${op.body.id}`, { token: southAdmin.body.secret })).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await call('GET', '/v1/tenants', { token: op.body.secret })).toMatchObject({ status: 200 });
    // …its own tenant's admin can, and it is refused from the next request on.
    const revoked = await call('DELETE', `/v1/tokens/${op.body.id}`, { token: n });
    expect(revoked).toMatchObject({ status: 200, body: { id: op.body.id, revokedAt: expect.any(String), revokedBy: `token:${northAdmin.body.id}`, alreadyRevoked: false } });
    expect(await call('GET', '/v1/tenants', { token: op.body.secret })).toMatchObject({ status: 401, body: { code: 'unauthorized', detail: 'the token is unknown or revoked' } });
    expect(await call('DELETE', `/v1/tokens/${op.body.id}`, { token: n })).toMatchObject({ status: 200, body: { alreadyRevoked: true } });
    expect((await call('GET', '/v1/tokens?revoked=false', { token: n })).body.items.map((t: { id: string }) => t.id)).not.toContain(op.body.id);
    // The instance admin revokes any tenant's token.
    expect(await call('DELETE', `/v1/tokens/${southAdmin.body.id}`)).toMatchObject({ status: 200, body: { tenant: 'south', revokedBy: 'token:instance-admin' } });
    expect(await call('GET', '/v1/tokens', { token: southAdmin.body.secret })).toMatchObject({ status: 401 });
    expect(await call('DELETE', '/v1/tokens/tok_nosuchtoken')).toMatchObject({ status: 404 });
  });

  it('over real HTTP: create, use, revoke; /healthz needs no token', async () => {
    const gw = await startGateway(rt, { port: 0, host: '127.0.0.1', adminToken: ADMIN, routes: [adminRoutes, healthRoutes] });
    try {
      expect(gw.url).toBe(`http://127.0.0.1:${gw.port}`);
      const http = fetcher(gw.url);
      expect(await http('POST', '/v1/tenants', { body: { tenant: 'west', name: 'West' } })).toMatchObject({ status: 201 });
      const admin = await http('POST', '/v1/tokens', { body: { tenant: 'west', role: 'admin', name: 'west admin' } });
      expect(admin).toMatchObject({ status: 201, body: { tenant: 'west' } });
      const viewer = await http('POST', '/v1/tokens', { token: admin.body.secret, body: { role: 'viewer', name: 'dashboard' } });
      expect(await http('GET', '/v1/tenants', { token: viewer.body.secret })).toMatchObject({ status: 200, body: { items: [{ tenant: 'west' }] } });
      expect(await http('DELETE', `/v1/tokens/${viewer.body.id}`, { token: admin.body.secret })).toMatchObject({ status: 200 });
      expect(await http('GET', '/v1/tenants', { token: viewer.body.secret })).toMatchObject({ status: 401, type: expect.stringContaining('application/problem+json') });
      expect(await http('GET', '/healthz', { token: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
      // In the OpenAPI document; /healthz and /metrics without the bearer requirement.
      const doc = await http('GET', '/docs/json', { token: null });
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/tenants', '/v1/tokens', '/v1/tokens/{id}', '/healthz', '/metrics']));
      expect(doc.body.paths['/healthz'].get.security).toEqual([]);
      expect(doc.body.paths['/v1/tokens'].post.responses['201']).toBeDefined();
    } finally {
      await gw.close();
    }
    // Closed: nothing listens any more.
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
  });
});

describe('cadre tenant / cadre token (on PostgreSQL)', () => {
  let env: TestEnv;
  const saved = { ...process.env };

  beforeAll(async () => {
    env = await makeEnv('services');
    await (await env.start()).stop(); // migrated
  });
  afterAll(async () => {
    process.env = saved;
    await env?.cleanup();
  });

  /** Runs `cadre <args>` in this process (the commands read the environment) and returns its stdout. */
  async function cadre(...args: string[]): Promise<string> {
    const c = env.config();
    process.env = { ...saved, DATABASE_URL: c.databaseUrl!, CADRE_SUBJECT_PREFIX: c.subjectPrefix, CADRE_PARTITIONS: String(c.partitions), CADRE_DATA_DIR: join(tmpdir(), 'cadre-never-opened'), USER: 'ana' };
    delete process.env.NATS_URL;
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      const program = new Command('cadre').exitOverride();
      registerToken(program);
      await program.parseAsync(['node', 'cadre', ...args]);
    } finally {
      spy.mockRestore();
      process.env = { ...saved };
    }
    return out;
  }

  it('creates tenants and tokens, lists and revokes them; a token for a missing tenant is refused', async () => {
    expect(await cadre('tenant', 'create', 'acme', '--name', 'Acme Roofing')).toBe('created tenant acme (Acme Roofing)\n8 agent schedule(s) created: cadre schedules list --tenant acme\n');
    expect(await cadre('tenant', 'create', 'acme')).toBe('tenant acme exists already (Acme Roofing)\n');
    await expect(cadre('token', 'create', '--tenant', 'nowhere', '--role', 'admin', '--name', 'x')).rejects.toThrow('there is no tenant nowhere; create it first: cadre tenant create nowhere');

    const made = JSON.parse(await cadre('token', 'create', '--tenant', 'acme', '--role', 'operator', '--name', 'n8n', '--json')) as { id: string; secret: string };
    expect(made).toMatchObject({ id: expect.stringMatching(/^tok_/), secret: expect.stringMatching(/^cdr_/), tenant: 'acme', role: 'operator', name: 'n8n' });
    const text = await cadre('token', 'create', '--tenant', 'acme', '--role', 'viewer', '--name', 'screen');
    expect(text).toMatch(/^id\s+tok_\w+\ntenant\s+acme\nrole\s+viewer\nname\s+screen\nsecret\s+cdr_\S+\n\nKeep the secret now/);

    // The gateway accepts the CLI's token, and refuses it once revoked.
    const rt = await env.start();
    const app = await buildGateway(rt, { adminToken: null }, [adminRoutes]);
    try {
      const call = injector(app);
      expect(await call('GET', '/v1/tenants', { token: made.secret })).toMatchObject({ status: 200, body: { items: [{ tenant: 'acme' }] } });
      const list = await cadre('token', 'list', '--tenant', 'acme');
      expect(list).toMatch(/^ID\s+TENANT\s+ROLE\s+NAME/);
      expect(list).toContain(made.id);
      expect(list).not.toContain(made.secret);
      expect(await cadre('token', 'revoke', made.id, '--tenant', 'acme')).toBe(`revoked ${made.id} (tenant acme, operator "n8n") by cli:ana\n`);
      expect(await call('GET', '/v1/tenants', { token: made.secret })).toMatchObject({ status: 401 });
      expect(await cadre('token', 'revoke', made.id)).toMatch(new RegExp(`^${made.id} was already revoked \\(at \\S+ by cli:ana\\)\\n$`));
      await expect(cadre('token', 'revoke', made.id, '--tenant', 'other')).rejects.toThrow(`there is no token ${made.id} in tenant other`);
      const live = JSON.parse(await cadre('token', 'list', '--live', '--json')) as { id: string }[];
      expect(live.map((t) => t.id)).not.toContain(made.id);
      expect(JSON.parse(await cadre('tenant', 'list', '--json'))).toMatchObject([{ tenant: 'acme', name: 'Acme Roofing', created_by: 'cli:ana' }]);
    } finally {
      await app.close();
      await rt.stop();
    }
  });
});

describe('the instance admin token', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const dir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'cadre-admin-token-'));
    dirs.push(d);
    return d;
  };

  it('CADRE_ADMIN_TOKEN wins and writes nothing', async () => {
    const d = await dir();
    expect(await resolveAdminToken({ adminToken: ADMIN, dataDir: d })).toEqual({ token: ADMIN, source: 'environment', path: null, created: false });
    await expect(stat(adminTokenPath(d))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('unset: generated once, owner-only, reused; concurrent first starts agree on one token', async () => {
    const d = join(await dir(), 'not-yet-made');
    const racers = await Promise.all([1, 2, 3, 4].map(() => resolveAdminToken({ dataDir: d })));
    expect(new Set(racers.map((r) => r.token)).size).toBe(1);
    expect(racers.filter((r) => r.created)).toHaveLength(1);
    const path = adminTokenPath(d);
    expect(racers[0]).toMatchObject({ source: 'file', path });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, 'utf8')).trim()).toBe(racers[0]!.token);
    expect(await resolveAdminToken({ dataDir: d })).toEqual({ token: racers[0]!.token, source: 'file', path, created: false });
    // No temporary files left behind.
    expect(await readdir(d)).toEqual(['admin-token']);
  });

  it('a file readable by others is made owner-only; a file without a token is an error, not overwritten', async () => {
    const d = await dir();
    const path = adminTokenPath(d);
    await writeFile(path, 'a-token-someone-wrote-0123456789\n', { mode: 0o644 });
    expect(await resolveAdminToken({ dataDir: d })).toMatchObject({ token: 'a-token-someone-wrote-0123456789', created: false });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await writeFile(path, '\n');
    await expect(resolveAdminToken({ dataDir: d })).rejects.toBeInstanceOf(AdminTokenError);
    expect(await readFile(path, 'utf8')).toBe('\n');
  });
});
