import { z } from 'zod';
import type { Subjects } from '../../bus/index.ts';
import type { GateParams } from '../../machines/index.ts';
import type { Database, Queryable } from '../store/index.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { RuntimeConfig } from '../config.ts';
import type { OutboxEntry, OutboxRelay } from '../outbox.ts';
import { inPartitions } from '../sql.ts';
import { audit } from './audit.ts';
import { recordApproval, recordRejection } from './learning.ts';
import type { GateSettings } from './settings.ts';
import type { RiskClass } from './levels.ts';
import { toActor } from './messages.ts';

/** An approval as operators see it. */
export type Approval = {
  tenant: string;
  id: string;
  effect_id: string;
  kind: string;
  key: string;
  agent: string;
  action_type: string;
  risk: string;
  level: string;
  /** What approving releases, in one line; `params` has the whole effect. */
  preview: string;
  params: Record<string, unknown>;
  status: 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';
  correlation_id: string;
  requested_at: Date;
  expires_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  note: string | null;
};

/** Filters of the approval queue. */
export const ApprovalFilter = z.object({
  status: z.enum(['pending', 'approved', 'rejected', 'expired', 'withdrawn']).optional(),
  risk: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  agent: z.string().min(1).max(200).optional(),
  actionType: z.string().min(1).max(200).optional(),
  /** One actor's approvals: its kind, and its key. */
  kind: z.string().min(1).max(100).optional(),
  key: z.string().min(1).max(100).optional(),
  /** Requested at or before this time (ISO): the ones waiting at least so long. */
  requestedBefore: z.iso.datetime({ offset: true }).optional(),
  /** The page after the row with this request time and id (the queue is newest first). */
  after: z.object({ requestedAt: z.iso.datetime({ offset: true }), id: z.string().min(1).max(200) }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** A decision an operator cannot make; `code` is stable. */
export class ApprovalError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'conflict' | 'expired' | 'withdrawn',
  ) {
    super(message);
    this.name = 'ApprovalError';
  }
}

/** One item of a bulk decision: decided, or why not. */
export type BulkResult = { id: string; ok: true; approval: Approval } | { id: string; ok: false; code: ApprovalError['code']; error: string };

/**
 * The approval queue: approve, reject (one or in bulk) and expiry. Each decision
 * is one transaction: the approval, its effect (released to run, or settled),
 * the audit entry, learning, and the event to the actor through the outbox. An
 * approval whose deadline passed expires, once, also when no process ran at the
 * deadline; approving it then is refused.
 */
export class Approvals {
  private cancelWake?: () => void;
  private wakeAt = Infinity;
  private safety?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private stopped = true;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly subjects: Subjects,
    private readonly relay: OutboxRelay,
    private readonly settings: GateSettings,
    private readonly config: RuntimeConfig,
    private readonly log: Logger,
    /** Called with effects released to run. */
    private readonly released: (tenant: string, effectId: string) => void = () => {},
  ) {}

  async list(tenant: string, filter: z.input<typeof ApprovalFilter> = {}): Promise<Approval[]> {
    const f = ApprovalFilter.parse(filter);
    return this.db.query<Approval>(
      `SELECT * FROM approvals WHERE tenant = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR risk = $3)
         AND ($4::text IS NULL OR agent = $4) AND ($6::text IS NULL OR action_type = $6) AND ($7::text IS NULL OR kind = $7)
         AND ($8::text IS NULL OR key = $8) AND ($9::timestamptz IS NULL OR requested_at <= $9::timestamptz)
         AND ($10::timestamptz IS NULL OR requested_at < $10::timestamptz OR (requested_at = $10::timestamptz AND id > $11::text))
       ORDER BY requested_at DESC, id LIMIT $5`,
      [
        tenant, f.status ?? null, f.risk ?? null, f.agent ?? null, f.limit, f.actionType ?? null, f.kind ?? null, f.key ?? null,
        f.requestedBefore ?? null, f.after?.requestedAt ?? null, f.after?.id ?? null,
      ],
    );
  }

  async get(tenant: string, id: string): Promise<Approval | null> {
    const rows = await this.db.query<Approval>(`SELECT * FROM approvals WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return rows[0] ?? null;
  }

  approve(tenant: string, id: string, by: string, note?: string): Promise<Approval> {
    return this.decide(tenant, id, 'approved', by, note);
  }

  reject(tenant: string, id: string, by: string, note?: string): Promise<Approval> {
    return this.decide(tenant, id, 'rejected', by, note);
  }

  /** Decides several approvals; each is its own transaction, and one refused does not stop the others. */
  async bulk(tenant: string, ids: string[], decision: 'approve' | 'reject', by: string, note?: string): Promise<BulkResult[]> {
    const out: BulkResult[] = [];
    for (const id of ids) {
      try {
        out.push({ id, ok: true, approval: await this.decide(tenant, id, decision === 'approve' ? 'approved' : 'rejected', by, note) });
      } catch (err) {
        if (!(err instanceof ApprovalError)) throw err;
        out.push({ id, ok: false, code: err.code, error: err.message });
      }
    }
    return out;
  }

  private async decide(tenant: string, id: string, status: 'approved' | 'rejected', by: string, note?: string): Promise<Approval> {
    const out: OutboxEntry[] = [];
    let expiredInstead = false;
    let withdrawn = false;
    const result = await this.db.transaction(async (tx) => {
      const at = new Date(this.clock.now()).toISOString();
      const rows = await tx.query<Approval & { gate: GateParams; effect_status: string; actor_status: string | null; record: { request?: number; status?: string } | null }>(
        `SELECT p.*, e.gate, e.status AS effect_status, a.status AS actor_status, a.context -> 'gates' -> (e.gate ->> 'name') AS record
         FROM approvals p JOIN effects e ON e.tenant = p.tenant AND e.id = p.effect_id
         LEFT JOIN actors a ON a.tenant = p.tenant AND a.kind = p.kind AND a.key = p.key
         WHERE p.tenant = $1 AND p.id = $2 FOR UPDATE OF p, e`,
        [tenant, id],
      );
      const p = rows[0];
      if (!p) throw new ApprovalError(`no approval ${id} in tenant ${tenant}`, 'not_found');
      if (p.status !== 'pending') {
        const why = p.status === 'withdrawn' ? `: ${p.kind}/${p.key} no longer waits for it` : p.decided_by ? ` by ${p.decided_by}` : '';
        throw new ApprovalError(`approval ${id} was already ${p.status}${why}`, p.status === 'withdrawn' ? 'withdrawn' : 'conflict');
      }
      if (new Date(p.expires_at).getTime() <= this.clock.now()) {
        out.push((await this.settle(tx, p, 'expired', 'expiry', null, at))!);
        expiredInstead = true;
        return p;
      }
      const r = p.record;
      if (!r || r.request !== p.gate.request || !['deciding', 'awaiting_approval', 'approved'].includes(r.status ?? '') || p.effect_status !== 'awaiting_approval' || p.actor_status === 'stopped') {
        await this.settle(tx, p, 'withdrawn', 'gate', `its actor no longer waits for this approval (${by} tried to ${status === 'approved' ? 'approve' : 'reject'} it)`, at);
        withdrawn = true;
        return p;
      }
      out.push((await this.settle(tx, p, status, by, note ?? null, at))!);
      const learnAfter = (await this.settings.tenantSettings(tx, tenant)).learnAfter;
      if (status === 'approved') {
        const proposal = await recordApproval(tx, {
          tenant, agent: p.agent, actionType: p.action_type, risk: p.risk as RiskClass, learnAfter, fallback: this.config.defaultAutonomy, at,
        });
        if (proposal) this.log.info({ tenant, proposal: proposal.id, agent: p.agent, actionType: p.action_type, to: proposal.to_level }, 'proposing a level change after consecutive approvals; an operator accepts or dismisses it');
      } else {
        await recordRejection(tx, { tenant, agent: p.agent, actionType: p.action_type });
      }
      return { ...p, status, decided_by: by, decided_at: new Date(at), note: note ?? null };
    });
    if (out.length) this.relay.publish(out);
    if (withdrawn) throw new ApprovalError(`approval ${id} was withdrawn: ${result.kind}/${result.key} no longer waits for it`, 'withdrawn');
    if (expiredInstead) throw new ApprovalError(`approval ${id} expired at ${new Date(result.expires_at).toISOString()}; the actor was told`, 'expired');
    if (status === 'approved') this.released(tenant, result.effect_id);
    return result;
  }

  /**
   * Moves an approval and its effect to their final status, records it in the
   * audit log and tells the actor (not for a withdrawal: the actor has moved on).
   */
  private async settle(
    tx: Queryable,
    p: Approval & { gate: GateParams },
    status: 'approved' | 'rejected' | 'expired' | 'withdrawn',
    by: string,
    note: string | null,
    at: string,
  ): Promise<OutboxEntry | null> {
    await tx.query(`UPDATE approvals SET status = $3, decided_by = $4, decided_at = $5::timestamptz, note = $6 WHERE tenant = $1 AND id = $2`, [
      p.tenant, p.id, status, by, at, note,
    ]);
    await tx.query(
      `UPDATE effects SET status = $3, next_attempt_at = $4::timestamptz,
         finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE $4::timestamptz END,
         last_error = CASE WHEN $3 = 'pending' THEN last_error ELSE $5 END
       WHERE tenant = $1 AND id = $2 AND status = 'awaiting_approval'`,
      [p.tenant, p.effect_id, status === 'approved' ? 'pending' : status, at, `${status} by ${by}${note ? `: ${note}` : ''}`],
    );
    await audit(tx, {
      tenant: p.tenant, at, entry: 'approval', outcome: status, kind: p.kind, key: p.key, agent: p.agent, actionType: p.action_type,
      effectId: p.effect_id, approvalId: p.id, risk: p.risk, level: p.level, decidedBy: by, reason: note, correlationId: p.correlation_id,
    });
    if (status === 'withdrawn') return null; // the actor has moved on; nothing to tell it
    return toActor(tx, this.subjects, {
      id: `gate:${p.effect_id}:${status}`,
      actor: { tenant: p.tenant, kind: p.kind, key: p.key },
      event: {
        type: 'cadre.gate.update',
        effectId: p.effect_id,
        event: { type: `cadre.gate.${status}`, gate: p.gate.name, request: p.gate.request, effectId: p.effect_id, approvalId: p.id, by, note },
      },
      correlationId: p.correlation_id,
      causationId: p.id,
      from: 'runtime:approvals',
      at,
    });
  }

  /** Starts expiring approvals of the partitions `owned()` returns. */
  start(owned: () => number[], pollMs = 5000, sweepMs = 30_000): void {
    this.stopped = false;
    this.owned = owned;
    this.safety = setInterval(() => void this.expireDue(owned), pollMs);
    this.safety.unref();
    this.sweeper = setInterval(() => void this.withdrawAbandoned(owned()).catch((err) => this.log.warn({ err }, 'could not sweep abandoned approvals; trying again')), sweepMs);
    this.sweeper.unref();
    void this.expireDue(owned);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.safety);
    clearInterval(this.sweeper);
    this.cancelWake?.();
  }

  private owned: () => number[] = () => [];

  /** A decision opened an approval expiring at `expiresAt` (epoch ms): wake up for it if it is the earliest. */
  opened(expiresAt: number): void {
    if (this.stopped || expiresAt >= this.wakeAt) return;
    this.arm(expiresAt);
  }

  private arm(at: number): void {
    this.cancelWake?.();
    this.wakeAt = at;
    this.cancelWake = this.clock.setTimeout(() => {
      this.wakeAt = Infinity;
      void this.expireDue(this.owned);
    }, at - this.clock.now());
  }

  /** Expires every pending approval past its deadline, then sleeps until the next deadline. */
  async expireDue(owned: () => number[]): Promise<number> {
    const partitions = owned();
    if (this.stopped || partitions.length === 0) return 0;
    let n = 0;
    try {
      const now = new Date(this.clock.now()).toISOString();
      const due = await this.db.query<{ tenant: string; id: string }>(
        `SELECT tenant, id FROM approvals WHERE status = 'pending' AND ${inPartitions('$1')} AND expires_at <= $2::timestamptz ORDER BY expires_at LIMIT 500`,
        [JSON.stringify(partitions), now],
      );
      for (const d of due) if (await this.expire(d.tenant, d.id)) n++;
      const next = await this.db.query<{ due: Date | null }>(
        `SELECT min(expires_at) AS due FROM approvals WHERE status = 'pending' AND ${inPartitions('$1')} AND expires_at > $2::timestamptz`,
        [JSON.stringify(partitions), now],
      );
      const at = next[0]?.due ? new Date(next[0].due).getTime() : null;
      if (at !== null && !this.stopped) this.arm(at);
    } catch (err) {
      this.log.error({ err }, 'could not expire approvals; retrying on the next poll');
    }
    return n;
  }

  /** Pending approvals whose actor left the gate are withdrawn, so the queue shows only what someone still waits for. */
  async withdrawAbandoned(partitions: number[]): Promise<void> {
    if (partitions.length === 0) return;
    const rows = await this.db.query<{ tenant: string; id: string }>(
      `SELECT p.tenant, p.id FROM approvals p
         JOIN effects e ON e.tenant = p.tenant AND e.id = p.effect_id
         LEFT JOIN actors a ON a.tenant = p.tenant AND a.kind = p.kind AND a.key = p.key
       WHERE p.status = 'pending' AND ${inPartitions('$1').replace('partition', 'p.partition')}
         AND (a.status IS NULL OR a.status = 'stopped' OR NOT COALESCE((a.context -> 'gates' -> (e.gate ->> 'name') ->> 'request')::int = (e.gate ->> 'request')::int
                  AND a.context -> 'gates' -> (e.gate ->> 'name') ->> 'status' IN ('deciding', 'awaiting_approval', 'approved'), false))
       LIMIT 500`,
      [JSON.stringify(partitions)],
    );
    for (const r of rows) {
      await this.db.transaction(async (tx) => {
        const found = await tx.query<Approval & { gate: GateParams }>(
          `SELECT p.*, e.gate FROM approvals p JOIN effects e ON e.tenant = p.tenant AND e.id = p.effect_id
           WHERE p.tenant = $1 AND p.id = $2 AND p.status = 'pending' FOR UPDATE OF p`,
          [r.tenant, r.id],
        );
        if (found[0]) await this.settle(tx, found[0], 'withdrawn', 'gate', 'its actor left the gate', new Date(this.clock.now()).toISOString());
      });
    }
  }

  private async expire(tenant: string, id: string): Promise<boolean> {
    const out: OutboxEntry[] = [];
    await this.db.transaction(async (tx) => {
      const rows = await tx.query<Approval & { gate: GateParams }>(
        `SELECT p.*, e.gate FROM approvals p JOIN effects e ON e.tenant = p.tenant AND e.id = p.effect_id
         WHERE p.tenant = $1 AND p.id = $2 AND p.status = 'pending' AND p.expires_at <= $3::timestamptz FOR UPDATE OF p`,
        [tenant, id, new Date(this.clock.now()).toISOString()],
      );
      if (rows[0]) out.push((await this.settle(tx, rows[0], 'expired', 'expiry', null, new Date(this.clock.now()).toISOString()))!);
    });
    if (out.length) this.relay.publish(out);
    return out.length > 0;
  }
}
