import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus, Subjects } from '../../bus/index.ts';
import { openDatabase, type Database } from '../../runtime/store/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { NATS_URL, eventually } from '../support/runtime.ts';

const ACTORS = 200;
const EVENTS = 5000;
const PER_ACTOR = EVENTS / ACTORS;
const KILLS = 6;

/**
 * The crash test of the durability contract: a child process runs the runtime on
 * PostgreSQL + NATS while 5,000 events over 200 actors are published; it is
 * killed with SIGKILL at random moments and restarted. What was committed must
 * equal applying each actor's events once, in publish order.
 */
describe('crash test: SIGKILL during load on PostgreSQL + NATS', () => {
  const id = randomBytes(4).toString('hex');
  const prefix = `crash${id}`;
  const streams = `CRASH${id}`;
  let testDb: TestDatabase;
  let db: Database;
  let bus: NatsBus;
  let child: ChildProcess | undefined;
  const log: string[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    bus = new NatsBus(new Subjects(prefix, 8), { servers: NATS_URL, streamPrefix: streams, dedupeWindowMs: 120_000, ackWaitMs: 30_000, maxAckPending: 1000, eventsMaxAgeMs: 60_000 });
    await bus.start();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await db?.close();
    await bus?.destroyStreams();
    await bus?.stop();
    await testDb?.drop();
  });

  async function startChild(): Promise<ChildProcess> {
    const c = spawn(process.execPath, ['--import', 'tsx', 'test/e2e/fixtures/host.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: testDb.url,
        NATS_URL,
        CADRE_SUBJECT_PREFIX: prefix,
        CADRE_STREAM_PREFIX: streams,
        CADRE_PARTITIONS: '8',
        CADRE_NODE_ID: `crash-${id}`,
        CADRE_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      c.once('exit', (code) => reject(new Error(`runtime exited with ${code} before it was ready:\n${log.join('')}`)));
    });
    return c;
  }

  it('every actor ends in the state of its events applied once, in order, with a gapless journal', async () => {
    child = await startChild();
    db = await openDatabase({ url: testDb.url });
    const subjects = new Subjects(prefix, 8);
    const enc = new TextEncoder();
    let published = 0;
    const publishing = (async () => {
      for (let k = 0; k < EVENTS; k += 50) {
        const batch = [];
        for (let j = k; j < k + 50; j++) {
          const actor = `A-${j % ACTORS}`;
          const i = Math.floor(j / ACTORS) + 1;
          const m = { id: `ev-${actor}-${i}`, tenant: 'acme', to: { kind: 'counter', key: actor }, event: { type: 'add', i, n: i }, correlationId: `c-${j}`, causationId: null, from: 'external:crash-test', sentAt: new Date().toISOString() };
          batch.push(bus.publish(subjects.mailbox({ tenant: 'acme', kind: 'counter', key: actor }), enc.encode(JSON.stringify(m)), { msgId: m.id }));
        }
        await Promise.all(batch);
        published += batch.length;
        await new Promise((r) => setTimeout(r, 80));
      }
    })();

    let kills = 0;
    while (kills < KILLS) {
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 900));
      const c = child;
      c.kill('SIGKILL');
      await once(c, 'exit');
      kills++;
      child = await startChild();
    }
    await publishing;
    expect(published).toBe(EVENTS);
    expect(kills).toBeGreaterThanOrEqual(5);

    await eventually(
      async () => {
        const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM journal WHERE tenant = 'acme'`);
        return r!.n === EVENTS;
      },
      90_000,
      'every event committed',
    );

    const actors = await db.query<{ key: string; seq: number; context: { count: number; sum: number; outOfOrder: number } }>(
      `SELECT key, seq, context FROM actors WHERE tenant = 'acme' AND kind = 'counter' ORDER BY key`,
    );
    expect(actors).toHaveLength(ACTORS);
    const expectedSum = (PER_ACTOR * (PER_ACTOR + 1)) / 2;
    for (const a of actors) {
      expect(a, a.key).toMatchObject({ seq: PER_ACTOR, context: { count: PER_ACTOR, sum: expectedSum, outOfOrder: 0 } });
    }
    const journal = await db.query<{ key: string; seq: number; message_id: string }>(`SELECT key, seq, message_id FROM journal WHERE tenant = 'acme' ORDER BY key, seq`);
    const byActor = new Map<string, { seq: number; message_id: string }[]>();
    for (const j of journal) byActor.set(j.key, [...(byActor.get(j.key) ?? []), j]);
    for (const [key, entries] of byActor) {
      expect(entries.map((e) => e.seq), key).toEqual(Array.from({ length: PER_ACTOR }, (_, i) => i + 1));
      expect(entries.map((e) => e.message_id), key).toEqual(Array.from({ length: PER_ACTOR }, (_, i) => `ev-${key}-${i + 1}`));
    }
    const [dead] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM dead_letters`);
    expect(dead!.n).toBe(0);
    const [redelivered] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM delivery_attempts`);
    console.log(`crash test: ${kills} kills; ${redelivered!.n} messages were waiting or in flight at a restart, each committed once`);

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    child = undefined;
  }, 180_000);
});
