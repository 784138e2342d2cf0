import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../store/index.ts';
import { audit } from './audit.ts';
import { autoExecutes, levelThatAutoExecutes, resolveLevel, type AutonomyLevel, type LevelRow, type RiskClass } from './levels.ts';

/** A level change Cadre proposes; only an operator applies it. */
export type Proposal = {
  tenant: string;
  id: string;
  agent: string;
  action_type: string;
  risk: string;
  from_level: string;
  to_level: string;
  streak: number;
  status: 'proposed' | 'accepted' | 'dismissed';
  created_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  note: string | null;
};

/**
 * Learning from approvals. Each approval of an action type for an agent extends
 * a streak; a rejection ends it. When the streak reaches the tenant's threshold
 * and the agent's level still asks a person for that risk, Cadre proposes the
 * lowest level that would run it on its own, for that agent and action type only.
 * It never changes a level by itself, and never proposes anything for critical
 * actions (no level runs them on its own).
 */
export async function recordApproval(
  tx: Queryable,
  a: { tenant: string; agent: string; actionType: string; risk: RiskClass; learnAfter: number; fallback: AutonomyLevel; at: string },
): Promise<Proposal | null> {
  const rows = await tx.query<{ streak: number }>(
    `INSERT INTO approval_streaks (tenant, agent, action_type, streak) VALUES ($1, $2, $3, 1)
     ON CONFLICT (tenant, agent, action_type) DO UPDATE SET streak = approval_streaks.streak + 1 RETURNING streak`,
    [a.tenant, a.agent, a.actionType],
  );
  const streak = rows[0]!.streak;
  const to = levelThatAutoExecutes(a.risk);
  if (streak < a.learnAfter || to === null) return null;
  const levels = await tx.query<LevelRow>(
    `SELECT agent, action_type, level FROM autonomy_levels WHERE tenant = $1 AND agent = ANY (ARRAY[$2, '*']) AND action_type = ANY (ARRAY[$3, '*'])`,
    [a.tenant, a.agent, a.actionType],
  );
  const current = resolveLevel(levels, a.agent, a.actionType, a.fallback).level;
  if (autoExecutes(current, a.risk)) return null;
  const id = `prop_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const made = await tx.query<Proposal>(
    `INSERT INTO autonomy_proposals (tenant, id, agent, action_type, risk, from_level, to_level, streak, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz) ON CONFLICT DO NOTHING RETURNING *`,
    [a.tenant, id, a.agent, a.actionType, a.risk, current, to, streak, a.at],
  );
  return made[0] ?? null;
}

/** A rejection ends the streak. */
export async function recordRejection(tx: Queryable, a: { tenant: string; agent: string; actionType: string }): Promise<void> {
  await tx.query(`UPDATE approval_streaks SET streak = 0 WHERE tenant = $1 AND agent = $2 AND action_type = $3`, [a.tenant, a.agent, a.actionType]);
}

/** A proposal could not be decided; `code` is stable. */
export class ProposalError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'conflict',
  ) {
    super(message);
    this.name = 'ProposalError';
  }
}

/** The operator's side of learning: list, accept (sets the level), dismiss (ends the streak). */
export class Proposals {
  constructor(
    private readonly db: Database,
    private readonly now: () => string,
  ) {}

  async list(tenant: string, status: Proposal['status'] | 'all' = 'proposed'): Promise<Proposal[]> {
    return this.db.query<Proposal>(
      `SELECT * FROM autonomy_proposals WHERE tenant = $1 AND ($2 = 'all' OR status = $2) ORDER BY created_at DESC LIMIT 500`,
      [tenant, status],
    );
  }

  /** Applies the proposed level for that agent and action type. */
  async accept(tenant: string, id: string, by: string, note?: string): Promise<Proposal> {
    return this.decide(tenant, id, 'accepted', by, note);
  }

  /** Leaves levels as they are and starts the streak again. */
  async dismiss(tenant: string, id: string, by: string, note?: string): Promise<Proposal> {
    return this.decide(tenant, id, 'dismissed', by, note);
  }

  private decide(tenant: string, id: string, status: 'accepted' | 'dismissed', by: string, note?: string): Promise<Proposal> {
    return this.db.transaction(async (tx) => {
      const at = this.now();
      const rows = await tx.query<Proposal>(
        `UPDATE autonomy_proposals SET status = $3, decided_by = $4, decided_at = $5::timestamptz, note = $6
         WHERE tenant = $1 AND id = $2 AND status = 'proposed' RETURNING *`,
        [tenant, id, status, by, at, note ?? null],
      );
      const p = rows[0];
      if (!p) {
        const exists = await tx.query(`SELECT status FROM autonomy_proposals WHERE tenant = $1 AND id = $2`, [tenant, id]);
        throw exists.length
          ? new ProposalError(`proposal ${id} was already ${String(exists[0]!.status)}`, 'conflict')
          : new ProposalError(`no proposal ${id} in tenant ${tenant}`, 'not_found');
      }
      if (status === 'accepted') {
        await tx.query(
          `INSERT INTO autonomy_levels (tenant, agent, action_type, level, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz)
           ON CONFLICT (tenant, agent, action_type) DO UPDATE SET level = EXCLUDED.level, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at`,
          [tenant, p.agent, p.action_type, p.to_level, by, at],
        );
      }
      await tx.query(`UPDATE approval_streaks SET streak = 0 WHERE tenant = $1 AND agent = $2 AND action_type = $3`, [tenant, p.agent, p.action_type]);
      await audit(tx, {
        tenant,
        at,
        entry: 'approval',
        outcome: status === 'accepted' ? 'level_changed' : 'proposal_dismissed',
        agent: p.agent,
        actionType: p.action_type,
        level: status === 'accepted' ? p.to_level : p.from_level,
        decidedBy: by,
        reason: `proposal ${id}: ${p.from_level} → ${p.to_level} after ${p.streak} approvals${note ? ` (${note})` : ''}`,
      });
      return p;
    });
  }
}
