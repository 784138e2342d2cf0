/**
 * The `script.run` effect end to end: an actor asks for a job through a gate, the
 * runtime decides it (autonomy level × risk, policies, the tenant's daily limit),
 * runs it after the commit through its ScriptJobs, and the result (or the reason)
 * comes back to the actor as an event. On both runtime backends.
 */
import { assign, setup, type AnyEventObject } from 'xstate';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { defineEntity, gate, runtimeActions, type GateContext, type GateMachineEvent, type GateRecord, type Stamped } from '../../machines/index.ts';
import type { Runtime } from '../../runtime/index.ts';
import { SCRIPT_RUN, scriptRisk, scriptRunEffect } from '../../runtime/scripts/index.ts';
import { eventually, runtimeBackends, useEnv } from '../support/runtime.ts';

const ScripterEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('parse'), text: z.string() }),
  z.object({ type: z.literal('compute'), code: z.string() }),
  z.object({ type: z.literal('misuse') }),
  z.object({ type: z.literal('junk') }),
]);
type Ev = Stamped<z.infer<typeof ScripterEvent>> | Stamped<GateMachineEvent>;
type Ctx = { job: Record<string, unknown> | string | null; results: unknown[]; errors: string[] } & GateContext;

/** Asks for script jobs through the `script` gate (agent `analyst`) and keeps what comes back. */
const scripterMachine = setup({
  types: { context: {} as Ctx, events: {} as Ev },
  actions: { ...runtimeActions },
}).createMachine({
  id: 'scripter',
  context: { job: null, results: [], errors: [], gates: {} },
  initial: 'idle',
  states: {
    idle: {
      on: {
        parse: {
          target: 'running',
          actions: assign({
            job: ({ event }) => ({ template: 'parse_csv', params: { emitCsv: true }, inputs: [{ kind: 'csv', name: 'leads.csv', text: event.text }] }),
          }),
        },
        compute: { target: 'running', actions: assign({ job: ({ event }) => ({ code: event.code }) }) },
        misuse: { target: 'running', actions: assign({ job: () => ({ template: 'parse_csv', code: 'return 1' }) }) },
        // Params that are not even an object (a machine without types could do this).
        junk: { target: 'running', actions: assign({ job: () => 'not an object' }) },
      },
    },
    // Done and failed go back to idle; rejected, expired and blocked stay visible in the gate's own states.
    running: gate<Ctx>({
      name: 'script',
      actionType: SCRIPT_RUN,
      agent: 'analyst',
      params: ({ context }) => (context.job ?? {}) as Record<string, unknown>,
      preview: ({ context }) => (typeof context.job === 'object' && context.job && 'template' in context.job ? `script.run template ${String(context.job.template)}` : 'script.run custom code'),
      targets: { done: '#scripter.idle', failed: '#scripter.idle' },
      onDone: [assign(({ context, event }: { context: Ctx; event: AnyEventObject }) => ({ results: [...context.results, event.result] }))],
      onFailed: [assign(({ context, event }: { context: Ctx; event: AnyEventObject }) => ({ errors: [...context.errors, String(event.error)] }))],
    }),
  },
});

const scripterEntity = defineEntity({ kind: 'scripter', machine: scripterMachine, events: ScripterEvent });

const CSV = 'name,email\nAna,ana@example.com\nBo,bo@example.com\n';

