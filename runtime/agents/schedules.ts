import { Cron } from 'croner';
import { z } from 'zod';
import type { Database, Queryable } from '../store/index.ts';
import type { Clock } from '../clock.ts';
import { validTimeZone } from '../config.ts';
import type { AgentDefinition } from '../../agents/types.ts';
import type { RunRequest } from './runs.ts';

/** A schedule as stored and listed. */
export interface Schedule {
  name: string;
  agent: string;
  job: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  missed: 'skip' | 'run_once';
  timeoutMs: number;
  nextDueAt: string | null;
  lastRunId: string | null;
  lastFiredAt: string | null;
  updatedAt: string;
  updatedBy: string;
}

/** A change to a schedule (PATCH /v1/schedules/{name}, `cadre schedules set`). */
export const SchedulePatch = z
  .object({
    enabled: z.boolean().optional(),
    cron: z.string().min(1).max(100).optional(),
    timezone: z.string().min(1).max(64).optional(),
    missed: z.enum(['skip', 'run_once']).optional(),
    timeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
  })
  .strict()
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'give at least one of enabled, cron, timezone, missed, timeoutMs');
export type SchedulePatch = z.infer<typeof SchedulePatch>;

/** A schedule, a cron expression or a time zone was refused; the message says why. */
export class ScheduleError extends Error {
  constructor(
    message: string,
    readonly code: 'schedule_not_found' | 'invalid_cron' | 'invalid_timezone',
  ) {
    super(message);
  }
}

/** Parses a five-field cron expression in a time zone, or throws `ScheduleError` saying what is wrong. */
export function cronOf(expr: string, timezone: string): Cron {
  if (!validTimeZone(timezone)) throw new ScheduleError(`"${timezone}" is not a time zone; use an IANA name such as UTC or Europe/Berlin`, 'invalid_timezone');
  try {
    return new Cron(expr, { timezone, paused: true, mode: '5-part' });
  } catch (e) {
    throw new ScheduleError(`"${expr}" is not a cron expression of five fields (minute hour day-of-month month day-of-week): ${(e as Error).message}`, 'invalid_cron');
  }
}

/** The first occurrence strictly after `after`, ISO, or null if the expression never fires again. */
export function nextOccurrence(expr: string, timezone: string, after: number): string | null {
  const d = cronOf(expr, timezone).nextRun(new Date(after));
  return d ? d.toISOString() : null;
}

type Row = {
  name: string;
  agent: string;
  job: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  missed: 'skip' | 'run_once';
  timeout_ms: number;
  next_due_at: Date | string | null;
  last_run_id: string | null;
  last_fired_at: Date | string | null;
  updated_at: Date | string;
  updated_by: string;
};

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

function toSchedule(r: Row): Schedule {
  return {
    name: r.name,
    agent: r.agent,
    job: r.job,
    cron: r.cron,
    timezone: r.timezone,
    enabled: r.enabled,
    missed: r.missed,
    timeoutMs: r.timeout_ms,
    nextDueAt: iso(r.next_due_at),
    lastRunId: r.last_run_id,
    lastFiredAt: iso(r.last_fired_at),
    updatedAt: iso(r.updated_at)!,
    updatedBy: r.updated_by,
  };
}

/** One occurrence the scheduler fired (or recorded as skipped). */
export interface Fired {
  tenant: string;
  schedule: string;
  request: RunRequest;
}

/**
 * The schedules of each tenant's agents (reference/scheduled-agents-event-bus-webhooks.md):
 * one row per job, with its cron expression, time zone, enabled flag and missed-run
 * policy, and `next_due_at`, the next occurrence not yet fired.
 *
 * Firing: `due()` takes due rows `FOR UPDATE SKIP LOCKED`, and in the same
 * transaction records the occurrence's run and moves `next_due_at` past now, so each
 * occurrence fires once across all processes. An occurrence seen later than
 * `graceMs` after it was due was missed (no runtime ran): under `run_once` the
 * latest missed occurrence runs once (trigger `catch_up`, with how many were
 * missed), under `skip` it is recorded as a skipped run; either way the schedule
 * continues from the next future occurrence, never catching up one by one.
 */
