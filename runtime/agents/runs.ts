import { z } from 'zod';
import type { Database, Queryable } from '../store/index.ts';
import type { Clock } from '../clock.ts';
import { newId } from '../ids.ts';
import type { RunTrigger } from '../../agents/types.ts';

/** Runs of one agent planned and not yet reflected before the planner waits (see `claim`). */
export const MAX_ACTING = 20;

/** Asks for one run of an agent. */
export interface RunRequest {
  tenant: string;
  agent: string;
  job: string;
  trigger: RunTrigger;
  /** The trigger's identity: one run per agent and occurrence. */
  occurrence: string;
  schedule?: string;
  input: Record<string, unknown>;
  dueAt?: string;
  timeoutMs?: number;
  delegationId?: string;
  /** The delegating agent, for trigger `delegation`. */
  delegatedBy?: string;
  requestedBy: string;
  /** Record the run as skipped, with this reason, instead of queueing it. */
  skipped?: string;
}

/** A run as stored and listed (GET /v1/runs). */
export interface RunRecord {
  id: string;
  agent: string;
  job: string;
  trigger: string;
  occurrence: string;
  schedule: string | null;
  status: 'queued' | 'planning' | 'acting' | 'completed' | 'failed' | 'skipped';
  planner: string | null;
  attempts: number;
  requestedAt: string;
  dueAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  summary: string | null;
  findings: Record<string, unknown> | null;
  actions: unknown[] | null;
  counts: Record<string, number> | null;
  hints: string[] | null;
  error: string | null;
  delegationId: string | null;
  requestedBy: string;
  input: Record<string, unknown>;
}

/** Filters of the run list. */
export const RunQuery = z.object({
  agent: z.enum(['sales', 'delivery', 'engineering', 'executive', 'marketing']).optional(),
  job: z.string().max(200).optional(),
  status: z.enum(['queued', 'planning', 'acting', 'completed', 'failed', 'skipped']).optional(),
  trigger: z.enum(['schedule', 'catch_up', 'manual', 'event', 'delegation']).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** The `next` of the previous page. */
  after: z.string().max(200).optional(),
});
export type RunQuery = z.input<typeof RunQuery>;

type Row = {
  id: string;
  agent: string;
  job: string;
  trigger: string;
  occurrence: string;
  schedule: string | null;
  status: RunRecord['status'];
  planner: string | null;
  attempts: number;
  requested_at: Date | string;
  due_at: Date | string | null;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  duration_ms: number | null;
  summary: string | null;
  findings: Record<string, unknown> | null;
  actions: unknown[] | null;
  counts: Record<string, number> | null;
  hints: string[] | null;
  error: string | null;
  delegation_id: string | null;
  delegated_by: string | null;
  requested_by: string;
  input: Record<string, unknown>;
  timeout_ms: number;
  tenant: string;
};

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

