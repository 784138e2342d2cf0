import { createHash } from 'node:crypto';
import type { Subjects } from '../../bus/index.ts';
import type { GateParams } from '../../machines/index.ts';
import type { Database, Queryable } from '../store/index.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { OutboxEntry, OutboxRelay } from '../outbox.ts';
import { audit } from './audit.ts';
import { decide, nextUtcDay, utcDay, type Decision } from './decide.ts';
import { checkPolicies } from './policies.ts';
import type { GateSettings } from './settings.ts';
import { effectResult, toActor } from './messages.ts';

/** An effect row as the gate and the executor read it. */
export type EffectRecord = {
  tenant: string;
  id: string;
  kind: string;
  key: string;
  action_type: string;
  params: Record<string, unknown>;
  status: string;
  attempts: number;
  max_attempts: number;
  correlation_id: string;
  gate: GateParams | null;
  agent: string | null;
  risk: string | null;
  level: string | null;
  approval_id: string | null;
  rate_day: string | null;
  decisions: number;
  requested_seq: number;
};

/** What the gate says before an attempt. */
export type Claim =
  | { kind: 'run' }
  | { kind: 'dry_run' }
  | { kind: 'skip' }
  | { kind: 'stopped'; status: 'blocked' | 'refused' | 'withdrawn'; reason: string };

export const EFFECT_COLUMNS = `e.tenant, e.id, e.kind, e.key, e.action_type, e.params, e.status, e.attempts, e.max_attempts, e.correlation_id,
  e.gate, e.agent, e.risk, e.level, e.approval_id, e.rate_day::text AS rate_day, e.decisions, e.requested_seq`;

// Whether the effect came from a committed transition, and what its actor's gate record says now.
const PROVENANCE = `EXISTS (SELECT 1 FROM journal j WHERE j.tenant = e.tenant AND j.kind = e.kind AND j.key = e.key AND j.seq = e.requested_seq) AS committed,
  a.status AS actor_status, a.context -> 'gates' -> (e.gate ->> 'name') AS record`;

type Provenance = { committed: boolean; actor_status: string | null; record: { request?: number; status?: string } | null };

/**
 * The gate. An effect row starts as `deciding`; the gate decides it in one
 * transaction that moves the row on, records the decision in the audit log,
 * opens an approval if one is needed, and tells the actor (through the outbox).
 * Before every attempt it checks again: the row must come from a committed
 * transition and carry an allowing decision in the audit log, its actor must
 * still wait for it, the policies (the kill switch among them) must still hold,
 * and the day's rate-limit slot is taken. Nothing else moves an effect to `pending`, so nothing gets around it.
 */
