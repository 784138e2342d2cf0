import { connect, nanos, createInbox, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Bus, Delivery, EventConsumer, PartitionConsumer } from './types.ts';
import type { Subjects } from './subjects.ts';
import { BusUnavailableError } from './errors.ts';

/** Options of the JetStream adapter. */
export interface NatsBusOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222` */
  servers: string | string[];
  /** Prefix of stream and consumer names; tests use their own. @default 'CADRE' */
  streamPrefix: string;
  /** How long JetStream drops a repeated `Nats-Msg-Id`. @default 120000 */
  dedupeWindowMs: number;
  /** How long an unacknowledged delivery waits before redelivery. @default 30000 */
  ackWaitMs: number;
  /** Unacknowledged messages per partition consumer. @default 1000 */
  maxAckPending: number;
  /** How long domain events are kept. @default 7 days */
  eventsMaxAgeMs: number;
  /** Connection name shown by the server. */
  name?: string;
}

/**
 * The JetStream adapter. Two streams on file storage:
 *
 * - `<P>_MAILBOX`: subjects `<prefix>.*.mailbox.>`, work-queue retention (a message
 *   is removed once acknowledged); one pull consumer per partition, filtered on
 *   `<prefix>.*.mailbox.<p>.>`. Work-queue streams refuse two consumers with
 *   overlapping filters, which fences two processes out of one partition.
 * - `<P>_EVENTS`: subjects `<prefix>.*.events.>`, kept for `eventsMaxAgeMs`.
 *
 * On taking a partition, the consumer is deleted and created anew with
 * `deliver_policy: all`, so every message the previous owner left unacknowledged
 * is redelivered first and in stream order; messages already committed are
 * skipped by the runtime's deduplication.
 */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private jsm?: JetStreamManager;
  private starting?: Promise<void>;

  constructor(
    private readonly subjects: Subjects,
    private readonly opts: NatsBusOptions,
  ) {}

  /** Name of the mailbox stream. */
  get mailboxStream(): string {
    return `${this.opts.streamPrefix}_MAILBOX`;
  }

  /** Name of the domain events stream. */
  get eventsStream(): string {
    return `${this.opts.streamPrefix}_EVENTS`;
  }

  start(): Promise<void> {
    this.starting ??= this.connectAndEnsureStreams();
    return this.starting;
  }

  private async connectAndEnsureStreams(): Promise<void> {
    try {
      this.nc = await connect({ servers: this.opts.servers, name: this.opts.name ?? 'cadre', maxReconnectAttempts: -1 });
    } catch (e) {
      this.starting = undefined;
      throw new BusUnavailableError(`cannot connect to NATS at ${String(this.opts.servers)}: ${(e as Error).message}`, e);
    }
    this.jsm = await jetstreamManager(this.nc);
    this.js = jetstream(this.nc);
    await this.ensureStream(this.mailboxStream, this.subjects.allMailboxes(), RetentionPolicy.Workqueue, 0);
    await this.ensureStream(this.eventsStream, this.subjects.allEvents(), RetentionPolicy.Limits, this.opts.eventsMaxAgeMs);
  }

  private async ensureStream(name: string, subject: string, retention: RetentionPolicy, maxAgeMs: number): Promise<void> {
    const jsm = this.jsm!;
    const config = {
      name,
      subjects: [subject],
      retention,
      storage: StorageType.File,
      // JetStream refuses a dedupe window longer than the stream's max age.
      duplicate_window: nanos(maxAgeMs > 0 ? Math.min(this.opts.dedupeWindowMs, maxAgeMs) : this.opts.dedupeWindowMs),
      max_age: nanos(maxAgeMs),
    };
    try {
      const info = await jsm.streams.info(name);
      if (info.config.retention !== retention) {
        throw new BusUnavailableError(`stream ${name} exists with retention ${info.config.retention}, expected ${retention}; delete it or use another stream prefix`);
      }
    } catch (e) {
      if (e instanceof BusUnavailableError) throw e;
      await jsm.streams.add(config);
    }
  }

  async publish(subject: string, data: Uint8Array, opts: { msgId: string }): Promise<void> {
    if (!this.js) throw new BusUnavailableError('the NATS bus is not started');
    await this.js.publish(subject, data, { msgID: opts.msgId });
  }

  async consumePartition(partition: number, onMessage: (m: Delivery) => void): Promise<PartitionConsumer> {
    const jsm = this.jsm!;
    const name = `${this.opts.streamPrefix}_P${partition}`;
    const lastSeqAtClaim = (await jsm.streams.info(this.mailboxStream)).state.last_seq;
    try {
      await jsm.consumers.delete(this.mailboxStream, name);
    } catch {
      // not there: first owner of this partition
    }
    await jsm.consumers.add(this.mailboxStream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.subjects.mailboxPartition(partition),
      ack_wait: nanos(this.opts.ackWaitMs),
      max_ack_pending: this.opts.maxAckPending,
      max_deliver: -1,
    });
    const consumer = await this.js!.consumers.get(this.mailboxStream, name);
    const messages = await consumer.consume({
      max_messages: Math.min(512, this.opts.maxAckPending),
      abort_on_missing_resource: true,
      callback: (m: JsMsg) => onMessage(toDelivery(m, m.seq <= lastSeqAtClaim)),
    });
    const closed = messages.closed().then(
      (e) => (e instanceof Error ? e : undefined),
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    return {
      partition,
      closed,
      stop: async () => {
        messages.stop();
        await closed;
      },
    };
  }

  async consumeEvents(name: string, onMessage: (m: Delivery) => void): Promise<EventConsumer> {
    if (!this.js) throw new BusUnavailableError('the NATS bus is not started');
    const durable = `${this.opts.streamPrefix}_${name}`;
    try {
      await this.jsm!.consumers.info(this.eventsStream, durable);
    } catch {
      // First process to open it: from now on. Several processes may race here;
      // adding a consumer with the same configuration is idempotent.
      await this.jsm!.consumers.add(this.eventsStream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        filter_subject: this.subjects.allEvents(),
        ack_wait: nanos(this.opts.ackWaitMs),
        max_ack_pending: this.opts.maxAckPending,
        max_deliver: -1,
      });
    }
    const consumer = await this.js.consumers.get(this.eventsStream, durable);
    const messages = await consumer.consume({
      max_messages: 256,
      callback: (m: JsMsg) => onMessage(toDelivery(m, false)),
    });
    return {
      stop: async () => {
        messages.stop();
        await messages.closed().catch(() => undefined);
      },
    };
  }

  notify(subject: string, data: Uint8Array): void {
    try {
      this.nc?.publish(subject, data);
    } catch {
      // A lost notification is recoverable by the receiver (it times out and asks again).
    }
  }

  subscribe(pattern: string, onMessage: (subject: string, data: Uint8Array) => void): { unsubscribe(): void } {
    if (!this.nc) throw new BusUnavailableError('the NATS bus is not started');
    const sub = this.nc.subscribe(pattern, {
      callback: (err, m) => {
        if (!err) onMessage(m.subject, m.data);
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  inbox(): string {
    return createInbox();
  }

  async ping(): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
    const t = performance.now();
    try {
      if (!this.nc || this.nc.isClosed()) return { ok: false, latencyMs: 0, error: 'not connected' };
      await this.nc.flush();
      await this.jsm!.getAccountInfo();
      return { ok: true, latencyMs: performance.now() - t };
    } catch (e) {
      return { ok: false, latencyMs: performance.now() - t, error: (e as Error).message };
    }
  }

  async stop(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.starting = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  /** Deletes both streams (tests and `cadre reset`). */
  async destroyStreams(): Promise<void> {
    for (const s of [this.mailboxStream, this.eventsStream]) await this.jsm?.streams.delete(s).catch(() => false);
  }
}

function toDelivery(m: JsMsg, recovery: boolean): Delivery {
  return {
    subject: m.subject,
    data: m.data,
    deliveryCount: m.info.deliveryCount,
    recovery,
    ack: () => m.ack(),
    nak: (delayMs) => m.nak(delayMs),
    working: () => m.working(),
  };
}