export function toRunRecord(r: Row): RunRecord {
  return {
    id: r.id,
    agent: r.agent,
    job: r.job,
    trigger: r.trigger,
    occurrence: r.occurrence,
    schedule: r.schedule,
    status: r.status,
    planner: r.planner,
    attempts: r.attempts,
    requestedAt: iso(r.requested_at)!,
    dueAt: iso(r.due_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    durationMs: r.duration_ms,
    summary: r.summary,
    findings: r.findings,
    actions: r.actions,
    counts: r.counts,
    hints: r.hints,
    error: r.error,
    delegationId: r.delegation_id,
    requestedBy: r.requested_by,
    input: r.input,
  };
}

/** A claimed run, to plan. */
export type ClaimedRun = Row;

/**
 * The runs of agents (`agent_runs`): each is queued by its trigger, claimed by one
 * process to plan (a lease, so a process that dies mid-plan leaves it to another),
 * acted on by the agent actor and completed by its reflection.
 */
export class Runs {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /**
   * Records a run unless its occurrence already has one for this agent. Returns the
   * new run's id, or null when the occurrence had a run already.
   */
  async request(r: RunRequest, q: Queryable = this.db): Promise<string | null> {
    const at = new Date(this.clock.now()).toISOString();
    const id = newId();
    const skipped = r.skipped !== undefined;
    const rows = await q.query<{ id: string }>(
      `INSERT INTO agent_runs (tenant, id, agent, job, trigger, occurrence, schedule, input, status, timeout_ms, requested_at, due_at, delegation_id, requested_by,
                               error, finished_at, duration_ms, delegated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::timestamptz, $12::timestamptz, $13, $14, $15, $16::timestamptz, $17, $18)
       ON CONFLICT (agent, occurrence, tenant) DO NOTHING RETURNING id`,
      [
        r.tenant,
        id,
        r.agent,
        r.job,
        r.trigger,
        r.occurrence,
        r.schedule ?? null,
        JSON.stringify(r.input),
        skipped ? 'skipped' : 'queued',
        r.timeoutMs ?? 60_000,
        at,
        r.dueAt ?? null,
        r.delegationId ?? null,
        r.requestedBy,
        r.skipped ?? null,
        skipped ? at : null,
        skipped ? 0 : null,
        r.delegatedBy ?? null,
      ],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * Claims up to `n` runs to plan: queued ones whose backoff passed, and planning
   * ones whose lease ran out (their process died). Flow control: an agent with
   * `maxActing` runs planned and not yet reflected gets no more until one reflects;
   * a burst (two hundred deals won at once) waits here, in the table, not in the
   * agent's context.
   */
  async claim(n: number, maxActing = MAX_ACTING): Promise<ClaimedRun[]> {
    const now = this.clock.now();
    const at = new Date(now).toISOString();
    return this.db.query<ClaimedRun>(
      `UPDATE agent_runs r SET status = 'planning', attempts = r.attempts + 1, started_at = COALESCE(r.started_at, $1::timestamptz),
              lease_until = $1::timestamptz + (r.timeout_ms + 30000) * interval '1 millisecond'
       FROM (SELECT q.tenant, q.id FROM agent_runs q
             WHERE q.status IN ('queued', 'planning') AND (q.lease_until IS NULL OR q.lease_until <= $1::timestamptz)
               AND (SELECT count(*) FROM agent_runs a WHERE a.agent = q.agent AND a.tenant = q.tenant AND a.status = 'acting') < $3
             ORDER BY q.requested_at LIMIT $2 FOR UPDATE SKIP LOCKED) c
       WHERE r.tenant = c.tenant AND r.id = c.id RETURNING r.*`,
      [at, n, maxActing],
    );
  }

  /** Planned: the run waits for its agent to act and reflect. */
  async planned(tx: Queryable, run: ClaimedRun, planner: string, summary: string, findings: Record<string, unknown>): Promise<boolean> {
    const rows = await tx.query(
      `UPDATE agent_runs SET status = 'acting', planner = $3, summary = $4, findings = $5::jsonb, lease_until = NULL
       WHERE tenant = $1 AND id = $2 AND status = 'planning' AND attempts = $6 RETURNING id`,
      [run.tenant, run.id, planner, summary, JSON.stringify(findings), run.attempts],
    );
    return rows.length > 0;
  }

  /** Planning failed: back to the queue after `backoffMs`, or failed for good. */
  async planningFailed(tx: Queryable, run: ClaimedRun, error: string, final: boolean, backoffMs: number): Promise<boolean> {
    const now = this.clock.now();
    const rows = final
      ? await tx.query(
          `UPDATE agent_runs SET status = 'failed', error = $3, finished_at = $4::timestamptz, lease_until = NULL,
                  duration_ms = GREATEST(0, (EXTRACT(EPOCH FROM ($4::timestamptz - COALESCE(started_at, requested_at))) * 1000)::int)
           WHERE tenant = $1 AND id = $2 AND status = 'planning' AND attempts = $5 RETURNING id`,
          [run.tenant, run.id, error, new Date(now).toISOString(), run.attempts],
        )
      : await tx.query(
          `UPDATE agent_runs SET status = 'queued', error = $3, lease_until = $4::timestamptz WHERE tenant = $1 AND id = $2 AND status = 'planning' AND attempts = $5 RETURNING id`,
          [run.tenant, run.id, error, new Date(now + backoffMs).toISOString(), run.attempts],
        );
    return rows.length > 0;
  }

  /** The agent reflected: the run's record is complete. */
  async completed(
    tx: Queryable,
    tenant: string,
    r: { runId: string; summary: string; findings: Record<string, unknown>; actions: unknown[]; counts: Record<string, number>; hints: string[]; finishedAt: string; error?: string },
  ): Promise<void> {
    await tx.query(
      `UPDATE agent_runs SET status = $9, summary = $3, findings = $4::jsonb, actions = $5::jsonb, counts = $6::jsonb, hints = $7::jsonb,
              finished_at = $8::timestamptz, lease_until = NULL, error = COALESCE($10, error),
              duration_ms = GREATEST(0, (EXTRACT(EPOCH FROM ($8::timestamptz - COALESCE(started_at, requested_at))) * 1000)::int)
       WHERE tenant = $1 AND id = $2 AND status NOT IN ('completed', 'failed')`,
      [tenant, r.runId, r.summary, JSON.stringify(r.findings), JSON.stringify(r.actions), JSON.stringify(r.counts), JSON.stringify(r.hints), r.finishedAt, r.error ? 'failed' : 'completed', r.error ?? null],
    );
  }

  /**
   * A later report about one action of a completed run. Throws `RunNotReflectedError`
   * while the run's own record has not arrived yet (the router retries the event).
   * A settled outcome is never replaced by a waiting one that arrives late.
   */
  async actionSettled(tx: Queryable, tenant: string, runId: string, index: number, outcome: string, detail: string | null): Promise<void> {
    const [row] = await tx.query<{ status: string; actions: { index: number; outcome: string; detail: string | null }[] | null }>(
      `SELECT status, actions FROM agent_runs WHERE tenant = $1 AND id = $2 FOR UPDATE`,
      [tenant, runId],
    );
    if (!row) return;
    if (!row.actions) {
      if (row.status === 'acting') throw new RunNotReflectedError(`run ${runId} has not reflected yet`);
      return; // a failed run's alert, which is no action of a plan
    }
    const WAITING = ['pending', 'awaiting_approval', 'held', 'escalated'];
    const actions = row.actions.map((a) => (a.index === index && !(WAITING.includes(outcome) && !WAITING.includes(a.outcome)) ? { ...a, outcome, detail } : a));
    const counts: Record<string, number> = { requested: actions.length };
    for (const a of actions) counts[a.outcome] = (counts[a.outcome] ?? 0) + 1;
    await tx.query(`UPDATE agent_runs SET actions = $3::jsonb, counts = $4::jsonb WHERE tenant = $1 AND id = $2`, [tenant, runId, JSON.stringify(actions), JSON.stringify(counts)]);
  }

  async get(tenant: string, id: string, q: Queryable = this.db): Promise<RunRecord | undefined> {
    const [row] = await q.query<Row>(`SELECT * FROM agent_runs WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return row ? toRunRecord(row) : undefined;
  }

  /** Runs newest first, `limit` at a time; pass `next` back as `after`. */
  async list(tenant: string, query: RunQuery = {}, q: Queryable = this.db): Promise<{ items: RunRecord[]; next: string | null }> {
    const f = RunQuery.parse(query);
    const params: unknown[] = [tenant];
    const where = ['tenant = $1'];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.agent) add('agent = ?', f.agent);
    if (f.job) add('job = ?', f.job);
    if (f.status) add('status = ?', f.status);
    if (f.trigger) add('trigger = ?', f.trigger);
    if (f.since) add('requested_at >= ?::timestamptz', f.since);
    if (f.after) {
      const [t, id] = decodeCursor(f.after);
      params.push(t, id);
      where.push(`(requested_at, id) < ($${params.length - 1}::timestamptz, $${params.length})`);
    }
    params.push(f.limit + 1);
    const rows = await q.query<Row>(`SELECT * FROM agent_runs WHERE ${where.join(' AND ')} ORDER BY requested_at DESC, id DESC LIMIT $${params.length}`, params);
    const items = rows.slice(0, f.limit).map(toRunRecord);
    const last = items[items.length - 1];
    return { items, next: rows.length > f.limit && last ? encodeCursor(last.requestedAt, last.id) : null };
  }
}

/** A report about an action came before its run's record: try again later. */
export class RunNotReflectedError extends Error {
  readonly retryable = true;
}

/** A run list cursor was not one we gave out. */
export class RunCursorError extends Error {
  readonly code = 'invalid_cursor';
}

function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(s: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new RunCursorError('`after` is not a cursor from a previous page of runs; pass the `next` value you were given');
}
