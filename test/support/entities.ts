import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { MemoryBus, NatsBus, type ActorAddress, type DomainEventEnvelope } from '../../bus/index.ts';
import type { EntityDefinition, GateRecord } from '../../machines/index.ts';
import type { ActorView, Approval, AuditRow, EffectHandler, EffectRequest, JournalEntry, Runtime, RuntimeConfig } from '../../runtime/index.ts';
import { eventually, type TestEnv } from './runtime.ts';

/**
 * A small kit for walking the entity machines end to end through the runtime:
 * send, move the controllable clock, restart on the same database, wait for and
 * assert what was committed (actor state and context, effect rows, approvals,
 * the audit log, the domain events published from the outbox).
 *
 * `useEntityKits` (per `describe`) shares one runtime between the tests of a
 * file, each test on its own tenant; `walk` runs a list of steps on one actor.
 */

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** The autonomy levels, for `it.each`. */
export const LEVELS = ['supervised', 'semi_autonomous', 'autonomous'] as const;
export type Level = (typeof LEVELS)[number];

/** What the runtime asked one recorded handler to do. */
export type RecordedCall = EffectRequest;

/**
 * Effect handlers for `email.send` and `order.autofix` that record each call and
 * return a fake result (an email's message id; the fixes as applied). One
 * attempt each, so `failNext` (the next calls throw) drives a gate to `failed` at once.
 */
export class EffectRecorder {
  readonly calls: RecordedCall[] = [];
  private failures = new Map<string, number>();

  handlers(): EffectHandler[] {
    return [
      {
        actionType: 'email.send',
        retry: { attempts: 1 },
        run: async (req) => {
          this.calls.push(req);
          this.maybeFail(req);
          return { messageId: `msg-${req.id}`, to: req.params.to ?? null, accepted: true };
        },
      },
      {
        actionType: 'order.autofix',
        retry: { attempts: 1 },
        run: async (req) => {
          this.calls.push(req);
          this.maybeFail(req);
          return { orderId: req.params.orderId, applied: req.params.fixes };
        },
      },
    ];
  }

  /** The next `n` calls of `actionType` fail (after being recorded). */
  failNext(actionType: string, n = 1): void {
    this.failures.set(actionType, n);
  }

  private maybeFail(req: EffectRequest): void {
    const n = this.failures.get(req.actionType) ?? 0;
    if (n > 0) {
      this.failures.set(req.actionType, n - 1);
      throw new Error(`${req.actionType} failed on purpose`);
    }
  }
}

/** One domain event as it left the outbox for the bus. */
export interface Published {
  subject: string;
  envelope: DomainEventEnvelope;
}

// Every domain event any runtime of this test process publishes, recorded at the
// bus adapters (a pass-through: the real bus still gets the message). A
// subscription would miss what a runtime publishes while it starts (a timer that
// came due while it was down fires during start()), and embedded mode's bus does
// not outlive its runtime.
const published: Published[] = [];
let recording = false;
function recordPublishes(): void {
  if (recording) return;
  recording = true;
  const dec = new TextDecoder();
  for (const proto of [MemoryBus.prototype, NatsBus.prototype] as { publish(subject: string, data: Uint8Array, opts: { msgId: string }): Promise<void> }[]) {
    const original = proto.publish;
    proto.publish = function (this: unknown, subject: string, data: Uint8Array, opts: { msgId: string }) {
      // Recorded in call order (the relay publishes in commit order); a publish that
      // fails is published again later with the same id, which `events` counts once.
      if (subject.split('.')[2] === 'events') {
        try {
          published.push({ subject, envelope: JSON.parse(dec.decode(data)) as DomainEventEnvelope });
        } catch {
          // not JSON: not a domain event of ours
        }
      }
      return original.call(this, subject, data, opts);
    };
  }
}

