import { z } from 'zod';
import { decode, DomainEventEnvelope, DomainEvents, type Bus, type EventConsumer, type Delivery } from '../../bus/index.ts';
import type { Database, Queryable } from '../store/index.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Sender } from '../send.ts';
import type { OutboxEntry, OutboxRelay } from '../outbox.ts';
import type { ReadModel } from '../read/index.ts';
import type { GateSettings } from '../gate/index.ts';
import { decide } from '../gate/decide.ts';
import { newId } from '../ids.ts';
import { Plan, INTERNAL_ACTIONS, type AgentDefinition, type Check, type PlanContext, type PlannedAction, type Planner } from '../../agents/types.ts';
import { ACCEPTS } from '../../agents/machine.ts';
import { Schedules, ScheduleError } from './schedules.ts';
import { Runs, RunNotReflectedError, type ClaimedRun, type RunRequest } from './runs.ts';
import { Delegations } from './delegations.ts';

/** Attempts at planning one run before it fails. */
export const PLANNING_ATTEMPTS = 3;

/** Deliveries of one domain event the router tries before it sets the event aside as a dead letter. */
export const ROUTER_ATTEMPTS = 10;

/** At most `n` at once; the others wait their turn. */
class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** Why a run cannot be planned at all (unknown job, bad delegation input): retrying cannot help. */
class Unplannable extends Error {}

/** What the agents service needs from the runtime. */
export interface AgentsDeps {
  db: Database;
  bus: Bus;
  clock: Clock;
  log: Logger;
  send: Sender;
  relay: OutboxRelay;
  read: ReadModel;
  settings: GateSettings;
  definitions: readonly AgentDefinition[];
  planner: Planner;
  config: { scheduleGraceMs: number; schedulerTickMs: number; planningConcurrency: number; timezone: string };
}

/**
 * The department agents' side of the runtime (docs/agents.md): the scheduler, the
 * planning of runs, and the event router (reactions, run records, delegations).
 * Every node that runs effects runs it; the database arbitrates between them
 * (schedules and runs are claimed with `FOR UPDATE SKIP LOCKED`, runs are unique per
 * agent and occurrence, the router's consumer is shared).
 */
export class Agents {
  readonly schedules: Schedules;
  readonly runs: Runs;
  readonly delegations: Delegations;
  private readonly byName = new Map<string, AgentDefinition>();
  private readonly reactions = new Map<string, { agent: AgentDefinition; priority: string }[]>();
  private consumer?: EventConsumer;
  private tickTimer?: NodeJS.Timeout;
  private stopped = true;
  private ticking?: Promise<void>;
  private again = false;
  private readonly planning = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  /** Events routed at once: each holds a database connection for its transaction. */
  private readonly routing = new Semaphore(4);

  constructor(private readonly d: AgentsDeps) {
    this.schedules = new Schedules(d.db, d.clock, { graceMs: d.config.scheduleGraceMs, timezone: d.config.timezone });
    this.runs = new Runs(d.db, d.clock);
    this.delegations = new Delegations(d.db);
    for (const a of d.definitions) {
      this.byName.set(a.name, a);
      ACCEPTS.set(a.name, new Set(a.accepts.map((t) => t.name)));
      for (const r of a.reactions) {
        if (!(r.event in DomainEvents)) throw new Error(`agent ${a.name} reacts to ${r.event}, which is not in the event catalogue (bus/catalogue.ts)`);
        const list = this.reactions.get(r.event) ?? [];
        list.push({ agent: a, priority: r.priority });
        this.reactions.set(r.event, list);
      }
    }
  }

  /** The agents' definitions. */
  get definitions(): readonly AgentDefinition[] {
    return this.d.definitions;
  }

  /** Which planner plans runs (`rules` or `claude`). */
  get planner(): string {
    return this.d.planner.name;
  }

