import { encode, type ActorMessage, type Bus, type Delivery, type PartitionConsumer, type Subjects } from '../../bus/index.ts';
import type { EntityDefinition } from '../../machines/index.ts';
import type { Database } from '../store/index.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { OwnershipListener } from '../ownership.ts';
import type { OutboxRelay } from '../outbox.ts';
import type { Batch } from './batch.ts';
import { Kind } from './kind.ts';
import { CellCache } from './cells.ts';
import { Lane } from './lane.ts';
import type { InitialActions } from './apply.ts';

/** Counters of the host, read by metrics and the bench. */
export interface HostStats {
  transitions: number;
  commits: number;
  committedMessages: number;
  deadLetters: number;
}

/** What the host needs. */
export interface HostDeps {
  db: Database;
  bus: Bus;
  subjects: Subjects;
  clock: Clock;
  log: Logger;
  relay: OutboxRelay;
  lanes: number;
  maxBatch: number;
  maxMessageBytes: number;
  maxActiveActors: number;
  idleMs: number;
  poisonLimit: number;
  maxAttempts(actionType: string): number;
  /** Called after every commit, after acks: effects and timers hook in here. */
  committed(batch: Batch): void;
  timerSettled(messageId: string): void;
}

/**
 * The actor host: machine kinds, the active actors, the commit lanes and one bus
 * consumer per owned partition. It owns no policy of its own: ownership tells it
 * which partitions to consume, and the composition root (runtime.ts) wires effects,
 * timers and the outbox to its commits.
 */
export class ActorHost implements OwnershipListener {
  readonly kinds = new Map<string, Kind>();
  readonly cells: CellCache;
  readonly stats: HostStats = { transitions: 0, commits: 0, committedMessages: 0, deadLetters: 0 };
  private readonly lanes: Lane[];
  private readonly consumers = new Map<number, PartitionConsumer>();
  private readonly init: InitialActions = new WeakMap();
  private stopping = false;

  constructor(private readonly deps: HostDeps) {
    this.cells = new CellCache(this.kinds, deps.db, deps.subjects.partitions, this.init, deps.maxActiveActors);
    const env = {
      db: deps.db,
      subjects: deps.subjects,
      clock: deps.clock,
      cells: this.cells,
      init: this.init,
      log: deps.log,
      maxMessageBytes: deps.maxMessageBytes,
      maxBatch: deps.maxBatch,
      poisonLimit: deps.poisonLimit,
      maxAttempts: deps.maxAttempts,
      afterCommit: (b: Batch) => this.afterCommit(b),
      notify: (s: string, d: Uint8Array) => deps.bus.notify(s, d),
      stopping: () => this.stopping,
    };
    this.lanes = Array.from({ length: deps.lanes }, () => new Lane(env));
  }

  /** Registers a kind of actor; its definition is checked here. */
  register(def: EntityDefinition): void {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(def.kind)) throw new Error(`kind "${def.kind}" must be letters, digits, "_" or "-"`);
    if (this.kinds.has(def.kind)) throw new Error(`kind "${def.kind}" is already registered`);
    if (typeof def.events?.safeParse !== 'function') throw new Error(`kind "${def.kind}" needs a zod schema of its events`);
    this.kinds.set(def.kind, new Kind(def));
  }

  /** Starts consuming a partition this process now owns. */
  async gained(partition: number): Promise<void> {
    // What an earlier owner committed but did not publish goes out first, in order.
    await this.deps.relay.sweep([partition]);
    await this.consume(partition, 0);
  }

  private async consume(partition: number, failures: number): Promise<void> {
    if (this.stopping) return;
    const consumer = await this.deps.bus.consumePartition(partition, (d) => this.laneOf(partition).push(d));
    this.consumers.set(partition, consumer);
    void consumer.closed.then((err) => {
      if (!err || this.stopping || this.consumers.get(partition) !== consumer) return;
      // Still ours (the lease says so), so the partition must not go quiet: consume again.
      const wait = Math.min(10_000, 500 * 2 ** Math.min(failures, 5));
      this.deps.log.warn({ partition, err: err.message, retryInMs: wait }, 'partition consumer ended unexpectedly; consuming it again');
      setTimeout(() => {
        if (this.consumers.get(partition) !== consumer) return;
        this.consume(partition, failures + 1).catch((e: unknown) => {
          this.deps.log.error({ partition, err: e }, 'could not consume the partition again; it will be retried when its lease is renewed or moves');
        });
      }, wait).unref();
    });
  }

  /** Stops consuming a partition and lets go of its actors. */
  async lost(partition: number): Promise<void> {
    const c = this.consumers.get(partition);
    this.consumers.delete(partition);
    await bounded(c?.stop().catch(() => undefined), 2000);
    // Bounded: under load the lane (shared with other partitions) may never be idle.
    // What is still queued for this partition commits safely: actors reload from the
    // database and the commit checks sequence numbers.
    await bounded(this.laneOf(partition).idle(), 5000);
    this.cells.evictPartition(partition);
  }

  /** Hands a runtime-made message (a timer firing) straight to its actor's lane. */
  deliverLocal(msg: ActorMessage): void {
    const address = { tenant: msg.tenant, ...msg.to };
    const subject = this.deps.subjects.mailbox(address);
    const d: Delivery = {
      subject,
      data: encode(msg),
      deliveryCount: 1,
      recovery: false,
      ack: () => this.deps.timerSettled(msg.id),
      nak: () => {},
      working: () => {},
    };
    this.laneOf(this.deps.subjects.parseMailbox(subject)!.partition).push(d);
  }

  /** Resolves when every lane is idle. */
  async idle(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.idle()));
  }

  /** Messages queued in the lanes. */
  get depth(): number {
    return this.lanes.reduce((n, l) => n + l.depth, 0);
  }

  /** From now on retries give up and leave messages to the bus; called first when the runtime stops. */
  beginStop(): void {
    this.stopping = true;
  }

  /** Stops consumers and drains the lanes. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const p of [...this.consumers.keys()]) await this.lost(p);
    await this.idle();
  }

  private laneOf(partition: number): Lane {
    return this.lanes[partition % this.lanes.length]!;
  }

  private afterCommit(batch: Batch): void {
    this.stats.commits++;
    this.stats.committedMessages += batch.acks.length;
    this.stats.transitions += batch.journal.length;
    this.stats.deadLetters += batch.deadLetters.length;
    for (const dl of batch.deadLetters) {
      this.deps.log.warn({ tenant: dl.tenant, messageId: dl.message_id, code: dl.code, subject: dl.subject }, `dead letter: ${dl.reason}`);
    }
    if (batch.outbox.length > 0) this.deps.relay.publish(batch.outbox);
    this.deps.committed(batch);
    this.cells.passivate();
  }

  /** Passivates actors idle for longer than the configured time. */
  passivateIdle(): number {
    return this.cells.passivate(this.deps.idleMs);
  }
}

function bounded(p: Promise<unknown> | undefined, ms: number): Promise<unknown> {
  if (!p) return Promise.resolve();
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise((r) => (t = setTimeout(r, ms)))]).finally(() => clearTimeout(t));
}