/** A step of `walk`. */
export type Step =
  | { send: { type: string; [k: string]: unknown } }
  | { advance: number }
  | { restart: true; whileDown?: number }
  /** Waits (real time) until the actor is in this state, then checks the context. */
  | { until: string; context?: Record<string, unknown> }
  | { approve: string; by?: string; note?: string }
  | { reject: string; by?: string; note?: string }
  | ((kit: EntityKit) => Promise<void>);

/** Options of the runtime the kits of a `describe` share. */
export interface KitOptions {
  entities: EntityDefinition[];
  overrides?: Partial<RuntimeConfig>;
}

/** A level to set for a kit's tenant, e.g. `{ agent: 'sales', actionType: 'email.send', level: 'autonomous' }`. */
export type LevelScope = { agent?: string; actionType?: string; level: Level };

/**
 * The runtime the kits of one `describe` share: one database (and streams), one
 * controllable clock, one runtime at a time. Starting a runtime costs about a
 * second, so the tests of a file share it and each test gets its own tenant
 * (its own levels, approvals, audit log and actors); `restart` stops it and
 * starts another on the same database.
 */
class Runner {
  rt!: Runtime;
  readonly recorder = new EffectRecorder();
  tenants = 0;

  constructor(
    readonly env: TestEnv,
    private readonly opts: KitOptions,
  ) {}

  async boot(): Promise<void> {
    // One mailbox partition unless told otherwise: with PostgreSQL + NATS a start takes a
    // JetStream consumer per partition, and these tests restart often; the partitions
    // themselves are test/runtime/partitions.test.ts's subject.
    const overrides = { partitions: 1, ...this.opts.overrides };
    this.rt = await this.env.start({ entities: this.opts.entities, effects: this.recorder.handlers(), overrides });
  }

  /** A runtime is running (a test that failed during a restart may have left none). */
  async ensure(): Promise<void> {
    if (this.rt?.state !== 'running') await this.boot();
  }

  async restart(whileDown = 0): Promise<void> {
    await this.rt.stop();
    if (whileDown) this.env.clock.advance(whileDown);
    await this.boot();
    await this.due();
  }

  /**
   * Fires what is due now: timers, approval expiries, effects. The services arm
   * their wake-ups on the clock after a query; a `ManualClock` only runs waiters
   * when it is advanced, so a wake-up armed just after an advance (for a
   * deadline it already passed) would wait for the real-time safety poll.
   */
  async due(): Promise<void> {
    const rt = this.rt;
    await rt.timers.poll();
    await rt.approvals.expireDue(() => rt.ownership.owned());
    await rt.effects.poll();
    await rt.settle();
  }

  /** Stops (as an operator) every actor of a tenant with a timer armed, so that time moved by later tests leaves it alone. */
  async quiesce(tenant: string): Promise<void> {
    if (this.rt?.state !== 'running') return;
    const rows = await this.rt.db.query<{ kind: string; key: string }>(`SELECT DISTINCT kind, key FROM timers WHERE tenant = $1`, [tenant]);
    for (const r of rows) await this.rt.operator.control({ tenant, kind: r.kind, key: r.key }, 'stop', 'test', 'end of test');
    await this.rt.settle();
  }
}

/**
 * Kits for the tests of a `describe`: one runtime on one env made before the
 * first test and cleaned up after the last; `kit()` in a test gives a kit for a
 * fresh tenant, with the levels given set for it.
 *
 * @example
 * describe.each(runtimeBackends)('order on $name', ({ make }) => {
 *   const kit = useEntityKits(make, { entities: [orderEntity] });
 *   it('…', async () => {
 *     const k = await kit([{ agent: 'delivery', actionType: 'email.send', level: 'autonomous' }]);
 *     await k.send(k.at('order', 'O-1'), { type: 'order.receive', … });
 *   });
 * });
 */
