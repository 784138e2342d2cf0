import { z } from 'zod';
import type { Database, Queryable } from '../store/index.ts';
import type { Clock } from '../clock.ts';
import type { RuntimeConfig } from '../config.ts';
import { actionTypeInfo } from './actions.ts';
import { AutonomyLevel, RiskClass, resolveLevel, type LevelRow } from './levels.ts';
import { normalizeAddress, recipients } from './policies.ts';
import type { DecisionFacts } from './decide.ts';
import { utcDay } from './decide.ts';
import { ReadModel } from '../read/index.ts';

const Name = z.string().regex(/^(\*|[A-Za-z0-9_.:-]{1,100})$/, 'a name of letters, digits, _ . : - or *');
const ActionType = z.string().regex(/^(\*|[a-z0-9_]+(\.[a-z0-9_]+)+)$/, 'an action type like email.send, or *');

/** One autonomy level to set; `*` for any agent or action type. */
export const LevelSetting = z.object({ agent: Name.default('*'), actionType: ActionType.default('*'), level: AutonomyLevel });
/** A tenant's risk class for an action type. */
export const RiskSetting = z.object({ actionType: ActionType.refine((t) => t !== '*', 'name one action type'), risk: RiskClass });
/** A tenant's daily limit for an action type. */
export const LimitSetting = z.object({ actionType: ActionType.refine((t) => t !== '*', 'name one action type'), perDay: z.number().int().min(0).max(1_000_000) });
/** An address no outbound message may go to. */
export const Suppression = z.object({
  address: z.string().min(3).max(320),
  kind: z.enum(['opt_out', 'bounce', 'complaint', 'manual']),
  reason: z.string().max(1000).optional(),
});

/** The gate configuration of one tenant, as operators see it. */
export interface TenantGate {
  levels: { agent: string; action_type: string; level: string; set_by: string; set_at: Date }[];
  risks: { action_type: string; risk: string }[];
  limits: { action_type: string; per_day: number }[];
  switches: { scope: string; paused: boolean; dry_run: boolean; reason: string | null; changed_by: string; changed_at: Date }[];
  defaults: { level: string; approvalTtlMs: number; learnAfter: number; dryRun: boolean };
}

/**
 * The gate's settings in PostgreSQL: autonomy levels, risk classes, daily limits,
 * the kill switch and dry-run (global and per tenant), suppression lists. Every
 * change is a row with who made it; the gate reads them inside its decision's
 * transaction, so all processes decide on the same settings.
 */
