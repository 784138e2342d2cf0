/**
 * The approval queue: list (by status, risk, agent, action type, age; cursor
 * pages), show (preview and params), approve, reject, bulk.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Approval } from '../../gate/index.ts';
import type { RouteOptions } from '../app.ts';
import { ApiError } from '../errors.ts';
import { actingTenant, decider, guards, errors, isoOf, isoOrNull, limitParam, TenantQuery, tenantReads } from './actors.ts';

/** An approval id (`apr_…`). */
const Id = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'an approval id, such as apr_1c0d…');

const Status = z.enum(['pending', 'approved', 'rejected', 'expired', 'withdrawn']);

const ApprovalItem = z.object({
  id: z.string(),
  effectId: z.string(),
  kind: z.string(),
  key: z.string(),
  agent: z.string(),
  actionType: z.string(),
  risk: z.string(),
  level: z.string(),
  preview: z.string().describe('what approving releases, in one line'),
  status: Status,
  correlationId: z.string(),
  requestedAt: z.string(),
  expiresAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  note: z.string().nullable(),
});
const ApprovalDetail = ApprovalItem.extend({ params: z.record(z.string(), z.unknown()).describe('the whole effect approving releases') });

/** A body that may be left out (Fastify gives `null` then). */
const Note = z.object({ note: z.string().max(2000).optional() }).nullish();

const item = (p: Approval): z.input<typeof ApprovalItem> => ({
  id: p.id, effectId: p.effect_id, kind: p.kind, key: p.key, agent: p.agent, actionType: p.action_type, risk: p.risk, level: p.level,
  preview: p.preview, status: p.status, correlationId: p.correlation_id, requestedAt: isoOf(p.requested_at), expiresAt: isoOf(p.expires_at),
  decidedBy: p.decided_by, decidedAt: isoOrNull(p.decided_at), note: p.note,
});
const detail = (p: Approval): z.input<typeof ApprovalDetail> => ({ ...item(p), params: p.params });

const DURATION = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Seconds in `olderThan`: a number of seconds, or an ISO 8601 duration (`PT2H`, `P1DT12H`, `P2W`); null if neither. */
export function durationSeconds(s: string): number | null {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const m = DURATION.exec(s);
  if (!m) return null;
  const [w, d, h, min, sec] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number];
  return (((w * 7 + d) * 24 + h) * 60 + min) * 60 + sec;
}

/** The cursor of the approval queue: the last row's request time and id, opaque to clients. */
const cursor = {
  encode: (p: Approval) => Buffer.from(JSON.stringify({ t: isoOf(p.requested_at), id: p.id })).toString('base64url'),
  decode(s: string): { requestedAt: string; id: string } {
    try {
      const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { t?: unknown; id?: unknown };
      if (typeof v.t === 'string' && !Number.isNaN(Date.parse(v.t)) && typeof v.id === 'string') return { requestedAt: new Date(v.t).toISOString(), id: v.id };
    } catch {
      // not JSON: refused below
    }
    throw new ApiError(400, 'invalid_cursor', '`after` is not the `next` of a previous page');
  },
};

/** `/v1/approvals…` */
export async function approvalRoutes(app: FastifyInstance, { runtime: rt, tokens }: RouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = guards(tokens);

  r.get('/v1/approvals', {
    preValidation: guard.viewer,
    schema: {
      summary: 'The approval queue, newest first',
      tags: ['approvals'],
      querystring: TenantQuery.extend({
        status: Status.optional(),
        risk: z.enum(['low', 'medium', 'high', 'critical']).optional(),
        agent: z.string().min(1).max(200).optional(),
        actionType: z.string().min(1).max(200).optional(),
        olderThan: z
          .string()
          .max(40)
          .refine((s) => durationSeconds(s) !== null, 'olderThan is seconds (3600) or an ISO 8601 duration (PT1H, P2D)')
          .optional()
          .describe('requested at least this long ago: seconds, or an ISO 8601 duration (PT1H, P2D)'),
        limit: limitParam(100, 500),
        after: z.string().min(1).max(1000).optional().describe('the `next` of the previous page'),
      }),
      response: { 200: z.object({ items: z.array(ApprovalItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const q = request.query;
    const age = q.olderThan === undefined ? null : durationSeconds(q.olderThan)!;
    const rows = await tenantReads(rt, tenant).approvals.list(tenant, {
      status: q.status, risk: q.risk, agent: q.agent, actionType: q.actionType, limit: q.limit + 1,
      requestedBefore: age === null ? undefined : new Date(rt.clock.now() - age * 1000).toISOString(),
      after: q.after ? cursor.decode(q.after) : undefined,
    });
    const page = rows.slice(0, q.limit);
    return { items: page.map(item), next: rows.length > q.limit ? cursor.encode(page[page.length - 1]!) : null };
  });

  r.get('/v1/approvals/:id', {
    preValidation: guard.viewer,
    schema: {
      summary: 'One approval, with its preview and the params approving releases',
      tags: ['approvals'],
      params: z.object({ id: Id }),
      querystring: TenantQuery,
      response: { 200: ApprovalDetail, ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const p = await tenantReads(rt, tenant).approvals.get(tenant, request.params.id);
    if (!p) throw new ApiError(404, 'not_found', `there is no approval ${request.params.id}`);
    return detail(p);
  });

  for (const verb of ['approve', 'reject'] as const) {
    r.post(`/v1/approvals/:id/${verb}`, {
      preValidation: guard.operator,
      schema: {
        summary: verb === 'approve' ? 'Approve: the held effect is released to run' : 'Reject: the actor is told, nothing runs',
        description: '409 when the approval was already decided, expired or withdrawn; nothing changes then.',
        tags: ['approvals'],
        params: z.object({ id: Id }),
        querystring: TenantQuery,
        body: Note,
        response: { 200: ApprovalDetail, ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'operator', tokens);
      const { id } = request.params;
      const by = decider(request);
      const p = verb === 'approve' ? await rt.approvals.approve(tenant, id, by, request.body?.note) : await rt.approvals.reject(tenant, id, by, request.body?.note);
      return detail(p);
    });
  }

  r.post('/v1/approvals/bulk', {
    preValidation: guard.operator,
    schema: {
      summary: 'Approve or reject up to 500 approvals; each is decided on its own, with its result',
      tags: ['approvals'],
      querystring: TenantQuery,
      body: z.object({
        ids: z.array(Id).min(1).max(500),
        decision: z.enum(['approve', 'reject']),
        note: z.string().max(2000).optional(),
      }),
      response: {
        200: z.object({
          decided: z.number().int(),
          refused: z.number().int(),
          results: z.array(
            z.object({
              id: z.string(),
              ok: z.boolean(),
              status: Status.optional().describe('the approval\'s status once decided'),
              code: z.string().optional().describe('why not: not_found, conflict, expired, withdrawn'),
              error: z.string().optional(),
            }),
          ),
        }),
        ...errors,
      },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'operator', tokens);
    const { ids, decision, note } = request.body;
    const out = await rt.approvals.bulk(tenant, ids, decision, decider(request), note);
    const results = out.map((o) => (o.ok ? { id: o.id, ok: true, status: o.approval.status } : { id: o.id, ok: false, code: o.code, error: o.error }));
    const decided = results.filter((x) => x.ok).length;
    return { decided, refused: results.length - decided, results };
  });
}
