/**
 * One database interface over two drivers: PostgreSQL through postgres.js when a URL is
 * given, embedded PGlite otherwise. See docs/store.md.
 */
import { z } from 'zod';
import { StoreUsageError } from './errors.ts';
import type { PingResult } from './session.ts';

/** A result row: column name to parsed value. */
export type Row = Record<string, unknown>;

/**
 * A PostgreSQL database, the same on both drivers. Values come back parsed the same way
 * on both: int2/int4/int8/float as numbers, numeric as string, timestamptz/timestamp/date
 * as Date, json/jsonb as parsed values, bool as boolean, text as string, NULL as null.
 */
export interface Database {
  /** Which driver serves this database. */
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs one statement with `$1..$n` parameters and returns its rows as plain objects.
   * Parameters: strings, numbers, booleans, null (and bigint, Date, Uint8Array, arrays);
   * JSON as a string cast in SQL (`$1::jsonb`). `undefined` and plain objects are refused.
   */
  query<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs several statements without parameters (migrations, setup scripts). */
  exec(text: string): Promise<void>;
  /**
   * Runs `fn` inside one transaction (READ COMMITTED): commits when it resolves, rolls back
   * when it throws and rethrows its error. Nested calls are refused, and so is a query on
   * the Database itself from inside `fn`: use the `tx` handle. A failed statement dooms
   * the transaction: if `fn` catches its error and resolves anyway (savepoints included),
   * the transaction is rolled back and a TransactionAbortedError thrown.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Health check: `SELECT 1` with a short timeout; never throws. */
  ping(): Promise<PingResult>;
  /** Closes the pool or the embedded database after queued work finished; safe to call twice. */
  close(): Promise<void>;
}

/** Anything that runs one statement: a Database or a transaction handle. */
export type Queryable = Pick<Database, 'query'>;

/** The handle a transaction callback gets: `query`, plus `exec` for multi-statement scripts. */
export interface Transaction extends Queryable {
  /** Runs several statements without parameters inside the transaction. */
  exec(text: string): Promise<void>;
}

export type { PingResult } from './session.ts';

/** The `dataDir` that keeps the embedded database in memory (tests). */
export const IN_MEMORY = ':memory:';

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** PostgreSQL URL (`postgres://user@host:5432/db`). Set: postgres.js. Unset: embedded PGlite. */
  url?: string;
  /**
   * Directory of the embedded database (PGlite keeps its files in `<dataDir>/pgdata`); made
   * if missing. `':memory:'` keeps everything in memory. Ignored when `url` is set.
   */
  dataDir?: string;
  /**
   * Connection pool size, PostgreSQL only (PGlite has one session).
   * @default 10
   */
  max?: number;
  /**
   * `application_name` of PostgreSQL connections, shown in pg_stat_activity.
   * @default 'cadre'
   */
  applicationName?: string;
  /**
   * PostgreSQL only: plans for short index lookups. Prepared statements are
   * planned once (`plan_cache_mode = force_generic_plan`) and the planner is
   * steered to nested loops over index probes (`enable_seqscan`, `enable_hashjoin`
   * and `enable_mergejoin` off: cost penalties, not bans). The runtime's statements
   * join a few rows to large tables by key; with PostgreSQL's defaults a table
   * without fresh statistics (young, or with autovacuum off) got plans that read
   * the whole journal or actors table for every commit, and kept them cached.
   * @default false
   */
  lookupPlans?: boolean;
  /**
   * How long `ping()` waits for `SELECT 1`.
   * @default 2000
   */
  pingTimeoutMs?: number;
}

const optionsSchema = z
  .object({
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    dataDir: z.string().min(1).optional(),
    max: z.number().int().min(1).max(1000).optional(),
    applicationName: z.string().min(1).max(63).optional(),
    pingTimeoutMs: z.number().int().min(1).max(60_000).optional(),
    lookupPlans: z.boolean().optional(),
  })
  .strict();

/** Options after validation and defaults; frozen. */
export interface ResolvedDatabaseOptions {
  readonly url: string | undefined;
  readonly dataDir: string | undefined;
  readonly max: number;
  readonly applicationName: string;
  readonly pingTimeoutMs: number;
  readonly lookupPlans: boolean;
}

/** Validates options once, fills defaults and freezes them; throws StoreUsageError naming the bad option. */
export function resolveDatabaseOptions(opts: OpenDatabaseOptions): ResolvedDatabaseOptions {
  const parsed = optionsSchema.safeParse(opts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'options';
    throw new StoreUsageError(`openDatabase: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const { url, dataDir, max, applicationName, pingTimeoutMs, lookupPlans } = parsed.data;
  if (url === undefined && dataDir === undefined) {
    throw new StoreUsageError("openDatabase: give url (PostgreSQL) or dataDir (embedded PGlite, or ':memory:')");
  }
  return Object.freeze({
    url,
    dataDir: url === undefined ? dataDir : undefined,
    max: max ?? 10,
    applicationName: applicationName ?? 'cadre',
    pingTimeoutMs: pingTimeoutMs ?? 2000,
    lookupPlans: lookupPlans ?? false,
  });
}

/**
 * Opens the database: PostgreSQL when `url` is set, embedded PGlite in `dataDir` otherwise.
 * Resolves once the database answers (PostgreSQL) or is initialised (PGlite).
 *
 * @example
 * const db = await openDatabase({ url: process.env.DATABASE_URL, dataDir: '.cadre' });
 * const rows = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM actors WHERE tenant = $1', ['acme']);
 * await db.close();
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const options = resolveDatabaseOptions(opts);
  if (options.url !== undefined) {
    const { openPostgres } = await import('./postgres-driver.ts');
    return openPostgres(options.url, options);
  }
  const { openPglite } = await import('./pglite-driver.ts');
  return openPglite(options.dataDir ?? IN_MEMORY, options);
}
