import { ActorAddress, ActorMessage } from '../bus/index.ts';
import type { Database } from './store/index.ts';
import type { Clock } from './clock.ts';
import type { Sender } from './send.ts';

/** An operator asked for something that cannot be done; `code` is stable. */
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'conflict' | 'not_replayable',
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}

/** A dead letter as operators see it. */
export interface DeadLetter {
  id: number;
  tenant: string;
  message_id: string | null;
  kind: string | null;
  key: string | null;
  subject: string;
  code: string;
  reason: string;
  payload: string;
  payload_encoding: 'utf8' | 'base64';
  delivery_count: number;
  status: 'open' | 'replayed' | 'discarded';
  created_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
}

/** One actor as operators see it. */
export type ActorView = {
  tenant: string;
  kind: string;
  key: string;
  seq: number;
  status: 'active' | 'paused' | 'stopped';
  machine_status: string;
  state: string;
  state_value: unknown;
  context: Record<string, unknown>;
  version: string;
  created_at: Date;
  updated_at: Date;
  timers: { timer_id: string; due_at: Date; set_seq: number; event: unknown }[];
  pendingEffects: { id: string; action_type: string; status: string; attempts: number; max_attempts: number; next_attempt_at: Date; last_error: string | null }[];
  heldMessages: number;
};

/** One journal entry: a committed message and the state it led to. */
export type JournalEntry = {
  seq: number;
  message_id: string;
  event_type: string;
  event: Record<string, unknown>;
  state: string;
  correlation_id: string;
  causation_id: string | null;
  sender: string;
  committed_at: Date;
};

/**
 * Operator control of actors: pause (messages are held, in order), resume (held
 * messages replay first), stop (final: later messages are dead-lettered); reading
 * an actor, its history and its dead letters; replaying or discarding a dead letter.
 * Control goes through the actor's mailbox like any message, so it is ordered with
 * them and committed with a journal entry.
 */
export class Operator {
  constructor(
    private readonly db: Database,
    private readonly sender: Sender,
    private readonly clock: Clock,
  ) {}

  /** Pauses, resumes or stops one actor, and waits for the commit. */
  async control(address: ActorAddress, action: 'pause' | 'resume' | 'stop', by: string, reason?: string) {
    return this.sender.send(address, { type: `cadre.control.${action}`, by, ...(reason ? { reason } : {}) }, { wait: true, from: `operator:${by}` });
  }