export class GateSettings {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: RuntimeConfig,
    /** The risk an effect handler assigns to particular params (e.g. custom code is riskier than a template). */
    private readonly riskHint: (actionType: string, params: Record<string, unknown>) => RiskClass | undefined = () => undefined,
  ) {}

  /** Sets one autonomy level. */
  async setLevel(tenant: string, setting: z.input<typeof LevelSetting>, by: string): Promise<void> {
    const s = LevelSetting.parse(setting);
    await this.db.query(
      `INSERT INTO autonomy_levels (tenant, agent, action_type, level, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz)
       ON CONFLICT (tenant, agent, action_type) DO UPDATE SET level = EXCLUDED.level, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at`,
      [tenant, s.agent, s.actionType, s.level, by, this.now()],
    );
  }

  /** Removes one autonomy level (the next less specific one applies). */
  async clearLevel(tenant: string, agent: string, actionType: string): Promise<boolean> {
    const rows = await this.db.query(`DELETE FROM autonomy_levels WHERE tenant = $1 AND agent = $2 AND action_type = $3 RETURNING 1`, [tenant, agent, actionType]);
    return rows.length > 0;
  }

  async setRisk(tenant: string, setting: z.input<typeof RiskSetting>, by: string): Promise<void> {
    const s = RiskSetting.parse(setting);
    await this.setPerAction('action_risks', 'risk', tenant, s.actionType, s.risk, by);
  }

  async setLimit(tenant: string, setting: z.input<typeof LimitSetting>, by: string): Promise<void> {
    const s = LimitSetting.parse(setting);
    await this.setPerAction('rate_limits', 'per_day', tenant, s.actionType, s.perDay, by);
  }

  /** Sets a tenant's value of a per-action-type setting (a table keyed by tenant and action type). */
  private async setPerAction(
    table: 'action_risks' | 'rate_limits',
    column: 'risk' | 'per_day',
    tenant: string,
    actionType: string,
    value: unknown,
    by: string,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO ${table} (tenant, action_type, ${column}, set_by, set_at) VALUES ($1, $2, $3, $4, $5::timestamptz)
       ON CONFLICT (tenant, action_type) DO UPDATE SET ${column} = EXCLUDED.${column}, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at`,
      [tenant, actionType, value, by, this.now()],
    );
  }

  /**
   * The kill switch and dry-run, for one tenant or every tenant (`'*'`). Turning
   * the kill switch off never releases what it blocked: blocked requests stay
   * blocked until asked again.
   */
  async setSwitch(scope: string, change: { paused?: boolean; dryRun?: boolean; reason?: string }, by: string): Promise<void> {
    await this.db.query(
      `INSERT INTO gate_switches (tenant, paused, dry_run, reason, changed_by, changed_at)
       VALUES ($1, COALESCE($2::boolean, false), COALESCE($3::boolean, false), $4, $5, $6::timestamptz)
       ON CONFLICT (tenant) DO UPDATE SET paused = COALESCE($2::boolean, gate_switches.paused), dry_run = COALESCE($3::boolean, gate_switches.dry_run),
         reason = $4, changed_by = $5, changed_at = $6::timestamptz`,
      [scope, change.paused ?? null, change.dryRun ?? null, change.reason ?? null, by, this.now()],
    );
  }

  /** A tenant's approval TTL and learning threshold, over the instance defaults. */
  async setTenantSettings(tenant: string, s: { approvalTtlMs?: number | null; learnAfter?: number | null }, by: string): Promise<void> {
    await this.db.query(
      `INSERT INTO gate_settings (tenant, approval_ttl_ms, learn_after, set_by, set_at) VALUES ($1, $2, $3, $4, $5::timestamptz)
       ON CONFLICT (tenant) DO UPDATE SET approval_ttl_ms = EXCLUDED.approval_ttl_ms, learn_after = EXCLUDED.learn_after, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at`,
      [tenant, s.approvalTtlMs ?? null, s.learnAfter ?? null, by, this.now()],
    );
  }

  async suppress(tenant: string, s: z.input<typeof Suppression>, by: string): Promise<void> {
    const v = Suppression.parse(s);
    await this.db.query(
      `INSERT INTO suppressions (tenant, address, kind, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz)
       ON CONFLICT (tenant, address) DO UPDATE SET kind = EXCLUDED.kind, reason = EXCLUDED.reason, created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at`,
      [tenant, normalizeAddress(v.address), v.kind, v.reason ?? null, by, this.now()],
    );
  }

  async unsuppress(tenant: string, address: string): Promise<boolean> {
    const rows = await this.db.query(`DELETE FROM suppressions WHERE tenant = $1 AND address = $2 RETURNING 1`, [tenant, normalizeAddress(address)]);
    return rows.length > 0;
  }

  /** Everything set for a tenant, with the instance defaults. */
  async read(tenant: string): Promise<TenantGate> {
    const [levels, risks, limits, switches] = await Promise.all([
      this.db.query<TenantGate['levels'][number]>(`SELECT agent, action_type, level, set_by, set_at FROM autonomy_levels WHERE tenant = $1 ORDER BY agent, action_type`, [tenant]),
      this.db.query<TenantGate['risks'][number]>(`SELECT action_type, risk FROM action_risks WHERE tenant = $1 ORDER BY action_type`, [tenant]),
      this.db.query<TenantGate['limits'][number]>(`SELECT action_type, per_day FROM rate_limits WHERE tenant = $1 ORDER BY action_type`, [tenant]),
      this.db.query<TenantGate['switches'][number]>(
        `SELECT tenant AS scope, paused, dry_run, reason, changed_by, changed_at FROM gate_switches WHERE tenant = $1 OR tenant = '*' ORDER BY tenant`,
        [tenant],
      ),
    ]);
    const t = await this.tenantSettings(this.db, tenant);
    return { levels, risks, limits, switches, defaults: { level: this.config.defaultAutonomy, approvalTtlMs: t.approvalTtlMs, learnAfter: t.learnAfter, dryRun: this.config.dryRun } };
  }

  /** The approval TTL and learning threshold that apply to a tenant. */
  async tenantSettings(q: Queryable, tenant: string): Promise<{ approvalTtlMs: number; learnAfter: number }> {
    const rows = await q.query<{ approval_ttl_ms: string | null; learn_after: number | null }>(
      `SELECT approval_ttl_ms, learn_after FROM gate_settings WHERE tenant = $1`,
      [tenant],
    );
    return {
      approvalTtlMs: rows[0]?.approval_ttl_ms ? Number(rows[0].approval_ttl_ms) : this.config.approvalTtlMs,
      learnAfter: rows[0]?.learn_after ?? this.config.learnAfter,
    };
  }

  /** The kill switch and dry-run that apply to a tenant, from its rows and the global one. */
  private switchesOf(tenant: string, rows: { tenant: string; paused: boolean; dry_run: boolean; reason: string | null }[]): { paused: DecisionFacts['paused']; dryRun: boolean } {
    const global = rows.find((r) => r.tenant === '*');
    const own = rows.find((r) => r.tenant === tenant);
    const paused = global?.paused ? { scope: 'global' as const, reason: global.reason } : own?.paused ? { scope: 'tenant' as const, reason: own.reason } : null;
    return { paused, dryRun: this.config.dryRun || !!global?.dry_run || !!own?.dry_run };
  }

  /** The daily limit of an action type for a tenant, or null for none. */
  async limit(q: Queryable, tenant: string, actionType: string): Promise<number | null> {
    const rows = await q.query<{ per_day: number }>(`SELECT per_day FROM rate_limits WHERE tenant = $1 AND action_type = $2`, [tenant, actionType]);
    return rows[0]?.per_day ?? actionTypeInfo(actionType).perDay ?? null;
  }

  /**
   * Everything a decision needs, read inside the decision's transaction: in one
   * round trip the levels that could apply, the tenant's risk and daily limit for
   * the action type, today's use, suppressed recipients and the switches; for
   * research, a second query for overdue engagements.
   */
  async facts(q: Queryable, r: { tenant: string; agent: string; actionType: string; params: Record<string, unknown> }): Promise<DecisionFacts> {
    const now = this.clock.now();
    const info = actionTypeInfo(r.actionType);
    const to = info.outbound ? recipients(r.params) : [];
    const [row] = await q.query<{
      levels: LevelRow[];
      risk: string | null;
      per_day: number | null;
      used: number | null;
      suppressed: { address: string; kind: string }[];
      switches: { tenant: string; paused: boolean; dry_run: boolean; reason: string | null }[];
    }>(
      `SELECT
         (SELECT COALESCE(jsonb_agg(jsonb_build_object('agent', agent, 'action_type', action_type, 'level', level)), '[]'::jsonb)
            FROM autonomy_levels WHERE tenant = $1 AND agent = ANY (ARRAY[$2, '*']) AND action_type = ANY (ARRAY[$3, '*'])) AS levels,
         (SELECT risk FROM action_risks WHERE tenant = $1 AND action_type = $3) AS risk,
         (SELECT per_day FROM rate_limits WHERE tenant = $1 AND action_type = $3) AS per_day,
         (SELECT used FROM rate_usage WHERE tenant = $1 AND action_type = $3 AND day = $4::date) AS used,
         (SELECT COALESCE(jsonb_agg(jsonb_build_object('address', address, 'kind', kind)), '[]'::jsonb)
            FROM suppressions WHERE tenant = $1 AND address = ANY (SELECT jsonb_array_elements_text($5::jsonb))) AS suppressed,
         (SELECT COALESCE(jsonb_agg(jsonb_build_object('tenant', tenant, 'paused', paused, 'dry_run', dry_run, 'reason', reason)), '[]'::jsonb)
            FROM gate_switches WHERE tenant = ANY (ARRAY[$1, '*'])) AS switches`,
      [r.tenant, r.agent, r.actionType, utcDay(now), JSON.stringify(to)],
    );
    // "Overdue" is the read side's definition, asked inside this transaction, for research only.
    const overdue = info.research ? await new ReadModel(q, this.clock).anyOverdueEngagement(r.tenant, now) : false;
    const level = resolveLevel(row!.levels, r.agent, r.actionType, this.config.defaultAutonomy);
    const sw = this.switchesOf(r.tenant, row!.switches);
    const perDay = row!.per_day ?? info.perDay ?? null;
    return {
      actionType: r.actionType,
      info,
      params: r.params,
      paused: sw.paused,
      suppressed: row!.suppressed,
      engagementOverdue: overdue,
      maxRecipients: this.config.maxRecipients,
      level: level.level,
      levelScope: level.scope,
      // A tenant's setting wins; then what the handler says of these params; then the built-in class.
      risk: (row!.risk as DecisionFacts['risk'] | null) ?? this.riskHint(r.actionType, r.params) ?? info.risk,
      dryRun: sw.dryRun,
      rate: perDay === null ? null : { perDay, used: row!.used ?? 0 },
      now,
    };
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
