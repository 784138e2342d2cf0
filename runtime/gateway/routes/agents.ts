/**
 * The department agents (docs/agents.md): their schedules (list, change, Run Now),
 * their runs (newest first, cursor pages; one run with its actions), the delegations
 * between them, and each agent's live state from the read side.
 *
 * Reads go through the tenant wall (row-level security: `schedules`, `agent_runs`,
 * `delegations` and the agents' snapshots are read on {@link tenantDatabase});
 * changes (PATCH, Run Now) run as the runtime's own role, like the other writes.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ReadModel } from '../../read/index.ts';
import { ScheduleError, SchedulePatch, type Schedule } from '../../agents/schedules.ts';
import { RunCursorError, RunQuery, type RunRecord } from '../../agents/runs.ts';
import { DelegationQuery, type DelegationRow } from '../../agents/delegations.ts';
import type { AgentDefinition } from '../../../agents/types.ts';
import type { AgentContext } from '../../../agents/machine.ts';
import type { RouteOptions } from '../app.ts';
import { ApiError } from '../errors.ts';
import { tenantDatabase } from '../tenant-scope.ts';
import { actingTenant, decider, errors, guards, limitParam, TenantQuery } from './actors.ts';

// ——— schemas ———

/** A schedule's name: its job's name, such as `sales-pipeline-review`. */
const ScheduleName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/, 'a schedule name, such as sales-pipeline-review');
/** A run id (a UUID). */
const RunId = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'a run id, such as 0b6c2f0e-…');

const ScheduleItem = z.object({
  name: z.string(),
  agent: z.string(),
  job: z.string(),
  description: z.string().nullable().describe("the job's description from the agent's definition; null when this runtime no longer defines the job"),
  cron: z.string().describe('five fields: minute hour day-of-month month day-of-week'),
  timezone: z.string(),
  enabled: z.boolean(),
  missed: z.enum(['skip', 'run_once']).describe('what becomes of occurrences that passed while no runtime ran'),
  timeoutMs: z.number().int().describe("the planning time limit of the job's runs"),
  nextDueAt: z.string().nullable(),
  lastRunId: z.string().nullable(),
  lastFiredAt: z.string().nullable(),
  updatedAt: z.string(),
  updatedBy: z.string().describe('`token:<tokenId>` for a change through the API, the operator for `cadre schedules set`, `cadre` until changed'),
});

const RunStatus = z.enum(['queued', 'planning', 'acting', 'completed', 'failed', 'skipped']);

const RunActionItem = z.object({
  index: z.number().int(),
  actionType: z.string(),
  preview: z.string(),
  target: z.string().nullable(),
  task: z.string().nullable().describe('the task actor (`task/<key>`) that asked the gate; its approval has kind `task` and this key'),
  outcome: z.string().describe('pending, done, awaiting_approval, held, blocked, rejected, expired, escalated, dropped, delegated, sent, published, refused'),
  detail: z.string().nullable(),
});

const RunItem = z.object({
  id: z.string(),
  agent: z.string(),
  job: z.string(),
  trigger: z.string().describe('schedule, catch_up, manual (Run Now), event, delegation'),
  occurrence: z.string(),
  schedule: z.string().nullable(),
  status: RunStatus,
  planner: z.string().nullable(),
  attempts: z.number().int(),
  requestedAt: z.string(),
  dueAt: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  summary: z.string().nullable(),
  findings: z.record(z.string(), z.unknown()).nullable(),
  actions: z.array(RunActionItem).nullable().describe('set when the run completed'),
  counts: z.record(z.string(), z.number()).nullable().describe('actions by outcome, and `requested`'),
  hints: z.array(z.string()).nullable(),
  error: z.string().nullable(),
  delegationId: z.string().nullable(),
  requestedBy: z.string(),
  input: z.record(z.string(), z.unknown()),
});

const DelegationStatus = z.enum(['requested', 'accepted', 'declined', 'completed', 'timed_out']);

const DelegationItem = z.object({
  id: z.string(),
  from: z.string(),
  to: z.string(),
  task: z.string(),
  input: z.record(z.string(), z.unknown()),
  status: DelegationStatus,
  deadline: z.string(),
  requestedAt: z.string(),
  settledAt: z.string().nullable(),
  reason: z.string().nullable(),
  summary: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  requestingRun: z.string().nullable(),
  runId: z.string().nullable().describe("the delegate's run"),
  late: z.boolean().describe('the result came after the deadline'),
});

