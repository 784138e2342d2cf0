/**
 * A lock file that keeps two PGlite instances off one data directory. PGlite does not
 * write postmaster.pid: a second instance (another process, or another openDatabase in
 * this one) opens the same files without complaint, and two writers corrupt them.
 * Internal to runtime/store.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { DataDirLockedError } from './errors.ts';

/** A held lock; release() is safe to call twice. */
export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

interface LockContent {
  pid: number;
  host: string;
  since: string;
}

// Lock files this process holds: a lock with our own pid that is not in here was left by
// an earlier process that had the same pid (common for pid 1 in containers).
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockContent | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as LockContent).pid === 'number') {
      return parsed as LockContent;
    }
    return undefined;
  } catch {
    return undefined; // unreadable or half-written: treat as stale
  }
}

function isStale(path: string, lock: LockContent | undefined): boolean {
  if (lock === undefined) return true;
  if (lock.host !== hostname()) return false; // cannot check another machine's processes
  if (lock.pid === process.pid) return !heldHere.has(path);
  return !isAlive(lock.pid);
}

async function tryCreate(path: string): Promise<boolean> {
  const content: LockContent = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(content));
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Takes the lock file at `path`, replacing a stale one; throws DataDirLockedError if a live holder has it. */
export async function lockDataDir(path: string): Promise<DataDirLock> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await tryCreate(path)) {
      heldHere.add(path);
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          heldHere.delete(path);
          await unlink(path).catch(() => undefined);
        },
      };
    }
    const holder = await readLock(path);
    if (!isStale(path, holder)) {
      throw new DataDirLockedError(
        `the embedded database is in use by process ${holder?.pid} on ${holder?.host} since ${holder?.since}; ` +
          `if no such process runs, delete ${path}`,
        path,
      );
    }
    await unlink(path).catch(() => undefined);
  }
  throw new DataDirLockedError(`could not take the lock file ${path}; another process keeps taking it`, path);
}
