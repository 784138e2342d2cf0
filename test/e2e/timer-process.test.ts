import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../runtime/store/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { NATS_URL, deleteStreams, eventually } from '../support/runtime.ts';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const MIN = 60_000;

/**
 * Durable time across real processes: a runtime process arms a 10-minute delay
 * and stops; the next process starts with its clock 30 minutes later; the delayed
 * transition happens once, and a third process does not repeat it.
 */
describe('a delay across processes on PostgreSQL + NATS', () => {
  const id = randomBytes(4).toString('hex');
  let testDb: TestDatabase;
  let db: Database;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await db?.close();
    await deleteStreams(`TP${id}`);
    await testDb?.drop();
  });

  async function runtimeAt(at: number): Promise<ChildProcess> {
    const c = spawn(process.execPath, ['--import', 'tsx', 'test/e2e/fixtures/host.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: testDb.url,
        NATS_URL,
        CADRE_SUBJECT_PREFIX: `tp${id}`,
        CADRE_STREAM_PREFIX: `TP${id}`,
        CADRE_NODE_ID: `tp-${id}`,
        CADRE_CLOCK: `manual:${new Date(at).toISOString()}`,
        CADRE_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      c.once('exit', (code) => reject(new Error(`runtime exited with ${code}: ${err}`)));
    });
    return c;
  }

  async function stop(c: ChildProcess): Promise<void> {
    c.kill('SIGTERM');
    const [code] = await once(c, 'exit');
    expect(code).toBe(0);
  }

  it('fires once, in the process that starts after the deadline', async () => {
    child = await runtimeAt(T0);
    db = await openDatabase({ url: testDb.url });
    // The runtime's own mailbox, as an external producer would use it: through the outbox of a client.
    const { createRuntime, loadConfig } = await import('../../runtime/index.ts');
    const client = createRuntime(loadConfig({ DATABASE_URL: testDb.url, NATS_URL, CADRE_SUBJECT_PREFIX: `tp${id}`, CADRE_STREAM_PREFIX: `TP${id}`, CADRE_LOG_LEVEL: 'error' }), { role: 'client' });
    await client.start();
    expect(await client.send.send({ tenant: 'acme', kind: 'counter', key: 'R-1' }, { type: 'remind', minutes: 10 }, { wait: true })).toMatchObject({ ok: true, state: 'waiting' });
    await client.stop();
    const [timer] = await db.query<{ due_at: Date }>(`SELECT due_at FROM timers WHERE key = 'R-1'`);
    expect(timer!.due_at.getTime()).toBe(T0 + 10 * MIN);
    await stop(child);

    child = await runtimeAt(T0 + 30 * MIN);
    await eventually(async () => (await db.query(`SELECT 1 FROM actors WHERE key = 'R-1' AND state = 'reminded'`)).length === 1, 15_000, 'the delayed transition');
    await stop(child);

    child = await runtimeAt(T0 + 31 * MIN);
    await new Promise((r) => setTimeout(r, 1000));
    await stop(child);
    child = undefined;

    const fired = await db.query<{ committed_at: Date }>(`SELECT committed_at FROM journal WHERE key = 'R-1' AND event_type = 'cadre.timer.fire'`);
    expect(fired).toHaveLength(1);
    expect(fired[0]!.committed_at.getTime()).toBe(T0 + 30 * MIN);
    expect(await db.query(`SELECT 1 FROM timers WHERE key = 'R-1'`)).toEqual([]);
    const [actor] = await db.query<{ seq: number; context: { reminders: number } }>(`SELECT seq, context FROM actors WHERE key = 'R-1'`);
    expect(actor).toMatchObject({ seq: 2, context: { reminders: 1 } });
  }, 90_000);
});