export function useEntityKits(make: () => Promise<TestEnv>, opts: KitOptions): (levels?: LevelScope[]) => Promise<EntityKit> {
  let env: TestEnv | undefined;
  let runner: Runner | undefined;
  let current: string | undefined;
  beforeAll(async () => {
    recordPublishes();
    env = await make();
    runner = new Runner(env, opts);
    await runner.boot();
  });
  afterEach(async () => {
    if (current) await runner?.quiesce(current);
    current = undefined;
  });
  afterAll(async () => {
    await env?.cleanup();
  });
  return async (levels = []) => {
    if (!runner) throw new Error('kits exist only while the tests of their describe run');
    await runner.ensure();
    const kit = new EntityKit(runner, `t${++runner.tenants}`);
    current = kit.tenant;
    for (const l of levels) await kit.setLevel(l.level, l);
    return kit;
  };
}

/** What one test drives: its tenant's actors on the shared runtime. */
export class EntityKit {
  constructor(
    private readonly runner: Runner,
    readonly tenant: string,
  ) {}

  get rt(): Runtime {
    return this.runner.rt;
  }

  get clock() {
    return this.runner.env.clock;
  }

  /** An actor of this kit's tenant. */
  at(kind: string, key: string): ActorAddress {
    return { tenant: this.tenant, kind, key };
  }

  /** The runtime clock's time, ISO. */
  now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Calls the recording handlers got from this tenant's actors, of one action type and optionally one actor. */
  calls(actionType?: string, actor?: ActorAddress): RecordedCall[] {
    return this.runner.recorder.calls.filter(
      (c) => c.tenant === this.tenant && (!actionType || c.actionType === actionType) && (!actor || (c.actor.kind === actor.kind && c.actor.key === actor.key)),
    );
  }

  /** The next `n` calls of `actionType` (of any tenant) fail. */
  failNext(actionType: string, n = 1): void {
    this.runner.recorder.failNext(actionType, n);
  }

  /** Stops the runtime and starts another on the same database; `whileDown` moves the clock in between. */
  async restart(opts: { whileDown?: number } = {}): Promise<void> {
    await this.runner.restart(opts.whileDown);
  }

  /** Sets an autonomy level for this tenant (stored: it survives restarts). */
  async setLevel(level: Level, scope: { agent?: string; actionType?: string } = {}): Promise<void> {
    await this.rt.gate.settings.setLevel(this.tenant, { agent: scope.agent ?? '*', actionType: scope.actionType ?? '*', level }, 'test');
  }

  /** Sends an event and waits for its commit; fails the test if it is refused. */
  async send(a: ActorAddress, event: { type: string; [k: string]: unknown }): Promise<{ seq: number; state: string }> {
    const r = await this.rt.send.send(a, event, { wait: true });
    if (!r.ok) throw new Error(`${a.kind}/${a.key} refused ${event.type}: ${(r as { code: string; reason: string }).code}: ${(r as { reason: string }).reason}`);
    return r as { seq: number; state: string };
  }

  /** Sends an event that must be refused; returns the refusal. */
  async refused(a: ActorAddress, event: { type: string; [k: string]: unknown }): Promise<{ code: string; reason: string }> {
    const r = await this.rt.send.send(a, event, { wait: true });
    expect(r.ok, `${event.type} should be refused`).toBe(false);
    return r as unknown as { code: string; reason: string };
  }

  /** Moves the clock, fires what came due and waits for those commits. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.runner.due();
  }

  /** The committed actor. */
  async actor(a: ActorAddress): Promise<ActorView> {
    const v = await this.rt.operator.actor(a);
    if (!v) throw new Error(`${a.kind}/${a.key} never committed`);
    return v;
  }

