/**
 * `cadre script run|list|show`: sandbox script jobs, run in this process and
 * recorded in the configured database (`script_jobs`), like the `script.run`
 * effect's. It opens only the store: no bus, no partitions. Embedded, the data
 * directory must not be held by a running `cadre start`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { TEMPLATES, type ScriptInput, type ScriptJob } from '../../../sandbox/index.ts';
import { ScriptJobs, type ScriptJobRecord, type ScriptJobStatus } from '../../scripts/index.ts';
import { openDatabase } from '../../store/index.ts';
import { choiceOption, defaultOperator, intOption, parseTenant } from '../args.ts';
import { CommandFailedError, UsageError } from '../errors.ts';
import { line, printJson, printTable, type OutputOptions } from '../output.ts';
import { cliConfig } from '../session.ts';

const STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
const DEFAULT_TENANT = 'default';
const OUTPUT_LINES = 20;

interface RunCliOptions extends OutputOptions {
  code?: string;
  input: string[];
  params?: string;
  tenant: string;
  by?: string;
  out?: string;
}

/** Registers `cadre script ...`. */
export function registerScript(program: Command): void {
  const script = program.command('script').description('run sandbox scripts (templates or custom code) and read their recorded jobs');

  script
    .command('run')
    .description('run a template (or custom code with --code) on input files and record the job')
    .argument('[template]', `a template: ${[...TEMPLATES.keys()].join(', ')}`)
    .option('--code <file>', 'run custom code instead: the body of async function main(params, inputs, api)')
    .option('--input <file>', 'an input file, repeatable: .csv, .json and text files (.txt, .md, .eml, ...) as text, anything else as bytes', collect, [])
    .option('--params <json>', 'params as a JSON object, e.g. \'{"emitCsv":true}\'')
    .option('--tenant <tenant>', 'the tenant the job is recorded under', DEFAULT_TENANT)
    .option('--by <name>', 'who, recorded as operator:<name> (default: $USER or "operator")')
    .option('--out <dir>', 'save the artifacts in this directory')
    .option('--json', 'print the job as JSON')
    .addHelpText('after', '\nExample:\n  cadre script run parse_csv --input contacts.csv --params \'{"emitCsv":true}\' --out ./out')
    .action(async (template: string | undefined, opts: RunCliOptions) => {
      const tenant = parseTenant(opts.tenant);
      const job = await buildJob(template, opts);
      const requestedBy = `operator:${opts.by || defaultOperator()}`;
      const record = await withJobs((jobs) => jobs.run(tenant, job, { requestedBy }));
      const saved = opts.out ? await saveArtifacts(record, opts.out) : undefined;
      report(record, opts, saved);
      if (record.status === 'failed') {
        const reason = record.reason!;
        throw new CommandFailedError(`script job ${record.id} failed: ${reason.message} (${reason.code})`, reason.code, { jobId: record.id });
      }
    });

  script
    .command('list')
    .description("a tenant's script jobs, newest first")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--status <status>', `only ${STATUSES.join(', ')}`, choiceOption(STATUSES))
    .option('--limit <n>', 'how many (at most 500)', intOption(1, 500), 50)
    .option('--json', 'print JSON')
    .action(async (opts: OutputOptions & { tenant: string; status?: ScriptJobStatus; limit: number }) => {
      const tenant = parseTenant(opts.tenant);
      const rows = await withJobs((jobs) => jobs.list({ tenant, status: opts.status, limit: opts.limit }));
      if (opts.json) {
        printJson(rows);
        return;
      }
      const flat = rows.map((r) => ({
        id: r.id,
        status: r.status,
        queued: r.timing.queuedAt,
        script: r.template ?? 'custom',
        wall: roundMs(r.timing.wallMs),
        by: r.requestedBy,
        reason: r.reason ? `${r.reason.code}: ${r.reason.message}` : '',
      }));
      printTable(
        [
          { header: 'ID', get: (r) => r.id, max: 36 },
          { header: 'STATUS', get: (r) => r.status },
          { header: 'QUEUED', get: (r) => r.queued },
          { header: 'SCRIPT', get: (r) => r.script, max: 40 },
          { header: 'WALL MS', get: (r) => r.wall },
          { header: 'BY', get: (r) => r.by, max: 40 },
          { header: 'REASON', get: (r) => r.reason, max: 80 },
        ],
        flat,
        `no ${opts.status ? `${opts.status} ` : ''}script jobs for tenant ${tenant}`,
      );
    });

  script
    .command('show')
    .description('one script job: status, output, logs, timing and artifacts')
    .argument('<id>', 'the job id (from script list)')
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--out <dir>', 'save the artifacts in this directory')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: OutputOptions & { tenant: string; out?: string }) => {
      const tenant = parseTenant(opts.tenant);
      const record = await withJobs((jobs) => jobs.get(tenant, id));
      if (!record) throw new CommandFailedError(`no script job ${id} for tenant ${tenant} (see cadre script list --tenant ${tenant})`, 'not_found');
      const saved = opts.out ? await saveArtifacts(record, opts.out) : undefined;
      report(record, opts, saved);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Opens the store and a script job service for one command. */
async function withJobs<T>(fn: (jobs: ScriptJobs) => Promise<T>): Promise<T> {
  const config = cliConfig();
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir, max: 2 });
  // Its own node id: a node restarting with CADRE_NODE_ID must never take this process's jobs for its own.
  const nodeId = `cli-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const jobs = new ScriptJobs(db, { nodeId, runner: { processes: 1 } });
  try {
    return await fn(jobs);
  } finally {
    await jobs.close();
    await db.close();
  }
}

async function buildJob(template: string | undefined, opts: RunCliOptions): Promise<ScriptJob> {
  if ((template === undefined) === (opts.code === undefined)) {
    throw new UsageError('give a template name or --code <file>, not both; e.g. cadre script run parse_csv --input contacts.csv');
  }
  if (template !== undefined && !TEMPLATES.has(template)) {
    throw new UsageError(`no template named "${template}"; templates: ${[...TEMPLATES.keys()].join(', ')}`);
  }
  const params = parseParams(opts.params);
  const inputs = await Promise.all(opts.input.map(readInput));
  if (template !== undefined) return { kind: 'template', template, params, inputs };
  const code = await readFile(opts.code!, 'utf8').catch((err: Error) => {
    throw new UsageError(`cannot read --code ${opts.code}: ${err.message}`);
  });
  return { kind: 'custom', code, params, inputs };
}

function parseParams(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--params is not valid JSON (${(err as Error).message}); e.g. '{"emitCsv":true}'`);
  }
}

