/**
 * ScriptJobs against both store backends: the row of a job through its states,
 * limits ending in `failed`, recovery of jobs left unfinished, idempotency by
 * effect id, and what is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../runtime/index.ts';
import { ScriptJobInProgressError, ScriptJobs, type ScriptJobRecord } from '../../runtime/scripts/index.ts';
import { migrate, type Database } from '../../runtime/store/index.ts';
import { backends, type OpenedBackend } from '../support/db.ts';
import { eventually } from '../support/runtime.ts';

const CSV = 'name,email\nAna,ana@example.com\nBo,bo@example.com\nAna again,ANA@example.com\n';
const T0 = Date.parse('2026-03-02T10:00:00Z');

describe.each(backends)('script jobs on $name', ({ name, open }) => {
  let opened: OpenedBackend;
  let db: Database;
  let jobs: ScriptJobs;
  const clock = new ManualClock(T0);

  beforeAll(async () => {
    opened = await open();
    db = opened.db;
    await migrate(db);
    jobs = new ScriptJobs(db, { nodeId: 'node-a', clock, runner: { processes: 1, killGraceMs: 300 } });
  });
  afterAll(async () => {
    await jobs?.close();
    await opened?.cleanup();
  });

  const statusOf = async (id: string) => (await db.query<{ status: string }>(`SELECT status FROM script_jobs WHERE id = $1`, [id]))[0]?.status;
  const idOf = async (requestedBy: string) =>
    (await db.query<{ id: string }>(`SELECT id FROM script_jobs WHERE requested_by = $1`, [requestedBy]))[0]?.id;

  it('records a job queued, then running, then succeeded with its output, logs, timing and artifacts', async () => {
    // One sandbox process: the slow job runs while the template job waits queued.
    const slow = jobs.run('acme', { kind: 'custom', code: 'for (;;) {}', limits: { cpuMs: 1000 } }, { requestedBy: 'operator:slow' });
    const slowId = await eventually(() => idOf('operator:slow'), 5000, 'slow job row');
    await eventually(async () => (await statusOf(slowId)) === 'running', 10_000, 'slow job running');
    const parse = jobs.run(
      'acme',
      { kind: 'template', template: 'parse_csv', params: { emitCsv: true }, inputs: [{ kind: 'csv', name: 'contacts.csv', text: CSV }] },
      { requestedBy: 'acme/agent/sales' },
    );
    const parseId = await eventually(() => idOf('acme/agent/sales'), 5000, 'template job row');
    expect(await statusOf(parseId)).toBe('queued');
    expect(await statusOf(slowId)).toBe('running');

    const done = await parse;
    expect(done).toMatchObject({
      tenant: 'acme',
      id: parseId,
      kind: 'template',
      template: 'parse_csv',
      status: 'succeeded',
      attempts: 1,
      reason: null,
      params: { emitCsv: true },
      inputs: [{ kind: 'csv', name: 'contacts.csv', text: CSV }],
      inputsSummarised: false,
      output: { rowCount: 2, duplicates: [{ line: 4, duplicateOf: 2, matchedOn: 'email' }] },
      logs: [],
      logsTruncated: false,
      requestedBy: 'acme/agent/sales',
      effectId: null,
      nodeId: 'node-a',
      artifacts: [{ name: 'contacts.clean.csv', mediaType: 'text/csv', size: 52, text: 'name,email\r\nAna,ana@example.com\r\nBo,bo@example.com\r\n' }],
    });
    expect(done.timing).toMatchObject({ queuedAt: new Date(T0).toISOString(), startedAt: new Date(T0).toISOString(), finishedAt: new Date(T0).toISOString() });
    expect(done.timing.wallMs).toBeGreaterThan(0);
    expect(done.timing.cpuMs).toBeGreaterThan(0);
    expect(done.timing.isolateStartMs).toBeGreaterThan(0);
    expect(await jobs.get('acme', parseId)).toEqual(done);
    const [artifact] = await db.query(`SELECT tenant, job_id, seq, name, media_type, size FROM script_artifacts WHERE job_id = $1`, [parseId]);
    expect(artifact).toEqual({ tenant: 'acme', job_id: parseId, seq: 0, name: 'contacts.clean.csv', media_type: 'text/csv', size: 52 });

    expect(await slow).toMatchObject({ status: 'failed', reason: { code: 'SANDBOX_CPU_LIMIT', retryable: false } });
    const listed = await jobs.list({ tenant: 'acme' });
    expect(listed.map((j) => [j.id, j.status])).toEqual(expect.arrayContaining([[slowId, 'failed'], [parseId, 'succeeded']]));
    expect(await jobs.list({ tenant: 'acme', status: 'failed' })).toEqual([expect.objectContaining({ id: slowId })]);
    expect(await jobs.list({ tenant: 'other' })).toEqual([]);
    expect(await jobs.get('other', parseId)).toBeUndefined();
  });

  it('ends jobs stopped by their limits as failed with the reason, never running', async () => {
    const loop = await jobs.run('acme', { kind: 'custom', code: 'for (;;) {}', limits: { cpuMs: 300 } }, { requestedBy: 'operator:limits' });
    const bomb = await jobs.run(
      'acme',
      { kind: 'custom', code: 'return new Array(1e8).fill(0).length', limits: { memoryMb: 32, cpuMs: 5000, wallMs: 10_000 } },
      { requestedBy: 'operator:limits' },
    );
    const thrower = await jobs.run('acme', { kind: 'custom', code: "console.warn('about to fail'); throw new Error('no such column')" }, { requestedBy: 'operator:limits' });
    expect(loop).toMatchObject({ status: 'failed', reason: { code: 'SANDBOX_CPU_LIMIT', message: 'the script used more than 300 ms of CPU', retryable: false }, output: null });
    expect(bomb).toMatchObject({ status: 'failed', reason: { code: 'SANDBOX_MEMORY_LIMIT', retryable: false } });
    expect(thrower).toMatchObject({ status: 'failed', reason: { code: 'SANDBOX_SCRIPT_ERROR', message: 'Error: no such column' }, logs: [{ level: 'warn', text: 'about to fail' }] });
    const rows = await db.query(`SELECT status, reason_code FROM script_jobs WHERE requested_by = 'operator:limits' ORDER BY reason_code`);
    expect(rows).toEqual([
      { status: 'failed', reason_code: 'SANDBOX_CPU_LIMIT' },
      { status: 'failed', reason_code: 'SANDBOX_MEMORY_LIMIT' },
      { status: 'failed', reason_code: 'SANDBOX_SCRIPT_ERROR' },
    ]);
    // The process the bomb took down was replaced.
    expect(await jobs.run('acme', { kind: 'custom', code: 'return 6 * 7' }, { requestedBy: 'operator:limits' })).toMatchObject({ status: 'succeeded', output: 42 });
  });

  it('recovers jobs a stopped process left unfinished, and never those a live process may still run', async () => {
    const now = clock.now();
    const row = (id: string, status: string, node: string, deadlineOffsetMs: number) =>
      db.query(
        `INSERT INTO script_jobs (tenant, id, kind, template, params, inputs, status, queued_at, started_at, deadline_at, requested_by, node_id)
         VALUES ('acme', $1, 'template', 'parse_csv', '{}', '[]', $2, $3::timestamptz, $3::timestamptz, $4::timestamptz, 'operator:test', $5)`,
        [id, status, new Date(now - 5000).toISOString(), new Date(now + deadlineOffsetMs).toISOString(), node],
      );
    await row('r-own-earlier', 'running', 'node-a', 60_000); // this node's earlier incarnation
    await row('r-own-queued', 'queued', 'node-a', 60_000);
    await row('r-other-live', 'running', 'node-b', 60_000); // another node, within its deadline
    await row('r-other-dead', 'running', 'node-c', -1); // another node, past its deadline

    // A sweep (no node id) fails only what is past its deadline.
    expect((await jobs.recoverInterrupted()).map((j) => j.id)).toEqual(['r-other-dead']);
    const atStart = (await jobs.recoverInterrupted('node-a')).map((j) => j.id).sort();
    // Embedded PGlite is held by one process at a time: at a node's start nothing else can be running.
    expect(atStart).toEqual(name === 'pglite' ? ['r-other-live', 'r-own-earlier', 'r-own-queued'] : ['r-own-earlier', 'r-own-queued']);

    const rows = await db.query(`SELECT id, status, reason_code, reason, reason_retryable FROM script_jobs WHERE id LIKE 'r-%' ORDER BY id`);
    const interrupted = { status: 'failed', reason_code: 'SANDBOX_INTERRUPTED', reason: 'the runtime stopped while this job ran; run it again', reason_retryable: true };
    expect(rows).toEqual([
      { id: 'r-other-dead', ...interrupted },
      name === 'pglite' ? { id: 'r-other-live', ...interrupted } : { id: 'r-other-live', status: 'running', reason_code: null, reason: null, reason_retryable: null },
      { id: 'r-own-earlier', ...interrupted },
      { id: 'r-own-queued', ...interrupted },
    ]);
    expect(await jobs.recoverInterrupted('node-a')).toEqual([]);
  });

  it('runs a job once per effect id, and runs it again only after a retryable failure', async () => {
    const job = { kind: 'custom' as const, code: 'api.artifact("n.txt", "text/plain", String(params.n)); return params.n * 2', params: { n: 21 } };
    const first = await jobs.run('acme', job, { requestedBy: 'acme/deal/D-1', effectId: 'acme/deal/D-1#3#x0' });
    const second = await jobs.run('acme', { ...job, params: { n: 1 } }, { requestedBy: 'acme/deal/D-1', effectId: 'acme/deal/D-1#3#x0' });
    expect(first).toMatchObject({ status: 'succeeded', output: 42, attempts: 1, effectId: 'acme/deal/D-1#3#x0' });
    expect(second).toEqual(first);
    // The same effect id in another tenant is another effect.
    expect(await jobs.run('beta', job, { requestedBy: 'beta/deal/D-1', effectId: 'acme/deal/D-1#3#x0' })).toMatchObject({ tenant: 'beta', status: 'succeeded' });
    const counted = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM script_jobs WHERE effect_id = 'acme/deal/D-1#3#x0'`);
    expect(counted[0]!.n).toBe(2);

    // A terminal failure is final too.
    const failing = { kind: 'custom' as const, code: 'throw new Error("bad input")' };
    const failed = await jobs.run('acme', failing, { requestedBy: 'acme/deal/D-2', effectId: 'e-terminal' });
    expect(await jobs.run('acme', job, { requestedBy: 'acme/deal/D-2', effectId: 'e-terminal' })).toEqual(failed);

    // A retryable failure (here: interrupted by a stopped process) runs the same job again.
    await db.query(
      `UPDATE script_jobs SET status = 'failed', reason_code = 'SANDBOX_INTERRUPTED', reason = 'x', reason_retryable = true, output = NULL WHERE id = $1`,
      [first.id],
    );
    await db.query(`DELETE FROM script_artifacts WHERE job_id = $1`, [first.id]);
    const rerun = await jobs.run('acme', job, { requestedBy: 'acme/deal/D-1', effectId: 'acme/deal/D-1#3#x0' });
    expect(rerun).toMatchObject({ id: first.id, status: 'succeeded', attempts: 2, output: 42, reason: null, artifacts: [{ name: 'n.txt', text: '21' }] });
  });

  it('tells a caller that the job of its effect is still running, and takes it over once past its deadline', async () => {
    await db.query(
      `INSERT INTO script_jobs (tenant, id, kind, code, params, inputs, status, queued_at, started_at, deadline_at, requested_by, effect_id, node_id)
       VALUES ('acme', 'elsewhere', 'custom', 'return 1', '{}', '[]', 'running', $1::timestamptz, $1::timestamptz, $2::timestamptz, 'acme/deal/D-3', 'e-elsewhere', 'node-b')`,
      [new Date(clock.now()).toISOString(), new Date(clock.now() + 60_000).toISOString()],
    );
    const job = { kind: 'custom' as const, code: 'return "mine"' };
    const busy = await jobs.run('acme', job, { requestedBy: 'acme/deal/D-3', effectId: 'e-elsewhere' }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(ScriptJobInProgressError);
    expect(busy).toMatchObject({ retryable: true, jobId: 'elsewhere' });
    clock.advance(60_001);
    expect(await jobs.run('acme', job, { requestedBy: 'acme/deal/D-3', effectId: 'e-elsewhere' })).toMatchObject({
      id: 'elsewhere',
      status: 'succeeded',
      output: 'mine',
      attempts: 2,
      nodeId: 'node-a',
    });
  });

  it('stores large inputs as summaries and what PostgreSQL cannot hold as U+FFFD', async () => {
    const small = new ScriptJobs(db, { nodeId: 'node-a', clock, runner: { processes: 1 }, maxStoredInputBytes: 16 });
    try {
      const record: ScriptJobRecord = await small.run(
        'acme',
        {
          kind: 'custom',
          code: 'api.artifact("nul.txt", "text/plain", "a\\u0000b"); console.log("lone \\ud800"); return { ["k\\u0000"]: "v\\u0000" }',
          inputs: [
            { kind: 'text', name: 'big.txt', text: 'x'.repeat(100) },
            { kind: 'file', name: 'b.bin', base64: Buffer.from([0, 1, 2]).toString('base64') },
          ],
        },
        { requestedBy: 'operator:store' },
      );
      expect(record).toMatchObject({
        status: 'succeeded',
        inputsSummarised: true,
        inputsBytes: 103,
        inputs: [
          { kind: 'text', name: 'big.txt', bytes: 100, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
          { kind: 'file', name: 'b.bin', bytes: 3, sha256: 'ae4b3280e56e2faf83f414a6e3dabe9d5fbe18976544c05fed121accb85b53fc' },
        ],
        output: { 'k\ufffd': 'v\ufffd' },
        logs: [{ level: 'log', text: 'lone \ufffd' }],
        artifacts: [{ name: 'nul.txt', text: 'a\ufffdb', size: 5 }],
      });
    } finally {
      await small.close();
    }
  });
});
