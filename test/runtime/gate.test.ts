import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeBackends, eventually, type TestEnv } from '../support/runtime.ts';
import { brief, contactTestEntity, email, gateRecord, OutreachProbe, outreachEntity, Recorder, refused } from '../support/gated.ts';
import type { Runtime } from '../../runtime/index.ts';

const HOUR = 3600_000;
const TTL = 48 * HOUR; // the default approval TTL (config.approvalTtlMs)

type Ev = { type: string; [k: string]: unknown };

const pay = { type: 'pay', amount: 120, to: 'acct-7' };

/**
 * The gate end to end: decisions, approvals, expiry, the kill switch, rate
 * limits, dry-run, no way around it, learning and the audit log. One runtime per
 * backend serves the tests (each in its own tenants, so their settings do not
 * meet); the tests that restart a runtime make their own.
 */
describe.each(runtimeBackends)('the gate on $name', ({ make }) => {
  let env: TestEnv;
  let rt: Runtime;
  const rec = new Recorder();

  beforeAll(async () => {
    env = await make();
    rt = await env.start({ entities: [outreachEntity, contactTestEntity], effects: rec.handlers() });
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  let p: OutreachProbe;
  beforeAll(() => {
    p = new OutreachProbe(rt);
  });

  it('decides level × risk as DESIGN.md says: auto-run or approval', async () => {
    const requests = {
      low: { gate: 'research', state: 'researching', actionType: 'research.run', event: { type: 'research', topic: 'roof coatings' } },
      medium: { gate: 'task', state: 'tasking', actionType: 'task.create', event: { type: 'task', title: 'File the permit', trigger: 'compliance_deadline' } },
      high: { gate: 'email', state: 'emailing', actionType: 'email.send', event: email() },
      critical: { gate: 'pay', state: 'paying', actionType: 'payment.send', event: pay },
    } as const;
    const table = {
      supervised: { tenant: 'tbl-sup', low: 'approval', medium: 'approval', high: 'approval', critical: 'approval' },
      semi_autonomous: { tenant: 'tbl-semi', low: 'auto', medium: 'approval', high: 'approval', critical: 'approval' },
      autonomous: { tenant: 'tbl-auto', low: 'auto', medium: 'auto', high: 'auto', critical: 'approval' },
    } as const;
    const risks = ['low', 'medium', 'high', 'critical'] as const;
    for (const [level, row] of Object.entries(table)) await rt.gate.settings.setLevel(row.tenant, { level: level as keyof typeof table }, 'test');
    await Promise.all(Object.values(table).flatMap((row) => risks.map((risk) => p.send(risk, row.tenant, requests[risk].event))));

    for (const [level, row] of Object.entries(table)) {
      for (const risk of risks) {
        const q = requests[risk];
        const want = row[risk];
        const what = `${level} × ${risk}`;
        if (want === 'auto') {
          const v = await p.finished(risk, row.tenant, `${q.gate}:done`);
          expect(gateRecord(v.context, q.gate), what).toMatchObject({ status: 'done', level, risk, decidedBy: 'gate', approvalId: null });
          expect(rec.of(q.actionType, risk, row.tenant), what).toHaveLength(1);
        } else {
          const v = await p.inState(risk, row.tenant, `${q.state}.awaitingApproval`);
          const approval = await p.pendingApproval(risk, row.tenant);
          expect(approval, what).toMatchObject({ action_type: q.actionType, risk, level, status: 'pending' });
          expect(gateRecord(v.context, q.gate), what).toMatchObject({ status: 'awaiting_approval', level, risk, approvalId: approval.id });
        }
        const [decision] = (await p.auditOf(risk, row.tenant)).filter((a) => a.entry === 'decision');
        expect(decision, what).toMatchObject({ outcome: want, level, risk, decided_by: 'gate', action_type: q.actionType });
      }
    }
    await p.quiesce();
    for (const row of Object.values(table)) {
      for (const risk of risks) {
        expect(rec.of(requests[risk].actionType, risk, row.tenant), `${row.tenant} ${risk}`).toHaveLength(row[risk] === 'auto' ? 1 : 0);
      }
    }
  });

  it('the most specific level wins: agent + action type > action type > agent > tenant default > instance default', async () => {
    const s = rt.gate.settings;
    // email.send is high risk and asked for by agent `sales`; the instance default is supervised.
    const cases: { tenant: string; set: { agent?: string; actionType?: string; level: 'supervised' | 'semi_autonomous' | 'autonomous' }[]; want: string; scope: string; level: string }[] = [
      { tenant: 'lvl-0', set: [], want: 'approval', scope: 'instance default', level: 'supervised' },
      { tenant: 'lvl-1', set: [{ level: 'autonomous' }], want: 'auto', scope: 'tenant default', level: 'autonomous' },
      { tenant: 'lvl-2', set: [{ level: 'autonomous' }, { agent: 'sales', level: 'supervised' }], want: 'approval', scope: 'agent sales', level: 'supervised' },
      {
        tenant: 'lvl-3',
        set: [{ level: 'supervised' }, { agent: 'sales', level: 'supervised' }, { actionType: 'email.send', level: 'autonomous' }],
        want: 'auto', scope: 'action email.send', level: 'autonomous',
      },
      {
        tenant: 'lvl-4',
        set: [{ level: 'autonomous' }, { agent: 'sales', level: 'autonomous' }, { actionType: 'email.send', level: 'autonomous' }, { agent: 'sales', actionType: 'email.send', level: 'supervised' }],
        want: 'approval', scope: 'agent sales, action email.send', level: 'supervised',
      },
      {
        tenant: 'lvl-5',
        set: [{ level: 'supervised' }, { agent: 'sales', level: 'semi_autonomous' }, { actionType: 'email.send', level: 'supervised' }, { agent: 'sales', actionType: 'email.send', level: 'autonomous' }],
        want: 'auto', scope: 'agent sales, action email.send', level: 'autonomous',
      },
      // Rows of another agent or another action type do not apply.
      { tenant: 'lvl-6', set: [{ agent: 'billing', level: 'autonomous' }, { actionType: 'task.create', level: 'autonomous' }, { agent: 'billing', actionType: 'email.send', level: 'autonomous' }], want: 'approval', scope: 'instance default', level: 'supervised' },
    ];
    for (const c of cases) for (const l of c.set) await s.setLevel(c.tenant, l, 'test');
    await Promise.all(cases.map((c) => p.send('P-1', c.tenant, email())));
    for (const c of cases) {
      if (c.want === 'auto') await p.finished('P-1', c.tenant, 'email:done');
      else await p.inState('P-1', c.tenant, 'emailing.awaitingApproval');
      const [decision] = (await p.auditOf('P-1', c.tenant)).filter((a) => a.entry === 'decision');
      expect(decision, c.tenant).toMatchObject({ outcome: c.want, level: c.level, risk: 'high' });
      expect(decision!.detail, c.tenant).toMatchObject({ scope: c.scope });
      expect(decision!.reason, c.tenant).toContain(c.scope);
    }

    // A tenant's risk class for an action type changes what its level allows; clearing a level falls back.
    await s.setLevel('lvl-7', { level: 'semi_autonomous' }, 'test');
    await s.setRisk('lvl-7', { actionType: 'email.send', risk: 'low' }, 'test');
    await p.send('P-1', 'lvl-7', email());
    const v = await p.finished('P-1', 'lvl-7', 'email:done');
    expect(gateRecord(v.context, 'email')).toMatchObject({ level: 'semi_autonomous', risk: 'low' });
    expect(await s.clearLevel('lvl-1', '*', '*')).toBe(true);
    await p.send('P-2', 'lvl-1', email());
    await p.inState('P-2', 'lvl-1', 'emailing.awaitingApproval');
  });

  it('an approval carries what it releases; approving runs the effect once, and the audit log says who and why', async () => {
    const T = 'apr';
    const requestedAt = env.clock.now();
    const approval = await p.awaitingEmail('A-1', T);
    expect(approval).toMatchObject({
      tenant: T, kind: 'outreach', key: 'A-1', agent: 'sales', action_type: 'email.send', risk: 'high', level: 'supervised', status: 'pending',
      preview: 'Email ann@client.example: Hello', params: { to: 'ann@client.example', subject: 'Hello', body: 'About your roof.' },
      decided_by: null, note: null,
    });
    expect(new Date(approval.expires_at).getTime()).toBe(requestedAt + TTL);
    expect(await rt.approvals.get(T, approval.id)).toMatchObject({ id: approval.id, status: 'pending' });
    expect(await rt.approvals.list(T, { risk: 'high', agent: 'sales' })).toHaveLength(1);
    expect(await rt.approvals.list(T, { agent: 'billing' })).toHaveLength(0);
    const waiting = await p.inState('A-1', T, 'emailing.awaitingApproval');
    expect(gateRecord(waiting.context, 'email')).toMatchObject({ status: 'awaiting_approval', approvalId: approval.id, until: new Date(requestedAt + TTL).toISOString() });
    expect(rec.of('email.send', 'A-1', T)).toHaveLength(0);

    const decided = await rt.approvals.approve(T, approval.id, 'ana@acme', 'checked the address');
    expect(decided).toMatchObject({ id: approval.id, status: 'approved', decided_by: 'ana@acme', note: 'checked the address' });
    const done = await p.finished('A-1', T, 'email:done');
    expect(gateRecord(done.context, 'email')).toMatchObject({ status: 'done', decidedBy: 'ana@acme', reason: 'checked the address', result: { sent: true } });
    const states = (await rt.operator.history(p.at('A-1', T))).map((j) => j.state);
    expect(states).toEqual(['emailing.deciding', 'emailing.awaitingApproval', 'emailing.approved', 'idle']);
    expect(await rt.approvals.get(T, approval.id)).toMatchObject({ status: 'approved', decided_by: 'ana@acme', note: 'checked the address' });

    // Approving (or rejecting) again is a conflict; the effect ran once.
    expect((await refused(rt.approvals.approve(T, approval.id, 'bo'))).code).toBe('conflict');
    expect((await refused(rt.approvals.reject(T, approval.id, 'bo'))).code).toBe('conflict');
    await p.quiesce();
    expect(rec.of('email.send', 'A-1', T)).toHaveLength(1);
    expect(rec.of('email.send', 'A-1', T)[0]).toMatchObject({ params: approval.params, attempt: 1 });
    expect(await p.effectOf('A-1', T)).toMatchObject({ status: 'succeeded', attempts: 1, approval_id: approval.id });

    const log = await p.auditOf('A-1', T);
    expect(brief(log)).toEqual([
      { entry: 'decision', outcome: 'approval', decided_by: 'gate', policy: null },
      { entry: 'approval', outcome: 'approved', decided_by: 'ana@acme', policy: null },
      { entry: 'execution', outcome: 'executed', decided_by: 'executor', policy: null },
    ]);
    expect(log[1]).toMatchObject({ reason: 'checked the address', approval_id: approval.id, agent: 'sales', level: 'supervised', risk: 'high' });
    expect(new Set(log.map((a) => a.effect_id)).size).toBe(1);
    expect(log[2]!.detail).toMatchObject({ via: 'approved' });
    // The audit log can be read by agent and entry.
    expect(await rt.audit(T, { agent: 'sales', entry: 'approval' })).toHaveLength(1);
  });

  it('rejecting never runs it; bulk decisions decide the others when one id is unknown and one already decided', async () => {
    const T = 'rej';
    const r1 = await p.awaitingEmail('R-1', T);
    expect(await rt.approvals.reject(T, r1.id, 'bo@acme', 'wrong tone')).toMatchObject({ status: 'rejected', decided_by: 'bo@acme' });
    const v = await p.inState('R-1', T, 'emailing.rejected');
    expect(gateRecord(v.context, 'email')).toMatchObject({ status: 'rejected', decidedBy: 'bo@acme', reason: 'wrong tone' });
    await p.effectIs('R-1', T, 'rejected');
    expect(brief(await p.auditOf('R-1', T)).map((a) => `${a.entry}:${a.outcome}:${a.decided_by}`)).toEqual(['decision:approval:gate', 'approval:rejected:bo@acme']);
    expect((await refused(rt.approvals.approve(T, r1.id, 'ana'))).code).toBe('conflict');

    const ids: Record<string, string> = {};
    for (const k of ['B-1', 'B-2', 'B-3', 'B-4', 'B-5', 'B-6']) ids[k] = (await p.awaitingEmail(k, T)).id;
    await rt.approvals.approve(T, ids['B-2']!, 'ana');
    await rt.approvals.reject(T, ids['B-5']!, 'ana');

    const approved = await rt.approvals.bulk(T, [ids['B-1']!, 'apr_000000000000000000000000', ids['B-2']!, ids['B-3']!], 'approve', 'cy', 'batch');
    expect(approved.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['ok', 'not_found', 'conflict', 'ok']);
    expect(approved[0]).toMatchObject({ ok: true, approval: { status: 'approved', decided_by: 'cy', note: 'batch' } });
    const rejected = await rt.approvals.bulk(T, [ids['B-4']!, ids['B-1']!, 'nope', ids['B-6']!, ids['B-5']!], 'reject', 'cy');
    expect(rejected.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['ok', 'conflict', 'not_found', 'ok', 'conflict']);

    for (const k of ['B-1', 'B-2', 'B-3']) await p.finished(k, T, 'email:done');
    for (const k of ['B-4', 'B-5', 'B-6']) await p.inState(k, T, 'emailing.rejected');
    await p.quiesce();
    for (const k of ['B-1', 'B-2', 'B-3']) expect(rec.of('email.send', k, T), k).toHaveLength(1);
    for (const k of ['R-1', 'B-4', 'B-5', 'B-6']) expect(rec.of('email.send', k, T), k).toHaveLength(0);
    expect((await rt.approvals.list(T, { status: 'approved' })).map((a) => a.key).sort()).toEqual(['B-1', 'B-2', 'B-3']);
    expect((await rt.approvals.list(T, { status: 'rejected' })).map((a) => a.key).sort()).toEqual(['B-4', 'B-5', 'B-6', 'R-1']);
    expect(await rt.approvals.list(T, { status: 'pending' })).toHaveLength(0);
  });

  it('an approval that expires moves the actor along its expired path once; approving it then is refused', async () => {
    const T = 'exp';
    const a = await p.awaitingEmail('X-1', T);
    env.clock.advance(TTL - 1);
    await p.quiesce();
    expect(await rt.approvals.get(T, a.id)).toMatchObject({ status: 'pending' });
    env.clock.advance(1);
    const v = await p.waitActor('X-1', T, (x) => x.state === 'lapsed', 'lapsed');
    expect(v.context.lapses).toBe(1);
    expect(gateRecord(v.context, 'email')).toMatchObject({ status: 'expired', decidedBy: 'expiry' });
    expect(await rt.approvals.get(T, a.id)).toMatchObject({ status: 'expired', decided_by: 'expiry' });
    await p.effectIs('X-1', T, 'expired');
    expect((await refused(rt.approvals.approve(T, a.id, 'ana'))).code).toBe('conflict');

    // Time goes on, the poll runs again: still once.
    env.clock.advance(HOUR);
    await rt.approvals.expireDue(() => rt.ownership.owned());
    await p.quiesce();
    expect((await p.actor('X-1', T))!.context.lapses).toBe(1);
    expect((await rt.operator.history(p.at('X-1', T))).filter((j) => (j.event as { type?: string }).type === 'cadre.gate.expired')).toHaveLength(1);
    expect(brief(await p.auditOf('X-1', T)).filter((x) => x.outcome === 'expired')).toEqual([{ entry: 'approval', outcome: 'expired', decided_by: 'expiry', policy: null }]);
    expect(rec.of('email.send', 'X-1', T)).toHaveLength(0);
  });

  it('an approval whose deadline passed while no process ran expires once at the next start', async () => {
    const own = await make();
    try {
      const r1 = new Recorder();
      let r = await own.start({ entities: [outreachEntity, contactTestEntity], effects: r1.handlers() });
      await r.gate.settings.setTenantSettings('down', { approvalTtlMs: HOUR }, 'test');
      const a = await new OutreachProbe(r).awaitingEmail('Y-1', 'down');
      expect(new Date(a.expires_at).getTime()).toBe(own.clock.now() + HOUR);
      await r.stop();
      own.clock.advance(HOUR + 60_000);
      const r2 = new Recorder();
      r = await own.start({ entities: [outreachEntity, contactTestEntity], effects: r2.handlers() });
      const q = new OutreachProbe(r);
      const v = await q.waitActor('Y-1', 'down', (x) => x.state === 'lapsed', 'lapsed after the restart');
      expect(v.context.lapses).toBe(1);
      expect(await r.approvals.get('down', a.id)).toMatchObject({ status: 'expired', decided_by: 'expiry' });
      const err = await refused(r.approvals.approve('down', a.id, 'ana'));
      expect(err.code).toBe('conflict');
      expect(err.message).toContain('expired');
      await q.quiesce();
      expect((await q.actor('Y-1', 'down'))!.context.lapses).toBe(1);
      expect(brief(await q.auditOf('Y-1', 'down')).filter((x) => x.outcome === 'expired')).toHaveLength(1);
      expect(await q.effectOf('Y-1', 'down')).toMatchObject({ status: 'expired' });
      expect(r1.calls.length + r2.calls.length).toBe(0);
    } finally {
      await own.cleanup();
    }
  });

  it('the kill switch (global and per tenant) blocks every effect, also one approved before it went on; off again releases nothing until asked again', async () => {
    const s = rt.gate.settings;
    for (const t of ['ks-a', 'ks-b']) await s.setLevel(t, { level: 'autonomous' }, 'test');
    try {
      // Global: nothing runs anywhere.
      await s.setSwitch('*', { paused: true, reason: 'incident 42' }, 'ops');
      await p.send('K-1', 'ks-a', email());
      await p.send('K-1', 'ks-b', { type: 'research', topic: 'gutters' });
      await p.inState('K-1', 'ks-a', 'emailing.blocked');
      await p.inState('K-1', 'ks-b', 'researching.blocked');
      for (const t of ['ks-a', 'ks-b']) {
        const log = await p.auditOf('K-1', t);
        expect(brief(log), t).toEqual([{ entry: 'decision', outcome: 'blocked', decided_by: 'gate', policy: 'kill_switch' }]);
        expect(log[0]!.reason).toBe('the global kill switch is on: incident 42');
        expect(await p.effectOf('K-1', t)).toMatchObject({ status: 'blocked' });
      }

      // Per tenant: ks-a is stopped, ks-b goes on.
      await s.setSwitch('*', { paused: false }, 'ops');
      await s.setSwitch('ks-a', { paused: true, reason: 'tenant review' }, 'ops');
      await p.send('K-2', 'ks-a', email());
      await p.send('K-2', 'ks-b', email());
      await p.inState('K-2', 'ks-a', 'emailing.blocked');
      await p.finished('K-2', 'ks-b', 'email:done');
      expect((await p.auditOf('K-2', 'ks-a'))[0]).toMatchObject({ outcome: 'blocked', policy: 'kill_switch', reason: 'the tenant kill switch is on: tenant review' });

      // Approved before the switch went on (while its actor was paused, so it could not run yet): blocked at execution.
      const approval = await p.awaitingEmail('K-3', 'ks-c');
      await rt.operator.control(p.at('K-3', 'ks-c'), 'pause', 'ops');
      await rt.approvals.approve('ks-c', approval.id, 'ana', 'fine');
      await eventually(async () => {
        const e = await p.effectOf('K-3', 'ks-c');
        return e?.status === 'pending' && e.next_attempt_at.getTime() > env.clock.now();
      }, 10_000, 'the attempt waits for the paused actor');
      await s.setSwitch('ks-c', { paused: true }, 'ops');
      await rt.operator.control(p.at('K-3', 'ks-c'), 'resume', 'ops');
      env.clock.advance(61_000);
      await rt.effects.poll();
      await p.effectIs('K-3', 'ks-c', 'blocked');
      const k3 = await p.inState('K-3', 'ks-c', 'emailing.blocked');
      expect(gateRecord(k3.context, 'email')).toMatchObject({ status: 'blocked', reason: 'the tenant kill switch is on' });
      expect(brief(await p.auditOf('K-3', 'ks-c'))).toEqual([
        { entry: 'decision', outcome: 'approval', decided_by: 'gate', policy: null },
        { entry: 'approval', outcome: 'approved', decided_by: 'ana', policy: null },
        { entry: 'execution', outcome: 'blocked', decided_by: 'executor', policy: 'kill_switch' },
      ]);

      // Off again: nothing blocked runs by itself.
      for (const t of ['ks-a', 'ks-c']) await s.setSwitch(t, { paused: false }, 'ops');
      env.clock.advance(10 * 60_000);
      await p.quiesce();
      for (const [k, t] of [['K-1', 'ks-a'], ['K-1', 'ks-b'], ['K-2', 'ks-a'], ['K-3', 'ks-c']] as const) {
        expect(rec.ofTenant(t).filter((c) => c.actor.key === k), `${t}/${k}`).toHaveLength(0);
        expect(await p.effectOf(k, t), `${t}/${k}`).toMatchObject({ status: 'blocked' });
      }
      expect(rec.ofTenant('ks-c')).toHaveLength(0);

      // gate.retry asks again: a new request, decided afresh, and now it runs.
      await p.send('K-1', 'ks-a', { type: 'gate.retry', gate: 'email' });
      await p.send('K-1', 'ks-b', { type: 'gate.retry', gate: 'research' });
      await p.finished('K-1', 'ks-a', 'email:done');
      await p.finished('K-1', 'ks-b', 'research:done');
      await p.send('K-3', 'ks-c', { type: 'gate.retry', gate: 'email' });
      const again = await awaitingEmail2('K-3', 'ks-c');
      expect(again.id).not.toBe(approval.id);
      await rt.approvals.approve('ks-c', again.id, 'ana');
      const k3done = await p.finished('K-3', 'ks-c', 'email:done');
      expect(gateRecord(k3done.context, 'email')).toMatchObject({ request: 2, status: 'done' });
      expect(rec.of('email.send', 'K-1', 'ks-a')).toHaveLength(1);
      expect(rec.of('research.run', 'K-1', 'ks-b')).toHaveLength(1);
      expect(rec.of('email.send', 'K-3', 'ks-c')).toHaveLength(1);
    } finally {
      await s.setSwitch('*', { paused: false }, 'ops');
    }

    async function awaitingEmail2(key: string, tenant: string) {
      await p.inState(key, tenant, 'emailing.awaitingApproval');
      return p.pendingApproval(key, tenant);
    }
  });

  it('a daily rate limit holds the request over the limit until the next UTC day', async () => {
    const T = 'rl';
    await rt.gate.settings.setLevel(T, { level: 'autonomous' }, 'test');
    await rt.gate.settings.setLimit(T, { actionType: 'email.send', perDay: 50 }, 'test');
    const keys = Array.from({ length: 50 }, (_, i) => `L-${i + 1}`);
    await Promise.all(keys.map((k) => p.send(k, T, email(`${k.toLowerCase()}@client.example`))));
    await eventually(async () => rec.of('email.send', undefined, T).length === 50, 20_000, '50 emails sent');
    await eventually(async () => {
      const [row] = await rt.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM effects WHERE tenant = $1 AND status = 'succeeded'`, [T]);
      return row!.n === 50;
    }, 10_000, '50 effects succeeded');

    await p.send('L-51', T, email('l-51@client.example'));
    const held = await p.inState('L-51', T, 'emailing.held');
    const day = new Date(env.clock.now()).toISOString().slice(0, 10);
    const tomorrow = new Date(Date.parse(`${day}T00:00:00Z`) + 24 * HOUR).toISOString();
    expect(gateRecord(held.context, 'email')).toMatchObject({ status: 'held', policy: 'rate_limit', until: tomorrow });
    expect(await p.effectOf('L-51', T)).toMatchObject({ status: 'held' });
    const log = await p.auditOf('L-51', T);
    expect(brief(log)).toEqual([{ entry: 'decision', outcome: 'held', decided_by: 'gate', policy: 'rate_limit' }]);
    expect(log[0]!.reason).toContain('daily limit of 50 email.send');
    expect(await rt.db.query(`SELECT day::text AS day, used FROM rate_usage WHERE tenant = $1`, [T])).toEqual([{ day, used: 50 }]);

    // Later the same day: still held.
    env.clock.set(Date.parse(tomorrow) - 1000);
    await p.quiesce();
    expect(rec.of('email.send', 'L-51', T)).toHaveLength(0);
    expect(await p.effectOf('L-51', T)).toMatchObject({ status: 'held' });

    // The next UTC day it goes.
    env.clock.set(Date.parse(tomorrow) + 1000);
    await rt.effects.poll();
    const done = await p.finished('L-51', T, 'email:done');
    expect(gateRecord(done.context, 'email')).toMatchObject({ status: 'done' });
    expect(rec.of('email.send', 'L-51', T)).toHaveLength(1);
    expect(rec.of('email.send', undefined, T)).toHaveLength(51);
    expect(brief(await p.auditOf('L-51', T)).map((a) => `${a.entry}:${a.outcome}`)).toEqual(['decision:held', 'decision:auto', 'execution:executed']);
    expect(await rt.db.query(`SELECT day::text AS day, used FROM rate_usage WHERE tenant = $1 ORDER BY day`, [T])).toEqual([
      { day, used: 50 },
      { day: tomorrow.slice(0, 10), used: 1 },
    ]);
  });

  it('dry-run records effects as would-have-run, never calls a handler, and the machine goes on to its done target', async () => {
    const s = rt.gate.settings;
    await s.setLevel('dry', { level: 'autonomous' }, 'test');
    await s.setSwitch('dry', { dryRun: true }, 'ops');
    await p.send('D-1', 'dry', email());
    const v = await p.finished('D-1', 'dry', 'email:done');
    expect(gateRecord(v.context, 'email')).toMatchObject({
      status: 'done',
      result: { dryRun: true, wouldHaveRun: { actionType: 'email.send', params: { to: 'ann@client.example', subject: 'Hello' } } },
    });
    expect(await p.effectOf('D-1', 'dry')).toMatchObject({ status: 'dry_run' });
    expect(brief(await p.auditOf('D-1', 'dry')).map((a) => `${a.entry}:${a.outcome}`)).toEqual(['decision:dry_run', 'execution:dry_run']);

    // What needs a person still needs one; approved, it is recorded, not run.
    await p.send('D-2', 'dry', pay);
    await p.inState('D-2', 'dry', 'paying.awaitingApproval');
    const approval = await p.pendingApproval('D-2', 'dry');
    await rt.approvals.approve('dry', approval.id, 'ana');
    await p.finished('D-2', 'dry', 'pay:done');
    expect(await p.effectOf('D-2', 'dry')).toMatchObject({ status: 'dry_run' });

    // The global switch puts every tenant in dry-run.
    await s.setLevel('dry-g', { level: 'autonomous' }, 'test');
    await s.setSwitch('*', { dryRun: true }, 'ops');
    try {
      await p.send('D-3', 'dry-g', { type: 'research', topic: 'siding' });
      await p.finished('D-3', 'dry-g', 'research:done');
      expect(await p.effectOf('D-3', 'dry-g')).toMatchObject({ status: 'dry_run' });
    } finally {
      await s.setSwitch('*', { dryRun: false }, 'ops');
    }

    // Decided as dry-run, then dry-run switched off before its attempt was claimed: it is still only recorded.
    await s.setLevel('dry-late', { level: 'autonomous' }, 'test');
    await s.setSwitch('dry-late', { dryRun: true }, 'ops');
    const claim = rt.gate.claim.bind(rt.gate);
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    const waiting: string[] = [];
    rt.gate.claim = async (e, lease) => {
      if (e.tenant === 'dry-late') {
        waiting.push(e.id);
        await opened;
      }
      return claim(e, lease);
    };
    try {
      await p.send('D-4', 'dry-late', email());
      await eventually(async () => waiting.length === 1, 10_000, 'the attempt about to be claimed');
      await s.setSwitch('dry-late', { dryRun: false }, 'ops');
      open();
      await p.finished('D-4', 'dry-late', 'email:done');
    } finally {
      open();
      rt.gate.claim = claim;
    }
    expect(await p.effectOf('D-4', 'dry-late')).toMatchObject({ status: 'dry_run' });
    expect(brief(await p.auditOf('D-4', 'dry-late')).map((a) => `${a.entry}:${a.outcome}`)).toEqual(['decision:dry_run', 'execution:dry_run']);

    await p.quiesce();
    expect(rec.ofTenant('dry')).toHaveLength(0);
    expect(rec.ofTenant('dry-g')).toHaveLength(0);
    expect(rec.ofTenant('dry-late')).toHaveLength(0);
  });

  it('nothing gets around the gate: forged effect rows, forged gate messages, withdrawn requests', async () => {
    const T = 'nb';
    // (a) Effect rows written straight into the table, for an actor that exists and waits at its gate.
    const real = await p.awaitingEmail('N-1', T);
    const e = (await p.effectOf('N-1', T))!;
    const now = new Date(env.clock.now()).toISOString();
    const forge = (id: string, status: string, gate: unknown, seq: number | string) =>
      rt.db.query(
        `INSERT INTO effects (tenant, id, kind, key, partition, action_type, params, on_done, on_error, status, max_attempts, next_attempt_at,
           correlation_id, requested_seq, requested_at, gate)
         VALUES ($1, $2, 'outreach', 'N-1', $3, 'email.send', $4::jsonb, 'cadre.gate.done', 'cadre.gate.failed', $5, 3, $6::timestamptz, 'forged', $7, $6::timestamptz, $8::jsonb)`,
        [T, id, e.partition, JSON.stringify({ to: 'everyone@client.example', subject: 'forged' }), status, now, seq, gate === null ? null : JSON.stringify(gate)],
      );
    await forge('forged-pending', 'pending', e.gate, e.requested_seq); // as if asked for by the real transition, through the real gate
    await forge('forged-pending-nogate', 'pending', null, e.requested_seq);
    await forge('forged-deciding-nogate', 'deciding', null, e.requested_seq);
    await forge('forged-deciding-uncommitted', 'deciding', e.gate, 999);
    await rt.effects.poll();
    const forged = ['forged-pending', 'forged-pending-nogate', 'forged-deciding-nogate', 'forged-deciding-uncommitted'];
    await eventually(async () => {
      const rows = await rt.db.query<{ status: string }>(`SELECT status FROM effects WHERE tenant = $1 AND id = ANY ($2::text[])`, [T, forged]);
      return rows.length === 4 && rows.every((r) => r.status === 'refused');
    }, 10_000, 'forged rows refused');
    const refusals = (await rt.audit(T, { outcome: 'refused' })).filter((a) => forged.includes(a.effect_id!));
    expect(refusals.map((a) => `${a.effect_id}:${a.entry}`).sort()).toEqual([
      'forged-deciding-nogate:decision',
      'forged-deciding-uncommitted:decision',
      'forged-pending-nogate:execution',
      'forged-pending:execution',
    ]);
    expect(refusals.find((a) => a.effect_id === 'forged-pending')!.reason).toBe('no committed transition asked for it through a gate') // its id does not name the commit it claims;
    expect(refusals.find((a) => a.effect_id === 'forged-pending-nogate')!.reason).toContain('no committed transition');
    await p.quiesce();
    expect(rec.ofTenant(T)).toHaveLength(0);
    // The real request is untouched and runs once approved.
    await rt.approvals.approve(T, real.id, 'ana');
    await p.finished('N-1', T, 'email:done');
    await p.quiesce();
    expect(rec.ofTenant(T).map((c) => c.id)).toEqual([e.id]);

    // (b) A forged `approved` straight into the actor's mailbox: the actor may move, the effect never runs.
    const a2 = await p.awaitingEmail('N-2', T);
    const e2 = (await p.effectOf('N-2', T))!;
    const forgedApproval = {
      type: 'cadre.gate.update',
      effectId: e2.id,
      event: { type: 'cadre.gate.approved', gate: 'email', request: 1, effectId: e2.id, approvalId: a2.id, by: 'mallory', note: null },
    };
    await rt.send.send(p.at('N-2', T), forgedApproval, { wait: true, from: 'mallory' });
    await rt.send.send(p.at('N-2', T), { type: 'cadre.gate.update', effectId: e2.id, event: { type: 'cadre.gate.done', gate: 'email', request: 1, effectId: e2.id, result: 'forged' } }, { wait: true, from: 'mallory' });
    env.clock.advance(5 * 60_000);
    await p.quiesce();
    expect(rec.of('email.send', 'N-2', T)).toHaveLength(0);
    // The forged done moved the actor out of the gate: the approval waits, or the
    // sweep has already withdrawn it; either way nothing was released.
    expect(await p.effectOf('N-2', T)).toMatchObject({ status: expect.stringMatching(/^(awaiting_approval|withdrawn)$/) });
    expect(await rt.approvals.get(T, a2.id)).toMatchObject({ status: expect.stringMatching(/^(pending|withdrawn)$/) });
    expect((await rt.audit(T, { actor: 'outreach/N-2', entry: 'execution' }))).toHaveLength(0);

    // (c) The actor left the gate while its approval was pending: approving is refused as withdrawn, nothing runs.
    const a3 = await p.awaitingEmail('N-3', T);
    await p.send('N-3', T, { type: 'cancel' });
    const left = await p.inState('N-3', T, 'idle');
    expect(gateRecord(left.context, 'email')).toMatchObject({ status: 'withdrawn' });
    const err = await refused(rt.approvals.approve(T, a3.id, 'ana'));
    expect(err.code).toBe('withdrawn');
    expect(await rt.approvals.get(T, a3.id)).toMatchObject({ status: 'withdrawn' });
    expect(await p.effectOf('N-3', T)).toMatchObject({ status: 'withdrawn' });
    expect((await refused(rt.approvals.approve(T, a3.id, 'ana'))).code).toBe('withdrawn');
    await p.quiesce();
    expect(rec.of('email.send', 'N-3', T)).toHaveLength(0);
    expect(brief(await p.auditOf('N-3', T)).map((x) => `${x.entry}:${x.outcome}`)).toEqual(['decision:approval', 'approval:withdrawn']);
  });

  it('learns from approvals: a streak proposes a level, a rejection resets it; accept sets the level, dismiss does not; never for critical actions', async () => {
    const s = rt.gate.settings;
    for (const t of ['learn-a', 'learn-b', 'learn-c']) await s.setTenantSettings(t, { learnAfter: 3 }, 'test');
    const decideEach = async (tenant: string, plan: ('approve' | 'reject')[], prefix: string, event: Ev = email()) => {
      for (const [i, d] of plan.entries()) {
        const key = `${prefix}-${i + 1}`;
        await p.send(key, tenant, event);
        const a = await p.pendingApproval(key, tenant);
        await (d === 'approve' ? rt.approvals.approve(tenant, a.id, 'ana') : rt.approvals.reject(tenant, a.id, 'ana'));
      }
    };

    // Three in a row: one proposal, for that agent and action type.
    await decideEach('learn-a', ['approve', 'approve'], 'M');
    expect(await rt.proposals.list('learn-a')).toHaveLength(0);
    await decideEach('learn-a', ['approve'], 'M3');
    const [proposal, ...more] = await rt.proposals.list('learn-a');
    expect(more).toHaveLength(0);
    expect(proposal).toMatchObject({ agent: 'sales', action_type: 'email.send', risk: 'high', from_level: 'supervised', to_level: 'autonomous', streak: 3, status: 'proposed' });
    await decideEach('learn-a', ['approve'], 'M4'); // a fourth approval does not make a second one
    expect(await rt.proposals.list('learn-a')).toHaveLength(1);
    // Accepted: the level is set for that agent and action type, and the next email runs on its own.
    expect(await rt.proposals.accept('learn-a', proposal!.id, 'owner', 'ok')).toMatchObject({ status: 'accepted', decided_by: 'owner' });
    expect(await rt.proposals.list('learn-a', 'accepted')).toHaveLength(1);
    expect((await s.read('learn-a')).levels).toEqual([expect.objectContaining({ agent: 'sales', action_type: 'email.send', level: 'autonomous', set_by: 'owner' })]);
    await p.send('M-next', 'learn-a', email());
    await p.finished('M-next', 'learn-a', 'email:done');
    expect(await rt.approvals.list('learn-a', { status: 'pending' })).toHaveLength(0);
    expect((await rt.audit('learn-a', { outcome: 'level_changed' }))[0]).toMatchObject({ agent: 'sales', action_type: 'email.send', level: 'autonomous', decided_by: 'owner' });

    // A rejection in between resets the streak.
    await decideEach('learn-b', ['approve', 'approve', 'reject', 'approve', 'approve'], 'Q');
    expect(await rt.proposals.list('learn-b')).toHaveLength(0);
    await decideEach('learn-b', ['approve'], 'Q6');
    const [pb] = await rt.proposals.list('learn-b');
    expect(pb).toMatchObject({ streak: 3, to_level: 'autonomous' });
    // Dismissed: levels stay, the next email still waits for a person.
    await rt.proposals.dismiss('learn-b', pb!.id, 'owner', 'not yet');
    expect(await rt.proposals.list('learn-b', 'dismissed')).toEqual([expect.objectContaining({ id: pb!.id, decided_by: 'owner', note: 'not yet' })]);
    expect((await s.read('learn-b')).levels).toEqual([]);
    await p.send('Q-next', 'learn-b', email());
    await p.inState('Q-next', 'learn-b', 'emailing.awaitingApproval');
    await expect(rt.proposals.accept('learn-b', pb!.id, 'owner')).rejects.toMatchObject({ code: 'conflict' });

    // Critical actions: never a proposal, however many approvals.
    await decideEach('learn-c', ['approve', 'approve', 'approve', 'approve', 'approve'], 'C', pay);
    expect(await rt.proposals.list('learn-c', 'all')).toHaveLength(0);
    const [streak] = await rt.db.query<{ streak: number }>(`SELECT streak FROM approval_streaks WHERE tenant = 'learn-c'`);
    expect(streak).toEqual({ streak: 5 });
  });

  it('the audit log is append-only: UPDATE, DELETE and TRUNCATE fail', async () => {
    await p.send('AO-1', 'ao', email());
    await p.inState('AO-1', 'ao', 'emailing.awaitingApproval');
    const [before] = await rt.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log`);
    expect(before!.n).toBeGreaterThan(0);
    await expect(rt.db.query(`UPDATE audit_log SET reason = 'rewritten' WHERE tenant = 'ao'`)).rejects.toThrow(/append-only/);
    await expect(rt.db.query(`DELETE FROM audit_log WHERE tenant = 'ao'`)).rejects.toThrow(/append-only/);
    await expect(rt.db.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
    await expect(rt.db.transaction(async (tx) => tx.query(`DELETE FROM audit_log`))).rejects.toThrow(/append-only/);
    const [after] = await rt.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log`);
    expect(after!.n).toBe(before!.n);
    expect(await rt.audit('ao', { actor: 'outreach/AO-1' })).toEqual([expect.objectContaining({ reason: expect.not.stringContaining('rewritten') })]);
  });
});
