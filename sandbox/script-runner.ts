/**
 * The script runner: the sandbox's one entry point. States: running → closing →
 * closed. `run` never throws for anything a job or script does wrong; it answers a
 * failed result with a stable reason code. It throws only when called after
 * `close` (a programming error of the host).
 */
import {
  SandboxBadOutputError,
  SandboxBusyError,
  SandboxClosedError,
  SandboxError,
  toReason,
  type FailureReason,
} from './errors.ts';
import { resolveOptions, type ResolvedOptions, type ScriptRunnerOptions } from './options.ts';
import { summariseIssues } from './output.ts';
import { SandboxPool, type PoolResult } from './pool.ts';
import { checkTemplateOutput, prepareJob } from './prepare.ts';
import { ScriptResultSchema, type ScriptJob, type ScriptResult } from './schemas.ts';
import { TEMPLATES } from './templates/index.ts';
import type { ScriptTemplate } from './templates/template.ts';

/** Runs scripts in sandboxes. */
export interface ScriptRunner {
  /** Runs one job; resolves with its result, failed or not. Throws only after `close`. */
  run(job: ScriptJob): Promise<ScriptResult>;
  /** Lets queued and running jobs finish, then stops every sandbox process. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Creates a script runner. Sandbox processes start on the first job.
 * @example
 * const runner = createScriptRunner({ limits: { cpuMs: 500 } });
 * const result = await runner.run({ kind: 'template', template: 'parse_csv', params: {}, inputs: [{ kind: 'csv', name: 'contacts.csv', text }] });
 * if (result.status === 'failed') console.warn(result.reason.code);
 * await runner.close();
 */
export function createScriptRunner(options?: ScriptRunnerOptions): ScriptRunner {
  const resolved = resolveOptions(options);
  const pool = new SandboxPool({ ...resolved, size: resolved.processes });
  let closed = false;
  return {
    async run(job) {
      if (closed) throw new SandboxClosedError();
      return runJob(job, resolved, pool, TEMPLATES);
    },
    close() {
      closed = true;
      return pool.close();
    },
  };
}

async function runJob(
  raw: ScriptJob,
  options: ResolvedOptions,
  pool: SandboxPool,
  templates: ReadonlyMap<string, ScriptTemplate>,
): Promise<ScriptResult> {
  const prepared = prepareJob(raw, options, templates);
  if (prepared instanceof SandboxError) return refused(prepared, options);
  if (pool.queued >= options.maxQueuedJobs) {
    return refused(new SandboxBusyError(`${pool.queued} jobs already waiting`), options);
  }
  const result = toResult(await pool.submit(prepared.job));
  if (result.status !== 'succeeded' || !prepared.template) return result;
  const error = checkTemplateOutput(prepared.template, result.output);
  if (!error) return result;
  const reason = toReason(new SandboxBadOutputError(`${prepared.template.name} output does not match its schema: ${summariseIssues(error)}`));
  return withoutOutput(result, reason);
}

function toResult({ outcome, startedAt, queuedMs, wallMs }: PoolResult): ScriptResult {
  const { isolateStartMs, cpuMs, heapUsedBytes, reason, output, status, artifacts, logs, logsTruncated } = outcome;
  const timing = { startedAt: new Date(startedAt).toISOString(), queuedMs, isolateStartMs, cpuMs, wallMs };
  const base = { artifacts, logs, logsTruncated, timing, ...(heapUsedBytes === undefined ? {} : { heapUsedBytes }) };
  // The sandbox process ran untrusted code; its report is checked like any input.
  const candidate = status === 'failed' ? { status, reason, ...base } : { status, ...(output === undefined ? {} : { output }), ...base };
  const parsed = ScriptResultSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const error = new SandboxBadOutputError(`malformed result: ${summariseIssues(parsed.error)}`);
  return { status: 'failed', reason: toReason(error), artifacts: [], logs: [], logsTruncated: false, timing };
}

function withoutOutput(result: ScriptResult, reason: FailureReason): ScriptResult {
  const { logs, logsTruncated, timing, heapUsedBytes } = result;
  return { status: 'failed', reason, artifacts: [], logs, logsTruncated, timing, ...(heapUsedBytes === undefined ? {} : { heapUsedBytes }) };
}

function refused(error: SandboxError, options: ResolvedOptions): ScriptResult {
  const timing = { startedAt: new Date(options.clock()).toISOString(), queuedMs: 0, isolateStartMs: 0, cpuMs: 0, wallMs: 0 };
  return { status: 'failed', reason: toReason(error), artifacts: [], logs: [], logsTruncated: false, timing };
}
