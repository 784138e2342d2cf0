import { MemoryBus, NatsBus, Subjects, type Bus } from '../bus/index.ts';
import { bidEntity, contactEntity, dealEntity, orderEntity, type EntityDefinition } from '../machines/index.ts';
import { openDatabase, migrate, type Database } from './store/index.ts';
import { systemClock, type Clock } from './clock.ts';
import { createLogger, type Logger } from './logger.ts';
import type { RuntimeConfig } from './config.ts';
import { ActorHost } from './host/host.ts';
import { OutboxRelay } from './outbox.ts';
import { TimerService } from './timers.ts';
import { EffectExecutor, type EffectHandler } from './effects.ts';
import { AllPartitions, LeasedPartitions, type Ownership } from './ownership.ts';
import { Sender } from './send.ts';
import { Operator } from './operator.ts';
import { ScriptJobs, SCRIPT_RUN, scriptRunEffect } from './scripts/index.ts';
import { BUILTIN_EFFECTS } from './builtin-effects.ts';
import { ReadModel } from './read/index.ts';
import { Approvals, Gate, GateSettings, Proposals, readAudit, type AuditQuery, type AuditRow } from './gate/index.ts';
import { Inspection } from './inspect/index.ts';
import { Agents } from './agents/service.ts';
import { agentEntity } from '../agents/machine.ts';
import { taskEntity } from '../agents/task.ts';
import type { AgentDefinition, Planner } from '../agents/types.ts';
import { DEFAULT_AGENTS } from '../agents/registry.ts';
import { plannerFromEnv } from '../agents/planners/index.ts';
import { ticketEntity } from '../machines/ticket/index.ts';
import { loadNotifyConfig, notifyEffects } from './notify/index.ts';

/** The runtime's lifecycle: initialized → starting → running → stopping → stopped, or failed. */
export type RuntimeState = 'initialized' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What `createRuntime` takes besides the configuration. */
export interface RuntimeOptions {
  /** Kinds of actors. @default the business entities: deal, order, bid, contact */
  entities?: EntityDefinition[];
  /** Effect handlers, one per action type. */
  effects?: EffectHandler[];
  /**
   * The department agents (agents/registry.ts). Their `agent` and `task` kinds are
   * registered beside `entities`. An empty list runs no agents, schedules or reactions.
   * @default the five department agents
   */
  agents?: readonly AgentDefinition[];
  /** Who plans runs. @default Claude when ANTHROPIC_API_KEY is set, else the rule-based planner */
  planner?: Planner;
  /** @default the system clock */
  clock?: Clock;
  log?: Logger;
  /**
   * `node` runs actors: it takes mailbox partitions and runs timers and effects.
   * `client` opens the database, the bus, the outbox relay, `send` and `operator`
   * and nothing else (it does not migrate), so the CLI can read and send beside
   * running nodes without taking their partitions. A client's messages are
   * applied by a node; with the in-process bus no other process sees them, so
   * embedded mode needs a `node`.
   * @default 'node'
   */
  role?: 'node' | 'client';
  /**
   * Whether a node decides and runs effects and expires approvals. The CLI's
   * one-shot embedded nodes do not: they have no effect handlers, and what they
   * leave is decided and run by the next `cadre start`.
   * @default true
   */
  runsEffects?: boolean;
}

/**
 * One Cadre runtime process: the database (PostgreSQL or embedded PGlite), the bus
 * (NATS JetStream or in-process), the actor host, the outbox relay, durable
 * timers, the effect executor and partition ownership.
 *
 * @example
 * const rt = createRuntime(loadConfig());
 * await rt.start();
 * await rt.send.send({ tenant: 'acme', kind: 'deal', key: 'D-1' }, { type: 'deal.create', title: 'Roof' }, { wait: true });
 * await rt.stop();
 */
export class Runtime {
  state: RuntimeState = 'initialized';
  readonly subjects: Subjects;
  readonly clock: Clock;
  readonly log: Logger;
  db!: Database;
  bus!: Bus;
  host!: ActorHost;
  relay!: OutboxRelay;
  timers!: TimerService;
  effects!: EffectExecutor;
  ownership!: Ownership;
  /** Sends events to actors from outside (the CLI, the gateway, tests). */
  send!: Sender;
  /** Operator control: pause, resume, stop actors; dead letters. */
  operator!: Operator;
  /** Script jobs in the sandbox, recorded in `script_jobs`; they back the `script.run` effect. */
  scripts!: ScriptJobs;
  /** The gate: decides every effect (autonomy levels, risk, policies). `gate.settings` holds levels, risks, limits, switches, suppressions. */
  gate!: Gate;
  /** The approval queue: approve, reject, bulk; expiry. */
  approvals!: Approvals;
  /** Level changes proposed after streaks of approvals. */
  proposals!: Proposals;
  /** Queries of actors by state and context fields, from the committed snapshots (no activation). */
  read!: ReadModel;
  /** Live inspection of committed transitions, for `GET /v1/inspect` (docs/inspect.md). */
  inspection!: Inspection;
  /** The department agents: schedules, runs, reactions, delegations (docs/agents.md). */
  agents!: Agents;
  private maintenance?: NodeJS.Timeout;

