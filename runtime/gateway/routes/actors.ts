/**
 * Actor routes: list (read side), show, history, send an event, pause / resume /
 * stop; dead letters: list, replay, discard. Also the helpers the other route
 * modules share (the problem schema, the acting tenant, who decided).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Token } from '../../../bus/index.ts';
import { MessageTooLargeError } from '../../send.ts';
import { Operator } from '../../operator.ts';
import { ReadModel } from '../../read/index.ts';
import { Approvals, GateSettings, Proposals, readAudit, type AuditQuery, type AuditRow } from '../../gate/index.ts';
import type { Runtime } from '../../runtime.ts';
import type { RouteOptions } from '../app.ts';
import { ApiError } from '../errors.ts';
import { tenantOf } from '../auth.ts';
import { tenantDatabase } from '../tenant-scope.ts';
import type { Role, Tokens } from '../tokens.ts';

// ——— shared by the route modules ———

/** An error response: `application/problem+json` (RFC 9457) with a stable `code`. */
export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('stable error code; docs/gateway.md lists them'),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
  })
  .describe('application/problem+json');
/** Error responses of every route, for the OpenAPI document. */
export const errors = { '4xx': Problem, '5xx': Problem } as const;

/** `?tenant=`: the instance admin may name the tenant here instead of the X-Cadre-Tenant header. */
export const TenantQuery = z.object({ tenant: z.string().max(100).optional().describe('instance admin only: the tenant acted on (or X-Cadre-Tenant)') });

/** `limit` of a list. */
export const limitParam = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def).describe(`at most ${max}; default ${def}`);

/** A time as ISO text. */
export const isoOf = (d: Date | string): string => new Date(d).toISOString();
/** A time as ISO text; null stays null. */
export const isoOrNull = (d: Date | string | null | undefined): string | null => (d == null ? null : isoOf(d));
/** A `bigint` column (a string or a number, by driver) as a number. */
export const num = (v: unknown): number => Number(v);

/**
 * Who is acting, as the records name them (approvals' and the audit log's
 * `decided_by`, the journal's control events, the switches' `changed_by`):
 * `token:<tokenId>`, `token:instance-admin` for the instance admin. A token id is
 * stable and unique; its name and tenant are in `GET /v1/tokens`.
 */
export function decider(request: FastifyRequest): string {
  if (!request.auth) throw new ApiError(401, 'unauthorized', 'a bearer token is needed: Authorization: Bearer <token>');
  return `token:${request.auth.tokenId}`;
}

const existing = new WeakMap<FastifyRequest, string>();

/** The tenant a request acts on, with at least `role`; the tenant the instance admin names must exist. */
export async function actingTenant(request: FastifyRequest, role: Role, tokens: Tokens): Promise<string> {
  const tenant = tenantOf(request, role);
  if (request.auth?.instanceAdmin && existing.get(request) !== tenant) {
    if (!(await tokens.tenantExists(tenant))) throw new ApiError(404, 'unknown_tenant', `there is no tenant ${tenant}`);
    existing.set(request, tenant);
  }
  return tenant;
}

/**
 * `preValidation` hooks that check the role and the tenant before the input is
 * validated: a caller who may not use a route learns nothing from it.
 * @example r.get('/v1/x', { preValidation: guard.viewer, schema }, handler)
 */
export function guards(tokens: Tokens): Record<Role, (request: FastifyRequest) => Promise<void>> {
  const hook = (role: Role) => async (request: FastifyRequest) => void (await actingTenant(request, role, tokens));
  return { viewer: hook('viewer'), operator: hook('operator'), admin: hook('admin') };
}

/** What the read routes read with: only reads, each query under row-level security. */
export interface TenantReads {
  read: Pick<ReadModel, 'query'>;
  operator: Pick<Operator, 'actor' | 'history' | 'deadLetters'>;
  approvals: Pick<Approvals, 'list' | 'get'>;
  settings: Pick<GateSettings, 'read'>;
  proposals: Pick<Proposals, 'list'>;
  audit(query: AuditQuery): Promise<AuditRow[]>;
}

/**
 * The read services of one request, made on {@link tenantDatabase}: every query
 * they make runs as `cadre_tenant` with `tenant` set, so one that forgot its
 * `WHERE tenant = $1` still sees only this tenant's rows (migrations/006_rls.sql).
 * Writes (send, control, decisions, settings) go through the runtime's own services.
 * @example const a = await tenantReads(rt, tenant).operator.actor({ tenant, kind, key });
 */
export function tenantReads(rt: Runtime, tenant: string): TenantReads {
  const db = tenantDatabase(rt.db, tenant);
  return {
    read: new ReadModel(db, rt.clock),
    operator: new Operator(db, rt.send, rt.clock),
    // list and get only read `db`; the rest is what the constructor asks for.
    approvals: new Approvals(db, rt.clock, rt.subjects, rt.relay, rt.gate.settings, rt.config, rt.log),
    settings: new GateSettings(db, rt.clock, rt.config),
    proposals: new Proposals(db, () => new Date(rt.clock.now()).toISOString()),
    audit: (query) => readAudit(db, tenant, query),
  };
}