export class Gate {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly subjects: Subjects,
    private readonly relay: OutboxRelay,
    readonly settings: GateSettings,
    private readonly log: Logger,
    /** Called after a decision opened an approval expiring at the given epoch ms (its expiry needs a wake-up). */
    private readonly approvalOpened: (expiresAt: number) => void = () => {},
  ) {}

  /** Decides one effect that is deciding or held and due. Returns its status afterwards, or null if it was not there to decide. */
  async decide(tenant: string, id: string): Promise<string | null> {
    const out: OutboxEntry[] = [];
    let opened: number | null = null;
    const status = await this.db.transaction(async (tx) => {
      const now = this.clock.now();
      const at = new Date(now).toISOString();
      const rows = await tx.query<EffectRecord & Provenance>(
        `SELECT ${EFFECT_COLUMNS}, ${PROVENANCE} FROM effects e LEFT JOIN actors a ON a.tenant = e.tenant AND a.kind = e.kind AND a.key = e.key
         WHERE e.tenant = $1 AND e.id = $2 AND e.status IN ('deciding', 'held') AND e.next_attempt_at <= $3::timestamptz FOR UPDATE OF e`,
        [tenant, id, at],
      );
      const e = rows[0];
      if (!e) return null;
      const unwanted = provenanceProblem(e);
      if (unwanted) {
        await this.settle(tx, e, unwanted.status, unwanted.reason, at);
        await audit(tx, { ...this.base(e, at), entry: 'decision', outcome: unwanted.status, decidedBy: 'gate', reason: unwanted.reason });
        return unwanted.status;
      }
      const g = e.gate!;
      const facts = await this.settings.facts(tx, { tenant, agent: g.agent, actionType: e.action_type, params: e.params });
      const d = decide(facts);
      let approvalId: string | null = null;
      let until = d.until;
      if (d.outcome === 'approval') {
        const ttl = g.expiresInMs ?? (await this.settings.tenantSettings(tx, tenant)).approvalTtlMs;
        until = new Date(now + ttl).toISOString();
        approvalId = approvalIdOf(tenant, e.id);
        opened = Date.parse(until);
        await tx.query(
          `INSERT INTO approvals (tenant, id, effect_id, kind, key, partition, agent, action_type, risk, level, preview, params, correlation_id, requested_at, expires_at)
           SELECT e.tenant, $3, e.id, e.kind, e.key, e.partition, $4, e.action_type, $5, $6, $7, e.params, e.correlation_id, $8::timestamptz, $9::timestamptz
           FROM effects e WHERE e.tenant = $1 AND e.id = $2 ON CONFLICT DO NOTHING`,
          [tenant, e.id, approvalId, g.agent, facts.risk, facts.level, g.preview || previewOf(e.action_type, e.params), at, until],
        );
      }
      const next = STATUS_AFTER[d.outcome];
      await tx.query(
        `UPDATE effects SET status = $3, agent = $4, risk = $5, level = $6, approval_id = $7, decisions = decisions + 1, decision = $8::jsonb,
           next_attempt_at = CASE WHEN $3 = 'held' THEN $9::timestamptz ELSE $10::timestamptz END,
           last_error = CASE WHEN $3 = 'blocked' THEN $11 ELSE last_error END,
           finished_at = CASE WHEN $3 = 'blocked' THEN $10::timestamptz ELSE finished_at END
         WHERE tenant = $1 AND id = $2`,
        [tenant, e.id, next, g.agent, facts.risk, facts.level, approvalId, JSON.stringify({ ...d, level: facts.level, scope: facts.levelScope, risk: facts.risk, at }), until, at, d.reason],
      );
      await audit(tx, {
        ...this.base(e, at),
        agent: g.agent,
        entry: 'decision',
        outcome: d.outcome,
        risk: facts.risk,
        level: facts.level,
        policy: d.policy,
        approvalId,
        decidedBy: 'gate',
        reason: d.reason,
        detail: { scope: facts.levelScope, ...(until ? { until } : {}) },
      });
      out.push(await this.tell(tx, e, e.decisions + 1, d, { level: facts.level, risk: facts.risk, approvalId, until }, at));
      return next;
    });
    if (out.length) this.relay.publish(out);
    if (status === 'awaiting_approval' && opened !== null) this.approvalOpened(opened);
    if (status === 'blocked' || status === 'refused' || status === 'withdrawn') this.log.info({ tenant, effect: id, status }, `the gate ${status} an effect; \`cadre audit --tenant ${tenant}\` shows the policy and reason`);
    return status;
  }

  /**
   * The checks before one attempt, in one transaction with the attempt's claim:
   * provenance, the allowing decision, the actor still waiting, the policies
   * (the kill switch among them), dry-run, and the day's rate-limit slot (held
   * to the next UTC day when taken).
   * On `run` the attempt is claimed until `leaseUntil`.
   */
  async claim(e: EffectRecord, leaseUntil: string): Promise<Claim> {
    const out: OutboxEntry[] = [];
    const claim = await this.db.transaction(async (tx): Promise<Claim> => {
      const now = this.clock.now();
      const at = new Date(now).toISOString();
      const rows = await tx.query<EffectRecord & Provenance & { decided: boolean; decided_as: string | null }>(
        `SELECT ${EFFECT_COLUMNS}, ${PROVENANCE}, e.decision ->> 'outcome' AS decided_as,
           EXISTS (SELECT 1 FROM audit_log l WHERE l.effect_id = e.id AND l.tenant = e.tenant
                   AND ((l.entry = 'decision' AND l.outcome IN ('auto', 'dry_run')) OR (l.entry = 'approval' AND l.outcome = 'approved'))) AS decided
         FROM effects e LEFT JOIN actors a ON a.tenant = e.tenant AND a.kind = e.kind AND a.key = e.key
         WHERE e.tenant = $1 AND e.id = $2 AND e.status = 'pending' AND e.attempts = $3 FOR UPDATE OF e`,
        [e.tenant, e.id, e.attempts],
      );
      const row = rows[0];
      if (!row) return { kind: 'skip' };
      const problem = provenanceProblem(row) ?? (row.decided ? null : { status: 'refused' as const, reason: 'no gate decision allows it' });
      if (problem) {
        await this.settle(tx, row, problem.status, problem.reason, at);
        await audit(tx, { ...this.base(row, at), entry: 'execution', outcome: problem.status, decidedBy: 'executor', reason: problem.reason });
        return { kind: 'stopped', ...problem };
      }
      if (row.actor_status === 'paused') {
        // Its actor is paused by an operator: try again in a minute, nothing is spent.
        await tx.query(`UPDATE effects SET next_attempt_at = $3::timestamptz WHERE tenant = $1 AND id = $2`, [e.tenant, e.id, new Date(now + 60_000).toISOString()]);
        return { kind: 'skip' };
      }
      // The policies hold at every attempt, not only when decided: the kill switch, or an opt-out
      // or suppression that came while the request waited for its approval, stops it here.
      const facts = await this.settings.facts(tx, { tenant: e.tenant, agent: row.gate!.agent, actionType: row.action_type, params: row.params });
      const violation = checkPolicies(facts);
      if (violation) {
        // Settled here, with its audit entry and the actor's event, in the claim's own
        // transaction: a crash after it cannot leave the effect runnable.
        await this.settle(tx, row, 'blocked', violation.reason, at);
        await audit(tx, { ...this.base(row, at), entry: 'execution', outcome: 'blocked', policy: violation.policy, decidedBy: 'executor', reason: violation.reason });
        out.push(await effectResult(tx, this.subjects, row, { ok: false, status: 'blocked', error: violation.reason }, at));
        return { kind: 'stopped', status: 'blocked', reason: violation.reason };
      }
      // Decided as dry-run: only recorded, also if dry-run was switched off since.
      if (facts.dryRun || row.decided_as === 'dry_run') return { kind: 'dry_run' };
      let rateDay: string | null = null;
      if (!row.rate_day) {
        const limit = facts.rate?.perDay ?? null;
        if (limit !== null) {
          const day = utcDay(now);
          const slot = await tx.query(
            `INSERT INTO rate_usage (tenant, action_type, day, used) SELECT $1, $2, $3::date, 1 WHERE $4::int > 0
             ON CONFLICT (tenant, action_type, day) DO UPDATE SET used = rate_usage.used + 1 WHERE rate_usage.used < $4::int RETURNING used`,
            [e.tenant, e.action_type, day, limit],
          );
          if (slot.length === 0) {
            const until = nextUtcDay(now);
            const reason = `the daily limit of ${limit} ${e.action_type} is reached; it may go tomorrow (UTC)`;
            await tx.query(`UPDATE effects SET next_attempt_at = $3::timestamptz, decisions = decisions + 1 WHERE tenant = $1 AND id = $2`, [e.tenant, e.id, until]);
            await audit(tx, { ...this.base(row, at), entry: 'execution', outcome: 'held', policy: 'rate_limit', decidedBy: 'executor', reason, detail: { until } });
            const held: Decision = { outcome: 'held', policy: 'rate_limit', reason, until };
            out.push(await this.tell(tx, row, row.decisions + 1, held, { level: row.level ?? '', risk: row.risk ?? '', approvalId: row.approval_id, until }, at));
            return { kind: 'skip' };
          }
          rateDay = day;
        }
      }
      await tx.query(
        `UPDATE effects SET attempts = attempts + 1, next_attempt_at = $3::timestamptz, rate_day = COALESCE($4::date, rate_day) WHERE tenant = $1 AND id = $2`,
        [e.tenant, e.id, leaseUntil, rateDay],
      );
      return { kind: 'run' };
    });
    if (out.length) this.relay.publish(out);
    return claim;
  }

  /** The audit entry of an attempt's outcome, in the transaction that records it. */
  async executed(tx: Queryable, e: EffectRecord, outcome: 'executed' | 'dry_run' | 'failed', reason: string | null, at: string, detail?: Record<string, unknown>): Promise<void> {
    await audit(tx, {
      ...this.base(e, at),
      entry: 'execution',
      outcome,
      decidedBy: 'executor',
      reason,
      detail: { via: e.approval_id ? 'approved' : 'automatic', attempts: e.attempts, ...detail },
    });
  }

  private base(e: EffectRecord, at: string) {
    return {
      tenant: e.tenant,
      at,
      kind: e.kind,
      key: e.key,
      agent: e.agent ?? e.gate?.agent ?? null,
      actionType: e.action_type,
      effectId: e.id,
      approvalId: e.approval_id,
      risk: e.risk,
      level: e.level,
      correlationId: e.correlation_id,
    };
  }

  private async settle(tx: Queryable, e: EffectRecord, status: string, reason: string, at: string): Promise<void> {
    await tx.query(`UPDATE effects SET status = $3, last_error = $4, finished_at = $5::timestamptz WHERE tenant = $1 AND id = $2`, [e.tenant, e.id, status, reason, at]);
  }

  /** Tells the actor what was decided (`cadre.gate.decided`). */
  private tell(tx: Queryable, e: EffectRecord, n: number, d: Decision, x: { level: string; risk: string; approvalId: string | null; until: string | null }, at: string): Promise<OutboxEntry> {
    const g = e.gate!;
    return toActor(tx, this.subjects, {
      id: `gate:${e.id}:decided:${n}`,
      actor: { tenant: e.tenant, kind: e.kind, key: e.key },
      event: {
        type: 'cadre.gate.update',
        effectId: e.id,
        event: {
          type: 'cadre.gate.decided',
          gate: g.name,
          request: g.request,
          effectId: e.id,
          outcome: d.outcome,
          level: x.level,
          risk: x.risk,
          policy: d.policy,
          reason: d.reason,
          approvalId: x.approvalId,
          until: x.until,
        },
      },
      correlationId: e.correlation_id,
      causationId: e.id,
      from: 'runtime:gate',
      at,
    });
  }
}

