/**
 * The SQL of script jobs (migrations/002_script_jobs.sql). Every write of a job
 * after its insert is guarded by its `attempts`, so an outcome of an earlier
 * attempt never lands on a job that was started again.
 */
import type { ScriptResult } from '../../sandbox/index.ts';
import type { Database, Queryable, Row } from '../store/index.ts';
import { RECORD_COLUMNS, SUMMARY_COLUMNS, storableJson, storableText } from './records.ts';
import type { ScriptJobReason, ScriptJobStatus } from './records.ts';

/** What a new job row holds. */
export interface NewJobRow {
  tenant: string;
  id: string;
  kind: 'template' | 'custom';
  template: string | null;
  code: string | null;
  paramsJson: string;
  inputsJson: string;
  inputsSummarised: boolean;
  inputsBytes: number;
  limitsJson: string | null;
  queuedAt: string;
  deadlineAt: string;
  requestedBy: string;
  effectId: string | null;
  nodeId: string;
}

/** Inserts a `queued` job; false when its effect id already has a job. */
export async function insertJob(db: Queryable, j: NewJobRow): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO script_jobs (tenant, id, kind, template, code, params, inputs, inputs_summarised, inputs_bytes, limits,
                              status, queued_at, deadline_at, requested_by, effect_id, node_id)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10::jsonb, 'queued', $11::timestamptz, $12::timestamptz, $13, $14, $15)
     ON CONFLICT (tenant, effect_id) DO NOTHING RETURNING id`,
    [j.tenant, j.id, j.kind, j.template, j.code, j.paramsJson, j.inputsJson, j.inputsSummarised, j.inputsBytes, j.limitsJson,
      j.queuedAt, j.deadlineAt, j.requestedBy, j.effectId, j.nodeId],
  );
  return rows.length === 1;
}

/** The job of an effect id, with what deciding to reuse or rerun it needs. */
export async function jobOfEffect(db: Queryable, tenant: string, effectId: string) {
  const [row] = await db.query<{ id: string; status: ScriptJobStatus; attempts: number; reason_retryable: boolean | null; deadline_at: Date | null }>(
    `SELECT id, status, attempts, reason_retryable, deadline_at FROM script_jobs WHERE tenant = $1 AND effect_id = $2`,
    [tenant, effectId],
  );
  return row;
}

/**
 * Queues a job again under the same row (same effect id) with the next attempt
 * number: only a retryable failure, or an unfinished job past its deadline.
 */
export async function requeueJob(
  db: Queryable,
  at: { tenant: string; id: string; attempts: number; now: string; deadlineAt: string; nodeId: string },
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE script_jobs SET status = 'queued', attempts = attempts + 1, reason_code = NULL, reason = NULL, reason_retryable = NULL,
            output = NULL, logs = '[]', logs_truncated = false, queued_at = $4::timestamptz, started_at = NULL, finished_at = NULL,
            deadline_at = $5::timestamptz, cpu_ms = NULL, wall_ms = NULL, isolate_start_ms = NULL, heap_used_bytes = NULL, node_id = $6
     WHERE tenant = $1 AND id = $2 AND attempts = $3
       AND ((status = 'failed' AND reason_retryable) OR (status IN ('queued', 'running') AND deadline_at < $4::timestamptz))
     RETURNING id`,
    [at.tenant, at.id, at.attempts, at.now, at.deadlineAt, at.nodeId],
  );
  return rows.length === 1;
}

