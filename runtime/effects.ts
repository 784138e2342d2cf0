import { z } from 'zod';
import type { ActorAddress } from '../bus/index.ts';
import type { Database } from './store/index.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { OutboxRelay } from './outbox.ts';
import type { Subjects } from '../bus/index.ts';
import { inPartitions } from './sql.ts';
import { EFFECT_COLUMNS, type EffectRecord, type Gate } from './gate/gate.ts';
import { effectResult } from './gate/messages.ts';

/** What an effect handler is given. */
export interface EffectRequest {
  /** The idempotency key: stable across retries and restarts. Pass it to the API you call. */
  id: string;
  tenant: string;
  actor: ActorAddress;
  actionType: string;
  params: Record<string, unknown>;
  /** 1 on the first attempt */
  attempt: number;
  /** Aborted when the attempt times out or the runtime stops. */
  signal: AbortSignal;
}

/** Runs one action type. */
export interface EffectHandler {
  actionType: string;
  /** Attempts in all, and the first backoff (doubling, capped). @default { attempts: 3, backoffMs: 1000, maxBackoffMs: 60000 } */
  retry?: { attempts?: number; backoffMs?: number; maxBackoffMs?: number };
  /** One attempt's time limit. @default 30000 */
  timeoutMs?: number;
  run(req: EffectRequest): Promise<unknown>;
  /** The risk class of particular params, when it depends on them; a tenant's setting for the action type still wins. */
  risk?(params: Record<string, unknown>): 'low' | 'medium' | 'high' | 'critical';
}

/** Thrown by a handler when retrying cannot help (bad request, refused): the effect fails now. */
export class TerminalEffectError extends Error {
  readonly retryable = false;
  constructor(message: string, readonly code = 'terminal', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalEffectError';
  }
}

/**
 * A request's params read by their schema: a `TerminalEffectError` (`invalid_params`)
 * naming each problem when they do not fit, since retrying cannot help.
 */
export function paramsOf<T>(schema: z.ZodType<T>, req: Pick<EffectRequest, 'actionType' | 'params'>): T {
  const p = schema.safeParse(req.params);
  if (!p.success) throw new TerminalEffectError(`invalid ${req.actionType} params: ${z.prettifyError(p.error)}`, 'invalid_params');
  return p.data;
}

/** An effect row waiting to be decided or run. */
export type PendingEffect = EffectRecord;

/**
 * The effect executor. Effects are rows committed with the transition that asked
 * for them; the gate decides each (runtime/gate), and this runs the allowed ones
 * after their commit, with their idempotency key, retrying
 * retryable failures with exponential backoff (the next attempt time is stored,
 * so retries survive a restart). The outcome goes back to the actor as an event,
 * through the outbox, in the same transaction that records it. An effect may run
 * more than once if a process dies between running it and recording the outcome:
 * that is what the idempotency key is for.
 */