const STATUS_AFTER: Record<Decision['outcome'], string> = {
  auto: 'pending',
  dry_run: 'pending',
  approval: 'awaiting_approval',
  blocked: 'blocked',
  held: 'held',
};

/** The statuses of a gate record that still wait for its effect (machines/gate.ts). */
const WAITING = new Set(['deciding', 'held', 'awaiting_approval', 'approved']);

/** Why an effect row may not go on, whatever the decision: it was not asked for by a committed transition, or its actor no longer waits for it. */
function provenanceProblem(e: EffectRecord & Provenance): { status: 'refused' | 'withdrawn'; reason: string } | null {
  // The id names the actor and the commit that asked for it (runtime/host/actions.ts): a row
  // that borrows another commit's seq does not pass.
  const ownId = e.id.startsWith(`${e.tenant}/${e.kind}/${e.key}#${Number(e.requested_seq)}#x`);
  if (!e.committed || !e.gate || !ownId) return { status: 'refused', reason: 'no committed transition asked for it through a gate' };
  if (e.actor_status === 'stopped') return { status: 'withdrawn', reason: 'its actor was stopped by an operator' };
  const r = e.record;
  if (!r || r.request !== e.gate.request || !WAITING.has(r.status ?? '')) return { status: 'withdrawn', reason: 'its actor left the gate before it ran' };
  return null;
}

/** The approval's id: stable for an effect, safe in a URL. */
export function approvalIdOf(tenant: string, effectId: string): string {
  return `apr_${createHash('sha256').update(`${tenant}\n${effectId}`).digest('hex').slice(0, 24)}`;
}

/** One line saying what an action would do, when its machine gave none. */
export function previewOf(actionType: string, params: Record<string, unknown>): string {
  const to = params.to ? ` to ${Array.isArray(params.to) ? params.to.join(', ') : String(params.to)}` : '';
  const subject = typeof params.subject === 'string' ? `: "${params.subject}"` : '';
  const rest = to || subject ? '' : ` ${JSON.stringify(params).slice(0, 200)}`;
  return `${actionType}${to}${subject}${rest}`;
}
