import type { AnyStateMachine } from 'xstate';
import { Token, type Bus, type Subjects } from '../../bus/index.ts';
import type { Batch, JournalRow } from '../host/batch.ts';
import type { Logger } from '../logger.ts';
import { machineDefinition, sessionIdOf, toInspectionEvents, type InspectedSnapshot, type InspectionEvent, type InspectionRecord } from './format.ts';

/** What a subscription watches and how much it buffers. */
export interface InspectOptions {
  /** The tenant; a subscription never sees another tenant's actors. */
  tenant: string;
  /** Only actors of this kind. */
  kind?: string;
  /** Only actors with this key (with or without `kind`). */
  key?: string;
  /**
   * Records (one per actor and commit) kept for a subscriber that does not keep up;
   * beyond this the oldest are dropped and counted in `dropped`. @default 1000
   */
  maxQueue?: number;
}

/** Tunables of an `Inspection` (tests shorten them). */
export interface InspectionTimings {
  /** How often a process with subscribers tells the nodes it wants a tenant. @default 5000 */
  announceMs?: number;
  /** How long a node keeps publishing a tenant after the last such word. @default 15000 */
  demandTtlMs?: number;
}

/** Largest record published on the bus; beyond it events, then the context, are cut. */
export const MAX_RECORD_BYTES = 512 * 1024;
const SEEN_LIMIT = 10_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Live inspection of committed transitions (docs/inspect.md), on both sides of the bus.
 *
 * Node side: after each commit, `committed(batch)` publishes, for every actor the
 * commit changed, one `InspectionRecord` (its committed messages and the snapshot
 * committed after them) on `<prefix>.<tenant>.inspect` with a core (not stored)
 * publish. Only tenants somebody watches are published: a process with subscribers
 * says so every few seconds on `<prefix>.<tenant>.inspect.demand`, and every node
 * listens. With nobody watching, a commit costs one map lookup.
 *
 * Subscriber side: `subscribe({ tenant })` listens on the tenant's subject, so it
 * sees the commits of every process of the deployment, and turns records into
 * @statelyai/inspect events. Only committed transitions are seen: messages that were
 * refused, held or ignored leave no record.
 */
