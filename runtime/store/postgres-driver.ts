/**
 * The PostgreSQL driver: a postgres.js pool behind the Database interface.
 * Internal to runtime/store; open it through openDatabase.
 */
import postgres from 'postgres';
import type { Database, ResolvedDatabaseOptions, Row, Transaction } from './database.ts';
import { StoreClosedError, translatePgError } from './errors.ts';
import { assertOutsideTransaction, checkParams, ping, runTransaction, type PingResult, type RawTransaction } from './session.ts';

/**
 * postgres.js type handlers that make its parsing match PGlite's:
 * - int8 parses to a JS number (postgres.js returns a string by default). Our int8 values
 *   (counts, sequence numbers, epoch milliseconds) stay far below 2^53.
 * - json/jsonb parameters that are already strings go through untouched. By default
 *   postgres.js JSON.stringify()s every value bound to a json/jsonb parameter, so the
 *   string '{"a":1}' bound to `$1::jsonb` would be stored as the JSON *string*
 *   "{\"a\":1}" instead of an object. PGlite passes strings through; so do we now.
 */
const typeHandlers = {
  int8: {
    to: 20,
    from: [20],
    serialize: (value: unknown): string => String(value),
    parse: (text: string): number => Number(text),
  },
  jsonPassthrough: {
    to: 3802,
    from: [114, 3802],
    serialize: (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value)),
    parse: (text: string): unknown => JSON.parse(text),
  },
};

function createPool(url: string, options: ResolvedDatabaseOptions) {
  return postgres(url, {
    max: options.max,
    prepare: true,
    onnotice: () => {},
    connection: {
      application_name: options.applicationName,
      ...(options.lookupPlans ? LOOKUP_PLANS : {}),
    },
    types: typeHandlers,
  });
}

type Sql = ReturnType<typeof createPool>;
/** What runStatement needs; the pool and a transaction's sql both have it. */
type Runner = Pick<Sql, 'unsafe'>;

/** Session settings of `lookupPlans` (see OpenDatabaseOptions). Penalties, not bans. */
const LOOKUP_PLANS = {
  plan_cache_mode: 'force_generic_plan',
  enable_seqscan: 'off',
  enable_hashjoin: 'off',
  enable_mergejoin: 'off',
};

// simple: false keeps one statement per query (extended protocol), as on PGlite; postgres.js
// would otherwise use the simple protocol for queries without parameters. Not in its types.
const extendedProtocol = { prepare: true, simple: false };

class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly #sql: Sql;
  readonly #pingTimeoutMs: number;
  #closing: Promise<void> | undefined;

  constructor(sql: Sql, pingTimeoutMs: number) {
    this.#sql = sql;
    this.#pingTimeoutMs = pingTimeoutMs;
  }

  async query<T extends Row = Row>(text: string, params: unknown[] = []): Promise<T[]> {
    this.#assertOpen();
    assertOutsideTransaction(this, 'query()');
    checkParams(params);
    return (await runStatement(this.#sql, text, params)) as T[];
  }

  async exec(text: string): Promise<void> {
    this.#assertOpen();
    assertOutsideTransaction(this, 'exec()');
    await runScript(this.#sql, text);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.#assertOpen();
    return runTransaction(this, (body) => this.#begin(body), fn);
  }

  /**
   * BEGIN … COMMIT on a connection reserved first. Not `sql.begin`: postgres.js 3.4.9
   * can write its BEGIN on a busy, pipelined connection without reserving it (when the
   * BEGIN fills the pipeline or the socket pushes back), so the transaction's statements
   * and unrelated queries end up on one open server transaction (porsager/postgres#823,
   * #1189; we saw its UNSAFE_TRANSACTION under load). `sql.reserve()` takes an idle
   * connection for us alone, so BEGIN never rides behind other queries.
   */
  async #begin<R>(body: (raw: RawTransaction) => Promise<R>): Promise<R> {
    const conn = await this.#sql.reserve();
    let open = false;
    try {
      await conn.unsafe('BEGIN', [], extendedProtocol);
      open = true;
      const result = await body({ query: (text, params) => runStatement(conn, text, params), exec: (text) => runScript(conn, text) });
      open = false; // a failed COMMIT ends the transaction on the server all the same
      await conn.unsafe('COMMIT', [], extendedProtocol);
      return result;
    } finally {
      if (open) await conn.unsafe('ROLLBACK', [], extendedProtocol).catch(() => undefined);
      conn.release();
    }
  }

  ping(): Promise<PingResult> {
    if (this.#closing !== undefined) return Promise.resolve({ ok: false, latencyMs: 0, error: 'the database is closed' });
    return ping((text) => this.#sql.unsafe(text, [], { prepare: false }), this.#pingTimeoutMs);
  }

  close(): Promise<void> {
    // Queries already sent finish; new ones are refused. After 5 s, connections are cut.
    this.#closing ??= this.#sql.end({ timeout: 5 });
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new StoreClosedError();
  }
}

async function runStatement(sql: Runner, text: string, params: unknown[]): Promise<Row[]> {
  try {
    const result = await sql.unsafe<Row[]>(text, params, extendedProtocol);
    return Array.from(result);
  } catch (error) {
    throw translatePgError(error);
  }
}

async function runScript(sql: Runner, text: string): Promise<void> {
  try {
    await sql.unsafe(text).simple();
  } catch (error) {
    throw translatePgError(error);
  }
}

/** Opens a postgres.js pool and checks that the server answers; throws StoreUnavailableError if not. */
export async function openPostgres(url: string, options: ResolvedDatabaseOptions): Promise<Database> {
  const sql = createPool(url, options);
  try {
    await sql.unsafe('SELECT 1');
  } catch (error) {
    await sql.end({ timeout: 0 });
    throw translatePgError(error);
  }
  return new PostgresDatabase(sql, options.pingTimeoutMs);
}
