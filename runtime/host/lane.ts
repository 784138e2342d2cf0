import { ActorMessage, decode, type Delivery, type Subjects } from '../../bus/index.ts';
import type { Database } from '../store/index.ts';
import { isRetryable, isConflict, isDataError, isStoreError } from './failures.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { Batch, type DeadLetterRow } from './batch.ts';
import { applyMessage, type InitialActions } from './apply.ts';
import { commitBatch } from './commit.ts';
import { countAttempts, seenMessages, type SeenMessage } from './load.ts';
import type { CellCache } from './cells.ts';

/** What a lane needs from its host. */
export interface LaneEnv {
  db: Database;
  subjects: Subjects;
  clock: Clock;
  cells: CellCache;
  init: InitialActions;
  log: Logger;
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** Messages per commit. */
  maxBatch: number;
  /** Redeliveries after a process ended mid-batch before a message is dead-lettered. */
  poisonLimit: number;
  maxAttempts(actionType: string): number;
  /** Runs after every successful commit: acks are done; publish, effects, timers. */
  afterCommit(batch: Batch): void;
  notify(subject: string, data: Uint8Array): void;
  /** True once the host is stopping: retries give up and leave messages to the bus. */
  stopping(): boolean;
}

type Work = { d: Delivery; msg: ActorMessage };

/**
 * A commit pipeline: messages queue here and are processed in batches, one
 * commit in flight at a time (group commit: what arrives during a commit forms the
 * next batch). Every actor belongs to exactly one lane, so its messages are
 * processed one at a time and in order.
 */
