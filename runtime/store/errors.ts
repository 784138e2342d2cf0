/**
 * The store's errors. Every failure that leaves runtime/store is a {@link StoreError}:
 * a named class with a stable `code`, a `retryable` flag and the driver's error as
 * `cause`. Errors from both drivers (postgres.js and PGlite) are translated in one
 * place, {@link translatePgError}, so callers never look at SQLSTATEs themselves.
 */

/** Stable codes of the store's errors; documented in docs/store.md. */
export type StoreErrorCode =
  | 'STORE_UNAVAILABLE'
  | 'STORE_CONFLICT'
  | 'STORE_UNIQUE_VIOLATION'
  | 'STORE_DATA'
  | 'STORE_ASSERTION'
  | 'STORE_QUERY'
  | 'STORE_TX_ABORTED'
  | 'STORE_USAGE'
  | 'STORE_CLOSED'
  | 'STORE_DATA_DIR_LOCKED'
  | 'STORE_MIGRATION';

/** Details copied from the driver's error; both drivers name them differently. */
export interface PgErrorDetails {
  /** SQLSTATE, such as `23505`. */
  sqlState?: string;
  /** The constraint that failed, for integrity violations. */
  constraint?: string;
  /** The table involved, when PostgreSQL names one. */
  table?: string;
  /** PostgreSQL's DETAIL line. */
  detail?: string;
}

/** Base class of every error the store throws. */
export abstract class StoreError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: StoreErrorCode;
  /** True when running the same operation again may succeed. */
  abstract readonly retryable: boolean;
  /** SQLSTATE of the PostgreSQL error behind this one, if any. */
  readonly sqlState: string | undefined;
  /** PostgreSQL's DETAIL line, if any. */
  readonly detail: string | undefined;

  constructor(message: string, options: { cause?: unknown; details?: PgErrorDetails } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.sqlState = options.details?.sqlState;
    this.detail = options.details?.detail;
  }
}

/** The database cannot be reached or refused the work for now (connection lost, shutdown, too many connections). Retryable. */
export class StoreUnavailableError extends StoreError {
  readonly code = 'STORE_UNAVAILABLE';
  readonly retryable = true;
}

/** The transaction lost a race with another one (serialization failure, deadlock, lock not available). Retryable. */
export class StoreConflictError extends StoreError {
  readonly code = 'STORE_CONFLICT';
  readonly retryable = true;
}

/** A unique constraint rejected a row (SQLSTATE 23505). */
export class UniqueViolationError extends StoreError {
  readonly code = 'STORE_UNIQUE_VIOLATION';
  readonly retryable = false;
  /** Name of the violated constraint or unique index. */
  readonly constraint: string | undefined;
  /** Table the row was written to. */
  readonly table: string | undefined;

  constructor(message: string, options: { cause?: unknown; details?: PgErrorDetails } = {}) {
    super(message, options);
    this.constraint = options.details?.constraint;
    this.table = options.details?.table;
  }
}

/** A value or row was rejected: bad input syntax, out of range, not-null, check or foreign-key violation (SQLSTATE classes 22 and 23). */
export class StoreDataError extends StoreError {
  readonly code = 'STORE_DATA';
  readonly retryable = false;
  /** Name of the violated constraint, for class 23 errors. */
  readonly constraint: string | undefined;

  constructor(message: string, options: { cause?: unknown; details?: PgErrorDetails } = {}) {
    super(message, options);
    this.constraint = options.details?.constraint;
  }
}

/**
 * SQL aborted the transaction on purpose: `RAISE EXCEPTION 'cadre: ...'` (SQLSTATE P0001
 * with the `cadre:` prefix). The runtime uses this for optimistic-concurrency checks;
 * `message` is PostgreSQL's message, prefix included. Not retryable as is: the caller
 * must reload what it read before trying again.
 */
export class StoreAssertionError extends StoreError {
  readonly code = 'STORE_ASSERTION';
  readonly retryable = false;
}

/** Any other SQL error: syntax, undefined table or column, permissions, other raised exceptions. A bug, not retryable. */
export class StoreQueryError extends StoreError {
  readonly code = 'STORE_QUERY';
  readonly retryable = false;
}

/**
 * The transaction callback resolved although one of its statements failed and left the
 * transaction aborted (the error was caught and dropped). It was rolled back; `cause` is
 * the dropped error.
 */
export class TransactionAbortedError extends StoreError {
  readonly code = 'STORE_TX_ABORTED';
  readonly retryable = false;
}

/** The store was used wrongly: nested transaction, a handle used after its transaction, an invalid parameter or option. */
export class StoreUsageError extends StoreError {
  readonly code = 'STORE_USAGE';
  readonly retryable = false;
}

/** The database was closed with `close()`. */
export class StoreClosedError extends StoreError {
  readonly code = 'STORE_CLOSED';
  readonly retryable = false;

