import { ActorAddress, CommitReply, MachineEvent, partitionOf, type ActorMessage, type Bus, type Subjects } from '../bus/index.ts';
import type { Database, Queryable } from './store/index.ts';
import type { Clock } from './clock.ts';
import type { OutboxEntry, OutboxRelay } from './outbox.ts';
import { newId } from './ids.ts';

/** Options of one send. */
export interface SendOptions {
  /** The message id; a repeated id is applied once. @default a new uuid */
  id?: string;
  correlationId?: string;
  causationId?: string | null;
  /** Who sends it, e.g. `operator:ana` or `gateway`. @default 'external:api' */
  from?: string;
  /** Wait for the commit and return its reply. @default false */
  wait?: boolean;
  /** How long to wait for the commit. @default 10000 */
  timeoutMs?: number;
  /**
   * Write the message to the outbox before publishing, so it survives a crash of
   * this process. @default true
   */
  durable?: boolean;
}

/** The message is larger than the bus takes; nothing was sent. */
export class MessageTooLargeError extends Error {
  readonly code = 'MESSAGE_TOO_LARGE';
  readonly retryable = false;
}

/** The message was sent but its commit was not confirmed in time. */
export class SendTimeoutError extends Error {
  readonly code = 'SEND_TIMEOUT';
  readonly retryable = true;
  constructor(readonly messageId: string, timeoutMs: number) {
    super(`message ${messageId} was accepted but not committed within ${timeoutMs} ms; it stays queued and will be applied once (sending it again with the same id is safe)`);
  }
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}

/**
 * Sends events to actors from outside the actors: the gateway, the CLI, tests.
 * Durable sends go through the outbox like an actor's own messages.
 */
export class Sender {
  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly relay: OutboxRelay,
    private readonly clock: Clock,
    /** Largest message accepted. @default 262144 */
    private readonly maxMessageBytes = 256 * 1024,
  ) {}

  /** Sends one event; with `wait`, resolves with the commit's reply. */
  async send(address: ActorAddress, event: { type: string; [k: string]: unknown }, opts: SendOptions = {}): Promise<CommitReply | { ok: true; id: string; queued: true }> {
    const message = this.message(address, event, opts);
    const id = message.id;
    if (!opts.wait) {
      await this.dispatch(message, opts.durable ?? true);
      return { ok: true, id, queued: true };
    }
    const inbox = this.bus.inbox();
    message.replyTo = inbox;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    // Subscribed before dispatching, so that a fast reply is not missed; the clock
    // for the timeout starts only once the message is accepted.
    let onReply!: (r: CommitReply) => void;
    const replied = new Promise<CommitReply>((resolve) => (onReply = resolve));
    const sub = this.bus.subscribe(inbox, (_s, data) => {
      const parsed = CommitReply.safeParse(safeJson(data));
      if (parsed.success) onReply(parsed.data);
    });
    let timer: NodeJS.Timeout | undefined;
    let polling: NodeJS.Timeout | undefined;
    try {
      await this.dispatch(message, opts.durable ?? true);
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SendTimeoutError(id, timeoutMs)), timeoutMs);
      });
      // A repeated id is dropped by the bus's deduplication, so no reply comes for it:
      // the committed outcome is read from the database instead, after a moment.
      const committed = new Promise<CommitReply>((resolve) => {
        const check = () => void this.outcome(message.tenant, id).then((r) => r && resolve(r), () => undefined);
        polling = setTimeout(function again() {
          check();
          polling = setTimeout(again, 1000);
        }, 300);
      });
      return await Promise.race([replied, committed, timedOut]);
    } finally {
      clearTimeout(timer);
      clearTimeout(polling);
      sub.unsubscribe();
    }
  }

  /** The committed outcome of a message id, if it has one. */
  async outcome(tenant: string, id: string): Promise<CommitReply | undefined> {
    const [row] = await this.db.query<{ seq: number | null; state: string | null; code: string | null; reason: string | null }>(
      `SELECT j.seq, j.state, d.code, d.reason FROM (SELECT $1::text AS tenant, $2::text AS id) r
       LEFT JOIN journal j ON j.tenant = r.tenant AND j.message_id = r.id
       LEFT JOIN dead_letters d ON d.tenant = r.tenant AND d.message_id = r.id
       WHERE j.seq IS NOT NULL OR d.id IS NOT NULL`,
      [tenant, id],
    );
    if (!row) return undefined;
    if (row.code) return { ok: false, id, code: row.code, reason: row.reason ?? '' };
    return { ok: true, id, seq: Number(row.seq), state: row.state ?? '', duplicate: true };
  }

  /** Builds and validates a message; throws on a bad address or event. */
  message(address: ActorAddress, event: { type: string; [k: string]: unknown }, opts: SendOptions = {}): ActorMessage {
    const to = ActorAddress.parse(address);
    const id = opts.id ?? newId();
    return {
      id,
      tenant: to.tenant,
      to: { kind: to.kind, key: to.key },
      event: MachineEvent.parse(event),
      correlationId: opts.correlationId ?? id,
      causationId: opts.causationId ?? null,
      from: opts.from ?? 'external:api',
      sentAt: new Date(this.clock.now()).toISOString(),
    };
  }

  /**
   * Writes a message to the outbox inside the caller's transaction; publish it with
   * `publish` once that transaction committed.
   */
  async enqueue(tx: Queryable, message: ActorMessage): Promise<OutboxEntry> {
    const entry = this.entry(message);
    await tx.query(
      `INSERT INTO outbox (tenant, message_id, partition, subject, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz)
       ON CONFLICT DO NOTHING`,
      [entry.tenant, entry.message_id, entry.partition, entry.subject, entry.payload, message.sentAt],
    );
    return entry;
  }

  /** Publishes committed outbox entries. */
  publish(entries: OutboxEntry[]): void {
    this.relay.publish(entries);
  }

  private entry(message: ActorMessage): OutboxEntry {
    const address = { tenant: message.tenant, ...message.to };
    const payload = JSON.stringify(message);
    const bytes = Buffer.byteLength(payload);
    if (bytes > this.maxMessageBytes) {
      throw new MessageTooLargeError(`the message would be ${bytes} bytes; the limit is ${this.maxMessageBytes} (CADRE_MAX_MESSAGE_BYTES)`);
    }
    return {
      tenant: message.tenant,
      message_id: message.id,
      partition: partitionOf(address, this.subjects.partitions),
      subject: this.subjects.mailbox(address),
      payload,
    };
  }

  private async dispatch(message: ActorMessage, durable: boolean): Promise<void> {
    if (!durable) {
      const entry = this.entry(message);
      await this.bus.publish(entry.subject, new TextEncoder().encode(entry.payload), { msgId: entry.message_id });
      return;
    }
    this.relay.publish([await this.enqueue(this.db, message)]);
  }
}