const TEXT_EXTENSIONS = new Set(['.txt', '.text', '.md', '.markdown', '.eml', '.log', '.tsv', '.html', '.htm', '.xml']);
const MEDIA_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.zip': 'application/zip',
};

/** One input file: CSV, JSON and text by extension; anything else as base64 bytes. */
async function readInput(path: string): Promise<ScriptInput> {
  const bytes = await readFile(path).catch((err: Error) => {
    throw new UsageError(`cannot read --input ${path}: ${err.message}`);
  });
  const name = basename(path);
  const ext = extname(name).toLowerCase();
  if (ext === '.csv') return { kind: 'csv', name, text: bytes.toString('utf8') };
  if (TEXT_EXTENSIONS.has(ext)) return { kind: 'text', name, text: bytes.toString('utf8') };
  if (ext === '.json') {
    try {
      return { kind: 'json', name, value: JSON.parse(bytes.toString('utf8')) };
    } catch (err) {
      throw new UsageError(`--input ${path} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return { kind: 'file', name, mediaType: MEDIA_TYPES[ext] ?? 'application/octet-stream', base64: bytes.toString('base64') };
}

/** Writes the artifacts into `dir`; returns where each went, by index. */
async function saveArtifacts(record: ScriptJobRecord, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const a of record.artifacts) {
    // Artifact names are plain file names (sandbox/schemas.ts); basename is a second guard.
    const path = resolve(join(dir, basename(a.name)));
    await writeFile(path, a.text, 'utf8');
    paths.push(path);
  }
  return paths;
}

/** Prints a job: everything as JSON (artifacts without their text), or a summary for people. */
function report(record: ScriptJobRecord, opts: OutputOptions, saved: string[] | undefined): void {
  const artifacts = record.artifacts.map(({ name, mediaType, size }, i) => ({ name, mediaType, size, ...(saved ? { savedTo: saved[i] } : {}) }));
  if (opts.json) {
    printJson({ ...record, artifacts });
    return;
  }
  const t = record.timing;
  const status = record.reason ? `${record.status}: ${record.reason.message} (${record.reason.code})` : record.status;
  line(`job        ${record.id} (tenant ${record.tenant})`);
  line(`status     ${status}`);
  line(`script     ${record.template ?? `custom code (${Buffer.byteLength(record.code ?? '', 'utf8')} bytes)`}`);
  line(`timing     wall ${roundMs(t.wallMs)} ms, cpu ${roundMs(t.cpuMs)} ms, isolate start ${roundMs(t.isolateStartMs)} ms`);
  if (record.status === 'succeeded') {
    line('output');
    for (const l of summariseJson(record.output)) line(`  ${l}`);
  }
  line(`logs       ${record.logs.length === 0 ? 'none' : `${record.logs.length} line${record.logs.length === 1 ? '' : 's'}${record.logsTruncated ? ' (truncated)' : ''}`}`);
  for (const l of record.logs) line(`  [${l.level}] ${l.text}`);
  line(artifacts.length === 0 ? 'artifacts  none' : 'artifacts');
  for (const a of artifacts) line(`  ${a.name}  ${a.mediaType}  ${a.size} bytes${a.savedTo ? `  saved to ${a.savedTo}` : ''}`);
}

/** Pretty JSON cut to OUTPUT_LINES lines of at most 200 characters. */
function summariseJson(value: unknown): string[] {
  const lines = (JSON.stringify(value, null, 2) ?? 'null').split('\n').map((l) => (l.length > 200 ? `${l.slice(0, 199)}…` : l));
  if (lines.length <= OUTPUT_LINES) return lines;
  return [...lines.slice(0, OUTPUT_LINES), `… ${lines.length - OUTPUT_LINES} more lines (--json prints everything)`];
}

function roundMs(ms: number | null): string {
  return ms === null ? '-' : String(Math.round(ms * 10) / 10);
}
