import type { Database } from './store/index.ts';
import type { Logger } from './logger.ts';
import { inPartitions } from './sql.ts';

/** Reacts to partitions this process gains or loses. */
export interface OwnershipListener {
  gained(partition: number): Promise<void>;
  lost(partition: number): Promise<void>;
}

/** Which mailbox partitions this process owns. */
export interface Ownership {
  start(listener: OwnershipListener): Promise<void>;
  owned(): number[];
  /** Releases every partition (after the listener let go of them). Safe to call twice. */
  stop(): Promise<void>;
}

/** Embedded mode: one process owns every partition. */
export class AllPartitions implements Ownership {
  private mine: number[] = [];
  private listener?: OwnershipListener;

  constructor(private readonly partitions: number) {}

  async start(listener: OwnershipListener): Promise<void> {
    this.listener = listener;
    for (let p = 0; p < this.partitions; p++) {
      await listener.gained(p);
      this.mine.push(p);
    }
  }

  owned(): number[] {
    return this.mine;
  }

  async stop(): Promise<void> {
    for (const p of this.mine.splice(0)) await this.listener?.lost(p);
  }
}

/** Options of leased ownership. */
export interface LeaseOptions {
  partitions: number;
  /** This process's name in the lease table. A restarted process with the same id takes its partitions back at once. */
  nodeId: string;
  /** How long a lease lasts without renewal. @default 10000 */
  ttlMs: number;
  /** How often leases are renewed and rebalanced. @default 2000 */
  renewMs: number;
}

/**
 * Several processes on one PostgreSQL: each owns a fair share of the partitions
 * through leases in `partition_leases`, renewed every `renewMs` on PostgreSQL's own
 * clock. A process that stops renewing loses its partitions after `ttlMs`; the
 * others take them. A process above its fair share gives partitions back after
 * letting go of them. Correctness never rests on leases alone: every commit also
 * checks each actor's sequence number, and the work-queue stream refuses a second
 * consumer on a partition.
 */
export class LeasedPartitions implements Ownership {
  private readonly mine = new Set<number>();
  /** Hand-overs in progress, per partition: they run beside the renewals, never blocking them. */
  private readonly handovers = new Map<number, Promise<void>>();
  private listener?: OwnershipListener;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly opts: LeaseOptions,
    private readonly log: Logger,
  ) {}

  async start(listener: OwnershipListener): Promise<void> {
    this.listener = listener;
    await this.db.query(
      `INSERT INTO partition_leases (partition) SELECT generate_series(0, $1::int - 1) ON CONFLICT DO NOTHING`,
      [this.opts.partitions],
    );
    await this.tick();
    await Promise.all(this.handovers.values()); // started means consuming
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, this.opts.renewMs);
    this.timer.unref();
  }

  owned(): number[] {
    return [...this.mine];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    await Promise.all(this.handovers.values());
    for (const p of [...this.mine]) await this.release(p);
    await this.db.query(`DELETE FROM runtime_nodes WHERE node_id = $1`, [this.opts.nodeId]).catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const ttl = `${this.opts.ttlMs} milliseconds`;
      await this.db.query(
        `INSERT INTO runtime_nodes (node_id) VALUES ($1) ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()`,
        [this.opts.nodeId],
      );
      const renewed = await this.db.query<{ partition: number }>(
        `UPDATE partition_leases SET lease_until = now() + $2::interval WHERE owner = $1 RETURNING partition`,
        [this.opts.nodeId, ttl],
      );
      const still = new Set(renewed.map((r) => Number(r.partition)));
      for (const p of [...this.mine]) if (!still.has(p)) this.lose(p, 'its lease was taken by another process');
      const live = await this.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM runtime_nodes WHERE heartbeat_at > now() - $1::interval`,
        [ttl],
      );
      const share = Math.ceil(this.opts.partitions / Math.max(1, Number(live[0]?.n ?? 1)));
      if (this.mine.size < share) await this.claim(share - this.mine.size, ttl);
      else if (this.mine.size > share) for (const p of [...this.mine].slice(share)) this.handover(p, () => this.release(p));
    } catch (err) {
      this.log.error({ err }, 'could not renew partition leases; will retry (check the database)');
    }
  }

  private async claim(n: number, ttl: string): Promise<void> {
    const rows = await this.db.query<{ partition: number }>(
      `UPDATE partition_leases SET owner = $1, lease_until = now() + $3::interval, epoch = epoch + 1
       WHERE partition IN (
         SELECT partition FROM partition_leases
         WHERE (owner = $1 OR owner IS NULL OR lease_until < now())
           AND NOT (${inPartitions('$4')})
         ORDER BY (owner = $1) DESC NULLS LAST, partition LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING partition`,
      [this.opts.nodeId, n, ttl, JSON.stringify([...this.mine])],
    );
    for (const r of rows) {
      const p = Number(r.partition);
      if (this.mine.has(p) || this.handovers.has(p)) continue;
      this.mine.add(p);
      this.handover(p, async () => {
        try {
          await this.listener!.gained(p);
        } catch (err) {
          this.log.error({ err, partition: p }, 'could not take over a partition; releasing it for another try');
          await this.release(p);
        }
      });
    }
  }

  private lose(p: number, why: string): void {
    this.log.warn({ partition: p }, `partition lost: ${why}`);
    this.mine.delete(p);
    this.handover(p, () => this.listener!.lost(p));
  }

  /** Runs one hand-over of a partition at a time, beside the lease renewals. */
  private handover(p: number, work: () => Promise<void>): void {
    const previous = this.handovers.get(p) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((err: unknown) => this.log.error({ err, partition: p }, 'partition hand-over failed'))
      .finally(() => {
        if (this.handovers.get(p) === next) this.handovers.delete(p);
      });
    this.handovers.set(p, next);
  }

  private async release(p: number): Promise<void> {
    this.mine.delete(p);
    await this.listener?.lost(p);
    await this.db
      .query(`UPDATE partition_leases SET owner = NULL, lease_until = NULL WHERE partition = $1 AND owner = $2`, [p, this.opts.nodeId])
      .catch((err) => this.log.warn({ err, partition: p }, 'could not release a partition lease; it expires by itself'));
  }
}
