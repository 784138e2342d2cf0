import type { Bus } from '../bus/index.ts';
import type { Database } from './store/index.ts';
import type { Logger } from './logger.ts';
import { inPartitions } from './sql.ts';

/** A committed message waiting to be published. */
export type OutboxEntry = {
  tenant: string;
  message_id: string;
  partition: number;
  subject: string;
  payload: string;
};

const enc = new TextEncoder();

/**
 * The outbox relay. Messages are written to the `outbox` table in the commit that
 * produced them and published after it, in commit order, each with its message id
 * as the bus's deduplication id; published rows are then deleted in bulk. After a
 * crash, rows still in the table are published again when their partition is
 * taken (before its mailbox is consumed, so a sender's messages keep their order)
 * and by a periodic sweep; the receiver's deduplication makes that harmless.
 */
export class OutboxRelay {
  private queue: OutboxEntry[] = [];
  private readonly queued = new Set<string>();
  private publishing = false;
  private published: { tenant: string; message_id: string }[] = [];
  private deleteTimer?: NodeJS.Timeout;
  private stopped = false;
  private failures = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly log: Logger,
    /** Messages published at once. @default 256 */
    private readonly window = 256,
    /**
     * Publish nothing: rows stay in the outbox for a node to publish when it takes
     * their partitions. For a client on the in-process bus, which no node hears.
     * @default false
     */
    private readonly hold = false,
  ) {}

  /** Publishes committed entries, in order, after those already queued. */
  publish(entries: OutboxEntry[]): void {
    if (this.hold) return;
    for (const e of entries) {
      const k = `${e.tenant}:${e.message_id}`;
      if (this.queued.has(k)) continue;
      this.queued.add(k);
      this.queue.push(e);
    }
    if (!this.publishing && this.queue.length > 0) void this.drain();
  }

  /** Publishes what an earlier process left in the outbox for these partitions. */
  async sweep(partitions: number[]): Promise<number> {
    if (partitions.length === 0) return 0;
    let total = 0;
    for (;;) {
      await this.flushDeletes();
      const rows = await this.db.query<OutboxEntry>(
        `SELECT tenant, message_id, partition, subject, payload FROM outbox WHERE ${inPartitions('$1')}
         ORDER BY position LIMIT 2000`,
        [JSON.stringify(partitions)],
      );
      const fresh = rows.filter((r) => !this.queued.has(`${r.tenant}:${r.message_id}`));
      this.publish(fresh);
      total += fresh.length;
      await this.idle();
      await this.flushDeletes();
      if (rows.length < 2000 || fresh.length === 0) return total;
    }
  }

  /** Resolves when everything queued has been published (or the relay stopped). */
  idle(): Promise<void> {
    if (!this.publishing && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Messages not yet published. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Publishes what is queued and deletes what was published. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 2000))]);
    this.stopped = true;
    await this.flushDeletes().catch(() => undefined);
    clearTimeout(this.deleteTimer);
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async drain(): Promise<void> {
    this.publishing = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const chunk = this.queue.slice(0, this.window);
        // Publishes leave in order on one connection; the acks are awaited together.
        const results = await Promise.allSettled(chunk.map((e) => this.bus.publish(e.subject, enc.encode(e.payload), { msgId: e.message_id })));
        const firstFailure = results.findIndex((r) => r.status === 'rejected');
        const done = firstFailure === -1 ? chunk.length : firstFailure;
        for (const e of this.queue.splice(0, done)) {
          this.queued.delete(`${e.tenant}:${e.message_id}`);
          this.published.push({ tenant: e.tenant, message_id: e.message_id });
        }
        this.scheduleDeletes();
        if (firstFailure !== -1) {
          const wait = Math.min(5000, 100 * 2 ** Math.min(this.failures++, 6));
          const err = (results[firstFailure] as PromiseRejectedResult).reason;
          this.log.error({ err, retryInMs: wait, backlog: this.queue.length }, 'publishing to the bus failed; messages stay in the outbox and are retried in order (check NATS_URL and that NATS is up)');
          await new Promise((r) => setTimeout(r, wait));
        } else this.failures = 0;
      }
    } finally {
      this.publishing = false;
      if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private scheduleDeletes(): void {
    if (this.published.length >= 1000) void this.flushDeletes();
    else if (!this.deleteTimer) this.deleteTimer = setTimeout(() => void this.flushDeletes(), 200);
  }

  /** Deletes the rows published so far (normally batched every 200 ms). */
  async flushDeletes(): Promise<void> {
    clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    if (this.published.length === 0) return;
    const rows = this.published.splice(0);
    try {
      await this.db.query(
        `DELETE FROM outbox o USING jsonb_to_recordset($1::jsonb) AS r(tenant text, message_id text)
         WHERE o.tenant = r.tenant AND o.message_id = r.message_id`,
        [JSON.stringify(rows)],
      );
    } catch (err) {
      // Left in place they are published again later, which deduplication absorbs.
      this.log.warn({ err, rows: rows.length }, 'could not delete published outbox rows; they will be re-published and deduplicated');
    }
  }
}
