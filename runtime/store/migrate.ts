/**
 * Schema migrations: numbered plain SQL files (`NNN_name.sql`) applied in numeric order,
 * each in its own transaction together with its row in `schema_migrations`.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, Transaction } from './database.ts';
import { MigrationError, StoreUsageError } from './errors.ts';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /**
   * Folder holding the `NNN_name.sql` files.
   * @default the repository's migrations/ folder
   */
  dir?: string | URL;
  /** Called once per applied file, with a line such as `applied 002_actors.sql in 14 ms`. */
  log?: (message: string) => void;
}

/** What {@link migrate} did, as file names in numeric order. */
export interface MigrateResult {
  /** Files applied by this call. */
  applied: string[];
  /** Files found already applied (with the same checksum). */
  skipped: string[];
}

/** One migration file, read and checked. */
export interface MigrationFile {
  /** The number in front, such as 2 for `002_actors.sql`. */
  version: number;
  /** The file name, such as `002_actors.sql`. */
  file: string;
  /** The file's SQL. */
  sql: string;
  /** SHA-256 of the file's content, hex. */
  checksum: string;
}

/** The repository's migrations/ folder. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Names a migration file must have: three or more digits, an underscore, a name, `.sql`. */
export const MIGRATION_FILE_PATTERN = /^(\d{3,})_([a-z0-9][a-z0-9_-]*)\.sql$/;

// Both halves of the advisory lock key migrations take on PostgreSQL: 'CADR', 1.
const LOCK_SQL = 'SELECT pg_advisory_xact_lock(1128350802, 1)';

const CREATE_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    int PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

// A migration runs inside our transaction; its own BEGIN or COMMIT would end that
// transaction early and separate the file from its schema_migrations row.
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION)\s*(WORK|TRANSACTION)?\s*;/im;

function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

/**
 * Reads and checks the migration files in `dir`, in numeric order. Files not ending in
 * `.sql` (a README) are ignored; a `.sql` file with a bad name, two files with one
 * number, or a file with its own BEGIN/COMMIT is an error naming the file.
 */
export async function loadMigrations(dir: string | URL = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const path = typeof dir === 'string' ? dir : fileURLToPath(dir);
  let names: string[];
  try {
    names = await readdir(path);
  } catch (error) {
    throw new StoreUsageError(`cannot read the migrations directory ${path}`, { cause: error });
  }
  const files: MigrationFile[] = [];
  const byVersion = new Map<number, string>();
  for (const file of names.filter((name) => name.toLowerCase().endsWith('.sql')).sort()) {
    const match = MIGRATION_FILE_PATTERN.exec(file);
    if (match === null) {
      throw new MigrationError(
        `migration file ${file} in ${path} does not match NNN_name.sql (digits, underscore, lower-case name)`,
        { file, reason: 'bad_name' },
      );
    }
    const version = Number(match[1]);
    const other = byVersion.get(version);
    if (other !== undefined) {
      throw new MigrationError(`migration files ${other} and ${file} share version ${version}`, { file, reason: 'duplicate_version' });
    }
    byVersion.set(version, file);
    const sql = await readFile(join(path, file), 'utf8');
    if (TRANSACTION_CONTROL.test(sql)) {
      throw new MigrationError(
        `migration file ${file} contains its own BEGIN/COMMIT; migrate() runs each file in a transaction already`,
        { file, reason: 'transaction_control' },
      );
    }
    files.push({ version, file, sql, checksum: checksumOf(sql) });
  }
  return files.sort((a, b) => a.version - b.version);
}

function checksumMismatch(file: MigrationFile): MigrationError {
  return new MigrationError(
    `migration ${file.file} was changed after it was applied (checksum differs); ` +
      'add a new migration instead of editing an applied one',
    { file: file.file, reason: 'checksum_mismatch' },
  );
}

async function lockMigrations(db: Database, tx: Transaction): Promise<void> {
  // PGlite is one process with one session: nothing to exclude.
  if (db.kind === 'postgres') await tx.query(LOCK_SQL);
}

async function applyOne(db: Database, migration: MigrationFile): Promise<'applied' | 'skipped'> {
  return db.transaction(async (tx) => {
    await lockMigrations(db, tx);
    // Read after taking the lock: a concurrent migrate() that applied this file has committed.
    const [row] = await tx.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE version = $1', [migration.version]);
    if (row !== undefined) {
      if (row.checksum !== migration.checksum) throw checksumMismatch(migration);
      return 'skipped';
    }
    await tx.exec(migration.sql);
    await tx.query('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, now())', [
      migration.version,
      migration.file,
      migration.checksum,
    ]);
    return 'applied';
  });
}

/**
 * Applies the migrations in `dir` that are not applied yet, in numeric order, each in its
 * own transaction together with its `schema_migrations` row. Safe to run again and from
 * several processes at once (on PostgreSQL an advisory lock makes them take turns). A
 * file changed after it was applied stops the run before anything new is applied.
 *
 * @example
 * const { applied } = await migrate(db, { log: (line) => logger.info(line) });
 */
export async function migrate(db: Database, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = await loadMigrations(opts.dir);
  await db.transaction(async (tx) => {
    await lockMigrations(db, tx);
    await tx.exec(CREATE_TABLE_SQL);
  });

  const recorded = await db.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations');
  const checksums = new Map(recorded.map((row) => [row.version, row.checksum]));
  for (const migration of migrations) {
    const known = checksums.get(migration.version);
    if (known !== undefined && known !== migration.checksum) throw checksumMismatch(migration);
  }

  const result: MigrateResult = { applied: [], skipped: [] };
  for (const migration of migrations) {
    const started = performance.now();
    let outcome: 'applied' | 'skipped';
    try {
      outcome = await applyOne(db, migration);
    } catch (error) {
      if (error instanceof MigrationError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new MigrationError(`migration ${migration.file} failed and was rolled back: ${reason}`, {
        file: migration.file,
        reason: 'failed',
        cause: error,
      });
    }
    result[outcome].push(migration.file);
    if (outcome === 'applied') opts.log?.(`applied ${migration.file} in ${Math.round(performance.now() - started)} ms`);
  }
  return result;
}