  /** Waits (real time) until the committed actor is in `state` (exact) or satisfies the predicate. */
  async until(a: ActorAddress, want: string | ((v: ActorView) => boolean), what?: string, timeoutMs = 10_000): Promise<ActorView> {
    const ok = typeof want === 'string' ? (v: ActorView) => v.state === want : want;
    let last: ActorView | undefined;
    try {
      return await eventually(
        async () => {
          last = await this.rt.operator.actor(a);
          return last && ok(last) ? last : undefined;
        },
        timeoutMs,
        what ?? (typeof want === 'string' ? `${a.kind}/${a.key} in ${want}` : `${a.kind}/${a.key}`),
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; last committed state ${last?.state} ${JSON.stringify(last?.context?.gates ?? {})}`);
    }
  }

  /** Waits until a gate's record has `status`. */
  untilGate(a: ActorAddress, gate: string, status: GateRecord['status'] | GateRecord['status'][]): Promise<ActorView> {
    const want = Array.isArray(status) ? status : [status];
    return this.until(a, (v) => want.includes(gateOf(v, gate)?.status as GateRecord['status']), `${a.kind}/${a.key} gate ${gate} ${want.join('|')}`);
  }

  /** The approval a gate waits for now (its current request), once it waits. */
  async pendingApproval(a: ActorAddress, gate: string): Promise<Approval> {
    const v = await this.untilGate(a, gate, 'awaiting_approval');
    const id = gateOf(v, gate)!.approvalId!;
    const p = await this.rt.approvals.get(this.tenant, id);
    expect(p, `approval ${id}`).toMatchObject({ status: 'pending', kind: a.kind, key: a.key });
    return p!;
  }

  /** Approves what a gate waits for. */
  async approve(a: ActorAddress, gate: string, by = 'ana@acme.example', note?: string): Promise<Approval> {
    const p = await this.pendingApproval(a, gate);
    return this.rt.approvals.approve(this.tenant, p.id, by, note);
  }

  /** Rejects what a gate waits for. */
  async reject(a: ActorAddress, gate: string, by = 'ana@acme.example', note?: string): Promise<Approval> {
    const p = await this.pendingApproval(a, gate);
    return this.rt.approvals.reject(this.tenant, p.id, by, note);
  }

  /**
   * Takes a gate through to done under `level`: below autonomous it waits for a
   * person (email.send is high risk, order.autofix medium) and is approved;
   * autonomous runs it on its own. Resolves with the actor once the gate is done.
   */
  async pass(a: ActorAddress, gate: string, level: Level, risk: 'medium' | 'high' = 'high'): Promise<ActorView> {
    if (needsApproval(level, risk)) await this.approve(a, gate);
    return this.untilGate(a, gate, 'done');
  }

  /** The actor's approvals, in the order their requests were committed. */
  async approvals(a: ActorAddress): Promise<Approval[]> {
    return this.rt.db.query<Approval>(
      `SELECT p.* FROM approvals p JOIN effects e ON e.tenant = p.tenant AND e.id = p.effect_id
       WHERE p.tenant = $1 AND p.kind = $2 AND p.key = $3 ORDER BY e.requested_seq, e.id`,
      [a.tenant, a.kind, a.key],
    );
  }

  /** The actor's audit entries, oldest first. */
  async audit(a: ActorAddress): Promise<AuditRow[]> {
    return (await this.rt.audit(a.tenant, { actor: `${a.kind}/${a.key}`, limit: 1000 })).reverse();
  }

  /** The actor's audit entries as `entry:outcome`, oldest first. */
  async auditTrail(a: ActorAddress, actionType?: string): Promise<string[]> {
    return (await this.audit(a)).filter((r) => !actionType || r.action_type === actionType).map((r) => `${r.entry}:${r.outcome}`);
  }

  /** The actor's effect rows, in the order they were committed. */
  async effectRows(a: ActorAddress): Promise<EffectRow[]> {
    return this.rt.db.query<EffectRow>(
      `SELECT id, action_type, status, params, result, attempts, approval_id, level, risk, agent, gate, last_error FROM effects
       WHERE tenant = $1 AND kind = $2 AND key = $3 ORDER BY requested_seq, id`,
      [a.tenant, a.kind, a.key],
    );
  }

  /** The actor's journal, oldest first. */
  history(a: ActorAddress): Promise<JournalEntry[]> {
    return this.rt.operator.history(a, { limit: 1000 });
  }

  /** How many durable timers fired into the actor (committed). */
  async timerFires(a: ActorAddress): Promise<number> {
    return (await this.history(a)).filter((h) => h.event_type === 'cadre.timer.fire').length;
  }

  /** Domain events the actor published (deduplicated by id: a re-publish after a restart is the same event), oldest first. */
  events(a: ActorAddress, name?: string): DomainEventEnvelope[] {
    const source = `${a.tenant}/${a.kind}/${a.key}`;
    const prefix = `${this.rt.subjects.prefix}.`;
    const seen = new Set<string>();
    const out: DomainEventEnvelope[] = [];
    for (const p of published) {
      const e = p.envelope;
      if (!p.subject.startsWith(prefix) || e.source !== source || seen.has(e.id)) continue;
      if (name !== undefined && `${e.entity}.${e.name}` !== name) continue;
      seen.add(e.id);
      out.push(e);
    }
    return out;
  }

  /** `entity.name` of the actor's domain events, oldest first. */
  eventNames(a: ActorAddress): string[] {
    return this.events(a).map((e) => `${e.entity}.${e.name}`);
  }

  /** Waits until the actor published `name` (at least `n` times). */
  async untilEvent(a: ActorAddress, name: string, n = 1): Promise<DomainEventEnvelope[]> {
    await this.rt.settle();
    return eventually(async () => (this.events(a, name).length >= n ? this.events(a, name) : undefined), 10_000, `${name} from ${a.kind}/${a.key}`);
  }
}

/** An effect row as the tests read it. */
export type EffectRow = {
  id: string;
  action_type: string;
  status: string;
  params: Record<string, unknown>;
  result: unknown;
  attempts: number;
  approval_id: string | null;
  level: string | null;
  risk: string | null;
  agent: string | null;
  gate: { name: string; request: number; agent: string; preview: string } | null;
  last_error: string | null;
};

/** Whether `level` asks a person for `risk` (the table of DESIGN.md). */
export function needsApproval(level: Level, risk: 'low' | 'medium' | 'high' | 'critical'): boolean {
  if (risk === 'critical') return true;
  if (level === 'autonomous') return false;
  if (level === 'semi_autonomous') return risk !== 'low';
  return true;
}

/** A gate's record in a committed actor's context. */
export function gateOf(v: ActorView | undefined, name: string): GateRecord | undefined {
  return (v?.context as { gates?: Record<string, GateRecord> } | undefined)?.gates?.[name];
}

/**
 * Walks one actor through `steps`: sends, clock moves, restarts, approvals, and
 * waits on committed states. A function step gets the kit for anything else.
 *
 * @example
 * await walk(kit, order, [
 *   { send: { type: 'order.deliver' } },
 *   { until: 'delivered' },
 *   { restart: true, whileDown: 2 * DAY },
 *   { advance: 5 * DAY },
 *   { until: 'awaitingFeedback', context: { feedbackRequest: { status: 'sent' } } },
 * ]);
 */
export async function walk(kit: EntityKit, a: ActorAddress, steps: Step[]): Promise<void> {
  for (const [i, s] of steps.entries()) {
    try {
      if (typeof s === 'function') await s(kit);
      else if ('send' in s) await kit.send(a, s.send);
      else if ('advance' in s) await kit.advance(s.advance);
      else if ('restart' in s) await kit.restart({ whileDown: s.whileDown });
      else if ('until' in s) {
        const v = await kit.until(a, s.until);
        if (s.context) expect(v.context).toMatchObject(s.context);
      } else if ('approve' in s) await kit.approve(a, s.approve, s.by, s.note);
      else if ('reject' in s) await kit.reject(a, s.reject, s.by, s.note);
    } catch (e) {
      (e as Error).message = `walk step ${i} ${JSON.stringify(typeof s === 'function' ? s.name || 'fn' : s)}: ${(e as Error).message}`;
      throw e;
    }
  }
}
