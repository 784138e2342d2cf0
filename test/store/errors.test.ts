import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openDatabase,
  StoreAssertionError,
  StoreClosedError,
  StoreConflictError,
  StoreDataError,
  StoreError,
  StoreQueryError,
  StoreUnavailableError,
  translatePgError,
  UniqueViolationError,
  type Database,
} from '../../runtime/store/index.ts';
import { ADMIN_URL, backends, openTestPostgres, type OpenedBackend } from '../support/db.ts';

async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const raise = (sqlState: string, message = 'raised'): string =>
  `DO $$ BEGIN RAISE EXCEPTION '${message}' USING ERRCODE = '${sqlState}'; END $$`;

describe.each(backends)('$name error translation', (backend) => {
  let opened: OpenedBackend;
  let db: Database;
  beforeAll(async () => {
    opened = await backend.open();
    db = opened.db;
    await db.exec(`
      CREATE TABLE accounts (
        id int8 PRIMARY KEY,
        email text NOT NULL CONSTRAINT accounts_email_key UNIQUE,
        balance int4 NOT NULL CONSTRAINT balance_not_negative CHECK (balance >= 0)
      );
      CREATE TABLE entries (account_id int8 NOT NULL CONSTRAINT entries_account_fk REFERENCES accounts (id));
      INSERT INTO accounts VALUES (1, 'a@example.com', 10);
    `);
  });
  afterAll(async () => {
    await opened.cleanup();
  });

  it('turns 23505 into UniqueViolationError with the constraint and the driver error as cause', async () => {
    const error = await failure(db.query('INSERT INTO accounts VALUES ($1, $2, $3)', [2, 'a@example.com', 0]));
    expect(error).toBeInstanceOf(UniqueViolationError);
    expect(error).toMatchObject({ code: 'STORE_UNIQUE_VIOLATION', retryable: false, sqlState: '23505', constraint: 'accounts_email_key', table: 'accounts' });
    expect(error.detail).toMatch(/already exists/);
    expect((error.cause as { code?: string }).code).toBe('23505');
  });

  it.each([
    ['not-null', 'INSERT INTO accounts (id, email, balance) VALUES (3, NULL, 0)', '23502', undefined],
    ['check', "INSERT INTO accounts VALUES (3, 'c@example.com', -1)", '23514', 'balance_not_negative'],
    ['foreign key', 'INSERT INTO entries VALUES (99)', '23503', 'entries_account_fk'],
    ['division by zero', 'SELECT 1 / 0', '22012', undefined],
    ['bad input syntax', "SELECT 'x'::int4", '22P02', undefined],
  ])('turns a %s error into a non-retryable StoreDataError', async (_, sql, sqlState, constraint) => {
    const error = await failure(db.query(sql));
    expect(error).toBeInstanceOf(StoreDataError);
    expect(error).toMatchObject({ code: 'STORE_DATA', retryable: false, sqlState });
    if (constraint !== undefined) expect((error as StoreDataError).constraint).toBe(constraint);
  });

  it('turns RAISE EXCEPTION with the cadre: prefix into StoreAssertionError carrying the message', async () => {
    const error = await failure(db.query(raise('P0001', 'cadre: version conflict on acme/deal/D-1 (expected 3)')));
    expect(error).toBeInstanceOf(StoreAssertionError);
    expect(error).toMatchObject({ code: 'STORE_ASSERTION', retryable: false, sqlState: 'P0001' });
    expect(error.message).toBe('cadre: version conflict on acme/deal/D-1 (expected 3)');
  });

  it('aborts a transaction with a StoreAssertionError raised from a plpgsql function', async () => {
    await db.exec(`
      CREATE FUNCTION expect_balance(p_id int8, p_expected int4) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM 1 FROM accounts WHERE id = p_id AND balance = p_expected;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'cadre: balance of % is not %', p_id, p_expected;
        END IF;
      END;
      $$;
    `);
    const error = await failure(
      db.transaction(async (tx) => {
        await tx.query('UPDATE accounts SET balance = 0 WHERE id = 1');
        await tx.query('SELECT expect_balance($1, $2)', [1, 10]);
      }),
    );
    expect(error).toBeInstanceOf(StoreAssertionError);
    expect(error.message).toBe('cadre: balance of 1 is not 10');
    expect(await db.query('SELECT balance FROM accounts WHERE id = 1')).toEqual([{ balance: 10 }]);
  });

  it('turns other raised exceptions and SQL mistakes into StoreQueryError', async () => {
    expect(await failure(db.query(raise('P0001', 'not ours')))).toBeInstanceOf(StoreQueryError);
    const missing = await failure(db.query('SELECT * FROM no_such_table'));
    expect(missing).toBeInstanceOf(StoreQueryError);
    expect(missing).toMatchObject({ code: 'STORE_QUERY', retryable: false, sqlState: '42P01' });
  });

  it.each([
    ['40001', StoreConflictError, 'STORE_CONFLICT'],
    ['40P01', StoreConflictError, 'STORE_CONFLICT'],
    ['55P03', StoreConflictError, 'STORE_CONFLICT'],
    ['57P01', StoreUnavailableError, 'STORE_UNAVAILABLE'],
    ['53300', StoreUnavailableError, 'STORE_UNAVAILABLE'],
    ['08006', StoreUnavailableError, 'STORE_UNAVAILABLE'],
  ])('turns SQLSTATE %s into a retryable error', async (sqlState, type, code) => {
    const error = await failure(db.query(raise(sqlState)));
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, retryable: true, sqlState });
  });

  it('passes the callback’s own errors through a transaction untouched', async () => {
    const own = Object.assign(new Error('not a database error'), { code: 'E_OWN' });
    await expect(db.transaction(async () => Promise.reject(own))).rejects.toBe(own);
  });
});

