/**
 * The embedded driver: PGlite (PostgreSQL compiled to WebAssembly, in this process)
 * behind the Database interface. Internal to runtime/store; open it through openDatabase.
 *
 * PGlite has ONE session. Every call goes through a FIFO mutex: a transaction holds it
 * from BEGIN to COMMIT, a plain query holds it for one statement. So two transactions
 * never interleave, and a query issued while another caller's transaction is open waits
 * for that transaction to end instead of running inside it.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { IN_MEMORY, type Database, type ResolvedDatabaseOptions, type Row, type Transaction } from './database.ts';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { StoreClosedError, translatePgError } from './errors.ts';
import { Mutex } from './mutex.ts';
import { assertOutsideTransaction, checkParams, ping, runTransaction, type PingResult, type RawTransaction } from './session.ts';

// PGlite parses int8 to a number when it fits in 2^53 and to a bigint beyond; we want a
// number always, like the postgres.js driver (our int8 values stay far below 2^53).
const parsers = { 20: (text: string): number => Number(text) };

class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #pg: PGlite;
  readonly #lock: DataDirLock | undefined;
  readonly #pingTimeoutMs: number;
  readonly #mutex = new Mutex();
  #closing: Promise<void> | undefined;

  constructor(pg: PGlite, lock: DataDirLock | undefined, pingTimeoutMs: number) {
    this.#pg = pg;
    this.#lock = lock;
    this.#pingTimeoutMs = pingTimeoutMs;
  }

  async query<T extends Row = Row>(text: string, params: unknown[] = []): Promise<T[]> {
    this.#assertOpen();
    assertOutsideTransaction(this, 'query()');
    checkParams(params);
    return this.#exclusive(async () => (await this.#pg.query<T>(text, params)).rows);
  }

  async exec(text: string): Promise<void> {
    this.#assertOpen();
    assertOutsideTransaction(this, 'exec()');
    await this.#exclusive(() => this.#pg.exec(text));
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.#assertOpen();
    return runTransaction(
      this,
      <R>(body: (raw: RawTransaction) => Promise<R>) =>
        this.#mutex.run(() =>
          // PGlite's transaction() sends BEGIN, COMMIT or ROLLBACK, and refuses to report
          // success when COMMIT answers ROLLBACK.
          this.#pg.transaction((tx) =>
            body({
              query: async (text, params) => (await tx.query<Row>(text, params)).rows,
              exec: async (text) => {
                await tx.exec(text);
              },
            }),
          ),
        ),
      fn,
    );
  }

  ping(): Promise<PingResult> {
    if (this.#closing !== undefined) return Promise.resolve({ ok: false, latencyMs: 0, error: 'the database is closed' });
    return ping((text) => this.#exclusive(() => this.#pg.query(text)), this.#pingTimeoutMs);
  }

  close(): Promise<void> {
    // Queued work runs first: close takes its place at the end of the queue.
    this.#closing ??= this.#mutex.run(async () => {
      try {
        await this.#pg.close();
      } finally {
        await this.#lock?.release();
      }
    });
    return this.#closing;
  }

  /** Runs one driver call under the mutex, translating its errors. */
  async #exclusive<R>(fn: () => Promise<R>): Promise<R> {
    return this.#mutex.run(async () => {
      try {
        return await fn();
      } catch (error) {
        throw translatePgError(error);
      }
    });
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new StoreClosedError();
  }
}

/**
 * Opens (creating if needed) the embedded database in `<dataDir>/pgdata`, or in memory when
 * `dataDir` is `':memory:'`. Takes `<dataDir>/pgdata.lock` so no second instance opens
 * the same files.
 */
export async function openPglite(dataDir: string, options: ResolvedDatabaseOptions): Promise<Database> {
  if (dataDir === IN_MEMORY) {
    const pg = await PGlite.create({ parsers });
    return new PgliteDatabase(pg, undefined, options.pingTimeoutMs);
  }
  const root = resolve(dataDir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const lock = await lockDataDir(join(root, 'pgdata.lock'));
  try {
    const pg = await PGlite.create({ dataDir: join(root, 'pgdata'), parsers });
    return new PgliteDatabase(pg, lock, options.pingTimeoutMs);
  } catch (error) {
    await lock.release();
    throw error;
  }
}
