import { z } from 'zod';
import type { Database, Queryable } from '../store/index.ts';

/** A delegation between two agents, as recorded from their events (GET /v1/delegations). */
export interface DelegationRow {
  id: string;
  from: string;
  to: string;
  task: string;
  input: Record<string, unknown>;
  status: 'requested' | 'accepted' | 'declined' | 'completed' | 'timed_out';
  deadline: string;
  requestedAt: string;
  settledAt: string | null;
  reason: string | null;
  summary: string | null;
  result: Record<string, unknown> | null;
  requestingRun: string | null;
  runId: string | null;
  /** A result that came after the deadline. */
  late: boolean;
}

/** Filters of the delegation list. */
export const DelegationQuery = z.object({
  agent: z.enum(['sales', 'delivery', 'engineering', 'executive', 'marketing']).optional(),
  status: z.enum(['requested', 'accepted', 'declined', 'completed', 'timed_out']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type DelegationQuery = z.input<typeof DelegationQuery>;

type Row = {
  id: string;
  from_agent: string;
  to_agent: string;
  task: string;
  input: Record<string, unknown>;
  status: DelegationRow['status'];
  deadline: Date | string;
  requested_at: Date | string;
  settled_at: Date | string | null;
  reason: string | null;
  summary: string | null;
  result: Record<string, unknown> | null;
  requesting_run: string | null;
  run_id: string | null;
  late: boolean;
};

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

/** Statuses a later event may not move a delegation back from. */
const RANK: Record<DelegationRow['status'], number> = { requested: 0, accepted: 1, declined: 2, completed: 2, timed_out: 2 };

/**
 * The delegation record, kept from the agents' domain events by the event router:
 * requested, accepted or declined, completed (also after a timeout: `late`), or
 * timed out. Events can arrive in any order; a settled delegation never goes back.
 */
export class Delegations {
  constructor(private readonly db: Database) {}

  /** Applies one agent event (`delegation_requested`, `_accepted`, `_declined`, `_completed`, `_timed_out`). */
  async record(tx: Queryable, tenant: string, event: string, d: Record<string, unknown>, at: string): Promise<void> {
    const id = String(d.delegationId);
    const base = [tenant, id, String(d.from), String(d.to), String(d.task)];
    // The row exists from whichever event arrives first; `deadline` and `requested_at` are corrected by `requested`.
    await tx.query(
      `INSERT INTO delegations (tenant, id, from_agent, to_agent, task, input, status, deadline, requested_at, requesting_run)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'requested', $7::timestamptz, $8::timestamptz, $9)
       ON CONFLICT (tenant, id) DO NOTHING`,
      [...base, JSON.stringify(d.input ?? {}), String(d.deadline ?? at), at, (d.runId as string | null) ?? null],
    );
    const status: DelegationRow['status'] | null =
      event === 'delegation_accepted' ? 'accepted' : event === 'delegation_declined' ? 'declined' : event === 'delegation_timed_out' ? 'timed_out' : event === 'delegation_completed' ? 'completed' : null;
    if (event === 'delegation_requested') {
      await tx.query(`UPDATE delegations SET deadline = $3::timestamptz, input = $4::jsonb, requested_at = LEAST(requested_at, $5::timestamptz), requesting_run = $6 WHERE tenant = $1 AND id = $2`, [
        tenant,
        id,
        String(d.deadline),
        JSON.stringify(d.input ?? {}),
        at,
        (d.runId as string | null) ?? null,
      ]);
      return;
    }
    if (!status) return;
    const [row] = await tx.query<{ status: DelegationRow['status'] }>(`SELECT status FROM delegations WHERE tenant = $1 AND id = $2 FOR UPDATE`, [tenant, id]);
    if (status === 'completed') {
      const late = d.late === true || row?.status === 'timed_out';
      await tx.query(
        `UPDATE delegations SET status = CASE WHEN $7 THEN status ELSE 'completed' END, settled_at = COALESCE(settled_at, $3::timestamptz), summary = $4, result = $5::jsonb, run_id = $6, late = $7
         WHERE tenant = $1 AND id = $2`,
        [tenant, id, at, String(d.summary ?? ''), JSON.stringify(d.result ?? {}), String(d.runId ?? ''), late],
      );
      return;
    }
    if (row && RANK[row.status] >= RANK[status]) return;
    await tx.query(`UPDATE delegations SET status = $3, settled_at = CASE WHEN $3 = 'accepted' THEN NULL ELSE $4::timestamptz END, reason = COALESCE($5, reason) WHERE tenant = $1 AND id = $2`, [
      tenant,
      id,
      status,
      at,
      (d.reason as string | undefined) ?? (status === 'timed_out' ? `no result by ${String(d.deadline)}` : null),
    ]);
  }

  async list(tenant: string, query: DelegationQuery = {}, q: Queryable = this.db): Promise<DelegationRow[]> {
    const f = DelegationQuery.parse(query);
    const params: unknown[] = [tenant];
    const where = ['tenant = $1'];
    if (f.agent) {
      params.push(f.agent);
      where.push(`(from_agent = $${params.length} OR to_agent = $${params.length})`);
    }
    if (f.status) {
      params.push(f.status);
      where.push(`status = $${params.length}`);
    }
    params.push(f.limit);
    const rows = await q.query<Row>(`SELECT * FROM delegations WHERE ${where.join(' AND ')} ORDER BY requested_at DESC, id DESC LIMIT $${params.length}`, params);
    return rows.map((r) => ({
      id: r.id,
      from: r.from_agent,
      to: r.to_agent,
      task: r.task,
      input: r.input,
      status: r.status,
      deadline: iso(r.deadline)!,
      requestedAt: iso(r.requested_at)!,
      settledAt: iso(r.settled_at),
      reason: r.reason,
      summary: r.summary,
      result: r.result,
      requestingRun: r.requesting_run,
      runId: r.run_id,
      late: r.late,
    }));
  }
}
