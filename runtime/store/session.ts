/**
 * What both drivers share: parameter checks, the transaction wrapper (nesting guard,
 * aborted-transaction guard, error translation) and ping. Internal to runtime/store.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Row, Transaction } from './database.ts';
import {
  StoreError,
  StoreUsageError,
  TransactionAbortedError,
  translatePgError,
} from './errors.ts';

/** A driver's transaction, before the wrapper adds its guards. */
export interface RawTransaction {
  query(text: string, params: unknown[]): Promise<Row[]>;
  exec(text: string): Promise<void>;
}

/** Starts a driver transaction, runs `body` in it, commits on resolve and rolls back on throw. */
export type BeginFn = <R>(body: (raw: RawTransaction) => Promise<R>) => Promise<R>;

interface OpenTransaction {
  readonly owner: object;
  active: boolean;
}

// Which transaction, if any, the current async context runs inside. Lets us refuse a
// nested transaction or a query on the Database itself from inside a transaction: on
// PGlite both would wait forever for the lock the enclosing transaction holds.
const openTransactions = new AsyncLocalStorage<OpenTransaction>();

/** Throws a {@link StoreUsageError} when called from inside an open transaction of `owner`. */
export function assertOutsideTransaction(owner: object, what: string): void {
  const open = openTransactions.getStore();
  if (open?.active === true && open.owner === owner) {
    throw new StoreUsageError(
      `${what} called inside a transaction of the same database; use the transaction's handle (nested transactions are not supported)`,
    );
  }
}

/**
 * Rejects parameter values the two drivers would treat differently. Allowed: strings,
 * numbers, booleans, null, bigint, Date, Uint8Array and arrays of these. JSON goes in
 * as a string, cast in SQL (`$1::jsonb`).
 */
export function checkParams(params: readonly unknown[]): void {
  params.forEach((value, index) => {
    const problem = paramProblem(value);
    if (problem !== undefined) throw new StoreUsageError(`parameter $${index + 1} ${problem}`);
  });
}

function paramProblem(value: unknown): string | undefined {
  if (value === undefined) return 'is undefined; pass null for SQL NULL';
  if (value === null) return undefined;
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `is ${value}; only finite numbers are allowed`;
    case 'object':
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'is an invalid Date' : undefined;
      if (value instanceof Uint8Array) return undefined;
      if (Array.isArray(value)) return value.map(paramProblem).find((p) => p !== undefined);
      return 'is an object; pass JSON as a string (JSON.stringify) and cast it in SQL ($n::jsonb)';
    default:
      return `is a ${typeof value}`;
  }
}

/**
 * Runs `fn` in a transaction opened by `begin`, with the guards both drivers share:
 * no nesting, no use of the handle after the end, no commit of an aborted transaction,
 * and driver errors translated while the caller's own errors pass through unchanged.
 */
export async function runTransaction<T>(owner: object, begin: BeginFn, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  assertOutsideTransaction(owner, 'transaction()');
  let callerError: { error: unknown } | undefined;
  try {
    return await begin(async (raw) => {
      const open: OpenTransaction = { owner, active: true };
      const { handle, abortedBy } = guardHandle(raw, open);
      try {
        const result = await openTransactions.run(open, () => fn(handle));
        const dropped = abortedBy();
        if (dropped !== undefined) {
          throw new TransactionAbortedError(
            `the transaction was rolled back: a statement failed (${dropped.message}) and the callback went on`,
            { cause: dropped },
          );
        }
        return result;
      } catch (error) {
        callerError = { error };
        throw error;
      } finally {
        open.active = false;
      }
    });
  } catch (error) {
    // Errors from the callback (already translated when they came from tx.query) stay
    // as they are; anything else failed in BEGIN, COMMIT or ROLLBACK.
    if (callerError !== undefined && error === callerError.error) throw error;
    throw translatePgError(error);
  }
}

function guardHandle(raw: RawTransaction, open: OpenTransaction): { handle: Transaction; abortedBy: () => StoreError | undefined } {
  // The first failed statement dooms the transaction, even if the callback catches the
  // error and recovers with ROLLBACK TO SAVEPOINT: postgres.js rejects such a transaction
  // anyway (it remembers every failed query of a sql.begin), so PGlite must too.
  let aborted: StoreError | undefined;
  const assertActive = (): void => {
    if (!open.active) throw new StoreUsageError('transaction handle used after its transaction ended');
  };
  const track = async <R>(run: () => Promise<R>): Promise<R> => {
    try {
      return await run();
    } catch (error) {
      const translated = translatePgError(error);
      aborted ??= translated;
      throw translated;
    }
  };
  const handle: Transaction = {
    query: async <R extends Row = Row>(text: string, params: unknown[] = []): Promise<R[]> => {
      assertActive();
      checkParams(params);
      return (await track(() => raw.query(text, params))) as R[];
    },
    exec: async (text: string): Promise<void> => {
      assertActive();
      await track(() => raw.exec(text));
    },
  };
  return { handle, abortedBy: () => aborted };
}

/** Result of {@link Database.ping}. */
export interface PingResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** Runs `SELECT 1` through `query`, giving up after `timeoutMs`; never throws. */
export async function ping(query: (text: string) => Promise<unknown>, timeoutMs: number): Promise<PingResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 100) / 100;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([query('SELECT 1'), timeout]);
    return { ok: true, latencyMs: elapsed() };
  } catch (error) {
    return { ok: false, latencyMs: elapsed(), error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
