/**
 * The script job service: runs sandbox jobs and keeps a durable record of each.
 * States: open → (started: recovery done, sweeping) → closing → closed.
 *
 * A job's row is written `queued` before anything runs, moves to `running` when a
 * sandbox process is free for it, and gets its outcome, logs, timing and
 * artifacts in one transaction. A process that dies leaves the row unfinished;
 * `recoverInterrupted` fails it with SANDBOX_INTERRUPTED under the rule in
 * docs/sandbox.md, which never touches a job a live process may still be running.
 */
import { randomUUID } from 'node:crypto';
import { createScriptRunner, type ScriptJob, type ScriptResult, type ScriptRunner } from '../../sandbox/index.ts';
import type { Database } from '../store/index.ts';
import { INTERRUPTED_REASON, SCRIPT_INTERRUPTED, ScriptJobInProgressError, ScriptJobsClosedError } from './errors.ts';
import { resolveScriptJobsOptions, type ResolvedScriptJobsOptions, type ScriptJobsOptions } from './options.ts';
import * as q from './queries.ts';
import { storableJson, storableText, storedInputs, toRecord, toSummary } from './records.ts';
import type { ScriptJobReason, ScriptJobRecord, ScriptJobStatus, ScriptJobSummary } from './records.ts';
import { Slots } from './slots.ts';

/** Who asked for a job, and under which effect. */
export interface RunOptions {
  /** An actor address (`acme/agent/sales`) or `operator:<name>`. */
  requestedBy: string;
  /**
   * The idempotency key of the effect asking for the job. A second run with the
   * same key returns the first job's record instead of running again, unless that
   * job failed with a retryable reason: then the same job runs again (attempt + 1).
   */
  effectId?: string;
}

/** What `list` takes. */
export interface ListQuery {
  tenant: string;
  status?: ScriptJobStatus;
  /** @default 50, at most 500 */
  limit?: number;
}

/** A job recovery failed. */
export interface InterruptedJob {
  tenant: string;
  id: string;
  nodeId: string;
  /** The status it was left in. */
  was: 'queued' | 'running';
}

/** One attempt of one job, as this process runs it. */
interface Claim {
  tenant: string;
  id: string;
  attempts: number;
}

const INTERRUPTED: ScriptJobReason = { code: SCRIPT_INTERRUPTED, message: INTERRUPTED_REASON, retryable: true };

/**
 * Runs script jobs in the sandbox and records them in `script_jobs`.
 * @example
 * const jobs = new ScriptJobs(db, { nodeId: config.nodeId });
 * await jobs.start(); // recovers jobs an earlier incarnation left unfinished
 * const job = await jobs.run('acme', { kind: 'template', template: 'parse_csv', inputs }, { requestedBy: 'operator:ana' });
 * if (job.status === 'failed') console.warn(job.reason);
 * await jobs.close();
 */
export class ScriptJobs {
  readonly options: ResolvedScriptJobsOptions;
  private readonly runner: ScriptRunner;
  private readonly slots: Slots;
  private readonly inFlight = new Set<Promise<unknown>>();
  private sweeper?: NodeJS.Timeout;
  private started = false;
  private closing?: Promise<void>;

  constructor(
    private readonly db: Database,
    options: ScriptJobsOptions,
  ) {
    this.options = resolveScriptJobsOptions(options);
    const clock = this.options.clock;
    this.runner = createScriptRunner({ clock: () => clock.now(), ...this.options.runner });
    this.slots = new Slots(this.options.concurrency, this.options.maxQueuedJobs);
  }

  /**
   * Recovers what an earlier incarnation of this node left unfinished (see
   * `recoverInterrupted`), then sweeps for jobs past their deadline every
   * `sweepIntervalMs`. Safe to call twice.
   */
  async start(): Promise<InterruptedJob[]> {
    if (this.started || this.closing) return [];
    this.started = true;
    const recovered = await this.recoverInterrupted(this.options.nodeId);
    this.sweeper = setInterval(() => {
      this.recoverInterrupted().catch((err: unknown) => this.options.log?.warn({ err }, 'script job sweep failed; will try again'));
    }, this.options.sweepIntervalMs);
    this.sweeper.unref();
    return recovered;
  }

