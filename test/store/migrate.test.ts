import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MIGRATIONS_DIR,
  migrate,
  MigrationError,
  openDatabase,
  StoreDataError,
  StoreUsageError,
  type Database,
} from '../../runtime/store/index.ts';
import { backends, createTestDatabase, type OpenedBackend } from '../support/db.ts';

const tempDirs: string[] = [];

/** A temporary migrations folder holding `files` (name to SQL). */
async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cadre-migrations-'));
  tempDirs.push(dir);
  await writeFiles(dir, files);
  return dir;
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
}

async function migrationError(promise: Promise<unknown>): Promise<MigrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MigrationError);
  return error as MigrationError;
}

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

// 099 must run before 0100 (which alters its table): numeric order, not file-name order.
const BASE_FILES = {
  '001_accounts.sql': `
    CREATE TABLE accounts (id int8 PRIMARY KEY, balance int4 NOT NULL DEFAULT 0);
    CREATE FUNCTION credit(p_id int8, p_amount int4) RETURNS int4 LANGUAGE plpgsql AS $$
    DECLARE
      result int4;
    BEGIN
      UPDATE accounts SET balance = balance + p_amount WHERE id = p_id RETURNING balance INTO result;
      RETURN result;
    END;
    $$;
  `,
  '099_ledger.sql': 'CREATE TABLE ledger (id serial PRIMARY KEY, note text NOT NULL);',
  '0100_ledger_amount.sql': 'ALTER TABLE ledger ADD COLUMN amount int4 NOT NULL DEFAULT 0;',
  'README.md': 'Not a migration; ignored.',
};