  constructor(message = 'the database is closed', options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/** Another live process (or another Database in this one) holds the embedded database's data directory. */
export class DataDirLockedError extends StoreError {
  readonly code = 'STORE_DATA_DIR_LOCKED';
  readonly retryable = false;
  /** Path of the lock file. */
  readonly lockFile: string;

  constructor(message: string, lockFile: string) {
    super(message);
    this.lockFile = lockFile;
  }
}

/** Why a migration run stopped. */
export type MigrationFailure = 'bad_name' | 'duplicate_version' | 'transaction_control' | 'checksum_mismatch' | 'failed';

/** A migration run stopped; `file` names the migration file at fault. */
export class MigrationError extends StoreError {
  readonly code = 'STORE_MIGRATION';
  readonly retryable: boolean;
  /** File name of the migration at fault, such as `003_timers.sql`. */
  readonly file: string;
  /** What went wrong. */
  readonly reason: MigrationFailure;

  constructor(message: string, options: { file: string; reason: MigrationFailure; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.file = options.file;
    this.reason = options.reason;
    // A file that failed on a lost connection or a conflict may well apply next time.
    this.retryable = options.cause instanceof StoreError && options.cause.retryable;
  }
}

/** postgres.js (and Node's net module) codes for a lost or refused connection. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** SQLSTATEs outside class 08 that mean "the server cannot serve you right now". */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '25006']);

/**
 * SQLSTATE classes that are the server's condition, not the statement's: 53
 * (insufficient resources: disk full, out of memory), 58 (system and I/O errors).
 * With 57014 (statement timeout) and 25006 (read-only, e.g. after a failover) they
 * are retryable: the same work may succeed later and must not be dead-lettered.
 */
const UNAVAILABLE_CLASSES = ['53', '58'];

/** SQLSTATEs that mean "you lost a race; run the transaction again". */
const CONFLICT_STATES = new Set(['40001', '40P01', '55P03']);

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The assertion prefix the runtime's SQL uses in `RAISE EXCEPTION`. */
export const ASSERTION_PREFIX = 'cadre:';

function field(err: object, ...names: string[]): string | undefined {
  const record = err as Record<string, unknown>;
  for (const name of names) {
    const value = record[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** Reads code, constraint, table and detail from either driver's error object. */
function readDetails(err: object): PgErrorDetails & { code: string | undefined } {
  return {
    code: field(err, 'code'),
    // postgres.js spells the fields as in libpq (constraint_name), PGlite as in pg (constraint).
    constraint: field(err, 'constraint_name', 'constraint'),
    table: field(err, 'table_name', 'table'),
    detail: field(err, 'detail'),
  };
}

/**
 * True when `err` came from a database driver: a PostgreSQL error with a SQLSTATE, a
 * known connection failure, or PGlite's "closed" error. Errors of the caller's own
 * code are not driver errors and pass through transactions untouched.
 */
export function isDriverError(err: unknown): boolean {
  if (err instanceof StoreError) return true;
  if (!(err instanceof Error)) return false;
  const code = field(err, 'code');
  if (code !== undefined) return SQLSTATE.test(code) || CONNECTION_CODES.has(code);
  return err.message === 'PGlite is closed';
}

/**
 * Translates any error thrown by postgres.js or PGlite into a {@link StoreError}. This is
 * the one place that knows PostgreSQL's error codes. A StoreError passes through as is;
 * an unrecognised error becomes a {@link StoreQueryError} with the original as `cause`.
 *
 * @example
 * try { await sql.unsafe(text, params) } catch (err) { throw translatePgError(err) }
 */
export function translatePgError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  if (!(err instanceof Error)) return new StoreQueryError(`non-error thrown by the database driver: ${String(err)}`, { cause: err });
  if (err.message === 'PGlite is closed') return new StoreClosedError('the embedded database is closed', { cause: err });

  const { code, ...rest } = readDetails(err);
  const details: PgErrorDetails = { ...rest, sqlState: code !== undefined && SQLSTATE.test(code) ? code : undefined };
  const options = { cause: err, details };
  const message = err.message;

  if (code === undefined) return new StoreQueryError(message, options);
  if (CONNECTION_CODES.has(code)) return new StoreUnavailableError(`database unavailable: ${message}`, { cause: err });
  if (code.startsWith('08') || UNAVAILABLE_STATES.has(code) || UNAVAILABLE_CLASSES.some((c) => code.startsWith(c))) return new StoreUnavailableError(`database unavailable: ${message}`, options);
  if (CONFLICT_STATES.has(code)) return new StoreConflictError(message, options);
  if (code === '23505') return new UniqueViolationError(message, options);
  if (code.startsWith('22') || code.startsWith('23')) return new StoreDataError(message, options);
  if (code === 'P0001' && message.startsWith(ASSERTION_PREFIX)) return new StoreAssertionError(message, options);
  return new StoreQueryError(message, options);
}
