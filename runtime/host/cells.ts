import { partitionOf, type ActorAddress } from '../../bus/index.ts';
import type { Queryable } from '../store/index.ts';
import type { Cell } from './cell.ts';
import type { Kind } from './kind.ts';
import type { InitialActions } from './apply.ts';
import { loadActors } from './load.ts';

/**
 * The active actors of this process: activation on demand from the persisted
 * snapshot (several at once, in one query), and passivation of the least recently
 * used beyond `maxActive`, or of those idle longer than `idleMs`. A passivated
 * actor costs nothing but its row; its next message activates it again.
 */
export class CellCache {
  private readonly cells = new Map<string, { cell: Cell; usedAt: number }>();

  constructor(
    private readonly kinds: Map<string, Kind>,
    private readonly db: Queryable,
    private readonly partitions: number,
    private readonly init: InitialActions,
    private readonly maxActive: number,
  ) {}

  /** Number of active actors. */
  get size(): number {
    return this.cells.size;
  }

  hasKind(kind: string): boolean {
    return this.kinds.has(kind);
  }

  /** The active cell, refreshed as most recently used. */
  get(id: string): Cell | undefined {
    const e = this.cells.get(id);
    if (!e) return undefined;
    this.cells.delete(id);
    e.usedAt = performance.now();
    this.cells.set(id, e);
    return e.cell;
  }

  /** The active cell without touching its recency (for reads). */
  peek(id: string): Cell | undefined {
    return this.cells.get(id)?.cell;
  }

  /** Activates every address not yet active: loaded from its row, or new. */
  async ensure(addresses: ActorAddress[]): Promise<void> {
    const missing = new Map<string, ActorAddress>();
    for (const a of addresses) {
      const id = `${a.tenant}/${a.kind}/${a.key}`;
      if (!this.cells.has(id)) missing.set(id, a);
    }
    if (missing.size === 0) return;
    const loaded = await loadActors(this.db, [...missing.values()]);
    for (const [id, a] of missing) {
      if (this.cells.has(id)) continue;
      const kind = this.kinds.get(a.kind)!;
      const row = loaded.get(id);
      const base = { address: a, id, partition: partitionOf(a, this.partitions), kind };
      let cell: Cell;
      if (row) {
        cell = {
          ...base,
          snapshot: kind.restore(row.snapshot),
          seq: row.seq,
          status: row.status,
          isNew: false,
          timers: row.timers,
          held: row.held,
          nextHoldSeq: row.held.reduce((m, h) => Math.max(m, h.holdSeq), 0) + 1,
        };
      } else {
        const first = kind.initial(a);
        cell = { ...base, snapshot: first.snapshot, seq: 0, status: 'active', isNew: true, timers: new Map(), held: [], nextHoldSeq: 1 };
        this.init.set(cell, first.actions);
      }
      this.cells.set(id, { cell, usedAt: performance.now() });
    }
  }

  /** Drops one actor from memory; its next message reloads it. */
  evict(id: string): void {
    this.cells.delete(id);
  }

  /** Drops every actor of a partition (the partition moved to another process). */
  evictPartition(partition: number): void {
    for (const [id, e] of this.cells) if (e.cell.partition === partition) this.cells.delete(id);
  }

  /** Passivates beyond the bound and, if `idleMs` is given, the idle ones. */
  passivate(idleMs?: number): number {
    let n = 0;
    const over = this.cells.size - this.maxActive;
    if (over > 0) {
      // Map order is least recently used first; keep a tenth of headroom.
      const target = over + Math.floor(this.maxActive / 10);
      for (const id of this.cells.keys()) {
        if (n >= target) break;
        this.cells.delete(id);
        n++;
      }
    }
    if (idleMs !== undefined) {
      const cutoff = performance.now() - idleMs;
      for (const [id, e] of this.cells) {
        if (e.usedAt >= cutoff) break;
        this.cells.delete(id);
        n++;
      }
    }
    return n;
  }
}
