import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, IN_MEMORY, openDatabase, type Database } from '../../runtime/store/index.ts';
import { Mutex } from '../../runtime/store/mutex.ts';
import { openTestPglite, type OpenedBackend } from '../support/db.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Mutex', () => {
  it('runs work one at a time in FIFO order and survives failures', async () => {
    const mutex = new Mutex();
    const order: string[] = [];
    let running = 0;
    const job = (name: string, fail = false) =>
      mutex.run(async () => {
        running += 1;
        expect(running).toBe(1);
        order.push(`start ${name}`);
        await tick();
        order.push(`end ${name}`);
        running -= 1;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job('a'), job('b', true), job('c')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(mutex.size).toBe(0);
  });

  it('lets the event loop turn between queued jobs', async () => {
    const mutex = new Mutex();
    let done = 0;
    const jobs = Array.from({ length: 20 }, () =>
      mutex.run(async () => {
        done += 1;
      }),
    );
    // Without a yield on handoff all 20 would finish in microtasks before this fires.
    const seen = await new Promise<number>((resolve) => setImmediate(() => resolve(done)));
    expect(seen).toBeLessThan(20);
    await Promise.all(jobs);
    expect(done).toBe(20);
  });
});

describe('PGlite single session', () => {
  let opened: OpenedBackend;
  let db: Database;
  beforeAll(async () => {
    opened = await openTestPglite();
    db = opened.db;
    await db.exec('CREATE TABLE log (id serial PRIMARY KEY, owner text NOT NULL)');
  });
  afterAll(async () => {
    await opened.cleanup();
  });

  it('never interleaves 50 concurrent transactions and plain queries', async () => {
    const transactions = Array.from({ length: 50 }, (_, i) =>
      db.transaction(async (tx) => {
        const owner = `tx${i}`;
        const [before] = await tx.query<{ n: number }>('SELECT count(*) AS n FROM log');
        await tx.query('INSERT INTO log (owner) VALUES ($1)', [owner]);
        await tick(); // give every other caller the chance to cut in
        await tx.query('INSERT INTO log (owner) VALUES ($1)', [owner]);
        const [after] = await tx.query<{ n: number }>('SELECT count(*) AS n FROM log');
        // Nobody else wrote in between: exactly our two rows were added.
        expect(after?.n).toBe((before?.n ?? 0) + 2);
        return owner;
      }),
    );
    const plain = Array.from({ length: 50 }, (_, i) => db.query('INSERT INTO log (owner) VALUES ($1)', [`q${i}`]));
    const owners = await Promise.all(transactions);
    await Promise.all(plain);
    expect(owners).toHaveLength(50);

    const rows = await db.query<{ owner: string }>('SELECT owner FROM log ORDER BY id');
    expect(rows).toHaveLength(150);
    // Each transaction's two rows sit next to each other: no query or transaction ran between them.
    for (let i = 0; i < rows.length; i += 1) {
      const owner = rows[i]?.owner ?? '';
      if (!owner.startsWith('tx')) continue;
      expect(rows[i + 1]?.owner).toBe(owner);
      i += 1;
    }
  });

  it('makes a plain query wait until another caller’s open transaction ended', async () => {
    await db.exec('TRUNCATE log');
    const release = deferred();
    const inside = deferred();
    const transaction = db.transaction(async (tx) => {
      await tx.query('INSERT INTO log (owner) VALUES ($1)', ['holder']);
      inside.resolve();
      await release.promise;
    });
    await inside.promise;
    let answered = false;
    const count = db.query<{ n: number }>('SELECT count(*) AS n FROM log').then((rows) => {
      answered = true;
      return rows[0]?.n;
    });
    for (let i = 0; i < 10; i += 1) await tick();
    expect(answered).toBe(false);
    release.resolve();
    await transaction;
    // It ran after COMMIT, so it sees the committed row.
    expect(await count).toBe(1);
  });

  it('reports not ok when ping waits longer than its timeout behind a transaction', async () => {
    const slow = await openDatabase({ dataDir: IN_MEMORY, pingTimeoutMs: 50 });
    try {
      const release = deferred();
      const holding = slow.transaction(() => release.promise);
      const result = await slow.ping();
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/no answer within 50 ms/);
      release.resolve();
      await holding;
      expect((await slow.ping()).ok).toBe(true);
    } finally {
      await slow.close();
    }
  });
});

describe('PGlite data directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cadre-store-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the directory, persists across reopen and locks out a second instance', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const first = await openDatabase({ dataDir });
    await first.exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here');");
    await expect(openDatabase({ dataDir })).rejects.toBeInstanceOf(DataDirLockedError);
    const lock = JSON.parse(await readFile(join(dataDir, 'pgdata.lock'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(process.pid);
    await first.close();

    const second = await openDatabase({ dataDir });
    expect(await second.query('SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
    await second.close();
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dataDir = join(dir, 'stale');
    const first = await openDatabase({ dataDir });
    await first.close();
    // A pid far above pid_max on Linux cannot belong to a live process.
    await writeFile(join(dataDir, 'pgdata.lock'), JSON.stringify({ pid: 2 ** 30, host: (await import('node:os')).hostname(), since: 'then' }));
    const second = await openDatabase({ dataDir });
    expect(await second.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await second.close();
  });
});