describe.each(backends)('$name migrate', (backend) => {
  let opened: OpenedBackend;
  let db: Database;
  beforeEach(async () => {
    opened = await backend.open();
    db = opened.db;
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  it('applies files in numeric order, records them, and is a no-op when run again', async () => {
    const dir = await migrationsDir(BASE_FILES);
    const logged: string[] = [];
    const first = await migrate(db, { dir, log: (line) => logged.push(line) });
    expect(first).toEqual({ applied: ['001_accounts.sql', '099_ledger.sql', '0100_ledger_amount.sql'], skipped: [] });
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatch(/^applied 001_accounts\.sql in \d+ ms$/);

    const recorded = await db.query('SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version');
    expect(recorded.map((r) => [r.version, r.name])).toEqual([
      [1, '001_accounts.sql'],
      [99, '099_ledger.sql'],
      [100, '0100_ledger_amount.sql'],
    ]);
    expect(recorded[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(recorded[0]?.applied_at).toBeInstanceOf(Date);

    await db.query('INSERT INTO accounts (id) VALUES ($1)', [1]);
    expect(await db.query('SELECT credit($1, $2) AS balance', [1, 5])).toEqual([{ balance: 5 }]);

    const again = await migrate(db, { dir, log: (line) => logged.push(line) });
    expect(again).toEqual({ applied: [], skipped: ['001_accounts.sql', '099_ledger.sql', '0100_ledger_amount.sql'] });
    expect(logged).toHaveLength(3);

    await writeFiles(dir, { '0101_more.sql': 'CREATE TABLE more (x int4);' });
    expect(await migrate(db, { dir })).toMatchObject({ applied: ['0101_more.sql'] });
  });

  it('rolls a failing migration back entirely, does not record it and stops there', async () => {
    const dir = await migrationsDir({
      '001_ok.sql': 'CREATE TABLE ok (x int4);',
      '002_broken.sql': `
        CREATE TABLE half (x int4);
        INSERT INTO half VALUES (1);
        SELECT 1 / 0;
      `,
      '003_after.sql': 'CREATE TABLE after_broken (x int4);',
    });
    const error = await migrationError(migrate(db, { dir }));
    expect(error).toMatchObject({ code: 'STORE_MIGRATION', reason: 'failed', file: '002_broken.sql', retryable: false });
    expect(error.message).toMatch(/002_broken\.sql.*division by zero/);
    expect(error.cause).toBeInstanceOf(StoreDataError);

    expect(await db.query('SELECT name FROM schema_migrations ORDER BY version')).toEqual([{ name: '001_ok.sql' }]);
    expect(await db.query("SELECT to_regclass('half') AS half, to_regclass('after_broken') AS after, to_regclass('ok') AS ok")).toEqual([
      { half: null, after: null, ok: 'ok' },
    ]);
  });

  it('refuses to go on when an applied file was changed, naming it, before applying anything new', async () => {
    const dir = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (x int4);', '002_b.sql': 'CREATE TABLE b (x int4);' });
    await migrate(db, { dir });
    await writeFiles(dir, {
      '001_a.sql': 'CREATE TABLE a (x int4, y int4);',
      '003_c.sql': 'CREATE TABLE c (x int4);',
    });
    const error = await migrationError(migrate(db, { dir }));
    expect(error).toMatchObject({ reason: 'checksum_mismatch', file: '001_a.sql' });
    expect(error.message).toMatch(/001_a\.sql was changed/);
    expect(await db.query("SELECT to_regclass('c') AS c")).toEqual([{ c: null }]);
  });

});

describe.each(backends)('$name migrate rejects', (backend) => {
  let opened: OpenedBackend;
  let db: Database;
  beforeAll(async () => {
    opened = await backend.open();
    db = opened.db;
  });
  afterAll(async () => {
    await opened.cleanup();
  });

  it.each([
    ['a name without a number', { '001_a.sql': 'SELECT 1;', 'init.sql': 'SELECT 1;' }, 'init.sql', 'bad_name'],
    ['a two-digit number', { '01_a.sql': 'SELECT 1;' }, '01_a.sql', 'bad_name'],
    ['a dash instead of an underscore', { '001-a.sql': 'SELECT 1;' }, '001-a.sql', 'bad_name'],
    ['an upper-case name', { '001_Init.sql': 'SELECT 1;' }, '001_Init.sql', 'bad_name'],
    ['two files with one number', { '001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 1;' }, '001_a.sql', 'duplicate_version'],
    ['its own COMMIT', { '001_a.sql': 'CREATE TABLE a (x int4);\nCOMMIT;\n' }, '001_a.sql', 'transaction_control'],
  ])('rejects a folder with %s before touching the database', async (_, files, file, reason) => {
    const dir = await migrationsDir(files);
    const error = await migrationError(migrate(db, { dir }));
    expect(error).toMatchObject({ reason, file });
    expect(await db.query("SELECT to_regclass('schema_migrations') AS t")).toEqual([{ t: null }]);
  });

  it('reports a missing folder clearly', async () => {
    await expect(migrate(db, { dir: join(tmpdir(), 'cadre-no-such-dir') })).rejects.toBeInstanceOf(StoreUsageError);
  });
});

describe('postgres: concurrent migrate', () => {
  it('applies each file once when two processes migrate at the same time', async () => {
    const testDb = await createTestDatabase();
    const [first, second] = await Promise.all([openDatabase({ url: testDb.url, max: 2 }), openDatabase({ url: testDb.url, max: 2 })]);
    try {
      const files: Record<string, string> = {};
      for (let i = 1; i <= 6; i += 1) {
        const version = String(i).padStart(3, '0');
        // No IF NOT EXISTS: applying a file twice would fail. The sleep widens the race window.
        files[`${version}_step.sql`] =
          i === 1
            ? 'CREATE TABLE applications (file text NOT NULL); SELECT pg_sleep(0.05);'
            : `CREATE TABLE step_${i} (x int4); INSERT INTO applications VALUES ('${version}'); SELECT pg_sleep(0.05);`;
      }
      const dir = await migrationsDir(files);
      const [a, b] = await Promise.all([migrate(first!, { dir }), migrate(second!, { dir })]);
      const appliedByBoth = [...a.applied, ...b.applied].sort();
      expect(appliedByBoth).toEqual(Object.keys(files).sort());
      expect([...a.applied, ...a.skipped].sort()).toEqual(Object.keys(files).sort());
      expect([...b.applied, ...b.skipped].sort()).toEqual(Object.keys(files).sort());
      expect(await first!.query('SELECT count(*) AS n FROM applications')).toEqual([{ n: 5 }]);
      expect(await first!.query('SELECT count(*) AS n FROM schema_migrations')).toEqual([{ n: 6 }]);
    } finally {
      await Promise.all([first?.close(), second?.close()]);
      await testDb.drop();
    }
  });
});

describe('default migrations folder', () => {
  it('is the repository’s migrations/ folder', () => {
    expect(DEFAULT_MIGRATIONS_DIR).toBe(fileURLToPath(new URL('../../migrations/', import.meta.url)));
  });
});
