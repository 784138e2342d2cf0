import { z } from 'zod';
import type { ActorMessage } from '../../bus/index.ts';
import type { Batch } from './batch.ts';
import type { Cell } from './cell.ts';
import { resolveActions, InvalidActionError, type ResolveEnv } from './actions.ts';
import { RUNTIME_PREFIX, RuntimeEvent } from './runtime-events.ts';
import { stateString, type RequestedAction } from './kind.ts';

/** How one message ended. */
export type Outcome =
  | { kind: 'applied'; seq: number; state: string }
  | { kind: 'held' }
  | { kind: 'ignored'; why: string }
  | { kind: 'dead'; code: string; reason: string };

/** Entry actions of a new actor's initial state, committed with its first message. */
export type InitialActions = WeakMap<Cell, RequestedAction[]>;

/**
 * Applies one message to one actor, recording into `batch` what it commits.
 * The cell changes only when the message is applied; a refused message leaves
 * it exactly as it was, and ends as a dead letter with its reason.
 */
export function applyMessage(batch: Batch, cell: Cell, msg: ActorMessage, env: ResolveEnv, init: InitialActions, fromHold = false): Outcome {
  const type = msg.event.type;
  if (type.startsWith(RUNTIME_PREFIX)) {
    const parsed = RuntimeEvent.safeParse(msg.event);
    if (!parsed.success) return dead('invalid_runtime_event', `runtime event ${type} is malformed: ${z.prettifyError(parsed.error)}`);
    const ev = parsed.data;
    if (ev.type === 'cadre.control.pause' || ev.type === 'cadre.control.resume' || ev.type === 'cadre.control.stop') {
      return control(batch, cell, msg, ev.type, env, init);
    }
    if (cell.status === 'stopped') return { kind: 'ignored', why: 'actor stopped' };
    if (ev.type === 'cadre.timer.fire') {
      const pending = cell.timers.get(ev.timerId);
      // A fire held while paused has no row any more; it is stale only if the timer
      // was armed again meanwhile (a newer setSeq).
      const stale = fromHold ? pending !== undefined && pending.setSeq !== ev.setSeq : !pending || pending.setSeq !== ev.setSeq;
      if (stale) return { kind: 'ignored', why: 'timer was cancelled or re-armed' };
      if (cell.status === 'paused' && !fromHold) {
        // The timer has fired; what it carries waits with the other held messages.
        cell.timers.delete(ev.timerId);
        batch.deleteTimer(cell, ev.timerId);
        return hold(batch, cell, msg, env);
      }
      return step(batch, cell, msg, ev.event, env, init, { timer: fromHold && !pending ? undefined : ev.timerId, lenient: true });
    }
    if (cell.status === 'paused' && !fromHold) return hold(batch, cell, msg, env);
    if (ev.type !== 'cadre.effect.result' && ev.type !== 'cadre.gate.update') return dead('invalid_runtime_event', `unexpected runtime event ${type}`);
    return step(batch, cell, msg, ev.event, env, init, { lenient: true });
  }
  if (cell.status === 'stopped') return dead('actor_stopped', `${cell.id} was stopped by an operator; it takes no more messages`);
  if (cell.status === 'paused' && !fromHold) return hold(batch, cell, msg, env);
  const parsed = cell.kind.def.events.safeParse(msg.event);
  if (!parsed.success) {
    return dead('invalid_event', `event ${type} is not one ${cell.kind.kind} accepts: ${z.prettifyError(parsed.error).slice(0, 1500)}`);
  }
  return step(batch, cell, msg, parsed.data, env, init, { lenient: false });

  function dead(code: string, reason: string): Outcome {
    return { kind: 'dead', code, reason };
  }
}

/**
 * One machine transition. `lenient` runtime events (timers, effect results) that
 * the machine no longer takes are ignored rather than dead-lettered: the state
 * they were meant for has passed.
 */