  constructor(
    readonly config: RuntimeConfig,
    private readonly options: RuntimeOptions = {},
  ) {
    this.subjects = new Subjects(config.subjectPrefix, config.partitions);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? createLogger({ level: config.logLevel });
  }

  /** Whether this process decides and runs effects. */
  get runsEffects(): boolean {
    return this.role === 'node' && this.options.runsEffects !== false;
  }

  /** Whether this process runs actors (`node`) or only reads and sends (`client`). */
  get role(): 'node' | 'client' {
    return this.options.role ?? 'node';
  }

  /** Embedded (PGlite + in-process bus) or services (PostgreSQL + NATS)? */
  get mode(): string {
    return `${this.config.databaseUrl ? 'postgres' : 'pglite'}+${this.config.natsUrl ? 'nats' : 'memory'}`;
  }

  /** Connects, migrates, takes partitions and starts consuming (a client only connects). */
  async start(): Promise<void> {
    if (this.state !== 'initialized' && this.state !== 'stopped') return;
    this.state = 'starting';
    try {
      await this.open();
      if (this.role === 'client') {
        this.state = 'running';
        this.log.info({ mode: this.mode, role: 'client' }, 'runtime client started');
        return;
      }
      await this.scripts.start(); // before anything can submit an effect: fails jobs a stopped process left unfinished
      await this.ownership.start(this.host);
      this.timers.start();
      if (this.runsEffects) {
        this.effects.start();
        this.approvals.start(() => this.ownership.owned());
        if (this.agents.definitions.length > 0) await this.agents.start();
      }
      this.maintenance = setInterval(() => void this.maintain(), 10_000);
      this.maintenance.unref();
      this.state = 'running';
      this.log.info({ mode: this.mode, node: this.config.nodeId, partitions: this.ownership.owned().length }, 'runtime started');
    } catch (err) {
      this.state = 'failed';
      await this.close().catch(() => undefined);
      throw err;
    }
  }

  /** Stops children before parents: consumers → actors → timers and effects → relay → bus → database. Safe to call twice. */
  async stop(): Promise<void> {
    // A failed start already closed what it had opened.
    if (this.state !== 'running') return;
    this.state = 'stopping';
    if (this.role === 'node') {
      this.host.beginStop();
      clearInterval(this.maintenance);
      this.timers.stop();
      await this.agents.stop();
      this.effects.stop();
      this.approvals.stop();
      await this.ownership.stop();
      await this.host.stop();
    }
    await this.close();
    this.state = 'stopped';
    this.log.info('runtime stopped');
  }

