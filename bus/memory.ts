import { randomUUID } from 'node:crypto';
import type { Bus, Delivery, EventConsumer, PartitionConsumer } from './types.ts';
import { subjectMatches, type Subjects } from './subjects.ts';

type Stored = { seq: number; subject: string; data: Uint8Array; deliveries: number; inFlight: boolean };

/**
 * The in-process bus of embedded mode. Same subject semantics as NATS (`*`, `>`),
 * the same work-queue behaviour per mailbox partition (unacked messages are
 * redelivered in order to the next consumer), and `msgId` deduplication within a
 * window. It holds nothing across a restart: in embedded mode durability comes
 * from the outbox in the database, which is re-published at start.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private seq = 0;
  private readonly partitions = new Map<number, Stored[]>();
  private readonly consumers = new Map<number, (m: Delivery) => void>();
  private readonly subs = new Set<{ pattern: string; fn: (s: string, d: Uint8Array) => void }>();
  private readonly seen = new Map<string, number>();
  /** Durable event consumers by name: their unacknowledged events and their handler. */
  private readonly eventConsumers = new Map<string, { queue: Stored[]; fn: ((m: Delivery) => void) | undefined }>();
  private stopped = false;

  /**
   * @param subjects the subject scheme
   * @param dedupeWindowMs how long a msgId is remembered @default 120000
   */
  constructor(
    private readonly subjects: Subjects,
    private readonly dedupeWindowMs = 120_000,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
  }

  async publish(subject: string, data: Uint8Array, opts: { msgId: string }): Promise<void> {
    if (this.stopped) throw new Error('the in-process bus is stopped');
    const now = Date.now();
    const last = this.seen.get(opts.msgId);
    if (last !== undefined && now - last < this.dedupeWindowMs) return;
    this.seen.set(opts.msgId, now);
    // Insertion order is time order: prune from the front, a little at a time.
    if (this.seen.size > 200_000) this.pruneSeen(now);
    const mb = this.subjects.parseMailbox(subject);
    if (mb) {
      const q = this.queue(mb.partition);
      const m: Stored = { seq: ++this.seq, subject, data, deliveries: 0, inFlight: false };
      q.push(m);
      this.deliver(mb.partition, m);
    }
    if (subjectMatches(this.subjects.allEvents(), subject)) {
      for (const c of this.eventConsumers.values()) {
        const m: Stored = { seq: ++this.seq, subject, data, deliveries: 0, inFlight: false };
        c.queue.push(m);
        this.deliverEvent(c, m);
      }
    }
    this.fanout(subject, data);
  }

  async consumePartition(partition: number, onMessage: (m: Delivery) => void): Promise<PartitionConsumer> {
    this.consumers.set(partition, onMessage);
    for (const m of this.queue(partition)) {
      m.inFlight = false;
      this.deliver(partition, m);
    }
    let resolveClosed!: (e: Error | undefined) => void;
    const closed = new Promise<Error | undefined>((r) => (resolveClosed = r));
    return {
      partition,
      closed,
      stop: async () => {
        if (this.consumers.get(partition) === onMessage) this.consumers.delete(partition);
        resolveClosed(undefined);
      },
    };
  }

  async consumeEvents(name: string, onMessage: (m: Delivery) => void): Promise<EventConsumer> {
    let c = this.eventConsumers.get(name);
    if (!c) this.eventConsumers.set(name, (c = { queue: [], fn: undefined }));
    c.fn = onMessage;
    for (const m of c.queue) {
      m.inFlight = false;
      this.deliverEvent(c, m);
    }
    const consumer = c;
    return {
      stop: async () => {
        if (consumer.fn === onMessage) consumer.fn = undefined;
      },
    };
  }

  notify(subject: string, data: Uint8Array): void {
    this.fanout(subject, data);
  }

  subscribe(pattern: string, onMessage: (subject: string, data: Uint8Array) => void): { unsubscribe(): void } {
    const sub = { pattern, fn: onMessage };
    this.subs.add(sub);
    return { unsubscribe: () => this.subs.delete(sub) };
  }

  inbox(): string {
    return `_INBOX.${randomUUID().replaceAll('-', '')}`;
  }

  async ping(): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
    return this.stopped ? { ok: false, latencyMs: 0, error: 'stopped' } : { ok: true, latencyMs: 0 };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.consumers.clear();
    this.subs.clear();
    for (const c of this.eventConsumers.values()) c.fn = undefined;
  }

  /** Messages held for a partition and not yet acknowledged (for tests and metrics). */
  pending(partition: number): number {
    return this.queue(partition).length;
  }

  private queue(p: number): Stored[] {
    let q = this.partitions.get(p);
    if (!q) this.partitions.set(p, (q = []));
    return q;
  }

  private deliver(partition: number, m: Stored): void {
    this.offer(this.consumers.get(partition), this.queue(partition), m, () => this.deliver(partition, m));
  }

  private deliverEvent(c: { queue: Stored[]; fn: ((m: Delivery) => void) | undefined }, m: Stored): void {
    this.offer(c.fn, c.queue, m, () => this.deliverEvent(c, m));
  }

  /** Hands `m` to `fn` unless it is in flight: ack removes it from `queue`, nak hands it again (`again`) after the delay. */
  private offer(fn: ((m: Delivery) => void) | undefined, queue: Stored[], m: Stored, again: () => void): void {
    if (!fn || m.inFlight) return;
    m.inFlight = true;
    m.deliveries++;
    let settled = false;
    fn({
      subject: m.subject,
      data: m.data,
      deliveryCount: m.deliveries,
      recovery: false,
      ack: () => {
        if (settled) return;
        settled = true;
        const i = queue.indexOf(m);
        if (i >= 0) queue.splice(i, 1);
      },
      nak: (delayMs = 0) => {
        if (settled) return;
        settled = true;
        m.inFlight = false;
        setTimeout(again, delayMs).unref();
      },
      working: () => {},
    });
  }

  private fanout(subject: string, data: Uint8Array): void {
    for (const s of this.subs) {
      if (!subjectMatches(s.pattern, subject)) continue;
      try {
        s.fn(subject, data);
      } catch {
        // A subscriber's failure is its own; the bus keeps delivering to the others.
      }
    }
  }

  private pruneSeen(now: number): void {
    for (const [id, t] of this.seen) {
      if (now - t < this.dedupeWindowMs) return;
      this.seen.delete(id);
    }
  }
}
