import { z } from 'zod';
import type { Database, Queryable } from '../store/index.ts';

/** One audit entry as written. */
export interface AuditEntry {
  tenant: string;
  at: string;
  entry: 'decision' | 'approval' | 'execution';
  /**
   * decision: auto, dry_run, approval, blocked, held, refused, withdrawn;
   * approval: approved, rejected, expired, withdrawn;
   * execution: executed, dry_run, failed, blocked, held, refused.
   */
  outcome: string;
  kind?: string | null;
  key?: string | null;
  agent?: string | null;
  actionType?: string | null;
  effectId?: string | null;
  approvalId?: string | null;
  risk?: string | null;
  level?: string | null;
  policy?: string | null;
  /** `gate`, `expiry`, `executor`, or the person who decided. */
  decidedBy: string;
  reason?: string | null;
  correlationId?: string | null;
  detail?: Record<string, unknown> | null;
}

/** Appends one entry, inside the transaction that did what it records. */
export async function audit(tx: Queryable, e: AuditEntry): Promise<void> {
  await tx.query(
    `INSERT INTO audit_log (tenant, at, entry, outcome, kind, key, agent, action_type, effect_id, approval_id, risk, level, policy,
                            decided_by, reason, correlation_id, detail)
     VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::jsonb)`,
    [
      e.tenant, e.at, e.entry, e.outcome, e.kind ?? null, e.key ?? null, e.agent ?? null, e.actionType ?? null, e.effectId ?? null,
      e.approvalId ?? null, e.risk ?? null, e.level ?? null, e.policy ?? null, e.decidedBy, e.reason ?? null, e.correlationId ?? null,
      e.detail ? JSON.stringify(e.detail) : null,
    ],
  );
}

/** A query of the audit log. */
export const AuditQuery = z.object({
  /** `kind/key` of one actor. */
  actor: z.string().regex(/^[^/]+\/[^/]+$/, 'actor is kind/key').optional(),
  agent: z.string().min(1).max(200).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  entry: z.enum(['decision', 'approval', 'execution']).optional(),
  outcome: z.string().max(40).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Entries with a smaller id (the next page). */
  before: z.coerce.number().int().positive().optional(),
});
/** A query of the audit log. */
export type AuditQuery = z.input<typeof AuditQuery>;

/** One audit entry as read. */
export type AuditRow = {
  id: number;
  tenant: string;
  at: Date;
  entry: string;
  outcome: string;
  kind: string | null;
  key: string | null;
  agent: string | null;
  action_type: string | null;
  effect_id: string | null;
  approval_id: string | null;
  risk: string | null;
  level: string | null;
  policy: string | null;
  decided_by: string;
  reason: string | null;
  correlation_id: string | null;
  detail: Record<string, unknown> | null;
};

/** Reads a tenant's audit log, newest first. */
export async function readAudit(db: Database, tenant: string, q: AuditQuery = {}): Promise<AuditRow[]> {
  const p = AuditQuery.parse(q);
  const [kind, key] = p.actor ? p.actor.split('/') : [null, null];
  const rows = await db.query<AuditRow>(
    `SELECT * FROM audit_log WHERE tenant = $1
       AND ($2::text IS NULL OR (kind = $2 AND key = $3))
       AND ($4::text IS NULL OR agent = $4)
       AND ($5::timestamptz IS NULL OR at >= $5::timestamptz)
       AND ($6::text IS NULL OR entry = $6)
       AND ($7::text IS NULL OR outcome = $7)
       AND ($8::bigint IS NULL OR id < $8::bigint)
     ORDER BY id DESC LIMIT $9`,
    [tenant, kind, key, p.agent ?? null, p.since ?? null, p.entry ?? null, p.outcome ?? null, p.before ?? null, p.limit],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
