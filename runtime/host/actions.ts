import { z } from 'zod';
import { DomainEvents, DomainEventEnvelope, type ActorMessage, type Subjects } from '../../bus/index.ts';
import { RUNTIME_ACTION, type EffectParams, type PublishParams, type SendParams } from '../../machines/index.ts';
import { ActorAddress, MachineEvent } from '../../bus/index.ts';
import type { EffectRow, OutboxRow, TimerRow } from './batch.ts';
import type { Cell } from './cell.ts';
import type { RequestedAction } from './kind.ts';

/** A transition asked for something the runtime does not allow. */
export class InvalidActionError extends Error {
  readonly code = 'invalid_action';
}

/** What one transition's actions amount to, before anything is applied. */
export interface Resolved {
  outbox: OutboxRow[];
  effects: EffectRow[];
  timersSet: TimerRow[];
  timersCancelled: string[];
}

/** What the resolver needs from the runtime. */
export interface ResolveEnv {
  subjects: Subjects;
  now: number;
  at: string;
  /** Attempts allowed for an action type. */
  maxAttempts(actionType: string): number;
  /** Largest message the bus takes; a larger send or event refuses the transition. */
  maxMessageBytes: number;
}

// Built-in XState actions that would act outside the runtime: machines talk
// through cadre.send / cadre.publish / cadre.effect instead.
const REFUSED = new Set(['xstate.sendTo', 'xstate.sendParent', 'xstate.spawnChild', 'xstate.stopChild', 'xstate.emit', 'xstate.forwardTo']);

/**
 * Turns the actions of one transition into rows: messages and domain events for
 * the outbox, effects, timers set and cancelled. Throws `InvalidActionError`
 * (the transition is then refused as a whole) for a domain event outside the
 * catalogue, a malformed address, or an action the runtime does not allow.
 */
export function resolveActions(cell: Cell, seq: number, cause: ActorMessage, actions: RequestedAction[], env: ResolveEnv): Resolved {
  const out: Resolved = { outbox: [], effects: [], timersSet: [], timersCancelled: [] };
  const base = `${cell.id}#${seq}`;
  actions.forEach((a, i) => {
    switch (a.type) {
      case RUNTIME_ACTION.send:
        out.outbox.push(sendRow(cell, `${base}#m${i}`, cause, a.params as SendParams, env));
        break;
      case RUNTIME_ACTION.publish:
        out.outbox.push(publishRow(cell, `${base}#e${i}`, cause, a.params as PublishParams, env));
        break;
      case RUNTIME_ACTION.effect:
        out.effects.push(effectRow(cell, `${base}#x${i}`, seq, cause, a.params as EffectParams, env));
        break;
      case 'xstate.raise': {
        const p = a.params as { event: { type: string }; id?: string; delay?: number };
        if (typeof p.delay !== 'number') break; // an immediate raise was handled inside the transition
        const timerId = p.id ?? `${base}#t${i}`;
        out.timersCancelled = out.timersCancelled.filter((t) => t !== timerId);
        out.timersSet = out.timersSet.filter((t) => t.timer_id !== timerId);
        out.timersSet.push({
          ...cell.address,
          timer_id: timerId,
          partition: cell.partition,
          set_seq: seq,
          due_at: new Date(env.now + Math.max(0, p.delay)).toISOString(),
          event: p.event,
          at: env.at,
        });
        break;
      }
      case 'xstate.cancel': {
        const id = (a.params as { sendId: string }).sendId;
        out.timersSet = out.timersSet.filter((t) => t.timer_id !== id);
        out.timersCancelled.push(id);
        break;
      }
      default:
        if (REFUSED.has(a.type)) {
          throw new InvalidActionError(`the machine used ${a.type}; actors talk through cadre.send, cadre.publish and cadre.effect`);
        }
        if (a.hasCode && !a.type.startsWith('xstate.')) {
          // The runtime never runs a machine's own action code (machines do no I/O),
          // so code here would silently not happen: refuse it loudly instead.
          throw new InvalidActionError(`action "${a.type}" has an implementation the runtime will not run; request side effects with cadre.effect`);
        }
      // Built-in XState actions without effects (xstate.log) have nothing to commit.
    }
  });
  for (const row of out.outbox) {
    const bytes = Buffer.byteLength(row.payload);
    if (bytes > env.maxMessageBytes) {
      throw new InvalidActionError(`a message to ${row.subject} would be ${bytes} bytes; the limit is ${env.maxMessageBytes} (CADRE_MAX_MESSAGE_BYTES)`);
    }
  }
  return out;
}