  /** Starts the router, the scheduler and the planning of runs (nodes that run effects). */
  async start(): Promise<void> {
    this.stopped = false;
    this.consumer = await this.d.bus.consumeEvents('AGENTS', (m) => void this.route(m));
    await this.ensureKnownTenants();
    this.kick();
    this.tickTimer = setInterval(() => this.kick(), this.d.config.schedulerTickMs);
    this.tickTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.tickTimer);
    this.abort.abort(new Error('the runtime is stopping'));
    await this.consumer?.stop();
    await this.ticking?.catch(() => undefined);
    await Promise.allSettled([...this.planning]);
  }

  /** Creates the default schedules of every tenant in the `tenants` table that lacks them. */
  async ensureKnownTenants(): Promise<void> {
    const tenants = await this.d.db.query<{ tenant: string }>(`SELECT tenant FROM tenants`);
    for (const t of tenants) await this.schedules.ensure(t.tenant, this.d.definitions);
  }

  /** Creates a tenant's default schedules (new tenants, the demo, tests). */
  ensureTenant(tenant: string, q?: Queryable): Promise<number> {
    return this.schedules.ensure(tenant, this.d.definitions, q);
  }

  /**
   * Fires due occurrences and plans queued runs now. Ticks never overlap; a kick
   * during a tick runs one more after it. Resolves when this tick is done
   * (planning started by it may still run: `idle()` waits for that).
   */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        await this.tick().catch((err) => this.d.log.warn({ err }, 'scheduler pass failed; it will try again at the next tick'));
      } while (this.again && !this.stopped);
    })().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  /** Waits until no tick and no planning is under way (tests, the demo). */
  async idle(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if (!this.ticking && this.planning.size === 0) return;
      await this.ticking;
      await Promise.allSettled([...this.planning]);
    }
  }

  private async tick(): Promise<void> {
    const fired = await this.schedules.due((tx, r) => this.runs.request(r, tx));
    for (const f of fired) {
      this.d.log.info(
        { tenant: f.tenant, schedule: f.schedule, trigger: f.request.trigger, skipped: f.request.skipped !== undefined },
        f.request.skipped ? `schedule ${f.schedule}: missed occurrences skipped (${f.request.skipped})` : `schedule ${f.schedule} fired`,
      );
    }
    const free = this.d.config.planningConcurrency - this.planning.size;
    if (free <= 0) return;
    const claimed = await this.runs.claim(free);
    for (const run of claimed) {
      const p = this.plan(run).finally(() => {
        this.planning.delete(p);
        this.kick(); // a slot is free: take the next queued run
      });
      this.planning.add(p);
    }
  }

  /** Queues a run of a schedule's job now ("Run Now"). Returns the run id. */
  async runNow(tenant: string, schedule: string, by: string): Promise<string> {
    const s = await this.schedules.get(tenant, schedule);
    if (!s) throw new ScheduleError(`no schedule named "${schedule}"; list them with GET /v1/schedules or \`cadre schedules list\``, 'schedule_not_found');
    const id = await this.runs.request({ tenant, agent: s.agent, job: s.job, schedule: s.name, trigger: 'manual', occurrence: `manual:${newId()}`, input: {}, timeoutMs: s.timeoutMs, requestedBy: by });
    void this.kick();
    return id!;
  }

  /** What the gate would decide for an action of `agent` now; nothing is recorded. */
  async foresee(tenant: string, agent: string, action: PlannedAction): ReturnType<PlanContext['foresee']> {
    if ((INTERNAL_ACTIONS as readonly string[]).includes(action.actionType)) {
      return { outcome: 'internal', reason: `${action.actionType} stays inside Cadre: the agent carries it out itself` };
    }
    const d = decide(await this.d.settings.facts(this.d.db, { tenant, agent, actionType: action.actionType, params: action.params }));
    return { outcome: d.outcome, reason: d.reason };
  }

  /** The work a run does: its job, reaction or delegated task. */
  private work(run: ClaimedRun): { description: string; check: Check; tools: string[]; mission: string; input: Record<string, unknown> } {
    const agent = this.byName.get(run.agent);
    if (!agent) throw new Unplannable(`no agent named ${run.agent} is defined`);
    const base = { tools: agent.tools, mission: agent.mission };
    if (run.trigger === 'event') {
      const event = run.job.replace(/^react:/, '');
      const r = agent.reactions.find((x) => x.event === event);
      if (!r) throw new Unplannable(`${agent.name} has no reaction to ${event} any more`);
      return { ...base, description: r.description, check: r.check, input: run.input };
    }
    if (run.trigger === 'delegation') {
      const t = agent.accepts.find((x) => x.name === run.job);
      if (!t) throw new Unplannable(`${agent.name} does not take the task ${run.job}`);
      const input = t.input.safeParse(run.input);
      if (!input.success) throw new Unplannable(`the input of ${run.job} is not valid: ${z.prettifyError(input.error)}`);
      return { ...base, description: t.description, check: t.check, input: input.data };
    }
    const j = agent.jobs.find((x) => x.name === run.job);
    if (!j) throw new Unplannable(`${agent.name} has no job named ${run.job} any more`);
    return { ...base, description: j.description, check: j.check, input: run.input };
  }

  private async plan(run: ClaimedRun): Promise<void> {
    const log = this.d.log.child({ tenant: run.tenant, agent: run.agent, job: run.job, run: run.id });
    const timeout = AbortSignal.timeout(run.timeout_ms);
    const signal = AbortSignal.any([timeout, this.abort.signal]);
    try {
      const work = this.work(run);
      const ctx: PlanContext = {
        tenant: run.tenant,
        agent: run.agent as PlanContext['agent'],
        job: run.job,
        trigger: run.trigger as PlanContext['trigger'],
        input: work.input,
        read: this.d.read,
        now: this.d.clock.now(),
        signal,
        foresee: (a) => this.foresee(run.tenant, run.agent, a),
      };
      // A planner that ignores its signal is abandoned when the signal fires. The listener
      // goes when planning ends: a time-out firing later must not reject anything.
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason ?? new Error('aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      let planned: unknown;
      try {
        planned = await Promise.race([this.d.planner.plan(ctx, work), aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      const plan = Plan.safeParse(planned);
      if (!plan.success) throw new Error(`the ${this.d.planner.name} planner returned a malformed plan: ${z.prettifyError(plan.error)}`);
      const p = await this.withoutOpenRequests(run.tenant, run.agent, plan.data);
      const message = this.d.send.message(
        { tenant: run.tenant, kind: 'agent', key: run.agent },
        {
          type: 'agent.run',
          runId: run.id,
          job: run.job,
          trigger: run.trigger,
          planner: this.d.planner.name,
          summary: p.summary,
          findings: p.findings,
          actions: p.actions,
          hints: p.hints,
          delegation: run.delegation_id && run.delegated_by ? { id: run.delegation_id, from: run.delegated_by } : null,
          requestedAt: new Date(run.requested_at).toISOString(),
        },
        { id: `run:${run.id}`, from: `runtime:planner`, correlationId: run.id },
      );
      let entry: OutboxEntry | undefined;
      await this.d.db.transaction(async (tx) => {
        if (await this.runs.planned(tx, run, this.d.planner.name, p.summary, p.findings)) entry = await this.d.send.enqueue(tx, message);
      });
      if (entry) {
        this.d.send.publish([entry]);
        log.info({ actions: p.actions.length, planner: this.d.planner.name }, `planned ${run.agent}/${run.job}: ${p.actions.length} action(s)`);
      } else {
        log.warn(`planned ${run.agent}/${run.job}, but the run was claimed again meanwhile (its lease ran out); this plan is dropped`);
      }
    } catch (err) {
      if (this.stopped) return; // the lease lapses; another process (or the next start) plans it again
      const timedOut = timeout.aborted;
      const error = timedOut ? `planning took longer than ${run.timeout_ms} ms (the schedule's timeout)` : (err as Error).message;
      const final = err instanceof Unplannable || run.attempts >= PLANNING_ATTEMPTS;
      const backoff = 1000 * 2 ** (run.attempts - 1);
      let entry: OutboxEntry | undefined;
      await this.d.db
        .transaction(async (tx) => {
          if (!(await this.runs.planningFailed(tx, run, error, final, backoff)) || !final) return;
          const from = run.delegated_by;
          entry = await this.d.send.enqueue(
            tx,
            this.d.send.message(
              { tenant: run.tenant, kind: 'agent', key: run.agent },
              { type: 'agent.run_failed', runId: run.id, job: run.job, error: error.slice(0, 2000), delegation: run.delegation_id && from ? { id: run.delegation_id, from } : null },
              { id: `run-failed:${run.id}`, from: 'runtime:planner', correlationId: run.id },
            ),
          );
        })
        .catch((e) => log.error({ err: e }, 'could not record a planning failure; the run will be planned again when its lease runs out'));
      if (entry) this.d.send.publish([entry]);
      if (final) log.error({ err }, `run ${run.id} of ${run.agent}/${run.job} failed: ${error}`);
      else log.warn({ err, attempt: run.attempts }, `planning ${run.agent}/${run.job} failed (attempt ${run.attempts} of ${PLANNING_ATTEMPTS}): ${error}; retrying in ${backoff} ms`);
    }
  }

  /**
   * Drops planned actions that an earlier run of the agent already asked for and
   * that still wait (for approval, a daily limit, an escalation): same action type,
   * same target. A person deciding the first one is enough; asking again is spam.
   */
  private async withoutOpenRequests(tenant: string, agent: string, p: Plan): Promise<Plan> {
    if (!p.actions.some((a) => a.target && !(INTERNAL_ACTIONS as readonly string[]).includes(a.actionType))) return p;
    const open = new Set<string>();
    for (const state of ['acting', 'escalated']) {
      let after: string | undefined;
      do {
        const page = await this.d.read.query(tenant, { kind: 'task', state, where: [{ field: 'agent', op: 'eq', value: agent }], limit: 1000, ...(after ? { after } : {}) });
        for (const t of page.items) open.add(`${String(t.context.actionType)} ${String(t.context.target)}`);
        after = page.next ?? undefined;
      } while (after);
    }
    const kept: PlannedAction[] = [];
    const skipped: { actionType: string; target: string }[] = [];
    for (const a of p.actions) {
      if (a.target && open.has(`${a.actionType} ${a.target}`)) skipped.push({ actionType: a.actionType, target: a.target });
      else kept.push(a);
    }
    if (skipped.length === 0) return p;
    return {
      ...p,
      actions: kept,
      findings: { ...p.findings, alreadyWaiting: skipped },
      hints: [...p.hints, `${skipped.length} action(s) not asked again: an earlier request for the same target still waits (${skipped.map((x) => x.target).slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''})`].slice(0, 20),
    };
  }

  /** One domain event: reactions, run records, delegations. Acknowledged once handled. */
  private async route(m: Delivery): Promise<void> {
    const decoded = decode(DomainEventEnvelope, m.data, 8 * 1024 * 1024);
    if (!decoded.ok) {
      this.d.log.warn({ subject: m.subject, reason: decoded.reason }, 'a malformed domain event was skipped by the agents router');
      m.ack();
      return;
    }
    const e = decoded.value;
    const name = `${e.entity}.${e.name}`;
    if (!this.reactions.has(name) && e.entity !== 'agent') {
      m.ack(); // nothing reacts to it
      return;
    }
    if (m.deliveryCount > ROUTER_ATTEMPTS) {
      await this.setAside(m, e.tenant, e.id, name).then(
        () => m.ack(),
        () => m.nak(30_000),
      );
      return;
    }
    await this.routing.acquire();
    try {
      const kicked = await this.d.db.transaction(async (tx) => {
        let queued = false;
        for (const r of this.reactions.get(name) ?? []) {
          const id = await this.runs.request(
            {
              tenant: e.tenant,
              agent: r.agent.name,
              job: `react:${name}`,
              trigger: 'event',
              occurrence: `event:${e.id}`,
              input: { ...e.data, _event: { id: e.id, name, source: e.source, occurredAt: e.occurredAt, priority: r.priority } },
              dueAt: e.occurredAt,
              requestedBy: `event:${name}`,
            },
            tx,
          );
          queued ||= id !== null;
        }
        if (e.entity === 'agent') queued = (await this.record(tx, e.tenant, e.name, e.data, e.occurredAt)) || queued;
        return queued;
      });
      m.ack();
      if (kicked) void this.kick();
    } catch (err) {
      if (err instanceof RunNotReflectedError) this.d.log.debug({ event: name, id: e.id }, 'an action report came before its run record; retrying shortly');
      else this.d.log.warn({ err, event: name, id: e.id, attempt: m.deliveryCount }, `the agents router could not handle ${name}; it will be redelivered (attempt ${m.deliveryCount} of ${ROUTER_ATTEMPTS})`);
      m.nak(err instanceof RunNotReflectedError ? 1000 : 5000);
    } finally {
      this.routing.release();
    }
  }

  /** An event the router failed on `ROUTER_ATTEMPTS` times: a dead letter (visible in the API), and the router moves on. */
  private async setAside(m: Delivery, tenant: string, id: string, name: string): Promise<void> {
    const reason = `the agents router failed on ${name} ${m.deliveryCount - 1} times; its reactions and records were not made (see the runtime's log for the errors)`;
    await this.d.db.query(
      `INSERT INTO dead_letters (tenant, message_id, subject, code, reason, payload, payload_encoding, delivery_count, created_at)
       VALUES ($1, $2, $3, 'event_not_routed', $4, $5, 'utf8', $6, $7::timestamptz) ON CONFLICT DO NOTHING`,
      [tenant, `event:${id}:agents`, m.subject, reason, new TextDecoder().decode(m.data), m.deliveryCount, new Date(this.d.clock.now()).toISOString()],
    );
    this.d.log.error({ tenant, event: name, id }, `${reason}; set aside as a dead letter`);
  }

  /** Records what agents' own events say: run records, delegations (and accepted ones become runs). */
  private async record(tx: Queryable, tenant: string, name: string, data: Record<string, unknown>, at: string): Promise<boolean> {
    switch (name) {
      case 'run_completed': {
        const r = data as { runId: string; summary: string; findings: Record<string, unknown>; actions: unknown[]; counts: Record<string, number>; hints: string[]; finishedAt: string; error?: string };
        await this.runs.completed(tx, tenant, r);
        return true; // the agent has room for its next planned run
      }
      case 'action_settled': {
        const r = data as { runId: string; index: number; outcome: string; detail: string | null };
        await this.runs.actionSettled(tx, tenant, r.runId, r.index, r.outcome, r.detail);
        return false;
      }
      case 'delegation_accepted': {
        const r = data as { delegationId: string; from: string; to: string; task: string; input: Record<string, unknown>; deadline: string };
        await this.delegations.record(tx, tenant, name, data, at);
        const id = await this.runs.request(
          {
            tenant,
            agent: r.to,
            job: r.task,
            trigger: 'delegation',
            occurrence: `delegation:${r.delegationId}`,
            input: r.input,
            delegationId: r.delegationId,
            delegatedBy: r.from,
            requestedBy: `agent:${r.from}`,
          },
          tx,
        );
        return id !== null;
      }
      default:
        if (name.startsWith('delegation_')) await this.delegations.record(tx, tenant, name, data, at);
        return false;
    }
  }
}

export type { RunRequest };