  /**
   * Runs a job and returns its record, failed or not. Throws only when the service
   * is closed, when the store fails, or (ScriptJobInProgressError, retryable) when
   * the job of `effectId` is being run by another call right now.
   */
  run(tenant: string, job: ScriptJob, opts: RunOptions): Promise<ScriptJobRecord> {
    if (this.closing) return Promise.reject(new ScriptJobsClosedError());
    const work = this.execute(tenant, job, opts);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  /** One job with its artifacts, or undefined. */
  async get(tenant: string, id: string): Promise<ScriptJobRecord | undefined> {
    const found = await q.selectJob(this.db, tenant, id);
    return found && toRecord(found.job, found.artifacts);
  }

  /** A tenant's jobs, newest first, without their content. */
  async list(query: ListQuery): Promise<ScriptJobSummary[]> {
    const limit = Math.min(Math.max(1, Math.trunc(query.limit ?? 50)), 500);
    const rows = await q.selectJobs(this.db, { tenant: query.tenant, status: query.status, limit });
    return rows.map(toSummary);
  }

  /**
   * Fails unfinished (`queued` or `running`) jobs whose process is gone, with
   * SANDBOX_INTERRUPTED. Always: jobs past their deadline, which no live process
   * can still be running. With `nodeId` (called by that node as it starts): also
   * every unfinished job of that node id, left by an earlier incarnation, and on
   * embedded PGlite, which one process holds at a time, every unfinished job.
   */
  async recoverInterrupted(nodeId?: string): Promise<InterruptedJob[]> {
    const rows = await q.failUnfinished(
      this.db,
      { everything: nodeId !== undefined && this.db.kind === 'pglite', nodeId: nodeId ?? null, now: this.now() },
      INTERRUPTED,
    );
    const jobs = rows.map((r) => ({ tenant: r.tenant, id: r.id, nodeId: r.node_id, was: r.status as InterruptedJob['was'] }));
    if (jobs.length > 0) this.options.log?.warn({ jobs }, 'script jobs interrupted by a stopped process marked failed');
    return jobs;
  }

  /** Lets queued and running jobs finish and be recorded, then stops the sandbox processes. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      await this.runner.close();
    })();
    return this.closing;
  }

  private async execute(tenant: string, job: ScriptJob, opts: RunOptions): Promise<ScriptJobRecord> {
    const claim = await this.claim(tenant, job, opts);
    if ('done' in claim) return claim.done;
    const slot = await this.slots.acquire(this.options.maxQueueWaitMs);
    if (slot !== 'acquired') {
      const message = slot === 'full' ? `${this.slots.queued} script jobs already waiting` : `no sandbox process was free within ${this.options.maxQueueWaitMs} ms`;
      await q.markFailed(this.db, { ...claim, finishedAt: this.now() }, { code: 'SANDBOX_BUSY', message, retryable: true });
      return this.record(claim);
    }
    let result: ScriptResult;
    try {
      const startedAt = this.clock();
      const running = await q.markRunning(this.db, { ...claim, startedAt: iso(startedAt), deadlineAt: iso(startedAt + this.budgetMs(job)) });
      // Recovered or started again elsewhere while waiting (only past its deadline): leave it be.
      if (!running) return this.record(claim);
      result = await this.runner.run(job).catch((err: unknown) => lost(err, startedAt));
    } finally {
      this.slots.release();
    }
    await this.store(claim, result);
    return this.record(claim);
  }

  /** Inserts the job, or decides what to do with the job its effect id already has. */
  private async claim(tenant: string, job: ScriptJob, opts: RunOptions): Promise<Claim | { done: ScriptJobRecord }> {
    const now = this.now();
    const deadlineAt = iso(this.clock() + this.options.maxQueueWaitMs + this.options.deadlineSlackMs);
    const inputs = storedInputs(job.inputs, this.options.maxStoredInputBytes);
    const row: q.NewJobRow = {
      tenant,
      id: randomUUID(),
      kind: job.kind,
      template: job.kind === 'template' ? storableText(String(job.template)) : null,
      code: job.kind === 'custom' ? storableText(String(job.code)) : null,
      paramsJson: storableJson(job.params ?? {}),
      inputsJson: inputs.json,
      inputsSummarised: inputs.summarised,
      inputsBytes: inputs.bytes,
      limitsJson: job.limits === undefined ? null : storableJson(job.limits),
      queuedAt: now,
      deadlineAt,
      requestedBy: storableText(opts.requestedBy),
      effectId: opts.effectId ?? null,
      nodeId: this.options.nodeId,
    };
    if (opts.effectId === undefined) {
      await q.insertJob(this.db, row);
      return { tenant, id: row.id, attempts: 1 };
    }
    for (let round = 0; round < 3; round++) {
      if (await q.insertJob(this.db, row)) return { tenant, id: row.id, attempts: 1 };
      const existing = await q.jobOfEffect(this.db, tenant, opts.effectId);
      if (!existing) continue;
      const claim = { tenant, id: existing.id, attempts: Number(existing.attempts) };
      const final = existing.status === 'succeeded' || existing.status === 'failed';
      if (final && !(existing.status === 'failed' && existing.reason_retryable)) return { done: await this.record(claim) };
      const stale = !final && existing.deadline_at !== null && existing.deadline_at.getTime() < this.clock();
      if (!final && !stale) throw new ScriptJobInProgressError(existing.id);
      const requeue = { ...claim, now, deadlineAt, nodeId: this.options.nodeId };
      if (await q.requeueJob(this.db, requeue)) return { ...claim, attempts: claim.attempts + 1 };
    }
    throw new ScriptJobInProgressError(`of effect ${opts.effectId}`);
  }

  /** Records a result; if that fails, at least the job does not stay `running`. */
  private async store(claim: Claim, result: ScriptResult): Promise<void> {
    const at = { ...claim, finishedAt: this.now() };
    try {
      await q.recordResult(this.db, at, result);
    } catch (err) {
      this.options.log?.error({ err, job: claim.id }, 'could not record a script job outcome; marking it failed');
      const reason = { code: 'SANDBOX_INTERNAL' as const, message: `the outcome could not be recorded: ${messageOf(err)}`, retryable: true };
      await q.markFailed(this.db, at, reason).catch(() => {
        throw err;
      });
    }
  }

  private async record(claim: Claim): Promise<ScriptJobRecord> {
    const record = await this.get(claim.tenant, claim.id);
    if (!record) throw new Error(`script job ${claim.tenant}/${claim.id} vanished while it ran`);
    return record;
  }

  /** How long a job may take once handed to the runner, before it is surely over. */
  private budgetMs(job: ScriptJob): number {
    const wall = job.limits?.wallMs;
    const wallMs = typeof wall === 'number' && Number.isFinite(wall) && wall > 0 ? wall : this.options.defaultWallMs;
    return wallMs + this.options.overheadMs;
  }

  private clock(): number {
    return this.options.clock.now();
  }

  private now(): string {
    return iso(this.clock());
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The result of a job whose runner call threw (it should not): a retryable internal failure. */
function lost(err: unknown, startedAt: number): ScriptResult {
  const timing = { startedAt: iso(startedAt), queuedMs: 0, isolateStartMs: 0, cpuMs: 0, wallMs: 0 };
  const reason = { code: 'SANDBOX_INTERNAL' as const, message: `the script runner failed: ${messageOf(err)}`, retryable: true };
  return { status: 'failed', reason, artifacts: [], logs: [], logsTruncated: false, timing };
}
