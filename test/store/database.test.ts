import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StoreClosedError,
  StoreUsageError,
  TransactionAbortedError,
  UniqueViolationError,
  type Database,
} from '../../runtime/store/index.ts';
import { backends, type OpenedBackend } from '../support/db.ts';

// One query covering every type whose parsing the two drivers must agree on.
const TYPES_SQL = `
SELECT 9007199254740991::int8 AS big,
       42::int4 AS int,
       7::int2 AS small,
       count(*) AS counted,
       1.50::numeric AS num,
       1.5::float8 AS float,
       '2024-01-02T03:04:05.678Z'::timestamptz AS ts,
       $1::timestamptz AS ts_param,
       $2::jsonb AS doc,
       $3::jsonb AS scalar,
       $4::json AS plain_json,
       '{"literal": [1, "two", null]}'::jsonb AS literal_doc,
       true AS yes,
       $5::bool AS flag,
       $6::int8 AS big_param,
       $7::text AS txt,
       $8::float8 AS float_param,
       NULL::int8 AS nothing,
       ARRAY[1, 2]::int8[] AS bigs,
       ARRAY['a', 'b']::text[] AS texts
FROM (VALUES (1), (2)) AS v(x)`;

const TYPES_PARAMS = [
  '2025-06-30T12:00:00.000Z',
  '{"a": [1, 2], "b": {"c": "x"}, "d": null}',
  '"just a string"',
  '[1, 2, 3]',
  false,
  12_345_678_901,
  'héllo',
  0.25,
];

const EXPECTED_TYPES = {
  big: 9007199254740991,
  int: 42,
  small: 7,
  counted: 2,
  num: '1.50',
  float: 1.5,
  ts: new Date('2024-01-02T03:04:05.678Z'),
  ts_param: new Date('2025-06-30T12:00:00.000Z'),
  doc: { a: [1, 2], b: { c: 'x' }, d: null },
  scalar: 'just a string',
  plain_json: [1, 2, 3],
  literal_doc: { literal: [1, 'two', null] },
  yes: true,
  flag: false,
  big_param: 12_345_678_901,
  txt: 'héllo',
  float_param: 0.25,
  nothing: null,
  bigs: [1, 2],
  texts: ['a', 'b'],
};

describe('type parsing is identical on both drivers', () => {
  const opened: OpenedBackend[] = [];
  beforeAll(async () => {
    opened.push(...(await Promise.all(backends.map((b) => b.open()))));
  });
  afterAll(async () => {
    await Promise.all(opened.map((o) => o.cleanup()));
  });

  it('returns the same values and JS types for int8, numeric, timestamptz, jsonb, bool, text, arrays', async () => {
    const [pgRows, liteRows] = await Promise.all(opened.map((o) => o.db.query(TYPES_SQL, TYPES_PARAMS)));
    expect(pgRows).toEqual([EXPECTED_TYPES]);
    expect(liteRows).toEqual(pgRows);
    const row = pgRows?.[0] ?? {};
    const liteRow = liteRows?.[0] ?? {};
    for (const key of Object.keys(EXPECTED_TYPES)) {
      expect(typeof liteRow[key], key).toBe(typeof row[key]);
    }
    expect(row.ts).toBeInstanceOf(Date);
    expect(liteRow.ts).toBeInstanceOf(Date);
    expect(Array.isArray(pgRows)).toBe(true);
    expect(Object.getPrototypeOf(pgRows)).toBe(Array.prototype);
  });

  it('stores a JSON string bound to a jsonb column as the object, not as a JSON string', async () => {
    for (const { db } of opened) {
      await db.exec('CREATE TABLE docs (id int8 PRIMARY KEY, body jsonb NOT NULL, at timestamptz NOT NULL)');
      await db.query('INSERT INTO docs (id, body, at) VALUES ($1, $2::jsonb, $3)', [1, JSON.stringify({ n: 1, tags: ['x'] }), new Date(0)]);
      const rows = await db.query('SELECT id, body, jsonb_typeof(body) AS kind, body->>$1 AS n, at FROM docs', ['n']);
      expect(rows, db.kind).toEqual([{ id: 1, body: { n: 1, tags: ['x'] }, kind: 'object', n: '1', at: new Date(0) }]);
    }
  });
});