export class Lane {
  private queue: Delivery[] = [];
  private running = false;
  /** Attempts counted for redelivered messages, once per delivery (not per retry or bisection). */
  private readonly attemptsOf = new WeakMap<Delivery, number>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly env: LaneEnv) {}

  /** Queues a delivery. */
  push(d: Delivery): void {
    this.queue.push(d);
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.loop());
    }
  }

  /** Messages waiting or in the current batch. */
  get depth(): number {
    return this.queue.length;
  }

  /** Resolves when the lane has nothing queued or in flight. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const items = this.queue.splice(0, this.env.maxBatch);
        await this.process(items);
      }
    } catch (e) {
      this.env.log.error({ err: e }, 'lane failed unexpectedly; its messages stay with the bus and will be redelivered');
    } finally {
      this.running = false;
      if (this.queue.length > 0) {
        this.running = true;
        setImmediate(() => void this.loop());
      } else {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  private async process(items: Delivery[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const batch = new Batch();
      const work = this.decodeAll(items, batch);
      // Duplicates are likely only among redeliveries; otherwise the commit itself
      // detects them and the retry checks first.
      const precheck = attempt > 0 || items.some((d) => d.deliveryCount > 1 || d.recovery);
      try {
        await this.runBatch(work, batch, precheck);
        this.settle(batch);
        return;
      } catch (e) {
        for (const w of work) this.env.cells.evict(`${w.msg.tenant}/${w.msg.to.kind}/${w.msg.to.key}`);
        if (this.env.stopping()) return items.forEach((d) => d.nak());
        if (isConflict(e)) {
          // Another process wrote to one of these actors (a partition changing hands)
          // or a message was committed meanwhile: reload and try again, backing off.
          const wait = attempt < 3 ? 0 : Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
          this.env.log.warn({ err: e, attempt, retryInMs: wait }, 'commit conflict: another process committed to one of these actors; reloading and retrying');
          await this.keepAlive(items, wait);
          continue;
        }
        if (isRetryable(e)) {
          const wait = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
          this.env.log.error({ err: e, attempt, retryInMs: wait }, 'commit failed: the database is unavailable; retrying (check DATABASE_URL and that PostgreSQL is up)');
          await this.keepAlive(items, wait);
          continue;
        }
        if (isStoreError(e) && !isDataError(e)) {
          // Not the messages' fault (a schema that does not match, a bug in the
          // runtime's SQL): keep them, and say so loudly.
          const wait = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
          this.env.log.error({ err: e, attempt, retryInMs: wait }, 'commit failed for a reason that is not in the messages; keeping them and retrying (run `cadre migrate`, and report this if it persists)');
          await this.keepAlive(items, wait);
          continue;
        }
        if (items.length > 1) {
          // A data error, or a failure to process (a snapshot the machine cannot
          // restore), belongs to one message or actor: split until it is found.
          const half = Math.ceil(items.length / 2);
          await this.process(items.slice(0, half));
          await this.process(items.slice(half));
          return;
        }
        await this.deadLetterAlone(items[0]!, work[0]?.msg, e);
        return;
      }
    }
  }

  /** Waits, keeping the batch and everything queued behind it from being redelivered meanwhile. */
  private async keepAlive(items: Delivery[], ms: number): Promise<void> {
    items.forEach((d) => d.working());
    this.queue.forEach((d) => d.working());
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  private decodeAll(items: Delivery[], batch: Batch): Work[] {
    const out: Work[] = [];
    const at = new Date(this.env.clock.now()).toISOString();
    for (const d of items) {
      const where = this.env.subjects.parseMailbox(d.subject);
      const r = decode(ActorMessage, d.data, this.env.maxMessageBytes);
      let failure: { code: string; reason: string } | undefined;
      if (!r.ok) failure = r;
      else if (!where) failure = { code: 'bad_subject', reason: `${d.subject} is not a mailbox subject` };
      else if (r.value.tenant !== where.tenant) {
        failure = { code: 'wrong_tenant', reason: `message for tenant ${r.value.tenant} arrived on tenant ${where.tenant}'s subject` };
      } else if (r.value.to.kind !== where.kind || r.value.to.key !== where.key) {
        failure = { code: 'wrong_address', reason: `message addressed to ${r.value.to.kind}/${r.value.to.key} arrived on ${where.kind}/${where.key}'s subject` };
      } else if (!this.env.cells.hasKind(where.kind)) {
        failure = { code: 'unknown_kind', reason: `no machine is registered for kind "${where.kind}"` };
      }
      if (failure) {
        if (r.ok && where && r.value.event.type === 'cadre.timer.fire' && typeof r.value.event.timerId === 'string') {
          batch.deleteTimerRow({ tenant: where.tenant, kind: where.kind, key: where.key }, r.value.event.timerId); // fired, once
        }
        batch.deadLetters.push(deadRow(d, where?.tenant, r.ok ? r.value : undefined, failure, at));
        batch.acks.push(d);
      } else if (r.ok) out.push({ d, msg: r.value });
    }
    return out;
  }

  private async runBatch(work: Work[], batch: Batch, precheck: boolean): Promise<void> {
    const env = this.env;
    const now = env.clock.now();
    const at = new Date(now).toISOString();
    const ids = work.map((w) => ({ tenant: w.msg.tenant, id: w.msg.id }));
    const addresses = work.map((w) => ({ tenant: w.msg.tenant, kind: w.msg.to.kind, key: w.msg.to.key }));
    const uncounted = work.filter((w) => w.d.recovery && !this.attemptsOf.has(w.d));
    const [seen, attempts] = await Promise.all([
      precheck ? seenMessages(env.db, ids) : new Map<string, SeenMessage>(),
      countAttempts(env.db, uncounted.map((w) => ({ tenant: w.msg.tenant, id: w.msg.id, at }))),
      env.cells.ensure(addresses),
    ]);
    for (const w of uncounted) this.attemptsOf.set(w.d, attempts.get(`${w.msg.tenant}:${w.msg.id}`) ?? 1);
    // Another lane may have passivated some of them while we waited; no await from here on.
    await env.cells.ensure(addresses);
    const inBatch = new Set<string>();
    const resolveEnv = { subjects: env.subjects, now, at, maxAttempts: env.maxAttempts, maxMessageBytes: env.maxMessageBytes };
    for (const { d, msg } of work) {
      batch.acks.push(d);
      const idKey = `${msg.tenant}:${msg.id}`;
      const prior = seen.get(idKey);
      if (prior || inBatch.has(idKey)) {
        if (msg.replyTo) batch.replies.push({ to: msg.replyTo, body: priorReply(msg.id, prior) });
        continue;
      }
      inBatch.add(idKey);
      batch.fresh.push({ tenant: msg.tenant, message_id: msg.id });
      const tries = this.attemptsOf.get(d) ?? 0;
      if (tries > env.poisonLimit) {
        const reason = `taken up ${tries} times by processes that ended before committing it; set aside as a poison message (replay it once the cause is fixed)`;
        batch.deadLetters.push(deadRow(d, msg.tenant, msg, { code: 'poison_message', reason }, at));
        if (msg.replyTo) batch.replies.push({ to: msg.replyTo, body: { ok: false, id: msg.id, code: 'poison_message', reason } });
        continue;
      }
      const cell = env.cells.get(`${msg.tenant}/${msg.to.kind}/${msg.to.key}`)!;
      const o = applyMessage(batch, cell, msg, resolveEnv, env.init);
      if (o.kind === 'dead') batch.deadLetters.push(deadRow(d, msg.tenant, msg, o, at));
      if (!msg.replyTo) continue;
      if (o.kind === 'dead') batch.replies.push({ to: msg.replyTo, body: { ok: false, id: msg.id, code: o.code, reason: o.reason } });
      else if (o.kind === 'applied') batch.replies.push({ to: msg.replyTo, body: { ok: true, id: msg.id, seq: o.seq, state: o.state, duplicate: false } });
      else batch.replies.push({ to: msg.replyTo, body: { ok: true, id: msg.id, seq: cell.seq, state: o.kind, duplicate: false } });
    }
    const T1 = performance.now();
    if (!batch.empty) await commitBatch(env.db, batch, at);
    if (process.env.LANE_DEBUG) console.log(`batch ${work.length} commit ${(performance.now() - T1).toFixed(2)}`);
  }

  private settle(batch: Batch): void {
    for (const { cell } of batch.cells.values()) cell.isNew = false;
    for (const d of batch.acks) d.ack();
    const enc = new TextEncoder();
    for (const r of batch.replies) this.env.notify(r.to, enc.encode(JSON.stringify(r.body)));
    this.env.afterCommit(batch);
  }

  private async deadLetterAlone(d: Delivery, msg: ActorMessage | undefined, e: unknown): Promise<void> {
    const batch = new Batch();
    const at = new Date(this.env.clock.now()).toISOString();
    const stored = isDataError(e);
    const reason = `${stored ? 'the commit of this message failed' : 'this message could not be processed'}: ${(e as Error)?.message ?? String(e)}`;
    batch.deadLetters.push(deadRow(d, msg?.tenant, msg, { code: stored ? 'commit_failed' : 'processing_failed', reason }, at));
    batch.acks.push(d);
    for (let attempt = 0; ; attempt++) {
      try {
        await commitBatch(this.env.db, batch, at);
        this.settle(batch);
        return;
      } catch (e2) {
        // Retried in place: a nak would bring it back behind later messages of its actor.
        if (this.env.stopping()) return d.nak();
        const wait = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
        this.env.log.error({ err: e2, subject: d.subject, retryInMs: wait }, 'could not record a dead letter; retrying (check the database)');
        await this.keepAlive([d], wait);
      }
    }
  }
}

function priorReply(id: string, prior: { seq: number | null; state: string | null; code: string | null; reason: string | null } | undefined) {
  if (prior?.code) return { ok: false, id, code: prior.code, reason: prior.reason ?? '' };
  return { ok: true, id, seq: prior?.seq ?? -1, state: prior?.state ?? 'held', duplicate: true };
}

function deadRow(
  d: Delivery,
  tenant: string | undefined,
  msg: ActorMessage | undefined,
  f: { code: string; reason: string },
  at: string,
): DeadLetterRow {
  const text = Buffer.from(d.data).toString('utf8');
  const clean = Buffer.from(text, 'utf8').equals(Buffer.from(d.data)) && !text.includes('\u0000');
  const payload = clean ? text : Buffer.from(d.data).toString('base64');
  return {
    tenant: tenant ?? '_unknown',
    message_id: msg?.id ?? null,
    kind: msg?.to.kind ?? null,
    key: msg?.to.key ?? null,
    subject: d.subject,
    code: f.code,
    reason: f.reason,
    payload: payload.length > 1_048_576 ? payload.slice(0, 1_048_576) : payload,
    payload_encoding: clean ? 'utf8' : 'base64',
    delivery_count: d.deliveryCount,
    at,
  };
}