const AgentItem = z.object({
  name: z.string(),
  title: z.string(),
  mission: z.string(),
  state: z.string().nullable().describe("the agent actor's state (`cycle.idle|delegations.tracking`); null until it first ran"),
  status: z.enum(['active', 'paused', 'stopped']).nullable(),
  updatedAt: z.string().nullable(),
  queued: z.number().int().describe('planned runs waiting behind the current one'),
  current: z.object({ runId: z.string(), job: z.string(), trigger: z.string(), startedAt: z.string(), actions: z.number().int() }).nullable(),
  stats: z.object({ runs: z.number().int(), actions: z.number().int(), refusedRuns: z.number().int() }),
  recent: z.array(z.object({ runId: z.string(), job: z.string(), finishedAt: z.string(), counts: z.record(z.string(), z.number()) })).describe('the last runs, newest first'),
  delegations: z
    .array(z.object({ id: z.string(), direction: z.string(), from: z.string(), to: z.string(), task: z.string(), status: z.string(), deadline: z.string(), requestedAt: z.string() }))
    .describe('delegations still open (requested or accepted), both ways'),
  jobs: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      cron: z.string().describe("the definition's cron; the tenant's is in `schedule`"),
      missed: z.enum(['skip', 'run_once']),
      schedule: z.object({ cron: z.string(), timezone: z.string(), enabled: z.boolean(), nextDueAt: z.string().nullable() }).nullable(),
    }),
  ),
  reactions: z.array(z.object({ event: z.string(), priority: z.string(), description: z.string() })),
  accepts: z.array(z.object({ name: z.string(), description: z.string() })).describe('tasks other agents may delegate to it'),
});

// ——— mapping ———

const jobOf = (defs: readonly AgentDefinition[], agent: string, job: string) => defs.find((a) => a.name === agent)?.jobs.find((j) => j.name === job);

const scheduleOf = (defs: readonly AgentDefinition[], s: Schedule): z.input<typeof ScheduleItem> => ({ ...s, description: jobOf(defs, s.agent, s.job)?.description ?? null });

/** The stored actions as the API shows them (each field present, null when unknown). */
const runOf = (r: RunRecord): z.input<typeof RunItem> => ({
  ...r,
  actions:
    r.actions?.map((raw) => {
      const a = raw as Partial<z.infer<typeof RunActionItem>>;
      return { index: a.index ?? 0, actionType: a.actionType ?? '', preview: a.preview ?? '', target: a.target ?? null, task: a.task ?? null, outcome: a.outcome ?? 'pending', detail: a.detail ?? null };
    }) ?? null,
});

const delegationOf = (d: DelegationRow): z.input<typeof DelegationItem> => d;

/** An agent's definition joined with its live context (absent until the agent first ran). */
function agentOf(def: AgentDefinition, schedules: Schedule[], live: { state: string; status: 'active' | 'paused' | 'stopped'; updatedAt: string; context: Record<string, unknown> } | undefined): z.input<typeof AgentItem> {
  const c = (live?.context ?? {}) as Partial<AgentContext>;
  const run = c.run ?? null;
  return {
    name: def.name,
    title: def.title,
    mission: def.mission,
    state: live?.state ?? null,
    status: live?.status ?? null,
    updatedAt: live?.updatedAt ?? null,
    queued: c.queue?.length ?? 0,
    current: run ? { runId: run.runId, job: run.job, trigger: run.trigger, startedAt: run.startedAt, actions: run.actions.length } : null,
    stats: { runs: c.stats?.runs ?? 0, actions: c.stats?.actions ?? 0, refusedRuns: c.stats?.refusedRuns ?? 0 },
    recent: (c.recent ?? []).map((r) => ({ runId: r.runId, job: r.job, finishedAt: r.finishedAt, counts: r.counts })),
    delegations: Object.values(c.delegations ?? {})
      .filter((d) => d.status === 'requested' || d.status === 'accepted')
      .map((d) => ({ id: d.id, direction: d.direction, from: d.from, to: d.to, task: d.task, status: d.status, deadline: d.deadline, requestedAt: d.requestedAt })),
    jobs: def.jobs.map((j) => {
      const s = schedules.find((x) => x.agent === def.name && x.job === j.name);
      return { name: j.name, description: j.description, cron: j.cron, missed: j.missed, schedule: s ? { cron: s.cron, timezone: s.timezone, enabled: s.enabled, nextDueAt: s.nextDueAt } : null };
    }),
    reactions: def.reactions.map((r) => ({ event: r.event, priority: r.priority, description: r.description })),
    accepts: def.accepts.map((t) => ({ name: t.name, description: t.description })),
  };
}

/** The agents service's refusals as problems: an unknown schedule 404, a bad cron or time zone 422, a foreign cursor 400. */
async function answering<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ScheduleError) throw new ApiError(err.code === 'schedule_not_found' ? 404 : 422, err.code, err.message);
    if (err instanceof RunCursorError) throw new ApiError(400, err.code, err.message);
    throw err;
  }
}

// ——— routes ———

