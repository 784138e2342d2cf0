/**
 * The instance admin's bearer token (DESIGN.md, "Embedded by default"): the one in
 * `CADRE_ADMIN_TOKEN` when it is set; otherwise one generated at the first start and
 * kept in `<CADRE_DATA_DIR>/admin-token`, readable and writable by its owner only
 * (mode 0600), and read again on every later start.
 *
 * The file is published atomically: the token is written to a private temporary
 * file, flushed, and hard-linked to its name, which fails if the name exists. Two
 * processes starting at once on one data directory thus agree on one token, and a
 * crash never leaves a half-written token behind.
 *
 * Several nodes on PostgreSQL + NATS each have their own data directory: give them
 * one `CADRE_ADMIN_TOKEN`, or each accepts only the token in its own directory.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** The name of the file in the data directory. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/** Where the instance admin token came from. */
export interface AdminToken {
  /** The bearer secret. */
  token: string;
  /** `environment`: CADRE_ADMIN_TOKEN; `file`: the data directory's admin-token file. */
  source: 'environment' | 'file';
  /** The file's absolute path; null when the token came from the environment. */
  path: string | null;
  /** True when this call generated the token (the first start). */
  created: boolean;
}

/** The token file of a data directory, as an absolute path. */
export function adminTokenPath(dataDir: string): string {
  return resolve(dataDir, ADMIN_TOKEN_FILE);
}

/** The admin-token file is there but unusable; the message says how to fix it. */
export class AdminTokenError extends Error {
  readonly code = 'ADMIN_TOKEN_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'AdminTokenError';
  }
}

const MIN_LENGTH = 24;

/**
 * The instance admin token of this configuration: `adminToken` (CADRE_ADMIN_TOKEN)
 * when set, else the data directory's file, made on the first call.
 * @example const admin = await resolveAdminToken(config); // { token, source: 'file', path: '/srv/.cadre/admin-token', created: true }
 */
export async function resolveAdminToken(config: { adminToken?: string | undefined; dataDir: string }): Promise<AdminToken> {
  if (config.adminToken) return { token: config.adminToken, source: 'environment', path: null, created: false };
  const path = adminTokenPath(config.dataDir);
  const existing = await readTokenFile(path);
  if (existing !== null) return { token: existing, source: 'file', path, created: false };

  await mkdir(resolve(config.dataDir), { recursive: true, mode: 0o700 });
  const token = `cdr_admin_${randomBytes(32).toString('base64url')}`;
  const tmp = join(resolve(config.dataDir), `.${ADMIN_TOKEN_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${token}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(tmp, 0o600); // whatever the umask did
    await link(tmp, path);
    return { token, source: 'file', path, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another process published its token first: use that one.
    const theirs = await readTokenFile(path);
    if (theirs === null) throw err;
    return { token: theirs, source: 'file', path, created: false };
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** The token in the file, null if there is no file; the file is made owner-only if it was not. */
async function readTokenFile(path: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const token = text.trim();
  if (token.length < MIN_LENGTH || token.length > 200 || /\s/.test(token)) {
    throw new AdminTokenError(
      `the admin token file ${path} does not hold a token (one line of ${MIN_LENGTH} to 200 characters without spaces); ` +
        'delete it to have a new one generated, or set CADRE_ADMIN_TOKEN',
    );
  }
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return token;
}