/** Moves a queued job to `running`; false if it is no longer this attempt's or no longer queued. */
export async function markRunning(
  db: Queryable,
  at: { tenant: string; id: string; attempts: number; startedAt: string; deadlineAt: string },
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE script_jobs SET status = 'running', started_at = $4::timestamptz, deadline_at = $5::timestamptz
     WHERE tenant = $1 AND id = $2 AND attempts = $3 AND status = 'queued' RETURNING id`,
    [at.tenant, at.id, at.attempts, at.startedAt, at.deadlineAt],
  );
  return rows.length === 1;
}

/**
 * Records a result: status, reason, output, logs, timing and artifacts in one
 * transaction. The guard is the attempt, not the status: a job that recovery
 * marked interrupted while its process was merely slow gets its real outcome.
 * False when the job was started again meanwhile (nothing is written).
 */
export async function recordResult(
  db: Database,
  at: { tenant: string; id: string; attempts: number; finishedAt: string },
  result: ScriptResult,
): Promise<boolean> {
  const failed = result.status === 'failed' ? result.reason : undefined;
  const output = result.status === 'succeeded' && result.output !== undefined ? storableJson(result.output) : null;
  const artifacts = result.status === 'succeeded' ? result.artifacts : [];
  const rows = artifacts.map((a, seq) => {
    const content = storableText(a.text);
    return { seq, name: storableText(a.name), media_type: a.mediaType, content, size: Buffer.byteLength(content, 'utf8') };
  });
  const t = result.timing;
  return db.transaction(async (tx) => {
    const updated = await tx.query(
      `UPDATE script_jobs SET status = $4, reason_code = $5, reason = $6, reason_retryable = $7, output = $8::jsonb, logs = $9::jsonb,
              logs_truncated = $10, finished_at = $11::timestamptz, cpu_ms = $12, wall_ms = $13, isolate_start_ms = $14, heap_used_bytes = $15
       WHERE tenant = $1 AND id = $2 AND attempts = $3 RETURNING id`,
      [at.tenant, at.id, at.attempts, result.status, failed?.code ?? null, failed ? storableText(failed.message) : null, failed?.retryable ?? null,
        output, storableJson(result.logs), result.logsTruncated, at.finishedAt, t.cpuMs, t.wallMs, t.isolateStartMs, result.heapUsedBytes ?? null],
    );
    if (updated.length === 0) return false;
    await tx.query(`DELETE FROM script_artifacts WHERE tenant = $1 AND job_id = $2`, [at.tenant, at.id]);
    if (rows.length > 0) {
      await tx.query(
        `INSERT INTO script_artifacts (tenant, job_id, seq, name, media_type, content, size)
         SELECT $1, $2, a.seq, a.name, a.media_type, a.content, a.size
         FROM jsonb_to_recordset($3::jsonb) AS a(seq int, name text, media_type text, content text, size int)`,
        [at.tenant, at.id, JSON.stringify(rows)],
      );
    }
    return true;
  });
}

/** Marks this attempt of a job failed with `reason`, whatever its status; false if it was started again. */
export async function markFailed(
  db: Queryable,
  at: { tenant: string; id: string; attempts: number; finishedAt: string },
  reason: ScriptJobReason,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE script_jobs SET status = 'failed', reason_code = $4, reason = $5, reason_retryable = $6, finished_at = $7::timestamptz
     WHERE tenant = $1 AND id = $2 AND attempts = $3 RETURNING id`,
    [at.tenant, at.id, at.attempts, reason.code, storableText(reason.message), reason.retryable, at.finishedAt],
  );
  return rows.length === 1;
}

/** One job and its artifacts, or undefined. */
export async function selectJob(db: Queryable, tenant: string, id: string): Promise<{ job: Row; artifacts: Row[] } | undefined> {
  const [job] = await db.query(`SELECT ${RECORD_COLUMNS} FROM script_jobs WHERE tenant = $1 AND id = $2`, [tenant, id]);
  if (!job) return undefined;
  const artifacts = await db.query(
    `SELECT name, media_type, content, size FROM script_artifacts WHERE tenant = $1 AND job_id = $2 ORDER BY seq`,
    [tenant, id],
  );
  return { job, artifacts };
}

/** A tenant's jobs, newest first. */
export function selectJobs(db: Queryable, q: { tenant: string; status?: ScriptJobStatus; limit: number }): Promise<Row[]> {
  return db.query(
    `SELECT ${SUMMARY_COLUMNS} FROM script_jobs WHERE tenant = $1 AND ($2::text IS NULL OR status = $2)
     ORDER BY queued_at DESC, id DESC LIMIT $3`,
    [q.tenant, q.status ?? null, q.limit],
  );
}

/**
 * Fails every unfinished job that `everything` covers, that has node id `nodeId`,
 * or whose deadline has passed, with `reason`; returns them.
 */
export function failUnfinished(
  db: Queryable,
  q: { everything: boolean; nodeId: string | null; now: string },
  reason: ScriptJobReason,
): Promise<{ tenant: string; id: string; node_id: string; status: string }[]> {
  return db.query(
    `UPDATE script_jobs AS j SET status = 'failed', reason_code = $4, reason = $5, reason_retryable = $6, finished_at = $3::timestamptz
     FROM (SELECT tenant, id, status FROM script_jobs
           WHERE status IN ('queued', 'running') AND ($1::boolean OR node_id = $2 OR deadline_at < $3::timestamptz)
           FOR UPDATE) AS old
     WHERE j.tenant = old.tenant AND j.id = old.id
     RETURNING j.tenant, j.id, j.node_id, old.status`,
    [q.everything, q.nodeId, q.now, reason.code, reason.message, reason.retryable],
  );
}