// ——— schemas ———

const KindKey = z.object({ kind: Token, key: Token });

const ActorItem = z.object({
  kind: z.string(),
  key: z.string(),
  state: z.string().describe('the state value as one string: `open.lead`, parallel regions joined by `|`'),
  status: z.enum(['active', 'paused', 'stopped']),
  context: z.record(z.string(), z.unknown()),
  updatedAt: z.string(),
});

const ApprovalSummary = z.object({
  id: z.string(),
  agent: z.string(),
  actionType: z.string(),
  risk: z.string(),
  level: z.string(),
  preview: z.string(),
  requestedAt: z.string(),
  expiresAt: z.string(),
});

const ActorDetail = z.object({
  kind: z.string(),
  key: z.string(),
  state: z.string(),
  stateValue: z.unknown(),
  status: z.enum(['active', 'paused', 'stopped']),
  machineStatus: z.string(),
  seq: z.number().int(),
  context: z.record(z.string(), z.unknown()),
  version: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  heldMessages: z.number().int(),
  timers: z.array(z.object({ id: z.string(), dueAt: z.string(), setSeq: z.number().int(), event: z.unknown() })),
  pendingEffects: z.array(
    z.object({
      id: z.string(),
      actionType: z.string(),
      status: z.string(),
      attempts: z.number().int(),
      maxAttempts: z.number().int(),
      nextAttemptAt: z.string(),
      lastError: z.string().nullable(),
    }),
  ),
  approvals: z.array(ApprovalSummary).describe('approvals of this actor still pending'),
});

const HistoryItem = z.object({
  seq: z.number().int(),
  messageId: z.string(),
  eventType: z.string(),
  event: z.record(z.string(), z.unknown()),
  state: z.string(),
  correlationId: z.string(),
  causationId: z.string().nullable(),
  sender: z.string(),
  committedAt: z.string(),
});

const Applied = z.object({
  ok: z.literal(true),
  id: z.string().describe('the message id'),
  seq: z.number().int(),
  state: z.string().describe('the state after the event; `held` while the actor is paused, `ignored` when it had no effect'),
  duplicate: z.boolean(),
});
const Queued = z.object({ ok: z.literal(true), id: z.string(), queued: z.literal(true) });

const ControlResult = z.object({
  id: z.string().describe('the control message id'),
  seq: z.number().int(),
  state: z.string(),
  status: z.enum(['active', 'paused', 'stopped']),
  changed: z.boolean().describe('false when the actor already was so'),
});

const DeadLetterItem = z.object({
  id: z.number().int(),
  messageId: z.string().nullable(),
  kind: z.string().nullable(),
  key: z.string().nullable(),
  subject: z.string(),
  code: z.string(),
  reason: z.string(),
  payload: z.string(),
  payloadEncoding: z.enum(['utf8', 'base64']),
  deliveryCount: z.number().int(),
  status: z.enum(['open', 'replayed', 'discarded']),
  createdAt: z.string(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
});

/** A body that may be left out (Fastify gives `null` then). */
const Reason = z.object({ reason: z.string().max(1000).optional() }).nullish();
const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, 'Idempotency-Key is 1 to 200 visible ASCII characters')
  .optional()
  .describe('the same key for the same actor is applied once; the message id is derived from it');

/** Event types the runtime and XState keep for themselves. */
const RESERVED = ['cadre.', 'xstate.'];

/**
 * The message id for an `Idempotency-Key`: the tenant, actor and key, so that
 * keys of different tenants or actors never meet in the bus's deduplication.
 */
function idempotentId(tenant: string, kind: string, key: string, idem: string): string {
  const plain = `idem:${tenant}/${kind}/${key}/${idem}`;
  return plain.length <= 300 ? plain : `idem:${createHash('sha256').update(`${tenant}\n${kind}\n${key}\n${idem}`).digest('hex')}`;
}

// ——— routes ———

