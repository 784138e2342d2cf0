/**
 * Governance: the audit log, autonomy (levels, risk classes, daily limits,
 * switches), level proposals learnt from approvals, and the kill switch.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AutonomyLevel, LevelSetting, LimitSetting, RiskSetting, type Proposal, type TenantGate } from '../../gate/index.ts';
import type { RouteOptions } from '../app.ts';
import { ApiError } from '../errors.ts';
import { requireRole } from '../auth.ts';
import { actingTenant, decider, guards, errors, isoOf, isoOrNull, limitParam, num, TenantQuery, tenantReads } from './actors.ts';

const AuditItem = z.object({
  id: z.number().int(),
  at: z.string(),
  entry: z.string().describe('decision, approval or execution'),
  outcome: z.string(),
  kind: z.string().nullable(),
  key: z.string().nullable(),
  agent: z.string().nullable(),
  actionType: z.string().nullable(),
  effectId: z.string().nullable(),
  approvalId: z.string().nullable(),
  risk: z.string().nullable(),
  level: z.string().nullable(),
  policy: z.string().nullable(),
  decidedBy: z.string().describe('`gate`, `expiry`, `executor`, or who decided: `token:<tokenId>`'),
  reason: z.string().nullable(),
  correlationId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});

const Autonomy = z.object({
  levels: z.array(z.object({ agent: z.string(), actionType: z.string(), level: z.string(), setBy: z.string(), setAt: z.string() })),
  risks: z.array(z.object({ actionType: z.string(), risk: z.string() })),
  limits: z.array(z.object({ actionType: z.string(), perDay: z.number().int() })),
  switches: z.array(
    z.object({
      scope: z.string().describe('`global` (every tenant) or the tenant'),
      paused: z.boolean().describe('the kill switch'),
      dryRun: z.boolean(),
      reason: z.string().nullable(),
      changedBy: z.string(),
      changedAt: z.string(),
    }),
  ),
  defaults: z.object({ level: z.string(), approvalTtlMs: z.number(), learnAfter: z.number().int(), dryRun: z.boolean() }),
});

const AutonomyChange = z
  .object({
    levels: z
      .array(LevelSetting.extend({ level: AutonomyLevel.nullable().describe('null removes the setting: the next less specific one applies') }))
      .max(200)
      .optional(),
    risks: z.array(RiskSetting).max(200).optional(),
    limits: z.array(LimitSetting).max(200).optional(),
  })
  .strict();

const ProposalItem = z.object({
  id: z.string(),
  agent: z.string(),
  actionType: z.string(),
  risk: z.string(),
  fromLevel: z.string(),
  toLevel: z.string(),
  streak: z.number().int(),
  status: z.enum(['proposed', 'accepted', 'dismissed']),
  createdAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  note: z.string().nullable(),
});

const SwitchResult = z.object({
  scope: z.string().describe('`global` or the tenant'),
  paused: z.boolean(),
  reason: z.string().nullable(),
  changedBy: z.string(),
});

const autonomyOf = (g: TenantGate): z.input<typeof Autonomy> => ({
  levels: g.levels.map((l) => ({ agent: l.agent, actionType: l.action_type, level: l.level, setBy: l.set_by, setAt: isoOf(l.set_at) })),
  risks: g.risks.map((x) => ({ actionType: x.action_type, risk: x.risk })),
  limits: g.limits.map((x) => ({ actionType: x.action_type, perDay: num(x.per_day) })),
  switches: g.switches.map((s) => ({
    scope: s.scope === '*' ? 'global' : s.scope, paused: s.paused, dryRun: s.dry_run, reason: s.reason, changedBy: s.changed_by, changedAt: isoOf(s.changed_at),
  })),
  defaults: g.defaults,
});

const proposalOf = (p: Proposal): z.input<typeof ProposalItem> => ({
  id: p.id, agent: p.agent, actionType: p.action_type, risk: p.risk, fromLevel: p.from_level, toLevel: p.to_level, streak: num(p.streak),
  status: p.status, createdAt: isoOf(p.created_at), decidedBy: p.decided_by, decidedAt: isoOrNull(p.decided_at), note: p.note,
});

/** `/v1/audit`, `/v1/autonomy…`, `/v1/pause`, `/v1/resume` */
export async function governanceRoutes(app: FastifyInstance, { runtime: rt, tokens }: RouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = guards(tokens);

  r.get('/v1/audit', {
    preValidation: guard.viewer,
    schema: {
      summary: "The tenant's audit log, newest first: gate decisions, approvals, executions, level changes",
      tags: ['governance'],
      querystring: TenantQuery.extend({
        actor: z.string().regex(/^[A-Za-z0-9_-]{1,100}\/[A-Za-z0-9_-]{1,100}$/, 'actor is kind/key').optional().describe('one actor: kind/key'),
        agent: z.string().min(1).max(200).optional(),
        since: z.iso.datetime({ offset: true }).optional().describe('entries at or after this time (ISO 8601)'),
        entry: z.enum(['decision', 'approval', 'execution']).optional(),
        outcome: z.string().max(40).optional(),
        limit: limitParam(100, 500),
        before: z.coerce.number().int().positive().optional().describe('entries older than this id'),
        after: z.coerce.number().int().positive().optional().describe('the `next` of the previous page (same as `before`)'),
      }),
      response: { 200: z.object({ items: z.array(AuditItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const q = request.query;
    const rows = await tenantReads(rt, tenant).audit({
      actor: q.actor, agent: q.agent, since: q.since, entry: q.entry, outcome: q.outcome, limit: q.limit + 1, before: q.after ?? q.before,
    });
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((a) => ({
        id: num(a.id), at: isoOf(a.at), entry: a.entry, outcome: a.outcome, kind: a.kind, key: a.key, agent: a.agent, actionType: a.action_type,
        effectId: a.effect_id, approvalId: a.approval_id, risk: a.risk, level: a.level, policy: a.policy, decidedBy: a.decided_by, reason: a.reason,
        correlationId: a.correlation_id, detail: a.detail,
      })),
      next: rows.length > q.limit ? String(num(page[page.length - 1]!.id)) : null,
    };
  });

  r.get('/v1/autonomy', {
    preValidation: guard.viewer,
    schema: {
      summary: "The tenant's autonomy levels, risk classes, daily limits and switches, with the instance defaults",
      tags: ['governance'],
      querystring: TenantQuery,
      response: { 200: Autonomy, ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    return autonomyOf(await tenantReads(rt, tenant).settings.read(tenant));
  });

  r.put('/v1/autonomy', {
    preValidation: guard.admin,
    schema: {
      summary: 'Set levels (per agent and action type; `*` for any), risk classes and daily limits; answers the settings after',
      description: 'Everything is validated before anything is set; each setting is then applied in the order given.',
      tags: ['governance'],
      querystring: TenantQuery,
      body: AutonomyChange,
      response: { 200: Autonomy, ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'admin', tokens);
    const by = decider(request);
    const s = rt.gate.settings;
    for (const l of request.body.levels ?? []) {
      if (l.level === null) await s.clearLevel(tenant, l.agent, l.actionType);
      else await s.setLevel(tenant, { agent: l.agent, actionType: l.actionType, level: l.level }, by);
    }
    for (const x of request.body.risks ?? []) await s.setRisk(tenant, x, by);
    for (const x of request.body.limits ?? []) await s.setLimit(tenant, x, by);
    return autonomyOf(await s.read(tenant));
  });

  r.get('/v1/autonomy/proposals', {
    preValidation: guard.viewer,
    schema: {
      summary: 'Level changes Cadre proposes after streaks of approvals',
      tags: ['governance'],
      querystring: TenantQuery.extend({ status: z.enum(['proposed', 'accepted', 'dismissed', 'all']).default('proposed') }),
      response: { 200: z.object({ items: z.array(ProposalItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    return { items: (await tenantReads(rt, tenant).proposals.list(tenant, request.query.status)).map(proposalOf), next: null };
  });

  for (const verb of ['accept', 'dismiss'] as const) {
    r.post(`/v1/autonomy/proposals/:id/${verb}`, {
      preValidation: guard.admin,
      schema: {
        summary: verb === 'accept' ? 'Accept a proposal: the level is set for that agent and action type' : 'Dismiss a proposal: levels stay, the streak starts again',
        tags: ['governance'],
        params: z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'a proposal id, such as prop_9a2f…') }),
        querystring: TenantQuery,
        body: z.object({ note: z.string().max(2000).optional() }).nullish(),
        response: { 200: ProposalItem, ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'admin', tokens);
      const by = decider(request);
      const p = verb === 'accept' ? await rt.proposals.accept(tenant, request.params.id, by, request.body?.note) : await rt.proposals.dismiss(tenant, request.params.id, by, request.body?.note);
      return proposalOf(p);
    });
  }

  /** Who may switch: the instance admin every tenant (`scope: 'global'`), an operator the own tenant. */
  const switchScope = async (request: FastifyRequest, global: boolean): Promise<string> => {
    if (!global) return actingTenant(request, 'operator', tokens);
    const auth = requireRole(request, 'admin');
    if (!auth.instanceAdmin) throw new ApiError(403, 'forbidden', 'only the instance admin switches every tenant');
    return '*';
  };
  const isGlobal = (body: unknown) => (body as { scope?: unknown } | null | undefined)?.scope === 'global';

  for (const verb of ['pause', 'resume'] as const) {
    r.post(`/v1/${verb}`, {
      preValidation: async (request) => void (await switchScope(request, isGlobal(request.body))),
      schema: {
        summary:
          verb === 'pause'
            ? 'The kill switch on: no effect runs (each blocked attempt is audited)'
            : 'The kill switch off: what was blocked stays blocked until asked again',
        description: "An operator switches the own tenant; the instance admin switches every tenant with { scope: 'global' }.",
        tags: ['governance'],
        querystring: TenantQuery,
        body: z
          .object({
            scope: z.enum(['tenant', 'global']).default('tenant'),
            reason: z.string().max(1000).optional(),
          })
          .nullish(),
        response: { 200: SwitchResult, ...errors },
      },
    }, async (request) => {
      const scope = await switchScope(request, isGlobal(request.body));
      const by = decider(request);
      const reason = request.body?.reason ?? null;
      await rt.gate.settings.setSwitch(scope, { paused: verb === 'pause', reason: reason ?? undefined }, by);
      return { scope: scope === '*' ? 'global' : scope, paused: verb === 'pause', reason, changedBy: by };
    });
  }
}
