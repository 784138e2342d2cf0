/**
 * runtime/store: the database. One interface over PostgreSQL (postgres.js) and embedded
 * PGlite, its errors, and schema migrations. Other folders import only from here.
 */
export {
  IN_MEMORY,
  openDatabase,
  resolveDatabaseOptions,
  type Database,
  type OpenDatabaseOptions,
  type PingResult,
  type Queryable,
  type ResolvedDatabaseOptions,
  type Row,
  type Transaction,
} from './database.ts';
export {
  ASSERTION_PREFIX,
  DataDirLockedError,
  isDriverError,
  MigrationError,
  StoreAssertionError,
  StoreClosedError,
  StoreConflictError,
  StoreDataError,
  StoreError,
  StoreQueryError,
  StoreUnavailableError,
  StoreUsageError,
  TransactionAbortedError,
  translatePgError,
  UniqueViolationError,
  type MigrationFailure,
  type PgErrorDetails,
  type StoreErrorCode,
} from './errors.ts';
export {
  DEFAULT_MIGRATIONS_DIR,
  loadMigrations,
  migrate,
  MIGRATION_FILE_PATTERN,
  type MigrateOptions,
  type MigrateResult,
  type MigrationFile,
} from './migrate.ts';