export class EffectExecutor {
  private readonly handlers = new Map<string, EffectHandler>();
  private readonly running = new Set<string>();
  private readonly waits = new Set<() => void>();
  private readonly abort = new AbortController();
  private safety?: NodeJS.Timeout;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly subjects: Subjects,
    private readonly relay: OutboxRelay,
    private readonly owned: () => number[],
    private readonly log: Logger,
    private readonly gate: Gate,
  ) {}

  /** Registers a handler; one per action type. */
  register(handler: EffectHandler): void {
    if (this.handlers.has(handler.actionType)) throw new Error(`an effect handler for ${handler.actionType} is already registered`);
    this.handlers.set(handler.actionType, handler);
  }

  /** The risk its handler gives these params, if it has a say. */
  riskOf(actionType: string, params: Record<string, unknown>): 'low' | 'medium' | 'high' | 'critical' | undefined {
    try {
      return this.handlers.get(actionType)?.risk?.(params);
    } catch (err) {
      // A handler that cannot judge these params says nothing: the built-in class applies.
      this.log.warn({ err, actionType }, 'an effect handler could not classify the risk of its params; using the action type\'s class');
      return undefined;
    }
  }

  /** Attempts allowed for an action type. */
  maxAttempts(actionType: string): number {
    return this.handlers.get(actionType)?.retry?.attempts ?? 3;
  }

  start(pollMs = 5000): void {
    this.safety = setInterval(() => void this.poll(), pollMs);
    this.safety.unref();
    void this.poll();
  }

  stop(): void {
    clearInterval(this.safety);
    this.abort.abort();
    for (const c of this.waits) c();
    this.waits.clear();
  }

  /** Effects in progress in this process. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Decides and runs effects just committed (or just approved). */
  submit(rows: { tenant: string; id: string }[]): void {
    for (const r of rows) void this.load(r.tenant, r.id);
  }

  /** Decides and runs pending effects that are due, of the partitions this process owns. */
  async poll(): Promise<void> {
    const partitions = this.owned();
    if (partitions.length === 0 || this.abort.signal.aborted) return;
    try {
      const rows = await this.db.query<PendingEffect>(
        `SELECT ${EFFECT_COLUMNS} FROM effects e
         WHERE e.status IN ('deciding', 'held', 'pending') AND ${inPartitions('$1')} AND e.next_attempt_at <= $2::timestamptz
         ORDER BY e.next_attempt_at LIMIT 500`,
        [JSON.stringify(partitions), new Date(this.clock.now()).toISOString()],
      );
      for (const r of rows) void this.execute(r);
    } catch (err) {
      this.log.error({ err }, 'could not read pending effects; retrying on the next poll');
    }
  }

  private async load(tenant: string, id: string): Promise<void> {
    try {
      const rows = await this.db.query<PendingEffect>(`SELECT ${EFFECT_COLUMNS} FROM effects e WHERE e.tenant = $1 AND e.id = $2`, [tenant, id]);
      if (rows[0]) await this.execute(rows[0]);
    } catch (err) {
      this.log.error({ err, effect: id }, 'could not read an effect; the next poll picks it up');
    }
  }

  private async execute(e: PendingEffect): Promise<void> {
    const key = `${e.tenant}:${e.id}`;
    if (this.running.has(key) || this.abort.signal.aborted) return;
    this.running.add(key);
    try {
      if (e.status === 'deciding' || e.status === 'held') {
        const status = await this.gate.decide(e.tenant, e.id);
        if (status === 'held') await this.wakeAtNextAttempt(e);
        if (status !== 'pending') return;
        const rows = await this.db.query<PendingEffect>(`SELECT ${EFFECT_COLUMNS} FROM effects e WHERE e.tenant = $1 AND e.id = $2`, [e.tenant, e.id]);
        if (!rows[0]) return;
        e = rows[0];
      }
      if (e.status !== 'pending') return;
      await this.attempt(e);
    } catch (err) {
      this.log.error({ err, effect: e.id, status: e.status }, 'could not decide, claim or record an effect; the next poll tries again');
    } finally {
      this.running.delete(key);
    }
  }

  /** Comes back when a held or postponed effect is due again (on the runtime clock; the poll is the safety net). */
  private async wakeAtNextAttempt(e: PendingEffect): Promise<void> {
    const rows = await this.db.query<{ next_attempt_at: Date }>(
      `SELECT next_attempt_at FROM effects WHERE tenant = $1 AND id = $2 AND status IN ('held', 'pending')`,
      [e.tenant, e.id],
    );
    const at = rows[0] ? new Date(rows[0].next_attempt_at).getTime() : null;
    if (at === null || at <= this.clock.now() || this.abort.signal.aborted) return;
    const cancel = this.clock.setTimeout(() => {
      this.waits.delete(cancel);
      void this.load(e.tenant, e.id);
    }, at - this.clock.now());
    this.waits.add(cancel);
  }

  private async attempt(e: PendingEffect): Promise<void> {
    const h = this.handlers.get(e.action_type);
    const attempt = e.attempts + 1;
    // Claim this attempt through the gate: of two runners (a poll racing a submit,
    // a partition that moved) only one gets it. The lease keeps pollers off while
    // it runs; if this process dies, the effect is due again when the lease ends.
    const lease = new Date(this.clock.now() + (h?.timeoutMs ?? 30_000) + 5_000).toISOString();
    const claim = await this.gate.claim(e, lease);
    if (claim.kind === 'skip') return this.wakeAtNextAttempt(e);
    if (claim.kind === 'stopped') return; // settled, audited and told by the claim
    if (claim.kind === 'dry_run') {
      return this.finish(e, 'dry_run', { result: { dryRun: true, wouldHaveRun: { actionType: e.action_type, params: e.params } } });
    }
    if (!h) return this.finish({ ...e, attempts: attempt }, 'failed', { error: `no effect handler is registered for ${e.action_type}`, attempts: attempt });
    const timeout = AbortSignal.timeout(h.timeoutMs ?? 30_000);
    const signal = AbortSignal.any([timeout, this.abort.signal]);
    try {
      const result = await raceAbort(
        h.run({ id: e.id, tenant: e.tenant, actor: { tenant: e.tenant, kind: e.kind, key: e.key }, actionType: e.action_type, params: e.params, attempt, signal }),
        signal,
      );
      await this.finish({ ...e, attempts: attempt }, 'succeeded', { result: result ?? null, attempts: attempt });
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const message = timeout.aborted ? `attempt ${attempt} timed out after ${h.timeoutMs ?? 30_000} ms` : (err as Error)?.message ?? String(err);
      const terminal = err instanceof TerminalEffectError || (err as { retryable?: boolean })?.retryable === false;
      if (terminal || attempt >= e.max_attempts) {
        const why = terminal ? message : `${message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})`;
        return this.finish({ ...e, attempts: attempt }, 'failed', { error: why, attempts: attempt });
      }
      const r = h.retry ?? {};
      const wait = Math.min(r.maxBackoffMs ?? 60_000, (r.backoffMs ?? 1000) * 2 ** (attempt - 1));
      const next = new Date(this.clock.now() + wait).toISOString();
      await this.db.query(
        `UPDATE effects SET next_attempt_at = $4::timestamptz, last_error = $5 WHERE tenant = $1 AND id = $2 AND status = 'pending' AND attempts = $3`,
        [e.tenant, e.id, attempt, next, message],
      );
      this.log.warn({ effect: e.id, actionType: e.action_type, attempt, retryInMs: wait, err: message }, 'effect attempt failed; retrying');
      const cancel = this.clock.setTimeout(() => {
        this.waits.delete(cancel);
        void this.execute({ ...e, attempts: attempt });
      }, wait);
      this.waits.add(cancel);
    }
  }

  private async finish(
    e: PendingEffect,
    status: 'succeeded' | 'failed' | 'dry_run',
    out: { result?: unknown; error?: string; attempts?: number },
  ): Promise<void> {
    const ok = status === 'succeeded' || status === 'dry_run';
    const at = new Date(this.clock.now()).toISOString();
    const entry = await this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE effects SET status = $3, attempts = COALESCE($4, attempts), result = $5::jsonb, last_error = $6, finished_at = $7::timestamptz
         WHERE tenant = $1 AND id = $2 AND status = 'pending' RETURNING id`,
        [e.tenant, e.id, status, out.attempts ?? null, ok ? JSON.stringify(out.result ?? null) : null, out.error ?? null, at],
      );
      if (rows.length === 0) return null; // another process recorded it first
      await this.gate.executed(tx, e, status === 'succeeded' ? 'executed' : status, out.error ?? null, at);
      return effectResult(tx, this.subjects, e, ok ? { ok: true, result: out.result ?? null } : { ok: false, status, error: out.error ?? 'failed' }, at);
    });
    if (entry) this.relay.publish([entry]);
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