  private async open(): Promise<void> {
    const c = this.config;
    this.db = await openDatabase({ url: c.databaseUrl, dataDir: c.databaseUrl ? undefined : `${c.dataDir}`, max: 12, lookupPlans: true });
    // A client never changes the schema: that is for nodes and `cadre migrate`.
    if (this.role === 'node') await migrate(this.db, { log: (m) => this.log.info(m) });
    this.bus = c.natsUrl
      ? new NatsBus(this.subjects, {
          servers: c.natsUrl,
          streamPrefix: c.streamPrefix,
          dedupeWindowMs: 120_000,
          ackWaitMs: 30_000,
          maxAckPending: 2000,
          eventsMaxAgeMs: 7 * 24 * 3600 * 1000,
          name: `cadre-${c.nodeId}`,
        })
      : new MemoryBus(this.subjects);
    await this.bus.start();
    // A client on the in-process bus has no node listening: what it commits waits in
    // the outbox for the next node of this data directory to publish.
    this.relay = new OutboxRelay(this.db, this.bus, this.log, 256, this.role === 'client' && !c.natsUrl);
    const owned = () => this.ownership.owned();
    const settings = new GateSettings(this.db, this.clock, c, (type, params) => this.effects.riskOf(type, params));
    this.gate = new Gate(this.db, this.clock, this.subjects, this.relay, settings, this.log, (at) => this.approvals.opened(at));
    this.approvals = new Approvals(this.db, this.clock, this.subjects, this.relay, settings, c, this.log, (tenant, id) =>
      this.runsEffects ? this.effects.submit([{ tenant, id }]) : undefined,
    );
    this.read = new ReadModel(this.db, this.clock);
    this.proposals = new Proposals(this.db, () => new Date(this.clock.now()).toISOString());
    this.effects = new EffectExecutor(this.db, this.clock, this.subjects, this.relay, owned, this.log, this.gate);
    for (const h of this.options.effects ?? []) this.effects.register(h);
    this.scripts = new ScriptJobs(this.db, { nodeId: c.nodeId, clock: this.clock, log: this.log });
    if (!this.options.effects?.some((h) => h.actionType === SCRIPT_RUN)) this.effects.register(scriptRunEffect(this.scripts));
    for (const h of BUILTIN_EFFECTS) if (!this.options.effects?.some((o) => o.actionType === h.actionType)) this.effects.register(h);
    // notify.send and email.send: recorded, and delivered when a webhook or a mail transport is configured (docs/notifications.md).
    for (const h of notifyEffects(this.db, this.clock, loadNotifyConfig(process.env), this.log)) {
      if (!this.options.effects?.some((o) => o.actionType === h.actionType)) this.effects.register(h);
    }
    this.inspection = new Inspection(this.bus, this.subjects, (kind) => this.host.kinds.get(kind)?.machine, this.log);
    this.host = new ActorHost({
      db: this.db,
      bus: this.bus,
      subjects: this.subjects,
      clock: this.clock,
      log: this.log,
      relay: this.relay,
      lanes: c.lanes,
      maxBatch: c.maxBatch,
      maxMessageBytes: c.maxMessageBytes,
      maxActiveActors: c.maxActiveActors,
      idleMs: c.idleMs,
      poisonLimit: c.poisonLimit,
      maxAttempts: (t) => this.effects.maxAttempts(t),
      committed: (b) => {
        if (b.effects.length > 0 && this.runsEffects) this.effects.submit(b.effects);
        for (const t of b.timersSet.values()) this.timers.scheduled(Date.parse(t.due_at));
        this.inspection.committed(b);
      },
      timerSettled: (id) => this.timers.settled(id),
    });
    const entities = [...(this.options.entities ?? [dealEntity, orderEntity, bidEntity, contactEntity, ticketEntity])];
    const definitions = this.options.agents ?? DEFAULT_AGENTS;
    if (definitions.length > 0) for (const e of [agentEntity, taskEntity]) if (!entities.some((x) => x.kind === e.kind)) entities.push(e);
    for (const e of entities) this.host.register(e);
    this.timers = new TimerService(this.db, this.clock, owned, (m) => this.host.deliverLocal(m), this.log);
    this.ownership =
      c.databaseUrl && c.natsUrl
        ? new LeasedPartitions(this.db, { partitions: c.partitions, nodeId: c.nodeId, ttlMs: c.leaseTtlMs, renewMs: c.leaseRenewMs }, this.log)
        : new AllPartitions(c.partitions);
    this.send = new Sender(this.db, this.bus, this.subjects, this.relay, this.clock, c.maxMessageBytes);
    this.operator = new Operator(this.db, this.send, this.clock);
    this.agents = new Agents({
      db: this.db,
      bus: this.bus,
      clock: this.clock,
      log: this.log.child({ component: 'agents' }),
      send: this.send,
      relay: this.relay,
      read: this.read,
      settings,
      definitions,
      planner: this.options.planner ?? plannerFromEnv(process.env, this.log),
      config: c,
    });
  }

  private async close(): Promise<void> {
    this.inspection?.close();
    await this.scripts?.close();
    await this.relay?.stop();
    await this.bus?.stop();
    await this.db?.close();
  }

  private async maintain(): Promise<void> {
    try {
      this.host.passivateIdle();
      await this.relay.sweep(this.ownership.owned());
      await this.db.query(`DELETE FROM delivery_attempts WHERE last_at < $1::timestamptz`, [new Date(this.clock.now() - 86_400_000).toISOString()]);
    } catch (err) {
      this.log.warn({ err }, 'maintenance pass failed; will try again');
    }
  }

  /** A tenant's audit log, newest first. */
  audit(tenant: string, query: AuditQuery = {}): Promise<AuditRow[]> {
    return readAudit(this.db, tenant, query);
  }

  /** Waits until nothing is queued in the lanes or the outbox (tests, the CLI). */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await this.host.idle();
      await this.relay.idle();
      await new Promise((r) => setImmediate(r));
    }
    await this.relay.flushDeletes();
  }
}

/**
 * Creates a runtime; nothing is opened until `start()`.
 * @example const rt = createRuntime(loadConfig(process.env));
 */
export function createRuntime(config: RuntimeConfig, options: RuntimeOptions = {}): Runtime {
  return new Runtime(config, options);
}