/** `/v1/actors…` */
export async function actorRoutes(app: FastifyInstance, { runtime: rt, tokens }: RouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = guards(tokens);

  r.get('/v1/actors', {
    preValidation: guard.viewer,
    schema: {
      summary: 'List actors of a kind by state, from the committed snapshots',
      tags: ['actors'],
      querystring: TenantQuery.extend({
        kind: Token.describe('the kind of actor: order, deal, bid, contact, …'),
        state: z.string().max(300).optional().describe('this state or one nested in it (`open` matches `open.lead`)'),
        limit: limitParam(100, 1000),
        after: z.string().min(1).max(4000).optional().describe('the `next` of the previous page'),
      }),
      response: { 200: z.object({ items: z.array(ActorItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const q = request.query;
    return tenantReads(rt, tenant).read.query(tenant, { kind: q.kind, state: q.state, limit: q.limit, after: q.after });
  });

  r.get('/v1/actors/:kind/:key', {
    preValidation: guard.viewer,
    schema: {
      summary: "One actor: state, context, status, sequence number, pending timers and effects, open approvals",
      tags: ['actors'],
      params: KindKey,
      querystring: TenantQuery,
      response: { 200: ActorDetail, ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const { kind, key } = request.params;
    const reads = tenantReads(rt, tenant);
    const a = await reads.operator.actor({ tenant, kind, key });
    if (!a) throw new ApiError(404, 'not_found', `there is no actor ${kind}/${key}`);
    const open = await reads.approvals.list(tenant, { status: 'pending', kind, key, limit: 100 });
    return {
      kind: a.kind, key: a.key, state: a.state, stateValue: a.state_value, status: a.status, machineStatus: a.machine_status, seq: num(a.seq),
      context: a.context, version: a.version, createdAt: isoOf(a.created_at), updatedAt: isoOf(a.updated_at), heldMessages: a.heldMessages,
      timers: a.timers.map((t) => ({ id: t.timer_id, dueAt: isoOf(t.due_at), setSeq: num(t.set_seq), event: t.event })),
      pendingEffects: a.pendingEffects.map((e) => ({
        id: e.id, actionType: e.action_type, status: e.status, attempts: e.attempts, maxAttempts: e.max_attempts,
        nextAttemptAt: isoOf(e.next_attempt_at), lastError: e.last_error,
      })),
      approvals: open.map((p) => ({
        id: p.id, agent: p.agent, actionType: p.action_type, risk: p.risk, level: p.level, preview: p.preview,
        requestedAt: isoOf(p.requested_at), expiresAt: isoOf(p.expires_at),
      })),
    };
  });

  r.get('/v1/actors/:kind/:key/history', {
    preValidation: guard.viewer,
    schema: {
      summary: "An actor's journal, oldest first: each committed message and the state it led to",
      tags: ['actors'],
      params: KindKey,
      querystring: TenantQuery.extend({
        after: z.coerce.number().int().min(0).optional().describe('entries after this sequence number (the `next` of the previous page)'),
        limit: limitParam(100, 500),
      }),
      response: { 200: z.object({ items: z.array(HistoryItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const { kind, key } = request.params;
    const { after, limit } = request.query;
    const { operator } = tenantReads(rt, tenant);
    const rows = await operator.history({ tenant, kind, key }, { afterSeq: after ?? 0, limit: limit + 1 });
    if (rows.length === 0 && !(await operator.actor({ tenant, kind, key }))) throw new ApiError(404, 'not_found', `there is no actor ${kind}/${key}`);
    const page = rows.slice(0, limit);
    return {
      items: page.map((j) => ({
        seq: num(j.seq), messageId: j.message_id, eventType: j.event_type, event: j.event, state: j.state, correlationId: j.correlation_id,
        causationId: j.causation_id, sender: j.sender, committedAt: isoOf(j.committed_at),
      })),
      next: rows.length > limit ? String(num(page[page.length - 1]!.seq)) : null,
    };
  });

  r.post('/v1/actors/:kind/:key/events', {
    preValidation: guard.operator,
    schema: {
      summary: 'Send an event to an actor (validated against its kind\'s events); `?wait=true` answers with the committed outcome',
      tags: ['actors'],
      params: KindKey,
      querystring: TenantQuery.extend({ wait: z.enum(['true', 'false', '1', '0']).optional().describe('wait for the commit (up to 10 s)') }),
      headers: z.looseObject({ 'idempotency-key': IdempotencyKey }),
      body: z.looseObject({ type: z.string().min(1).max(200) }).describe("the event: its `type` and fields, as the kind's schema says"),
      response: { 200: Applied, 202: Queued, ...errors },
    },
  }, async (request, reply) => {
    const tenant = await actingTenant(request, 'operator', tokens);
    const { kind, key } = request.params;
    const event = request.body;
    if (RESERVED.some((p) => event.type.startsWith(p))) {
      throw new ApiError(400, 'reserved_event', `event types starting with ${RESERVED.join(' or ')} are the runtime's own; they cannot be sent from outside`);
    }
    const def = rt.host.kinds.get(kind)?.def;
    if (!def) throw new ApiError(404, 'unknown_kind', `there is no kind ${kind}; known kinds: ${[...rt.host.kinds.keys()].join(', ')}`);
    const parsed = def.events.safeParse(event);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
      throw new ApiError(422, 'invalid_event', `${event.type} is not an event ${kind} accepts: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, { issues });
    }
    const idem = request.headers['idempotency-key'];
    const wait = request.query.wait === 'true' || request.query.wait === '1';
    let result;
    try {
      result = await rt.send.send({ tenant, kind, key }, event, {
        wait,
        id: typeof idem === 'string' ? idempotentId(tenant, kind, key, idem) : undefined,
        from: `external:${decider(request)}`,
      });
    } catch (err) {
      if (err instanceof MessageTooLargeError) throw new ApiError(413, 'payload_too_large', err.message);
      throw err;
    }
    if ('queued' in result) return reply.status(202).send(result);
    if (!result.ok) {
      throw new ApiError(422, 'event_refused', `${kind}/${key} refused ${event.type} (${result.code}): ${result.reason}`, { messageId: result.id, deadLetterCode: result.code });
    }
    return reply.status(200).send(result);
  });

  for (const action of ['pause', 'resume', 'stop'] as const) {
    r.post(`/v1/actors/:kind/:key/${action}`, {
      preValidation: guard.operator,
      schema: {
        summary: {
          pause: 'Pause an actor: its messages are held, in order, until it is resumed',
          resume: 'Resume a paused actor: held messages are applied first',
          stop: 'Stop an actor for good: later messages become dead letters',
        }[action],
        tags: ['actors'],
        params: KindKey,
        querystring: TenantQuery,
        body: Reason,
        response: { 200: ControlResult, ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'operator', tokens);
      const { kind, key } = request.params;
      const address = { tenant, kind, key };
      const before = await rt.operator.actor(address);
      // Refused here rather than in the mailbox, where a refusal is a dead letter.
      if (!before) throw new ApiError(404, 'not_found', `there is no actor ${kind}/${key}`);
      if (before.status === 'stopped') throw new ApiError(409, 'actor_stopped', `${kind}/${key} is stopped; stopping is final`);
      const result = await rt.operator.control(address, action, decider(request), request.body?.reason);
      if ('queued' in result) throw new ApiError(500, 'internal', 'the control message was not waited for');
      if (!result.ok) {
        if (result.code === 'actor_not_found') throw new ApiError(404, 'not_found', result.reason);
        throw new ApiError(409, result.code, result.reason);
      }
      const now = await rt.operator.actor(address);
      return { id: result.id, seq: result.seq, state: now?.state ?? result.state, status: now?.status ?? 'active', changed: result.state !== 'ignored' };
    });
  }

  r.get('/v1/dead-letters', {
    preValidation: guard.viewer,
    schema: {
      summary: 'Dead letters: messages that could not be applied, with the reason; newest first',
      tags: ['dead letters'],
      querystring: TenantQuery.extend({
        status: z.enum(['open', 'replayed', 'discarded']).optional(),
        kind: Token.optional(),
        key: Token.optional(),
        limit: limitParam(50, 500),
        after: z.coerce.number().int().positive().optional().describe('the `next` of the previous page'),
      }),
      response: { 200: z.object({ items: z.array(DeadLetterItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const q = request.query;
    const rows = await tenantReads(rt, tenant).operator.deadLetters(tenant, { status: q.status, kind: q.kind, key: q.key, limit: q.limit + 1, beforeId: q.after });
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((d) => ({
        id: num(d.id), messageId: d.message_id, kind: d.kind, key: d.key, subject: d.subject, code: d.code, reason: d.reason, payload: d.payload,
        payloadEncoding: d.payload_encoding, deliveryCount: num(d.delivery_count), status: d.status, createdAt: isoOf(d.created_at),
        resolvedAt: isoOrNull(d.resolved_at), resolvedBy: d.resolved_by,
      })),
      next: rows.length > q.limit ? String(num(page[page.length - 1]!.id)) : null,
    };
  });

  const DeadLetterId = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
  r.post('/v1/dead-letters/:id/replay', {
    preValidation: guard.operator,
    schema: {
      summary: "Send a dead letter's message to its actor again (under a new id) and mark it replayed",
      tags: ['dead letters'],
      params: DeadLetterId,
      querystring: TenantQuery,
      response: { 200: z.object({ id: z.number().int(), status: z.literal('replayed'), messageId: z.string() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'operator', tokens);
    const { messageId } = await rt.operator.replay(tenant, request.params.id, decider(request));
    return { id: request.params.id, status: 'replayed' as const, messageId };
  });

  r.post('/v1/dead-letters/:id/discard', {
    preValidation: guard.operator,
    schema: {
      summary: 'Mark a dead letter handled without replaying it',
      tags: ['dead letters'],
      params: DeadLetterId,
      querystring: TenantQuery,
      response: { 200: z.object({ id: z.number().int(), status: z.literal('discarded') }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'operator', tokens);
    await rt.operator.discard(tenant, request.params.id, decider(request));
    return { id: request.params.id, status: 'discarded' as const };
  });
}
