/**
 * Row-level security, the second wall between tenants (migrations/006_rls.sql,
 * runtime/gateway/tenant-scope.ts): under tenant A's scope a query without any
 * tenant condition sees, changes and inserts only A's rows, on PostgreSQL and on
 * PGlite. The data is made the ordinary way (actors, dead letters, approvals, the
 * audit log, effects, settings, tokens), by a running runtime.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../runtime/index.ts';
import { Tokens } from '../../runtime/gateway/tokens.ts';
import { TENANT_ROLE, tenantDatabase, withTenant } from '../../runtime/gateway/tenant-scope.ts';
import { Operator } from '../../runtime/operator.ts';
import { tenantReads } from '../../runtime/gateway/routes/actors.ts';
import { readAudit } from '../../runtime/gate/index.ts';
import { email, OutreachProbe, outreachEntity, Recorder } from '../support/gated.ts';
import { runtimeBackends, type TestEnv } from '../support/runtime.ts';

const A = 'acme';
const B = 'globex';

/** The tables of the schema that have a tenant column. */
async function tenantTables(rt: Runtime): Promise<string[]> {
  const rows = await rt.db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND a.attname = 'tenant' AND NOT a.attisdropped ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

describe.each(runtimeBackends)('row-level security on $name', ({ make }) => {
  let env: TestEnv;
  let rt: Runtime;

  beforeAll(async () => {
    env = await make();
    rt = await env.start({ entities: [outreachEntity], effects: new Recorder().handlers() });
    const p = new OutreachProbe(rt);
    const tokens = new Tokens(rt.db, rt.clock, null);
    for (const t of [A, B]) {
      await tokens.createTenant(t, t.toUpperCase(), 'test');
      await tokens.create(t, 'admin', `${t} admin`, 'test');
      await rt.gate.settings.setLevel(t, { level: 'supervised' }, 'test');
      await rt.gate.settings.suppress(t, { address: `no@${t}.example`, kind: 'opt_out' }, 'test');
      await p.send('O-1', t, email(`ann@${t}.example`)); // an effect awaiting approval, its approval and audit entries
      await p.pendingApproval('O-1', t);
      const bad = await rt.send.send({ tenant: t, kind: 'outreach', key: 'O-1' }, { type: 'no.such.event' }, { wait: true }); // a dead letter
      expect(bad).toMatchObject({ ok: false });
    }
    await rt.gate.settings.setSwitch('*', { dryRun: false }, 'test'); // the instance-wide row
    await rt.settle();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('every table with a tenant column has row-level security and the tenant_wall policy', async () => {
    const tables = await tenantTables(rt);
    expect(tables).toEqual(expect.arrayContaining(['actors', 'journal', 'outbox', 'timers', 'effects', 'dead_letters', 'held_messages', 'script_jobs', 'approvals', 'audit_log', 'autonomy_levels', 'tenants', 'api_tokens']));
    const walled = await rt.db.query<{ name: string; rls: boolean; forced: boolean; policies: string[] }>(
      `SELECT c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
              coalesce((SELECT array_agg(p.polname::text ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid), '{}') AS policies
       FROM pg_class c WHERE c.relname = ANY ($1::text[]) AND c.relnamespace = current_schema()::regnamespace ORDER BY 1`,
      [tables],
    );
    for (const t of walled) {
      expect(t, t.name).toMatchObject({ rls: true, forced: false });
      expect(t.policies, t.name).toContain('tenant_wall');
    }
    expect(walled).toHaveLength(tables.length);
  });

  it("under A's scope a query without a tenant condition sees no row of B, in any tenant table", async () => {
    const tables = await tenantTables(rt);
    for (const [me, other] of [[A, B], [B, A]] as const) {
      const seen = await withTenant(rt.db, me, async (tx) => {
        const out: Record<string, string[]> = {};
        for (const t of tables) out[t] = (await tx.query<{ tenant: string }>(`SELECT DISTINCT tenant FROM ${t}`)).map((r) => r.tenant).sort();
        return out;
      });
      for (const t of tables) {
        expect(seen[t], `${me} reading ${t}`).not.toContain(other);
        // gate_switches: the instance-wide row ('*') is readable by every tenant.
        for (const tenant of seen[t]!) expect([me, ...(t === 'gate_switches' ? ['*'] : [])], `${me} reading ${t}`).toContain(tenant);
      }
      // What the tenant does have is there: the wall lets its own rows through.
      for (const t of ['actors', 'journal', 'effects', 'dead_letters', 'approvals', 'audit_log', 'autonomy_levels', 'suppressions', 'tenants', 'api_tokens']) {
        expect(seen[t], `${me} reading ${t}`).toEqual([me]);
      }
      expect(seen.gate_switches).toEqual(['*']);
      const actors = await withTenant(rt.db, me, (tx) => tx.query<{ tenant: string; key: string }>(`SELECT * FROM actors`));
      expect(actors.map((a) => `${a.tenant}/${a.key}`)).toEqual([`${me}/O-1`]);
    }
    // The runtime's own role (the owner) still sees both.
    expect((await rt.db.query<{ tenant: string }>(`SELECT DISTINCT tenant FROM approvals ORDER BY 1`)).map((r) => r.tenant)).toEqual([A, B]);
  });

  it('without a tenant set, the role sees nothing; instance tables are not granted to it', async () => {
    const none = await rt.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL ROLE ${TENANT_ROLE}`);
      return tx.query(`SELECT * FROM actors`);
    });
    expect(none).toEqual([]);
    for (const t of ['partition_leases', 'runtime_nodes', 'schema_migrations']) {
      await expect(withTenant(rt.db, A, (tx) => tx.query(`SELECT * FROM ${t}`)), t).rejects.toThrow(/permission denied/);
    }
  });

  it("tenantDatabase: every query of A's database sees A's rows only, also without a tenant condition; close leaves the database open", async () => {
    for (const [me, other] of [[A, B], [B, A]] as const) {
      const db = tenantDatabase(rt.db, me);
      expect(db.kind).toBe(rt.db.kind);
      // The "bug in a query": no WHERE at all.
      for (const t of ['actors', 'approvals', 'audit_log']) {
        const rows = await db.query<{ tenant: string }>(`SELECT tenant FROM ${t}`);
        expect(rows.length, `${me} reading ${t}`).toBeGreaterThan(0);
        expect(new Set(rows.map((r) => r.tenant)), `${me} reading ${t}`).toEqual(new Set([me]));
      }
      // One transaction, one scope: the role and the tenant hold for every statement in it.
      const inside = await db.transaction(async (tx) => {
        const [who] = await tx.query<{ role: string; tenant: string }>(`SELECT current_user AS role, current_setting('cadre.tenant', true) AS tenant`);
        const approvals = await tx.query<{ tenant: string }>(`SELECT tenant FROM approvals`);
        return { who, tenants: [...new Set(approvals.map((r) => r.tenant))] };
      });
      expect(inside).toEqual({ who: { role: TENANT_ROLE, tenant: me }, tenants: [me] });
      // A service on it asked for the other tenant by mistake finds nothing.
      expect(await new Operator(db, rt.send, rt.clock).deadLetters(other)).toEqual([]);
      expect(await readAudit(db, other)).toEqual([]);
      expect(await new Operator(db, rt.send, rt.clock).deadLetters(me)).toHaveLength(1);
      await db.close();
    }
    // The runtime's database is still open and still sees both.
    expect((await rt.db.query<{ tenant: string }>(`SELECT DISTINCT tenant FROM audit_log ORDER BY 1`)).map((r) => r.tenant)).toEqual([A, B]);
    expect(() => tenantDatabase(rt.db, 'not a tenant')).toThrow();
  });

  it("the gateway's read services answer under the wall exactly what they answer as the owner (the role has every grant they need)", async () => {
    for (const t of [A, B]) {
      const walled = tenantReads(rt, t);
      const address = { tenant: t, kind: 'outreach', key: 'O-1' };
      const [approval] = await rt.approvals.list(t);
      expect(approval).toBeDefined();
      const pairs: [string, unknown, unknown][] = [
        ['read.query', await walled.read.query(t, { kind: 'outreach' }), await rt.read.query(t, { kind: 'outreach' })],
        ['operator.actor', await walled.operator.actor(address), await rt.operator.actor(address)],
        ['operator.history', await walled.operator.history(address), await rt.operator.history(address)],
        ['operator.deadLetters', await walled.operator.deadLetters(t), await rt.operator.deadLetters(t)],
        ['approvals.list', await walled.approvals.list(t, { status: 'pending', kind: 'outreach', key: 'O-1' }), await rt.approvals.list(t, { status: 'pending', kind: 'outreach', key: 'O-1' })],
        ['approvals.get', await walled.approvals.get(t, approval!.id), await rt.approvals.get(t, approval!.id)],
        ['audit', await walled.audit({ actor: 'outreach/O-1' }), await rt.audit(t, { actor: 'outreach/O-1' })],
        ['settings.read', await walled.settings.read(t), await rt.gate.settings.read(t)],
        ['proposals.list', await walled.proposals.list(t, 'all'), await rt.proposals.list(t, 'all')],
      ];
      for (const [what, mine, owner] of pairs) expect(mine, `${t} ${what}`).toEqual(owner);
      expect(await walled.approvals.list(t, { status: 'pending' }), t).toHaveLength(1);
      expect((await walled.settings.read(t)).switches.map((s) => s.scope), t).toEqual(['*']); // the instance-wide row, through its own policy
    }
  });

  it('writes are walled too: an UPDATE or DELETE without WHERE touches only A; an INSERT for B is refused', async () => {
    const before = await rt.db.query<{ tenant: string; status: string }>(`SELECT tenant, status FROM dead_letters ORDER BY tenant`);
    expect(before.map((d) => d.tenant)).toEqual([A, B]);
    const changed = await withTenant(rt.db, A, async (tx) => {
      const u = await tx.query(`UPDATE dead_letters SET status = 'discarded', resolved_by = 'rls-test' RETURNING tenant`);
      const d = await tx.query(`DELETE FROM suppressions RETURNING tenant`);
      return { u, d };
    });
    expect(changed.u).toEqual([{ tenant: A }]);
    expect(changed.d).toEqual([{ tenant: A }]);
    expect(await rt.db.query(`SELECT tenant, status FROM dead_letters ORDER BY tenant`)).toEqual([
      { tenant: A, status: 'discarded' },
      { tenant: B, status: 'open' },
    ]);
    expect((await rt.db.query<{ tenant: string }>(`SELECT tenant FROM suppressions`)).map((r) => r.tenant)).toEqual([B]);

    await expect(
      withTenant(rt.db, A, (tx) => tx.query(`INSERT INTO suppressions (tenant, address, kind, created_by, created_at) VALUES ($1, 'x@y.example', 'manual', 'rls-test', now())`, [B])),
    ).rejects.toThrow(/row-level security/);
    // Moving a row of A to B is refused as well.
    await expect(withTenant(rt.db, A, (tx) => tx.query(`UPDATE actors SET tenant = $1`, [B]))).rejects.toThrow(/row-level security/);
    // Inserting for A, with a serial id, works.
    const [row] = await withTenant(rt.db, A, (tx) =>
      tx.query<{ id: number }>(`INSERT INTO audit_log (tenant, at, entry, outcome, decided_by) VALUES ($1, now(), 'decision', 'auto', 'rls-test') RETURNING id`, [A]),
    );
    expect(Number(row!.id)).toBeGreaterThan(0);
  });

  it('the scope ends with its transaction, also when it fails: the runtime sees every tenant again and keeps working', async () => {
    await expect(withTenant(rt.db, A, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const [who] = await rt.db.query<{ role: string; tenant: string | null }>(`SELECT current_user AS role, current_setting('cadre.tenant', true) AS tenant`);
    expect(who!.role).not.toBe(TENANT_ROLE);
    expect(who!.tenant || null).toBeNull();
    expect((await rt.db.query(`SELECT DISTINCT tenant FROM actors`)).length).toBe(2);
    // The runtime commits as before.
    expect(await rt.send.send({ tenant: B, kind: 'outreach', key: 'O-2' }, email(`bob@${B}.example`), { wait: true })).toMatchObject({ ok: true });
    await expect(withTenant(rt.db, 'not a tenant', async () => 1)).rejects.toThrow();
  });
});