export class Inspection {
  /** Tenants somebody elsewhere watches, until when (this process's clock, ms). */
  private readonly demand = new Map<string, number>();
  /** Tenants watched from this process. */
  private readonly local = new Map<string, TenantWatch>();
  private readonly demandSub: { unsubscribe(): void };
  private readonly announceMs: number;
  private readonly demandTtlMs: number;

  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    /** The machine of a kind, for the definition in `@xstate.actor`; undefined for kinds this process does not know. */
    private readonly machineOf: (kind: string) => AnyStateMachine | undefined,
    private readonly log?: Logger,
    timings: InspectionTimings = {},
  ) {
    this.announceMs = timings.announceMs ?? 5000;
    this.demandTtlMs = timings.demandTtlMs ?? 15_000;
    this.demandSub = bus.subscribe(`${subjects.prefix}.*.inspect.demand`, (subject, data) => this.onDemand(subject, data));
  }

  /** The subject a tenant's records travel on. */
  subject(tenant: string): string {
    return `${this.subjects.prefix}.${tenant}.inspect`;
  }

  /** Whether commits of `tenant` are published now. */
  watched(tenant: string): boolean {
    if (this.local.has(tenant)) return true;
    const until = this.demand.get(tenant);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.demand.delete(tenant);
    return false;
  }

  /**
   * Called after every commit, with the batch it committed. Never throws: a failure
   * here is logged and the commit is unaffected.
   */
  committed(batch: Batch): void {
    if (this.local.size === 0 && this.demand.size === 0) return;
    try {
      if (this.local.size === 0) {
        const now = Date.now();
        for (const [t, until] of this.demand) if (until <= now) this.demand.delete(t);
        if (this.demand.size === 0) return;
      }
      let byActor: Map<string, JournalRow[]> | undefined;
      const wanted = new Map<string, boolean>();
      for (const row of batch.journal) {
        let w = wanted.get(row.tenant);
        if (w === undefined) wanted.set(row.tenant, (w = this.watched(row.tenant)));
        if (!w) continue;
        byActor ??= new Map();
        const id = sessionIdOf(row);
        const rows = byActor.get(id);
        if (rows) rows.push(row);
        else byActor.set(id, [row]);
      }
      if (!byActor) return;
      for (const [id, rows] of byActor) {
        const cell = batch.cells.get(id)?.cell;
        if (!cell) continue;
        const s = cell.snapshot;
        const snapshot: InspectedSnapshot = { value: s.value, context: s.context, status: s.status };
        if (s.output !== undefined) snapshot.output = s.output;
        const record: InspectionRecord = {
          v: 1,
          tenant: cell.address.tenant,
          kind: cell.address.kind,
          key: cell.address.key,
          seq: cell.seq,
          actorStatus: cell.status,
          messages: rows.map((r) => ({ id: r.message_id, seq: r.seq, event: r.event as InspectionRecord['messages'][number]['event'], from: r.sender, at: r.at })),
          snapshot,
        };
        const data = encodeRecord(record);
        if (data) this.bus.notify(this.subject(record.tenant), data);
      }
    } catch (err) {
      this.log?.warn({ err }, 'inspection of a commit failed; the commit itself is unaffected');
    }
  }

  /**
   * Watches a tenant's committed transitions from now on. Close the subscription
   * when done.
   * @example
   * const sub = rt.inspection.subscribe({ tenant: 'acme' });
   * sub.onReadable(() => { for (const ev of sub.take()) socket.send(JSON.stringify(ev)); });
   */
  subscribe(opts: InspectOptions): InspectionSubscription {
    const tenant = Token.parse(opts.tenant);
    if (opts.kind !== undefined) Token.parse(opts.kind);
    if (opts.key !== undefined) Token.parse(opts.key);
    let watch = this.local.get(tenant);
    if (!watch) {
      const subs = new Set<InspectionSubscription>();
      const busSub = this.bus.subscribe(this.subject(tenant), (_s, data) => {
        const r = decodeRecord(data, tenant);
        if (r) for (const sub of subs) sub.push(r);
      });
      const announce = () => this.bus.notify(`${this.subject(tenant)}.demand`, encoder.encode(JSON.stringify({ ttlMs: this.demandTtlMs })));
      const timer = setInterval(announce, this.announceMs);
      timer.unref();
      watch = { subs, busSub, timer };
      this.local.set(tenant, watch);
      announce();
    }
    const w = watch;
    const sub = new InspectionSubscription(tenant, opts, (kind) => this.definitionOf(kind), () => {
      w.subs.delete(sub);
      if (w.subs.size > 0 || this.local.get(tenant) !== w) return;
      this.local.delete(tenant);
      clearInterval(w.timer);
      w.busSub.unsubscribe();
    });
    w.subs.add(sub);
    return sub;
  }

  /** Subscriptions open in this process, per tenant (metrics, tests). */
  subscribers(): Record<string, number> {
    return Object.fromEntries([...this.local].map(([t, w]) => [t, w.subs.size]));
  }

  /** Closes every subscription of this process and stops listening for demand. */
  close(): void {
    for (const w of [...this.local.values()]) for (const s of [...w.subs]) s.close();
    this.demandSub.unsubscribe();
  }

  private definitionOf(kind: string): string | undefined {
    const m = this.machineOf(kind);
    return m ? machineDefinition(m) : undefined;
  }

  private onDemand(subject: string, data: Uint8Array): void {
    const tenant = subject.split('.')[1];
    if (!tenant) return;
    let ttl = this.demandTtlMs;
    try {
      const body = JSON.parse(decoder.decode(data)) as { ttlMs?: unknown };
      if (typeof body.ttlMs === 'number' && body.ttlMs > 0) ttl = Math.min(body.ttlMs, 120_000);
    } catch {
      // a bare notice: the default time
    }
    const until = Date.now() + ttl;
    if ((this.demand.get(tenant) ?? 0) < until) this.demand.set(tenant, until);
  }
}

interface TenantWatch {
  subs: Set<InspectionSubscription>;
  busSub: { unsubscribe(): void };
  timer: NodeJS.Timeout;
}

/**
 * One subscriber's view: a bounded queue of records, turned into inspection events
 * as they are taken. When the subscriber lags by more than `maxQueue` records, the
 * oldest are dropped and counted; an actor whose first records were dropped still
 * gets its `@xstate.actor` first, since that is decided when events are taken.
 */