  /** One actor's persisted state, pending timers and effects; undefined if it never committed. */
  async actor(address: ActorAddress): Promise<ActorView | undefined> {
    const a = ActorAddress.parse(address);
    const [row] = await this.db.query<Omit<ActorView, 'timers' | 'pendingEffects' | 'heldMessages'>>(
      `SELECT tenant, kind, key, seq, status, machine_status, state, state_value, context, version, created_at, updated_at
       FROM actors WHERE tenant = $1 AND kind = $2 AND key = $3`,
      [a.tenant, a.kind, a.key],
    );
    if (!row) return undefined;
    const timers = await this.db.query<ActorView['timers'][number]>(
      `SELECT timer_id, due_at, set_seq, event FROM timers WHERE tenant = $1 AND kind = $2 AND key = $3 ORDER BY due_at`,
      [a.tenant, a.kind, a.key],
    );
    const effects = await this.db.query<ActorView['pendingEffects'][number]>(
      `SELECT id, action_type, status, attempts, max_attempts, next_attempt_at, last_error FROM effects
       WHERE tenant = $1 AND kind = $2 AND key = $3 AND status = 'pending' ORDER BY requested_at`,
      [a.tenant, a.kind, a.key],
    );
    const held = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM held_messages WHERE tenant = $1 AND kind = $2 AND key = $3`,
      [a.tenant, a.kind, a.key],
    );
    return { ...row, timers, pendingEffects: effects, heldMessages: held[0]?.n ?? 0 };
  }

  /** The journal of one actor, oldest first. */
  async history(address: ActorAddress, opts: { afterSeq?: number; limit?: number } = {}): Promise<JournalEntry[]> {
    const a = ActorAddress.parse(address);
    return this.db.query<JournalEntry>(
      `SELECT seq, message_id, event_type, event, state, correlation_id, causation_id, sender, committed_at FROM journal
       WHERE tenant = $1 AND kind = $2 AND key = $3 AND seq > $4 ORDER BY seq LIMIT $5`,
      [a.tenant, a.kind, a.key, opts.afterSeq ?? 0, Math.min(opts.limit ?? 100, 1000)],
    );
  }

  /** Dead letters of a tenant, newest first. */
  async deadLetters(tenant: string, opts: { status?: DeadLetter['status']; kind?: string; key?: string; limit?: number; beforeId?: number } = {}) {
    return this.db.query<DeadLetter & Record<string, unknown>>(
      `SELECT * FROM dead_letters WHERE tenant = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3)
       AND ($4::text IS NULL OR key = $4) AND ($5::bigint IS NULL OR id < $5) ORDER BY id DESC LIMIT $6`,
      [tenant, opts.status ?? null, opts.kind ?? null, opts.key ?? null, opts.beforeId ?? null, Math.min(opts.limit ?? 50, 500)],
    );
  }

  /**
   * Sends a dead letter's message to its actor again, under a new id (the old one
   * is marked as seen), and marks the dead letter replayed. Fix the cause first:
   * a message refused for its content is refused again.
   */
  async replay(tenant: string, id: number, by: string): Promise<{ messageId: string }> {
    const dl = await this.openDeadLetter(tenant, id);
    if (dl.payload_encoding !== 'utf8') throw new OperatorError(`dead letter ${id} is not valid UTF-8 JSON; it cannot be replayed, only discarded`, 'not_replayable');
    let original: ActorMessage;
    try {
      original = ActorMessage.parse(JSON.parse(dl.payload));
    } catch {
      throw new OperatorError(`dead letter ${id} is not a well-formed message (${dl.code}); it cannot be replayed, only discarded`, 'not_replayable');
    }
    if (original.tenant !== tenant) {
      throw new OperatorError(`dead letter ${id} holds a message for tenant ${original.tenant}; it cannot be replayed from tenant ${tenant}`, 'not_replayable');
    }
    const message = this.sender.message({ tenant, ...original.to }, original.event, {
      id: `${original.id}~replay-${id}`,
      correlationId: original.correlationId,
      causationId: original.id,
      from: `operator:${by}`,
    });
    // Marked replayed and queued in one transaction: either both happen or neither.
    const entry = await this.db.transaction(async (tx) => {
      const claimed = await tx.query(
        `UPDATE dead_letters SET status = 'replayed', resolved_at = $3::timestamptz, resolved_by = $4 WHERE tenant = $1 AND id = $2 AND status = 'open' RETURNING id`,
        [tenant, id, new Date(this.clock.now()).toISOString(), by],
      );
      if (claimed.length === 0) throw new OperatorError(`dead letter ${id} was resolved meanwhile`, 'conflict');
      return this.sender.enqueue(tx, message);
    });
    this.sender.publish([entry]);
    return { messageId: message.id };
  }

  /** Marks a dead letter as handled without replaying it. */
  async discard(tenant: string, id: number, by: string): Promise<void> {
    await this.openDeadLetter(tenant, id);
    await this.db.query(
      `UPDATE dead_letters SET status = 'discarded', resolved_at = $3::timestamptz, resolved_by = $4 WHERE tenant = $1 AND id = $2 AND status = 'open'`,
      [tenant, id, new Date(this.clock.now()).toISOString(), by],
    );
  }

  private async openDeadLetter(tenant: string, id: number): Promise<DeadLetter> {
    const [dl] = await this.db.query<DeadLetter & Record<string, unknown>>(`SELECT * FROM dead_letters WHERE tenant = $1 AND id = $2`, [tenant, id]);
    if (!dl) throw new OperatorError(`no dead letter ${id} for tenant ${tenant}`, 'not_found');
    if (dl.status !== 'open') throw new OperatorError(`dead letter ${id} is already ${dl.status}`, 'conflict');
    return dl;
  }
}