describe('translatePgError', () => {
  it('maps connection codes of postgres.js and PGlite’s closed error', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_ENDED', 'CONNECTION_CLOSED', 'CONNECT_TIMEOUT']) {
      const error = translatePgError(Object.assign(new Error(`write ${code}`), { code }));
      expect(error, code).toBeInstanceOf(StoreUnavailableError);
      expect(error.retryable).toBe(true);
    }
    expect(translatePgError(new Error('PGlite is closed'))).toBeInstanceOf(StoreClosedError);
    const already = new StoreQueryError('x');
    expect(translatePgError(already)).toBe(already);
    expect(translatePgError('a string')).toBeInstanceOf(StoreQueryError);
  });
});

describe('postgres: real failures', () => {
  let opened: OpenedBackend;
  let db: Database;
  beforeAll(async () => {
    opened = await openTestPostgres();
    db = opened.db;
    await db.exec('CREATE TABLE t (k int4 PRIMARY KEY, v int4 NOT NULL); INSERT INTO t VALUES (1, 10), (2, 20);');
  });
  afterAll(async () => {
    await opened.cleanup();
  });

  it('reports a refused connection as a retryable StoreUnavailableError', async () => {
    const error = await failure(openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none' }));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.retryable).toBe(true);
  });

  it('reports a serialization failure as a retryable StoreConflictError', async () => {
    const bothRead = { a: deferred(), b: deferred() };
    const run = (me: 'a' | 'b', other: 'a' | 'b', key: number) =>
      db.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
        const [row] = await tx.query<{ total: number }>('SELECT sum(v)::int4 AS total FROM t');
        bothRead[me].resolve();
        await bothRead[other].promise;
        await tx.query('INSERT INTO t VALUES ($1, $2)', [key, row?.total ?? 0]);
      });
    const results = await Promise.allSettled([run('a', 'b', 3), run('b', 'a', 4)]);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(StoreConflictError);
    expect(rejected[0]?.reason).toMatchObject({ sqlState: '40001', retryable: true });
  });

  it('reports a deadlock as a retryable StoreConflictError', async () => {
    const bothLocked = { a: deferred(), b: deferred() };
    const run = (me: 'a' | 'b', other: 'a' | 'b', first: number, second: number) =>
      db.transaction(async (tx) => {
        await tx.query('UPDATE t SET v = v + 1 WHERE k = $1', [first]);
        bothLocked[me].resolve();
        await bothLocked[other].promise;
        await tx.query('UPDATE t SET v = v + 1 WHERE k = $1', [second]);
      });
    const results = await Promise.allSettled([run('a', 'b', 1, 2), run('b', 'a', 2, 1)]);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(StoreConflictError);
    expect(rejected[0]?.reason).toMatchObject({ sqlState: '40P01', retryable: true });
  });

  it('reports a backend terminated by an administrator as StoreUnavailableError and recovers', async () => {
    const name = `cadre-test-kill-${process.pid}`;
    const victim = await openDatabase({ url: opened.url ?? '', max: 1, applicationName: name });
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      // failure() attaches its handler now: the query rejects while we look for its backend.
      const sleeping = failure(victim.query('SELECT pg_sleep(30)'));
      let killed = 0;
      for (let i = 0; i < 100 && killed === 0; i += 1) {
        const rows = await admin.unsafe(
          "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%'",
          [name],
        );
        killed = rows.length;
        if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(killed).toBe(1);
      const error = await sleeping;
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.retryable).toBe(true);
      // postgres.js may hand the dying connection's FATAL error (or CONNECTION_CLOSED) to the
      // next query too; that one is retryable as well, and a retry gets a new connection.
      let answer: unknown;
      for (let attempt = 0; attempt < 3 && answer === undefined; attempt += 1) {
        answer = await victim.query('SELECT 1 AS one').catch((e: unknown) => {
          expect(e).toBeInstanceOf(StoreUnavailableError);
          return undefined;
        });
      }
      expect(answer).toEqual([{ one: 1 }]);
    } finally {
      await admin.end({ timeout: 5 });
      await victim.close();
    }
  });
});
