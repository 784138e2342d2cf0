import type { ActorMessage } from '../bus/index.ts';
import type { Database } from './store/index.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { inPartitions } from './sql.ts';

type DueRow = {
  tenant: string;
  kind: string;
  key: string;
  timer_id: string;
  set_seq: number;
  due_at: Date;
  event: { type: string };
};

/**
 * Durable time. Every delay a machine sets (XState `after`, delayed `raise`) is a
 * row in `timers`, written in the commit that set it. This service fires due rows
 * of the partitions this process owns: it hands the actor a `cadre.timer.fire`
 * message whose id names the timer and the commit that armed it, and the actor's
 * commit deletes the row. So a timer fires exactly once, also after a crash.
 *
 * Policy for timers that came due while no process ran: each fires once, as soon
 * as its partition is taken, oldest first, carrying its original `dueAt`; there is
 * no catch-up of repeated occurrences (docs/architecture.md, "Durable time").
 */
export class TimerService {
  private cancelWake?: () => void;
  private wakeAt = Infinity;
  private safety?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private again = false;
  private readonly handedOver = new Map<string, number>();
  private stopped = true;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly owned: () => number[],
    private readonly deliver: (m: ActorMessage) => void,
    private readonly log: Logger,
    /** Real-time safety poll, for timers set by other processes. @default 5000 */
    private readonly pollMs = 5000,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.safety = setInterval(() => this.poll(), this.pollMs);
    this.safety.unref();
    this.poll();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.safety);
    this.cancelWake?.();
    this.cancelWake = undefined;
    this.wakeAt = Infinity;
  }

  /** A commit set a timer due at `dueAt` (epoch ms): wake up for it. */
  scheduled(dueAt: number): void {
    if (this.stopped || dueAt >= this.wakeAt) return;
    this.arm(dueAt);
  }

  /** The timer's commit happened (fired or cancelled): it may be handed over again if re-armed. */
  settled(messageId: string): void {
    this.handedOver.delete(messageId);
  }

  /** Looks for due timers now. Concurrent calls coalesce. */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = this.fireDue()
      .catch((err) => this.log.error({ err }, 'could not read due timers; retrying on the next poll'))
      .finally(() => {
        this.polling = undefined;
        if (this.again) {
          this.again = false;
          void this.poll();
        }
      });
    return this.polling;
  }

  private async fireDue(): Promise<void> {
    const partitions = this.owned();
    if (partitions.length === 0) return;
    const now = this.clock.now();
    const nowIso = new Date(now).toISOString();
    const rows = await this.db.query<DueRow>(
      `SELECT tenant, kind, key, timer_id, set_seq, due_at, event FROM timers
       WHERE ${inPartitions('$1')} AND due_at <= $2::timestamptz ORDER BY due_at LIMIT 5000`,
      [JSON.stringify(partitions), nowIso],
    );
    const realNow = performance.now();
    for (const r of rows) {
      const id = `timer:${r.tenant}/${r.kind}/${r.key}:${r.timer_id}:${r.set_seq}`;
      const last = this.handedOver.get(id);
      if (last !== undefined && realNow - last < 30_000) continue;
      this.handedOver.set(id, realNow);
      const dueAt = new Date(r.due_at).toISOString();
      this.deliver({
        id,
        tenant: r.tenant,
        to: { kind: r.kind, key: r.key },
        event: { type: 'cadre.timer.fire', timerId: r.timer_id, setSeq: Number(r.set_seq), dueAt, event: r.event },
        correlationId: id,
        causationId: null,
        from: 'runtime:timers',
        sentAt: nowIso,
      });
    }
    const next = await this.db.query<{ due: Date | null }>(
      `SELECT min(due_at) AS due FROM timers WHERE ${inPartitions('$1')} AND due_at > $2::timestamptz`,
      [JSON.stringify(partitions), nowIso],
    );
    const due = next[0]?.due;
    this.wakeAt = Infinity;
    if (due) this.arm(new Date(due).getTime());
  }

  private arm(dueAt: number): void {
    this.cancelWake?.();
    this.wakeAt = dueAt;
    this.cancelWake = this.clock.setTimeout(() => {
      this.wakeAt = Infinity;
      void this.poll();
    }, dueAt - this.clock.now());
  }
}