/** `/v1/schedules…`, `/v1/runs…`, `/v1/delegations`, `/v1/agents` */
export async function agentRoutes(app: FastifyInstance, { runtime: rt, tokens }: RouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = guards(tokens);
  /** The tenant's rows only, under row-level security. */
  const walled = (tenant: string) => tenantDatabase(rt.db, tenant);

  r.get('/v1/schedules', {
    preValidation: guard.viewer,
    schema: {
      summary: "The tenant's schedules: one per job of each agent, with its cron, time zone, next occurrence and last run",
      tags: ['agents'],
      querystring: TenantQuery,
      response: { 200: z.object({ items: z.array(ScheduleItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const rows = await rt.agents.schedules.list(tenant, walled(tenant));
    return { items: rows.map((s) => scheduleOf(rt.agents.definitions, s)), next: null };
  });

  r.patch('/v1/schedules/:name', {
    preValidation: guard.operator,
    schema: {
      summary: 'Change a schedule: enable or disable it, its cron, time zone, missed-run policy or planning time limit',
      description:
        'A new cron or time zone, or enabling it again, moves `nextDueAt` to the next occurrence from now (occurrences passed while it was disabled do not run). ' +
        '404 `schedule_not_found`; 422 `invalid_cron` or `invalid_timezone`, saying what is wrong.',
      tags: ['agents'],
      params: z.object({ name: ScheduleName }),
      querystring: TenantQuery,
      body: SchedulePatch,
      response: { 200: ScheduleItem, ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'operator', tokens);
    const s = await answering(() => rt.agents.schedules.update(tenant, request.params.name, request.body, decider(request)));
    request.log.info({ tenant, schedule: s.name, patch: request.body }, 'schedule changed');
    return scheduleOf(rt.agents.definitions, s);
  });

  r.post('/v1/schedules/:name/run', {
    preValidation: guard.operator,
    schema: {
      summary: "Run Now: queue a run of the schedule's job at once (also when the schedule is disabled)",
      description: 'Answers 202 with the run id; `Location` is the run, which moves queued → planning → acting → completed (or failed).',
      tags: ['agents'],
      params: z.object({ name: ScheduleName }),
      querystring: TenantQuery,
      response: { 202: z.object({ runId: z.string(), status: z.literal('queued') }), ...errors },
    },
  }, async (request, reply) => {
    const tenant = await actingTenant(request, 'operator', tokens);
    const runId = await answering(() => rt.agents.runNow(tenant, request.params.name, decider(request)));
    request.log.info({ tenant, schedule: request.params.name, runId }, 'run now');
    return reply.status(202).header('location', `/v1/runs/${encodeURIComponent(runId)}`).send({ runId, status: 'queued' as const });
  });

  r.get('/v1/runs', {
    preValidation: guard.viewer,
    schema: {
      summary: "The agents' runs, newest first",
      tags: ['agents'],
      querystring: TenantQuery.extend({
        ...RunQuery.shape,
        since: RunQuery.shape.since.describe('runs requested at or after this time (ISO 8601)'),
        limit: limitParam(50, 500),
        after: z.string().min(1).max(200).optional().describe('the `next` of the previous page'),
      }),
      response: { 200: z.object({ items: z.array(RunItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const { tenant: _named, ...query } = request.query;
    const page = await answering(() => rt.agents.runs.list(tenant, query, walled(tenant)));
    return { items: page.items.map(runOf), next: page.next };
  });

  r.get('/v1/runs/:id', {
    preValidation: guard.viewer,
    schema: {
      summary: 'One run: its plan (summary, findings, hints), each action with its outcome, and its timing',
      tags: ['agents'],
      params: z.object({ id: RunId }),
      querystring: TenantQuery,
      response: { 200: RunItem, ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const run = await rt.agents.runs.get(tenant, request.params.id, walled(tenant));
    if (!run) throw new ApiError(404, 'run_not_found', `there is no run ${request.params.id}; list them with GET /v1/runs`);
    return runOf(run);
  });

  r.get('/v1/delegations', {
    preValidation: guard.viewer,
    schema: {
      summary: 'Delegations between agents, newest first: requested, accepted, declined, completed (late ones marked) or timed out',
      tags: ['agents'],
      querystring: TenantQuery.extend({
        ...DelegationQuery.shape,
        agent: DelegationQuery.shape.agent.describe('delegations from or to this agent'),
        limit: limitParam(100, 500),
      }),
      response: { 200: z.object({ items: z.array(DelegationItem), next: z.string().nullable() }), ...errors },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const { agent, status, limit } = request.query;
    const rows = await rt.agents.delegations.list(tenant, { agent, status, limit }, walled(tenant));
    return { items: rows.map(delegationOf), next: null };
  });

  r.get('/v1/agents', {
    preValidation: guard.viewer,
    schema: {
      summary: 'The department agents: live state (current run, queue, recent runs, open delegations, stats), jobs, reactions, and the active planner',
      tags: ['agents'],
      querystring: TenantQuery,
      response: {
        200: z.object({ planner: z.string().describe('`rules` (rule-based) or `claude`'), items: z.array(AgentItem) }),
        ...errors,
      },
    },
  }, async (request) => {
    const tenant = await actingTenant(request, 'viewer', tokens);
    const db = walled(tenant);
    const [page, schedules] = await Promise.all([new ReadModel(db, rt.clock).query(tenant, { kind: 'agent', limit: 100 }), rt.agents.schedules.list(tenant, db)]);
    const live = new Map(page.items.map((i) => [i.key, i]));
    return { planner: rt.agents.planner, items: rt.agents.definitions.map((d) => agentOf(d, schedules, live.get(d.name))) };
  });
}