describe.each(runtimeBackends)('the script.run effect on $name', ({ make }) => {
  const env = useEnv(make);

  const actor = (key: string, tenant = 'acme') => ({ tenant, kind: 'scripter', key });
  const contextOf = async (rt: Runtime, key: string, tenant = 'acme') => (await rt.operator.actor(actor(key, tenant)))?.context as Ctx | undefined;
  /** The actor's context once `n` results or errors came back. */
  const settled = (rt: Runtime, key: string, n = 1, tenant = 'acme') =>
    eventually(async () => {
      const c = await contextOf(rt, key, tenant);
      return c && c.results.length + c.errors.length >= n ? c : undefined;
    }, 20_000, `script result for ${tenant}/${key}`);
  /** The actor's gate record once it has `status`. */
  const gateIs = (rt: Runtime, key: string, status: GateRecord['status'], tenant = 'acme') =>
    eventually(async () => {
      const r = (await contextOf(rt, key, tenant))?.gates.script;
      return r?.status === status ? r : undefined;
    }, 20_000, `gate of ${tenant}/${key} ${status}`);
  const jobsOf = (rt: Runtime, tenant = 'acme') =>
    rt.db.query<{ id: string; requested_by: string; status: string }>(`SELECT id, requested_by, status FROM script_jobs WHERE tenant = $1 ORDER BY queued_at, requested_by`, [tenant]);
  /** The audit entries of one actor, oldest first. */
  const auditOf = async (rt: Runtime, key: string, tenant = 'acme') =>
    (await rt.audit(tenant, { actor: `scripter/${key}` })).reverse().map((r) => ({ entry: r.entry, outcome: r.outcome, risk: r.risk, level: r.level, policy: r.policy, decided_by: r.decided_by }));

  it('runs a template job after the commit and returns its result to the actor; a retried effect never runs it twice', async () => {
    const rt = await env.start({ entities: [scripterEntity], overrides: { defaultAutonomy: 'autonomous' } });
    await rt.send.send(actor('S-1'), { type: 'parse', text: CSV }, { wait: true });
    const context = await settled(rt, 'S-1');
    const [job] = await rt.db.query<{ id: string; status: string; effect_id: string; requested_by: string }>(
      `SELECT id, status, effect_id, requested_by FROM script_jobs`,
    );
    expect(job).toEqual({ id: expect.any(String), status: 'succeeded', effect_id: 'acme/scripter/S-1#1#x0', requested_by: 'acme/scripter/S-1' });
    expect(context.errors).toEqual([]);
    expect(context.results).toEqual([
      {
        jobId: job!.id,
        status: 'succeeded',
        output: expect.objectContaining({ rowCount: 2, columns: ['name', 'email'] }),
        artifacts: [{ name: 'leads.clean.csv', mediaType: 'text/csv', size: 52 }],
        risk: 'medium',
      },
    ]);
    expect(context.gates.script).toMatchObject({ status: 'done', effectId: 'acme/scripter/S-1#1#x0', level: 'autonomous', risk: 'medium', decidedBy: 'gate' });
    expect(await auditOf(rt, 'S-1')).toEqual([
      { entry: 'decision', outcome: 'auto', risk: 'medium', level: 'autonomous', policy: null, decided_by: 'gate' },
      { entry: 'execution', outcome: 'executed', risk: 'medium', level: 'autonomous', policy: null, decided_by: 'executor' },
    ]);

    // The process dies after the job was recorded but before the effect's outcome
    // was: the attempt runs again with the same idempotency key, and the job is not
    // run twice (the handler finds the job of that key).
    const handler = scriptRunEffect(rt.scripts);
    const [row] = await rt.db.query<{ id: string; params: Record<string, unknown> }>(`SELECT id, params FROM effects WHERE key = 'S-1'`);
    const again = (await handler.run({
      id: row!.id, tenant: 'acme', actor: actor('S-1'), actionType: SCRIPT_RUN, params: row!.params, attempt: 2, signal: new AbortController().signal,
    })) as { jobId: string };
    expect(again.jobId).toBe(job!.id);
    const jobs = await rt.db.query<{ id: string; attempts: number }>(`SELECT id, attempts FROM script_jobs`);
    expect(jobs).toEqual([{ id: job!.id, attempts: 1 }]);
    // And the executor never runs an effect again once its actor has the result: a row set
    // back to pending by hand is withdrawn (the actor left the gate), nothing runs.
    await rt.db.query(`UPDATE effects SET status = 'pending', attempts = 0, next_attempt_at = requested_at, result = NULL, finished_at = NULL`);
    await rt.effects.poll();
    await eventually(async () => (await rt.db.query(`SELECT 1 FROM effects WHERE status = 'withdrawn'`)).length === 1, 10_000, 'effect withdrawn');
    expect(await rt.db.query(`SELECT action_type, used FROM rate_usage WHERE tenant = 'acme'`)).toEqual([{ action_type: 'script.run', used: 1 }]);
    expect((await auditOf(rt, 'S-1')).map((e) => `${e.entry}:${e.outcome}`)).toEqual(['decision:auto', 'execution:executed', 'execution:withdrawn']);
    await rt.settle();
    expect((await contextOf(rt, 'S-1'))!.results).toHaveLength(1);

    // The handler's say in the risk: templates are medium, custom code high.
    expect(scriptRunEffect(rt.scripts)).toMatchObject({ actionType: SCRIPT_RUN, risk: scriptRisk, retry: { attempts: 8 } });
    expect([scriptRisk({ template: 'parse_csv' }), scriptRisk({ code: 'return 1' })]).toEqual(['medium', 'high']);
  });

  it('fails the effect at once with the reason when the job fails or the params are wrong', async () => {
    const rt = await env.start({ entities: [scripterEntity], overrides: { defaultAutonomy: 'autonomous' } });
    await rt.send.send(actor('S-2'), { type: 'compute', code: 'throw new Error("no column email")' }, { wait: true });
    await rt.send.send(actor('S-3'), { type: 'compute', code: 'for (;;) {}' }, { wait: true });
    await rt.send.send(actor('S-4'), { type: 'misuse' }, { wait: true });
    // Params that are not an object never make an effect: the transition is refused at the commit (a dead letter).
    expect(await rt.send.send(actor('S-5'), { type: 'junk' }, { wait: true })).toMatchObject({ ok: false, code: 'invalid_action' });
    const [s2, s3, s4] = await Promise.all([settled(rt, 'S-2'), settled(rt, 'S-3'), settled(rt, 'S-4')]);
    expect(s2.errors).toEqual([expect.stringMatching(/^script job [\w-]+ failed: Error: no column email \(SANDBOX_SCRIPT_ERROR\)$/)]);
    expect(s3.errors).toEqual([expect.stringMatching(/^script job [\w-]+ failed: the script used more than 1000 ms of CPU \(SANDBOX_CPU_LIMIT\)$/)]);
    expect(s4.errors).toEqual([expect.stringMatching(/^invalid script.run params: /)]);
    expect(s2.gates.script).toMatchObject({ status: 'failed', risk: 'high', reason: s2.errors[0] });
    const effects = await rt.db.query(`SELECT key, status, attempts FROM effects ORDER BY key`);
    expect(effects).toEqual([
      { key: 'S-2', status: 'failed', attempts: 1 },
      { key: 'S-3', status: 'failed', attempts: 1 },
      { key: 'S-4', status: 'failed', attempts: 1 },
    ]);
    const rows = await rt.db.query(`SELECT requested_by, status, reason_code FROM script_jobs ORDER BY requested_by`);
    expect(rows).toEqual([
      { requested_by: 'acme/scripter/S-2', status: 'failed', reason_code: 'SANDBOX_SCRIPT_ERROR' },
      { requested_by: 'acme/scripter/S-3', status: 'failed', reason_code: 'SANDBOX_CPU_LIMIT' },
    ]);
    expect((await auditOf(rt, 'S-3')).map((e) => `${e.entry}:${e.outcome}`)).toEqual(['decision:auto', 'execution:failed']);
  });

  it('a template job under semi_autonomous waits for a person (medium risk) and runs once approved', async () => {
    const rt = await env.start({ entities: [scripterEntity] });
    await rt.gate.settings.setLevel('acme', { agent: 'analyst', level: 'semi_autonomous' }, 'ops');
    await rt.send.send(actor('A-1'), { type: 'parse', text: CSV }, { wait: true });
    const waiting = await gateIs(rt, 'A-1', 'awaiting_approval');
    expect(waiting).toMatchObject({ level: 'semi_autonomous', risk: 'medium', approvalId: expect.stringMatching(/^apr_/) });
    expect(await jobsOf(rt)).toEqual([]); // nothing ran
    const [approval] = await rt.approvals.list('acme', { status: 'pending' });
    expect(approval).toMatchObject({
      id: waiting.approvalId,
      effect_id: 'acme/scripter/A-1#1#x0',
      agent: 'analyst',
      action_type: 'script.run',
      risk: 'medium',
      level: 'semi_autonomous',
      preview: 'script.run template parse_csv',
    });

    await rt.approvals.approve('acme', approval!.id, 'ana', 'looks fine');
    const context = await settled(rt, 'A-1');
    expect(context.errors).toEqual([]);
    expect(context.results).toEqual([expect.objectContaining({ status: 'succeeded', output: expect.objectContaining({ rowCount: 2 }) })]);
    expect(context.gates.script).toMatchObject({ status: 'done', decidedBy: 'ana' });
    expect(await jobsOf(rt)).toEqual([{ id: expect.any(String), requested_by: 'acme/scripter/A-1', status: 'succeeded' }]);
    expect(await auditOf(rt, 'A-1')).toEqual([
      { entry: 'decision', outcome: 'approval', risk: 'medium', level: 'semi_autonomous', policy: null, decided_by: 'gate' },
      { entry: 'approval', outcome: 'approved', risk: 'medium', level: 'semi_autonomous', policy: null, decided_by: 'ana' },
      { entry: 'execution', outcome: 'executed', risk: 'medium', level: 'semi_autonomous', policy: null, decided_by: 'executor' },
    ]);
  });

  it('custom code is high risk: it runs on its own under autonomous, waits for approval under semi_autonomous, and a rejection runs nothing', async () => {
    const rt = await env.start({ entities: [scripterEntity] });
    await rt.gate.settings.setLevel('acme', { actionType: 'script.run', level: 'autonomous' }, 'ops');
    await rt.send.send(actor('C-1'), { type: 'compute', code: 'return 6 * 7' }, { wait: true });
    const c1 = await settled(rt, 'C-1');
    expect(c1.results).toEqual([expect.objectContaining({ status: 'succeeded', output: 42, risk: 'high' })]);
    expect(c1.gates.script).toMatchObject({ status: 'done', level: 'autonomous', risk: 'high', decidedBy: 'gate' });

    await rt.gate.settings.setLevel('acme', { actionType: 'script.run', level: 'semi_autonomous' }, 'ops');
    await rt.send.send(actor('C-2'), { type: 'compute', code: 'return 6 * 7' }, { wait: true });
    await rt.send.send(actor('C-3'), { type: 'compute', code: 'return "never"' }, { wait: true });
    const c2 = await gateIs(rt, 'C-2', 'awaiting_approval');
    const c3 = await gateIs(rt, 'C-3', 'awaiting_approval');
    expect(c2).toMatchObject({ level: 'semi_autonomous', risk: 'high' });
    expect((await jobsOf(rt)).map((j) => j.requested_by)).toEqual(['acme/scripter/C-1']);
    expect((await rt.approvals.list('acme', { status: 'pending', risk: 'high' })).map((a) => a.preview)).toEqual(['script.run custom code', 'script.run custom code']);

    await rt.approvals.reject('acme', c3.approvalId!, 'ana', 'not today');
    await rt.approvals.approve('acme', c2.approvalId!, 'ana');
    expect((await settled(rt, 'C-2')).results).toEqual([expect.objectContaining({ output: 42 })]);
    expect(await gateIs(rt, 'C-3', 'rejected')).toMatchObject({ decidedBy: 'ana', reason: 'not today' });
    await rt.settle();
    expect((await jobsOf(rt)).map((j) => j.requested_by)).toEqual(['acme/scripter/C-1', 'acme/scripter/C-2']);
    expect(await rt.db.query(`SELECT key, status FROM effects ORDER BY key`)).toEqual([
      { key: 'C-1', status: 'succeeded' },
      { key: 'C-2', status: 'succeeded' },
      { key: 'C-3', status: 'rejected' },
    ]);
  });

  it("a tenant's risk for script.run wins over the handler's", async () => {
    const rt = await env.start({ entities: [scripterEntity] });
    // acme: autonomous, but script.run is critical: even a template waits for a person.
    await rt.gate.settings.setLevel('acme', { level: 'autonomous' }, 'ops');
    await rt.gate.settings.setRisk('acme', { actionType: 'script.run', risk: 'critical' }, 'ops');
    // globex: semi_autonomous, but script.run is low: even custom code runs on its own.
    await rt.gate.settings.setLevel('globex', { level: 'semi_autonomous' }, 'ops');
    await rt.gate.settings.setRisk('globex', { actionType: 'script.run', risk: 'low' }, 'ops');
    // initech: autonomous, no override: the handler's medium runs on its own.
    await rt.gate.settings.setLevel('initech', { level: 'autonomous' }, 'ops');

    await rt.send.send(actor('R-1'), { type: 'parse', text: CSV }, { wait: true });
    await rt.send.send(actor('R-2', 'globex'), { type: 'compute', code: 'return "ran"' }, { wait: true });
    await rt.send.send(actor('R-3', 'initech'), { type: 'parse', text: CSV }, { wait: true });

    expect(await gateIs(rt, 'R-1', 'awaiting_approval')).toMatchObject({ level: 'autonomous', risk: 'critical' });
    const globex = await settled(rt, 'R-2', 1, 'globex');
    expect(globex.results).toEqual([expect.objectContaining({ status: 'succeeded', output: 'ran' })]);
    expect(globex.gates.script).toMatchObject({ status: 'done', level: 'semi_autonomous', risk: 'low', decidedBy: 'gate' });
    expect((await settled(rt, 'R-3', 1, 'initech')).gates.script).toMatchObject({ status: 'done', level: 'autonomous', risk: 'medium' });
    expect(await jobsOf(rt, 'acme')).toEqual([]);
    expect((await rt.approvals.list('acme')).map((a) => [a.action_type, a.risk])).toEqual([['script.run', 'critical']]);
  });

  it('a per-tenant daily limit holds the job over it until the next UTC day; other tenants are unaffected', async () => {
    const rt = await env.start({ entities: [scripterEntity], overrides: { defaultAutonomy: 'autonomous' } });
    await rt.gate.settings.setLimit('acme', { actionType: 'script.run', perDay: 2 }, 'ops');
    for (const key of ['L-1', 'L-2']) {
      await rt.send.send(actor(key), { type: 'compute', code: `return "${key}"` }, { wait: true });
      expect((await settled(rt, key)).results).toEqual([expect.objectContaining({ output: key })]);
    }
    await rt.send.send(actor('L-3'), { type: 'compute', code: 'return "L-3"' }, { wait: true });
    const held = await gateIs(rt, 'L-3', 'held');
    expect(held).toMatchObject({ policy: 'rate_limit', until: '2026-01-06T00:00:00.000Z', reason: expect.stringContaining('daily limit of 2 script.run') });
    expect((await jobsOf(rt)).map((j) => j.requested_by)).toEqual(['acme/scripter/L-1', 'acme/scripter/L-2']); // the third never ran

    // Another tenant has its own count (and the built-in 200 a day).
    await rt.send.send(actor('G-1', 'globex'), { type: 'compute', code: 'return "G-1"' }, { wait: true });
    expect((await settled(rt, 'G-1', 1, 'globex')).results).toEqual([expect.objectContaining({ output: 'G-1' })]);
    expect(await rt.gate.settings.limit(rt.db, 'globex', 'script.run')).toBe(200);

    // Still held a moment before midnight (UTC).
    env.clock.set(Date.parse('2026-01-05T23:59:59Z'));
    await rt.effects.poll();
    await rt.settle();
    expect((await contextOf(rt, 'L-3'))!.gates.script!.status).toBe('held');
    expect(await jobsOf(rt)).toHaveLength(2);

    // The next day it is decided again and runs.
    env.clock.set(Date.parse('2026-01-06T00:00:01Z'));
    await rt.effects.poll();
    const l3 = await settled(rt, 'L-3');
    expect(l3.results).toEqual([expect.objectContaining({ output: 'L-3' })]);
    expect(l3.gates.script).toMatchObject({ status: 'done', decidedBy: 'gate' });
    expect((await jobsOf(rt)).map((j) => j.requested_by)).toEqual(['acme/scripter/L-1', 'acme/scripter/L-2', 'acme/scripter/L-3']);
    expect(await auditOf(rt, 'L-3')).toEqual([
      { entry: 'decision', outcome: 'held', risk: 'high', level: 'autonomous', policy: 'rate_limit', decided_by: 'gate' },
      { entry: 'decision', outcome: 'auto', risk: 'high', level: 'autonomous', policy: null, decided_by: 'gate' },
      { entry: 'execution', outcome: 'executed', risk: 'high', level: 'autonomous', policy: null, decided_by: 'executor' },
    ]);
    expect(await rt.db.query(`SELECT tenant, day::text AS day, used FROM rate_usage ORDER BY tenant, day`)).toEqual([
      { tenant: 'acme', day: '2026-01-05', used: 2 },
      { tenant: 'acme', day: '2026-01-06', used: 1 },
      { tenant: 'globex', day: '2026-01-05', used: 1 },
    ]);
  });

  it('the kill switch blocks script jobs, at decision and at execution, and the audit log says so', async () => {
    const rt = await env.start({ entities: [scripterEntity], overrides: { defaultAutonomy: 'autonomous' } });
    await rt.gate.settings.setSwitch('*', { paused: true, reason: 'incident 7' }, 'ops');
    await rt.send.send(actor('K-1'), { type: 'parse', text: CSV }, { wait: true });
    expect(await gateIs(rt, 'K-1', 'blocked')).toMatchObject({ policy: 'kill_switch', reason: 'the global kill switch is on: incident 7' });
    expect(await auditOf(rt, 'K-1')).toEqual([{ entry: 'decision', outcome: 'blocked', risk: 'medium', level: 'autonomous', policy: 'kill_switch', decided_by: 'gate' }]);

    // Approved while the switch was off, released while it is on: blocked when it would run.
    await rt.gate.settings.setSwitch('*', { paused: false }, 'ops');
    await rt.gate.settings.setLevel('acme', { actionType: 'script.run', level: 'semi_autonomous' }, 'ops');
    await rt.send.send(actor('K-2'), { type: 'compute', code: 'return 1' }, { wait: true });
    const k2 = await gateIs(rt, 'K-2', 'awaiting_approval');
    await rt.gate.settings.setSwitch('*', { paused: true, reason: 'incident 8' }, 'ops');
    await rt.approvals.approve('acme', k2.approvalId!, 'ana');
    expect(await gateIs(rt, 'K-2', 'blocked')).toMatchObject({ reason: 'the global kill switch is on: incident 8' });
    expect((await contextOf(rt, 'K-2'))!.errors).toEqual(['the global kill switch is on: incident 8']);
    expect((await auditOf(rt, 'K-2')).map((e) => `${e.entry}:${e.outcome}:${e.policy ?? '-'}:${e.decided_by}`)).toEqual([
      'decision:approval:-:gate',
      'approval:approved:-:ana',
      'execution:blocked:kill_switch:executor',
    ]);

    // Turning the switch off releases nothing, and a blocked row set back to pending
    // by hand does not run: its actor no longer waits for it (withdrawn).
    await rt.gate.settings.setSwitch('*', { paused: false }, 'ops');
    await rt.db.query(`UPDATE effects SET status = 'pending', next_attempt_at = requested_at, finished_at = NULL WHERE key = 'K-1'`);
    await rt.effects.poll();
    await eventually(async () => (await rt.db.query(`SELECT 1 FROM effects WHERE key = 'K-1' AND status = 'withdrawn'`)).length === 1, 10_000, 'K-1 withdrawn');
    expect((await auditOf(rt, 'K-1')).map((e) => `${e.entry}:${e.outcome}:${e.decided_by}`)).toEqual(['decision:blocked:gate', 'execution:withdrawn:executor']);
    await rt.settle();
    expect(await jobsOf(rt)).toEqual([]);
    expect(await rt.db.query(`SELECT key, status FROM effects ORDER BY key`)).toEqual([
      { key: 'K-1', status: 'withdrawn' },
      { key: 'K-2', status: 'blocked' },
    ]);
  });
});
