/**
 * Test databases: a fresh PostgreSQL database per call, and both store backends for
 * `describe.each`. PostgreSQL is the real server on 127.0.0.1:5432 (see DEVELOPERS.md);
 * PGlite runs in a temporary directory.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../runtime/store/index.ts';

/** Admin connection used to create and drop test databases. */
export const ADMIN_URL = process.env.CADRE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A test database on the real server; drop() is safe to call twice. */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {}, connection: { application_name: 'cadre-test-admin' } });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * A fresh PostgreSQL database with a unique name (`<prefix>_<random hex>`) on 127.0.0.1:5432,
 * dropped by drop() (WITH (FORCE), so open connections do not block it).
 *
 * @example
 * const testDb = await createTestDatabase();
 * const db = await openDatabase({ url: testDb.url });
 * // ...
 * await db.close();
 * await testDb.drop();
 */
export async function createTestDatabase(prefix = 'cadre_t'): Promise<TestDatabase> {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new Error(`createTestDatabase: prefix ${prefix} must be a short lower-case identifier`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin((sql) => sql.unsafe(`CREATE DATABASE "${name}"`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    drop() {
      dropped ??= withAdmin(async (sql) => {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
      return dropped;
    },
  };
}

/** An open database of one backend, with what is needed to reopen it. */
export interface OpenedBackend {
  db: Database;
  /** Set for PostgreSQL: the test database's URL. */
  url?: string;
  /** Set for PGlite: the temporary data directory. */
  dataDir?: string;
  /** Closes the database and drops it (PostgreSQL) or removes its directory (PGlite). */
  cleanup(): Promise<void>;
}

/** One store backend, for `describe.each(backends)('$name', ...)`. */
export interface TestBackend {
  name: 'postgres' | 'pglite';
  open(): Promise<OpenedBackend>;
}

async function pgliteVersion(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pkg = JSON.parse(await readFile(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

let template: Promise<string> | undefined;

/**
 * A freshly initialised PGlite data directory, made once per PGlite version and machine
 * and copied for each test: initdb takes seconds, a copy milliseconds.
 */
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const path = join(tmpdir(), `cadre-pglite-template-${await pgliteVersion()}`);
    try {
      await readFile(join(path, 'PG_VERSION'));
      return path;
    } catch {
      // Not made yet: initialise one below.
    }
    const work = await mkdtemp(join(tmpdir(), 'cadre-pglite-init-'));
    const db = await openDatabase({ dataDir: work });
    await db.close();
    // rename is atomic: a concurrent test process either wins or finds ours in place.
    await rename(join(work, 'pgdata'), path).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
    await readFile(join(path, 'PG_VERSION'));
    return path;
  })();
  return template;
}

/** Opens PGlite in a new temporary directory (a copy of the template). */
export async function openTestPglite(): Promise<OpenedBackend> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cadre-pglite-'));
  let db: Database;
  try {
    await cp(await pgliteTemplate(), join(dataDir, 'pgdata'), { recursive: true });
    db = await openDatabase({ dataDir });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    db,
    dataDir,
    async cleanup() {
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Opens a fresh PostgreSQL test database. */
export async function openTestPostgres(opts: { max?: number } = {}): Promise<OpenedBackend> {
  const testDb = await createTestDatabase();
  let db: Database;
  try {
    db = await openDatabase({ url: testDb.url, applicationName: 'cadre-test', ...opts });
  } catch (error) {
    await testDb.drop();
    throw error;
  }
  return {
    db,
    url: testDb.url,
    async cleanup() {
      await db.close();
      await testDb.drop();
    },
  };
}

/** Both backends: PostgreSQL on 127.0.0.1:5432 and PGlite in a temporary directory. */
export const backends: readonly TestBackend[] = [
  { name: 'postgres', open: () => openTestPostgres() },
  { name: 'pglite', open: () => openTestPglite() },
];