function sendRow(cell: Cell, id: string, cause: ActorMessage, p: SendParams, env: ResolveEnv): OutboxRow {
  const to = ActorAddress.safeParse({ tenant: cell.address.tenant, ...p.to });
  const event = MachineEvent.safeParse(p.event);
  if (!to.success || !event.success) throw new InvalidActionError(`cadre.send to ${JSON.stringify(p.to)} has a bad address or event`);
  const message: ActorMessage = {
    id,
    tenant: cell.address.tenant,
    to: { kind: to.data.kind, key: to.data.key },
    event: event.data,
    correlationId: cause.correlationId,
    causationId: cause.id,
    from: cell.id,
    sentAt: env.at,
  };
  return {
    tenant: cell.address.tenant,
    message_id: id,
    partition: cell.partition,
    subject: env.subjects.mailbox(to.data),
    payload: JSON.stringify(message),
    at: env.at,
  };
}

function publishRow(cell: Cell, id: string, cause: ActorMessage, p: PublishParams, env: ResolveEnv): OutboxRow {
  const name = `${p.entity}.${p.name}`;
  const schema = (DomainEvents as Record<string, (typeof DomainEvents)[keyof typeof DomainEvents]>)[name];
  if (!schema) throw new InvalidActionError(`domain event ${name} is not in the event catalogue (bus/catalogue.ts)`);
  const data = schema.safeParse(p.data);
  if (!data.success) throw new InvalidActionError(`domain event ${name} does not match its schema: ${z.prettifyError(data.error)}`);
  const envelope = DomainEventEnvelope.parse({
    id,
    tenant: cell.address.tenant,
    entity: p.entity,
    name: p.name,
    data: data.data,
    correlationId: cause.correlationId,
    causationId: cause.id,
    source: cell.id,
    occurredAt: env.at,
  });
  return {
    tenant: cell.address.tenant,
    message_id: id,
    partition: cell.partition,
    subject: env.subjects.event(cell.address.tenant, p.entity, p.name),
    payload: JSON.stringify(envelope),
    at: env.at,
  };
}

const GateShape = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  request: z.number().int().positive(),
  agent: z.string().min(1).max(200),
  preview: z.string().max(2000),
  expiresInMs: z.number().int().positive().max(90 * 24 * 3600 * 1000).optional(),
});

function effectRow(cell: Cell, id: string, seq: number, cause: ActorMessage, p: EffectParams, env: ResolveEnv): EffectRow {
  if (typeof p.actionType !== 'string' || !/^[a-z0-9_]+(\.[a-z0-9_]+)+$/.test(p.actionType)) {
    throw new InvalidActionError(`cadre.effect needs an action type like "email.send", got ${JSON.stringify(p.actionType)}`);
  }
  if (p.params !== undefined && (typeof p.params !== 'object' || p.params === null || Array.isArray(p.params))) {
    throw new InvalidActionError(`cadre.effect ${p.actionType} needs its params as an object`);
  }
  const gate = GateShape.safeParse(p.gate);
  if (!gate.success) {
    throw new InvalidActionError(`cadre.effect ${p.actionType} does not come through a gate; request effects with the gate fragment (machines/gate.ts)`);
  }
  return {
    ...cell.address,
    id,
    partition: cell.partition,
    action_type: p.actionType,
    params: p.params ?? {},
    on_done: 'cadre.gate.done',
    on_error: 'cadre.gate.failed',
    gate: gate.data,
    max_attempts: env.maxAttempts(p.actionType),
    correlation_id: cause.correlationId,
    requested_seq: seq,
    at: env.at,
  };
}