export class Schedules {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly opts: { graceMs: number; timezone: string },
  ) {}

  /** Creates the tenant's schedules for every job of every agent that it does not have yet (kept as they are otherwise). */
  async ensure(tenant: string, agents: readonly AgentDefinition[], q: Queryable = this.db): Promise<number> {
    const now = this.clock.now();
    const at = new Date(now).toISOString();
    const rows = agents.flatMap((a) =>
      a.jobs.map((j) => ({
        name: j.name,
        agent: a.name,
        job: j.name,
        cron: j.cron,
        timezone: this.opts.timezone,
        missed: j.missed,
        timeout_ms: j.timeoutMs ?? 60_000,
        next_due_at: nextOccurrence(j.cron, this.opts.timezone, now),
      })),
    );
    if (rows.length === 0) return 0;
    const inserted = await q.query(
      `INSERT INTO schedules (tenant, name, agent, job, cron, timezone, missed, timeout_ms, next_due_at, created_at, updated_at)
       SELECT $1, r.name, r.agent, r.job, r.cron, r.timezone, r.missed, r.timeout_ms, r.next_due_at, $3::timestamptz, $3::timestamptz
       FROM jsonb_to_recordset($2::jsonb) AS r(name text, agent text, job text, cron text, timezone text, missed text, timeout_ms int, next_due_at timestamptz)
       ON CONFLICT (tenant, name) DO NOTHING RETURNING name`,
      [tenant, JSON.stringify(rows), at],
    );
    return inserted.length;
  }

  async list(tenant: string, q: Queryable = this.db): Promise<Schedule[]> {
    const rows = await q.query<Row>(`SELECT * FROM schedules WHERE tenant = $1 ORDER BY agent, name`, [tenant]);
    return rows.map(toSchedule);
  }

  async get(tenant: string, name: string, q: Queryable = this.db): Promise<Schedule | undefined> {
    const [row] = await q.query<Row>(`SELECT * FROM schedules WHERE tenant = $1 AND name = $2`, [tenant, name]);
    return row ? toSchedule(row) : undefined;
  }

  /**
   * Changes a schedule. A new cron expression, time zone or a re-enable recomputes
   * `next_due_at` from now (occurrences passed while disabled are not run).
   */
  async update(tenant: string, name: string, patch: SchedulePatch, by: string): Promise<Schedule> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>(`SELECT * FROM schedules WHERE tenant = $1 AND name = $2 FOR UPDATE`, [tenant, name]);
      if (!row) throw new ScheduleError(`no schedule named "${name}"; list them with GET /v1/schedules or \`cadre schedules list\``, 'schedule_not_found');
      const cron = patch.cron ?? row.cron;
      const timezone = patch.timezone ?? row.timezone;
      const enabled = patch.enabled ?? row.enabled;
      const now = this.clock.now();
      const recompute = patch.cron !== undefined || patch.timezone !== undefined || (enabled && !row.enabled);
      const next = recompute ? nextOccurrence(cron, timezone, now) : iso(row.next_due_at);
      const [updated] = await tx.query<Row>(
        `UPDATE schedules SET cron = $3, timezone = $4, enabled = $5, missed = $6, timeout_ms = $7, next_due_at = $8::timestamptz, updated_at = $9::timestamptz, updated_by = $10
         WHERE tenant = $1 AND name = $2 RETURNING *`,
        [tenant, name, cron, timezone, enabled, patch.missed ?? row.missed, patch.timeoutMs ?? row.timeout_ms, next, new Date(now).toISOString(), by],
      );
      return toSchedule(updated!);
    });
  }

  /**
   * Fires every due occurrence: returns the runs to queue, which `record` writes
   * inside this same transaction (so an occurrence and its run commit together).
   */
  async due(record: (tx: Queryable, r: RunRequest) => Promise<string | null>, limit = 100): Promise<Fired[]> {
    const now = this.clock.now();
    const at = new Date(now).toISOString();
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<Row & { tenant: string }>(
        `SELECT * FROM schedules WHERE enabled AND next_due_at <= $1::timestamptz ORDER BY next_due_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [at, limit],
      );
      const fired: Fired[] = [];
      for (const row of rows) {
        const due = new Date(row.next_due_at!).getTime();
        let cron: Cron;
        try {
          cron = cronOf(row.cron, row.timezone);
        } catch {
          // Stored before a validation existed, or a time zone this Node lacks: disable it loudly rather than loop.
          await tx.query(`UPDATE schedules SET enabled = false, updated_at = $3::timestamptz, updated_by = 'cadre: invalid cron or time zone' WHERE tenant = $1 AND name = $2`, [row.tenant, row.name, at]);
          continue;
        }
        // Every occurrence from `due` up to now: the latest is the one that runs (or is skipped).
        const passed = [new Date(due)];
        for (let d = cron.nextRun(new Date(due)); d && d.getTime() <= now && passed.length < 10_000; d = cron.nextRun(d)) passed.push(d);
        const latest = passed[passed.length - 1]!;
        // Late is judged by the latest occurrence: after a long stop, today's run that is
        // only a minute late still runs as scheduled (the earlier ones were the missed ones).
        const missed = now - latest.getTime() > this.opts.graceMs;
        const base = { tenant: row.tenant, agent: row.agent, job: row.job, schedule: row.name, timeoutMs: row.timeout_ms, requestedBy: `schedule:${row.name}` };
        let request: RunRequest;
        if (!missed) {
          const earlier = passed.length > 1 ? { missedBefore: { missed: passed.length - 1, firstMissedAt: passed[0]!.toISOString(), policy: row.missed } } : {};
          request = { ...base, trigger: 'schedule', occurrence: `schedule:${row.name}:${latest.toISOString()}`, dueAt: latest.toISOString(), input: earlier };
        } else {
          const note = { missed: passed.length, firstMissedAt: passed[0]!.toISOString(), latestMissedAt: latest.toISOString(), policy: row.missed };
          request =
            row.missed === 'run_once'
              ? { ...base, trigger: 'catch_up', occurrence: `schedule:${row.name}:${latest.toISOString()}`, dueAt: latest.toISOString(), input: { catchUp: note } }
              : {
                  ...base,
                  trigger: 'schedule',
                  occurrence: `schedule:${row.name}:${latest.toISOString()}`,
                  dueAt: latest.toISOString(),
                  input: { catchUp: note },
                  skipped: `${passed.length} occurrence(s) from ${note.firstMissedAt} to ${note.latestMissedAt} passed while no runtime ran; the schedule's policy is to skip missed runs`,
                };
        }
        const runId = await record(tx, request);
        const next = cron.nextRun(new Date(now));
        await tx.query(
          `UPDATE schedules SET next_due_at = $3::timestamptz, last_run_id = COALESCE($4, last_run_id), last_fired_at = $5::timestamptz WHERE tenant = $1 AND name = $2`,
          [row.tenant, row.name, next ? next.toISOString() : null, runId, at],
        );
        fired.push({ tenant: row.tenant, schedule: row.name, request });
      }
      return fired;
    });
  }
}
