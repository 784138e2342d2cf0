/**
 * The `script.run` effect end to end: an actor asks for a job in a transition, the
 * runtime runs it after the commit through its ScriptJobs, and the result (or the
 * reason) comes back to the actor as an event. On both runtime backends.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineEntity, runtimeActions, type Stamped } from '../../machines/index.ts';
import type { Runtime } from '../../runtime/index.ts';
import { SCRIPT_RUN, scriptRisk, scriptRunEffect } from '../../runtime/scripts/index.ts';
import { eventually, runtimeBackends, type TestEnv } from '../support/runtime.ts';

const ScripterEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('parse'), text: z.string() }),
  z.object({ type: z.literal('compute'), code: z.string() }),
  z.object({ type: z.literal('misuse') }),
]);
type Ev =
  | Stamped<z.infer<typeof ScripterEvent>>
  | Stamped<{ type: 'script.done'; effectId: string; result: unknown }>
  | Stamped<{ type: 'script.failed'; effectId: string; error: string }>;

/** Asks for script jobs and keeps what comes back. */
const scripterMachine = setup({
  types: { context: {} as { results: unknown[]; errors: string[] }, events: {} as Ev },
  actions: { ...runtimeActions },
}).createMachine({
  id: 'scripter',
  context: { results: [], errors: [] },
  initial: 'idle',
  states: {
    idle: {
      on: {
        parse: {
          target: 'working',
          actions: {
            type: 'cadre.effect',
            params: ({ event }) => ({
              actionType: 'script.run',
              params: { template: 'parse_csv', params: { emitCsv: true }, inputs: [{ kind: 'csv', name: 'leads.csv', text: event.text }] },
              onDone: 'script.done',
              onError: 'script.failed',
            }),
          },
        },
        compute: {
          target: 'working',
          actions: {
            type: 'cadre.effect',
            params: ({ event }) => ({ actionType: 'script.run', params: { code: event.code }, onDone: 'script.done', onError: 'script.failed' }),
          },
        },
        misuse: {
          target: 'working',
          actions: {
            type: 'cadre.effect',
            params: () => ({ actionType: 'script.run', params: { template: 'parse_csv', code: 'return 1' }, onDone: 'script.done', onError: 'script.failed' }),
          },
        },
      },
    },
    working: {
      on: {
        'script.done': { target: 'idle', actions: assign({ results: ({ context, event }) => [...context.results, event.result] }) },
        'script.failed': { target: 'idle', actions: assign({ errors: ({ context, event }) => [...context.errors, event.error] }) },
      },
    },
  },
});

const scripterEntity = defineEntity({ kind: 'scripter', machine: scripterMachine, events: ScripterEvent });

describe.each(runtimeBackends)('the script.run effect on $name', ({ make }) => {
  let env: TestEnv;
  beforeEach(async () => {
    env = await make();
  });
  afterEach(async () => {
    await env.cleanup();
  });

  const actor = (key: string) => ({ tenant: 'acme', kind: 'scripter', key });
  const contextOf = async (rt: Runtime, key: string) => (await rt.operator.actor(actor(key)))?.context as { results: unknown[]; errors: string[] };
  const settled = (rt: Runtime, key: string, n = 1) =>
    eventually(async () => {
      const c = await contextOf(rt, key);
      return c && c.results.length + c.errors.length >= n ? c : undefined;
    }, 20_000, `script result for ${key}`);

  it('runs a template job after the commit and returns its result to the actor; a retried effect never runs it twice', async () => {
    const rt = await env.start({ entities: [scripterEntity] });
    await rt.send.send(actor('S-1'), { type: 'parse', text: 'name,email\nAna,ana@example.com\nBo,bo@example.com\n' }, { wait: true });
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

    // The process dies after the job was recorded but before the effect's outcome
    // was: the effect is pending again and runs again with the same idempotency key.
    await rt.db.query(`UPDATE effects SET status = 'pending', attempts = 0, next_attempt_at = requested_at`);
    await rt.effects.poll();
    await eventually(async () => (await rt.db.query(`SELECT 1 FROM effects WHERE status = 'succeeded'`)).length === 1, 10_000, 'effect done again');
    const jobs = await rt.db.query<{ id: string; attempts: number }>(`SELECT id, attempts FROM script_jobs`);
    expect(jobs).toEqual([{ id: job!.id, attempts: 1 }]);
    await rt.settle();
    expect((await contextOf(rt, 'S-1')).results).toHaveLength(1); // the repeated result event is a duplicate

    // The gate's seam: templates are medium risk, custom code high.
    expect(scriptRunEffect(rt.scripts)).toMatchObject({ actionType: SCRIPT_RUN, risk: scriptRisk, retry: { attempts: 8 } });
    expect([scriptRisk({ template: 'parse_csv' }), scriptRisk({ code: 'return 1' })]).toEqual(['medium', 'high']);
  });

  it('fails the effect at once with the reason when the job fails or the params are wrong', async () => {
    const rt = await env.start({ entities: [scripterEntity] });
    await rt.send.send(actor('S-2'), { type: 'compute', code: 'throw new Error("no column email")' }, { wait: true });
    await rt.send.send(actor('S-3'), { type: 'compute', code: 'for (;;) {}' }, { wait: true });
    await rt.send.send(actor('S-4'), { type: 'misuse' }, { wait: true });
    const [s2, s3, s4] = await Promise.all([settled(rt, 'S-2'), settled(rt, 'S-3'), settled(rt, 'S-4')]);
    expect(s2.errors).toEqual([expect.stringMatching(/^script job [\w-]+ failed: Error: no column email \(SANDBOX_SCRIPT_ERROR\)$/)]);
    expect(s3.errors).toEqual([expect.stringMatching(/^script job [\w-]+ failed: the script used more than 1000 ms of CPU \(SANDBOX_CPU_LIMIT\)$/)]);
    expect(s4.errors).toEqual([expect.stringMatching(/^invalid script.run params: /)]);
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
  });
});