function step(
  batch: Batch,
  cell: Cell,
  msg: ActorMessage,
  event: { type: string },
  env: ResolveEnv,
  init: InitialActions,
  opts: { timer?: string; lenient: boolean },
): Outcome {
  const stamped = { ...event, at: env.at };
  const label = `${cell.id} in state ${stateString(cell.snapshot.value)}`;
  if (cell.snapshot.status !== 'active') {
    if (opts.lenient) return consumeTimerOnly(batch, cell, opts.timer);
    return { kind: 'dead', code: 'actor_done', reason: `${label} has reached a final state and takes no more events` };
  }
  if (!cell.snapshot.can(stamped)) {
    if (opts.lenient) return consumeTimerOnly(batch, cell, opts.timer);
    return { kind: 'dead', code: 'event_not_accepted', reason: `${label} does not accept ${event.type}` };
  }
  const seq = cell.seq + 1;
  let next;
  let resolved;
  try {
    const s = cell.kind.transition(cell.snapshot, stamped);
    if (s.snapshot.status === 'error') throw (s.snapshot as { error?: unknown }).error ?? new Error('machine entered the error status');
    const actions = cell.isNew && cell.seq === 0 ? [...(init.get(cell) ?? []), ...s.actions] : s.actions;
    resolved = resolveActions(cell, seq, msg, actions, env);
    next = s.snapshot;
  } catch (e) {
    const code = e instanceof InvalidActionError ? e.code : 'machine_error';
    // A timer whose transition fails has still fired: consumed with its dead letter,
    // or it would come due again on every poll.
    if (opts.timer) consumeTimerOnly(batch, cell, opts.timer);
    return { kind: 'dead', code, reason: `${label} failed on ${event.type}: ${(e as Error)?.message ?? String(e)}` };
  }
  batch.touch(cell);
  if (opts.timer) {
    cell.timers.delete(opts.timer);
    batch.deleteTimer(cell, opts.timer);
  }
  for (const id of resolved.timersCancelled) {
    if (cell.timers.delete(id)) batch.deleteTimer(cell, id);
  }
  for (const t of resolved.timersSet) {
    cell.timers.set(t.timer_id, { setSeq: t.set_seq, dueAt: Date.parse(t.due_at) });
    batch.setTimer(t);
  }
  batch.outbox.push(...resolved.outbox);
  batch.effects.push(...resolved.effects);
  cell.snapshot = next;
  cell.seq = seq;
  const state = stateString(next.value);
  journal(batch, cell, msg, stamped, state, env);
  return { kind: 'applied', seq, state };
}

function consumeTimerOnly(batch: Batch, cell: Cell, timer: string | undefined): Outcome {
  if (timer && cell.timers.delete(timer)) batch.deleteTimer(cell, timer);
  return { kind: 'ignored', why: 'no longer accepted in this state' };
}

function journal(batch: Batch, cell: Cell, msg: ActorMessage, event: unknown, state: string, env: ResolveEnv): void {
  batch.journal.push({
    ...cell.address,
    seq: cell.seq,
    message_id: msg.id,
    event_type: msg.event.type,
    event,
    state,
    correlation_id: msg.correlationId,
    causation_id: msg.causationId,
    sender: msg.from,
    at: env.at,
  });
}

function hold(batch: Batch, cell: Cell, msg: ActorMessage, env: ResolveEnv): Outcome {
  const holdSeq = cell.nextHoldSeq++;
  cell.held.push({ holdSeq, message: msg });
  batch.hold({ ...cell.address, hold_seq: holdSeq, message_id: msg.id, payload: msg, at: env.at });
  return { kind: 'held' };
}

function control(
  batch: Batch,
  cell: Cell,
  msg: ActorMessage,
  type: 'cadre.control.pause' | 'cadre.control.resume' | 'cadre.control.stop',
  env: ResolveEnv,
  init: InitialActions,
): Outcome {
  if (cell.isNew) return { kind: 'dead', code: 'actor_not_found', reason: `${cell.id} does not exist; nothing to ${type.slice(14)}` };
  const from = cell.status;
  const to = type === 'cadre.control.pause' ? 'paused' : type === 'cadre.control.resume' ? 'active' : 'stopped';
  if (from === 'stopped') return { kind: 'dead', code: 'actor_stopped', reason: `${cell.id} is stopped; it cannot be ${to === 'active' ? 'resumed' : to}` };
  if (from === to) return { kind: 'ignored', why: `already ${to}` };
  batch.touch(cell);
  cell.status = to;
  cell.seq += 1;
  const state = stateString(cell.snapshot.value);
  journal(batch, cell, msg, msg.event, state, env);
  const outcome: Outcome = { kind: 'applied', seq: cell.seq, state };
  if (to === 'stopped') {
    for (const id of cell.timers.keys()) batch.deleteTimer(cell, id);
    cell.timers.clear();
    for (const h of cell.held.splice(0)) {
      batch.release(cell, h.holdSeq);
      deadLetterHeld(batch, cell, h.message, env);
    }
  }
  if (to === 'active') {
    // Held messages replay in the order they arrived, before anything after the resume.
    for (const h of cell.held.splice(0)) {
      batch.release(cell, h.holdSeq);
      const o = applyMessage(batch, cell, h.message, env, init, true);
      if (o.kind === 'dead') deadLetterHeldWith(batch, cell, h.message, o.code, o.reason, env);
    }
  }
  return outcome;
}

function deadLetterHeld(batch: Batch, cell: Cell, m: ActorMessage, env: ResolveEnv): void {
  deadLetterHeldWith(batch, cell, m, 'actor_stopped', `${cell.id} was stopped while this message was held`, env);
}

function deadLetterHeldWith(batch: Batch, cell: Cell, m: ActorMessage, code: string, reason: string, env: ResolveEnv): void {
  batch.deadLetters.push({
    tenant: cell.address.tenant,
    message_id: m.id,
    kind: cell.address.kind,
    key: cell.address.key,
    subject: 'held',
    code,
    reason,
    payload: JSON.stringify(m),
    payload_encoding: 'utf8',
    delivery_count: 1,
    at: env.at,
  });
}
