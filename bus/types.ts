/**
 * The bus as the runtime sees it: durable publish with a message id for
 * deduplication, per-partition ordered mailbox consumption with explicit acks,
 * and core (non-durable) notifications for replies. Two adapters implement it:
 * NATS JetStream (`nats.ts`) and the in-process bus (`memory.ts`).
 */
export interface Bus {
  readonly kind: 'nats' | 'memory';
  /** Creates streams (idempotent). Safe to call twice. */
  start(): Promise<void>;
  /**
   * Durable publish: resolves once the bus holds the message. A second publish with
   * the same `msgId` inside the dedupe window is dropped by the bus.
   */
  publish(subject: string, data: Uint8Array, opts: { msgId: string }): Promise<void>;
  /**
   * Consumes one mailbox partition, in stream order. Called when this process takes
   * ownership of the partition; unacked messages from an earlier owner are
   * redelivered first, in order.
   */
  consumePartition(partition: number, onMessage: (m: Delivery) => void): Promise<PartitionConsumer>;
  /**
   * A durable consumer of every domain event (`<prefix>.*.events.>`), shared by every
   * process that opens the same `name`: each event goes to one of them and is
   * redelivered until acknowledged. It starts with events published after it was
   * first created; the events of a stopped runtime wait for its next start.
   */
  consumeEvents(name: string, onMessage: (m: Delivery) => void): Promise<EventConsumer>;
  /** Non-durable publish (replies, notifications). Never throws. */
  notify(subject: string, data: Uint8Array): void;
  /** Non-durable subscription (request/reply inboxes, live views). */
  subscribe(pattern: string, onMessage: (subject: string, data: Uint8Array) => void): { unsubscribe(): void };
  /** A unique inbox subject for replies to this process. */
  inbox(): string;
  /** Readiness, for /healthz. */
  ping(): Promise<{ ok: boolean; latencyMs: number; error?: string }>;
  /** Drains and closes. Safe to call twice. */
  stop(): Promise<void>;
}

/** One message delivered from a mailbox partition. */
export interface Delivery {
  readonly subject: string;
  readonly data: Uint8Array;
  /** 1 on the first delivery */
  readonly deliveryCount: number;
  /**
   * True when the message was already in the partition when this process took it
   * over: it may have been in flight when the previous owner ended.
   */
  readonly recovery: boolean;
  /** Acknowledge: only after the message's effects are committed. */
  ack(): void;
  /** Ask for redelivery after `delayMs`. */
  nak(delayMs?: number): void;
  /** Extend the ack deadline while work continues (e.g. the database is down). */
  working(): void;
}

/** A running events consumer. */
export interface EventConsumer {
  /** Stops delivering; unacked events stay with the bus. Safe to call twice. */
  stop(): Promise<void>;
}

/** A running partition consumer. */
export interface PartitionConsumer {
  readonly partition: number;
  /** Stops delivering; unacked messages stay with the bus. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves when the consumer ended, with the error if it failed (e.g. deleted by a new owner). */
  readonly closed: Promise<Error | undefined>;
}
