/**
 * `cadre script run|list|show` as users run it: `node bin/cadre.js ...` in child
 * processes, against a migrated embedded data directory and against PostgreSQL.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../runtime/store/index.ts';
import { openTestPglite, openTestPostgres, type OpenedBackend } from '../support/db.ts';
import { cadre as spawnCadre, type Env } from '../support/cli.ts';

const CSV = 'name,email,phone\nAna Lima,ana@example.com,\n"Bo, Jr.",bo@example.com,555-0100\nAna L.,ANA@example.com,\n';

/** The commands run as user ana (she is recorded as who ran the scripts). */
const cadre = (env: Env, ...args: string[]) => spawnCadre({ USER: 'ana', ...env }, ...args);

let dir: string;
const stores: OpenedBackend[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cadre-script-cli-'));
  await writeFile(join(dir, 'leads.csv'), CSV);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ region: 'north' }));
  await writeFile(join(dir, 'blob.bin'), Buffer.from([0, 1, 2, 255]));
  await writeFile(join(dir, 'kinds.js'), 'console.log("inputs", inputs.length); return inputs.map((i) => [i.kind, i.name, i.value ?? null, i.bytes ? Array.from(i.bytes) : null, i.mediaType ?? null]);');
  await writeFile(join(dir, 'fails.js'), 'console.error("checking columns"); throw new Error("no column named email");');
});
afterAll(async () => {
  for (const s of stores) await s.cleanup().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** A migrated store whose database the CLI can open (PGlite: closed here so the CLI can take its lock). */
async function migrated(open: () => Promise<OpenedBackend>): Promise<{ env: Env }> {
  const opened = await open();
  await migrate(opened.db);
  if (opened.dataDir) {
    await opened.db.close();
    stores.push({ ...opened, cleanup: () => rm(opened.dataDir!, { recursive: true, force: true }) });
    return { env: { CADRE_DATA_DIR: opened.dataDir } };
  }
  stores.push(opened);
  return { env: { DATABASE_URL: opened.url! } };
}

describe.concurrent('cadre script', () => {
  it('embedded: runs a template on a CSV file and saves its artifact; runs custom code on JSON and binary files; a failing job exits 1; list and show', async () => {
    const { env } = await migrated(openTestPglite);
    const out = join(dir, 'out');
    const run = await cadre(env, 'script', 'run', 'parse_csv', '--input', join(dir, 'leads.csv'), '--params', '{"emitCsv":true}', '--tenant', 'acme', '--out', out);
    expect(run, run.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^job {8}([\w-]+) \(tenant acme\)\nstatus {5}succeeded\nscript {5}parse_csv\ntiming {5}wall [\d.]+ ms, cpu [\d.]+ ms, isolate start [\d.]+ ms\noutput\n/);
    expect(run.stdout).toContain('"rowCount": 2');
    expect(run.stdout).toContain(`leads.clean.csv  text/csv  80 bytes  saved to ${join(out, 'leads.clean.csv')}`);
    expect(await readFile(join(out, 'leads.clean.csv'), 'utf8')).toBe('name,email,phone\r\nAna Lima,ana@example.com,\r\n"Bo, Jr.",bo@example.com,555-0100\r\n');
    const jobId = /^job +([\w-]+)/.exec(run.stdout)![1];

    const custom = await cadre(env, 'script', 'run', '--code', join(dir, 'kinds.js'), '--input', join(dir, 'config.json'), '--input', join(dir, 'blob.bin'), '--tenant', 'acme', '--json');
    expect(custom, custom.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(custom.stdout)).toMatchObject({
      kind: 'custom',
      status: 'succeeded',
      requestedBy: 'operator:ana',
      output: [
        ['json', 'config.json', { region: 'north' }, null, null],
        ['file', 'blob.bin', null, [0, 1, 2, 255], 'application/octet-stream'],
      ],
      logs: [{ level: 'log', text: 'inputs 2' }],
      artifacts: [],
    });

    const failing = await cadre(env, 'script', 'run', '--code', join(dir, 'fails.js'), '--tenant', 'acme');
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/^error: script job [\w-]+ failed: Error: no column named email \(SANDBOX_SCRIPT_ERROR\)\n$/);
    expect(failing.stdout).toContain('status     failed: Error: no column named email (SANDBOX_SCRIPT_ERROR)');
    expect(failing.stdout).toContain('  [error] checking columns');

    const list = await cadre(env, 'script', 'list', '--tenant', 'acme');
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+QUEUED\s+SCRIPT\s+WALL MS\s+BY\s+REASON$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 2).concat(l.split(/\s+/)[3]!))).toEqual([
      ['failed', 'custom'],
      ['succeeded', 'custom'],
      ['succeeded', 'parse_csv'],
    ]);
    expect(lines[1]).toContain('SANDBOX_SCRIPT_ERROR: Error: no column named email');

    const show = await cadre(env, 'script', 'show', jobId!, '--tenant', 'acme', '--json');
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({
      id: jobId,
      template: 'parse_csv',
      params: { emitCsv: true },
      inputs: [{ kind: 'csv', name: 'leads.csv', text: CSV }],
      artifacts: [{ name: 'leads.clean.csv', mediaType: 'text/csv', size: 80 }],
    });
    const missing = await cadre(env, 'script', 'show', jobId!, '--tenant', 'other');
    expect(missing).toMatchObject({ code: 1, stderr: `error: no script job ${jobId} for tenant other (see cadre script list --tenant other)\n` });
  });

  it('PostgreSQL: runs a template and records it; bad command lines exit 2 without running anything', async () => {
    const { env } = await migrated(() => openTestPostgres());
    const run = await cadre(env, 'script', 'run', 'parse_csv', '--input', join(dir, 'leads.csv'), '--tenant', 'beta', '--json');
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(run.stdout)).toMatchObject({ tenant: 'beta', status: 'succeeded', output: { rowCount: 2 }, artifacts: [] });

    const unknown = await cadre(env, 'script', 'run', 'parse_pdf', '--input', join(dir, 'leads.csv'));
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: no template named "parse_pdf"; templates: parse_csv, /) });
    const both = await cadre(env, 'script', 'run', 'parse_csv', '--code', join(dir, 'kinds.js'));
    expect(both).toMatchObject({ code: 2, stderr: expect.stringContaining('give a template name or --code <file>, not both') });
    const badParams = await cadre(env, 'script', 'run', 'parse_csv', '--params', '{oops');
    expect(badParams).toMatchObject({ code: 2, stderr: expect.stringContaining('--params is not valid JSON') });
    const list = await cadre(env, 'script', 'list', '--tenant', 'beta', '--json');
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ template: 'parse_csv', status: 'succeeded' })]);
  });
});