describe.each(backends)('$name database', (backend) => {
  let opened: OpenedBackend;
  let db: Database;
  beforeAll(async () => {
    opened = await backend.open();
    db = opened.db;
    await db.exec(`
      CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL UNIQUE, qty int4 NOT NULL DEFAULT 0);
      CREATE TABLE seen (n int8 NOT NULL);
    `);
  });
  afterAll(async () => {
    await opened.cleanup();
  });

  it('reports its kind', () => {
    expect(db.kind).toBe(backend.name);
  });

  it('runs parameterised statements and returns plain rows', async () => {
    expect(await db.query('INSERT INTO items (id, name) VALUES ($1, $2) RETURNING id, name, qty', [1, 'apple'])).toEqual([
      { id: 1, name: 'apple', qty: 0 },
    ]);
    expect(await db.query('UPDATE items SET qty = qty + $1 WHERE id = $2', [3, 1])).toEqual([]);
    const rows = await db.query<{ qty: number }>('SELECT qty FROM items WHERE name = $1', ['apple']);
    expect(rows).toEqual([{ qty: 3 }]);
    expect(await db.query('SELECT name FROM items WHERE id = ANY($1::int8[])', [[1, 2]])).toEqual([{ name: 'apple' }]);
    expect(await db.query('SELECT $1::text IS NULL AS is_null', [null])).toEqual([{ is_null: true }]);
  });

  it('refuses several statements in query() but runs them in exec()', async () => {
    await expect(db.query('SELECT 1; SELECT 2')).rejects.toThrow(/multiple commands/);
    await db.exec('INSERT INTO seen VALUES (1); INSERT INTO seen VALUES (2);');
    expect(await db.query('SELECT count(*) AS n FROM seen')).toEqual([{ n: 2 }]);
  });

  it('refuses parameters the drivers would treat differently', async () => {
    await expect(db.query('SELECT $1::text', [undefined])).rejects.toThrow(StoreUsageError);
    await expect(db.query('SELECT $1::jsonb', [{ a: 1 }])).rejects.toThrow(/pass JSON as a string/);
    await expect(db.query('SELECT $1::float8', [Number.NaN])).rejects.toThrow(/finite/);
  });

  it('commits a transaction that resolves and returns its value', async () => {
    const result = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [10, 'pear']);
      await tx.exec("INSERT INTO items (id, name) VALUES (11, 'plum'); INSERT INTO items (id, name) VALUES (12, 'fig');");
      return (await tx.query<{ n: number }>('SELECT count(*) AS n FROM items WHERE id >= 10'))[0]?.n;
    });
    expect(result).toBe(3);
    expect(await db.query('SELECT name FROM items WHERE id >= 10 ORDER BY id')).toEqual([{ name: 'pear' }, { name: 'plum' }, { name: 'fig' }]);
  });

  it('rolls back a transaction that throws and rethrows the same error', async () => {
    const boom = new Error('boom');
    const failure = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [20, 'kiwi']);
      throw boom;
    });
    await expect(failure).rejects.toBe(boom);
    expect(await db.query('SELECT * FROM items WHERE id = 20')).toEqual([]);
  });

  it('rolls back when a statement fails and translates its error', async () => {
    const failure = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [30, 'lime']);
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [31, 'apple']);
    });
    await expect(failure).rejects.toBeInstanceOf(UniqueViolationError);
    expect(await db.query('SELECT * FROM items WHERE id IN (30, 31)')).toEqual([]);
  });

  it('does not commit a transaction whose callback swallowed a statement error', async () => {
    const failure = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [40, 'date']);
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [41, 'apple']).catch(() => undefined);
      return 'looks fine';
    });
    const error = await failure.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransactionAbortedError);
    expect((error as TransactionAbortedError).cause).toBeInstanceOf(UniqueViolationError);
    expect(await db.query('SELECT * FROM items WHERE id = 40')).toEqual([]);
  });

  it('never commits a transaction in which a statement failed, even after ROLLBACK TO SAVEPOINT', async () => {
    // postgres.js dooms a transaction once any of its queries failed; both drivers do the same.
    const failure = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [50, 'melon']);
      await tx.query('SAVEPOINT before_dup');
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [51, 'apple']).catch(() => undefined);
      await tx.query('ROLLBACK TO SAVEPOINT before_dup');
    });
    await expect(failure).rejects.toBeInstanceOf(TransactionAbortedError);
    expect(await db.query('SELECT name FROM items WHERE id IN (50, 51)')).toEqual([]);
  });

  it('refuses nested transactions and queries on the database inside a transaction', async () => {
    await expect(db.transaction(async () => db.transaction(async () => 1))).rejects.toThrow(/nested transactions are not supported/);
    await expect(db.transaction(async () => db.query('SELECT 1'))).rejects.toBeInstanceOf(StoreUsageError);
  });

  it('refuses a transaction handle used after its transaction ended', async () => {
    let leaked: { query: Database['query'] } | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.query('SELECT 1')).rejects.toThrow(/after its transaction ended/);
  });

  it('runs plpgsql functions', async () => {
    await db.exec(`
      CREATE FUNCTION add_qty(p_id int8, p_delta int4) RETURNS int4 LANGUAGE plpgsql AS $$
      DECLARE
        result int4;
      BEGIN
        UPDATE items SET qty = qty + p_delta WHERE id = p_id RETURNING qty INTO result;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'cadre: no item %', p_id;
        END IF;
        RETURN result;
      END;
      $$;
    `);
    expect(await db.query('SELECT add_qty($1, $2) AS qty', [1, 4])).toEqual([{ qty: 7 }]);
  });

  it('answers ping', async () => {
    const result = await db.ping();
    expect(result.ok).toBe(true);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.error).toBeUndefined();
  });
});

describe.each(backends)('$name close', (backend) => {
  it('is safe to call twice and refuses work afterwards', async () => {
    const opened = await backend.open();
    const { db } = opened;
    await db.close();
    await db.close();
    await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(StoreClosedError);
    await expect(db.transaction(async () => 1)).rejects.toBeInstanceOf(StoreClosedError);
    expect(await db.ping()).toMatchObject({ ok: false });
    await opened.cleanup();
  });
});