export class InspectionSubscription {
  /** Inspection events dropped because this subscriber did not keep up. */
  dropped = 0;
  private closed = false;
  private readonly queue: InspectionRecord[] = [];
  private readonly seen = new Map<string, true>();
  private readonly maxQueue: number;
  private listener?: () => void;
  private scheduled = false;
  private waiters: (() => void)[] = [];
  private closedListeners: (() => void)[] = [];

  constructor(
    readonly tenant: string,
    private readonly opts: InspectOptions,
    private readonly definitionOf: (kind: string) => string | undefined,
    private readonly onClose: () => void,
  ) {
    this.maxQueue = Math.max(1, opts.maxQueue ?? 1000);
  }

  /** Records waiting to be taken. */
  get pending(): number {
    return this.queue.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Called by `Inspection` for each record of this tenant. */
  push(r: InspectionRecord): void {
    if (this.closed || r.tenant !== this.tenant) return;
    if (this.opts.kind !== undefined && r.kind !== this.opts.kind) return;
    if (this.opts.key !== undefined && r.key !== this.opts.key) return;
    this.queue.push(r);
    while (this.queue.length > this.maxQueue) this.dropped += this.queue.shift()!.messages.length + 1;
    if (this.scheduled) return;
    this.scheduled = true;
    // Never inside the commit that published: the subscriber runs on a later turn.
    setImmediate(() => {
      this.scheduled = false;
      for (const w of this.waiters.splice(0)) w();
      if (this.queue.length > 0) this.listener?.();
    });
  }

  /** Takes up to `maxRecords` records as inspection events, in commit order. */
  take(maxRecords = Infinity): InspectionEvent[] {
    const out: InspectionEvent[] = [];
    for (let n = 0; n < maxRecords && this.queue.length > 0; n++) {
      const r = this.queue.shift()!;
      const id = sessionIdOf(r);
      const first = !this.seen.delete(id);
      this.seen.set(id, true);
      if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.keys().next().value!);
      out.push(...toInspectionEvents(r, first, first ? this.definitionOf(r.kind) : undefined));
    }
    return out;
  }

  /** Calls `fn` on a later turn whenever records arrive (one listener). */
  onReadable(fn: () => void): void {
    this.listener = fn;
    if (this.queue.length > 0) setImmediate(() => this.queue.length > 0 && this.listener?.());
  }

  /** Calls `fn` when the subscription is closed (by its owner, or because the runtime stops). */
  onClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.closedListeners.push(fn);
  }

  /** Resolves once records are waiting, or the subscription is closed. */
  readable(): Promise<void> {
    if (this.queue.length > 0 || this.closed) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Stops the subscription. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.listener = undefined;
    for (const w of this.waiters.splice(0)) w();
    this.onClose();
    for (const fn of this.closedListeners.splice(0)) fn();
  }
}

/** Encodes a record, cutting events and then the context when it is too large; undefined when even that does not fit. */
function encodeRecord(r: InspectionRecord): Uint8Array | undefined {
  let data = encoder.encode(JSON.stringify(r));
  if (data.byteLength <= MAX_RECORD_BYTES) return data;
  r.truncated = true;
  r.messages = r.messages.map((m) => ({ ...m, event: { type: m.event.type, at: m.event.at, 'cadre.truncated': 'the event is too large for the inspector' } }));
  data = encoder.encode(JSON.stringify(r));
  if (data.byteLength <= MAX_RECORD_BYTES) return data;
  r.snapshot = { ...r.snapshot, context: { 'cadre.truncated': 'the context is too large for the inspector' }, output: undefined };
  data = encoder.encode(JSON.stringify(r));
  return data.byteLength <= MAX_RECORD_BYTES ? data : undefined;
}

function decodeRecord(data: Uint8Array, tenant: string): InspectionRecord | undefined {
  try {
    const r = JSON.parse(decoder.decode(data)) as InspectionRecord;
    if (r?.v !== 1 || r.tenant !== tenant || typeof r.kind !== 'string' || typeof r.key !== 'string' || !Array.isArray(r.messages) || !r.snapshot) return undefined;
    return r;
  } catch {
    return undefined;
  }
}
