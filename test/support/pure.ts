import { expect } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { DomainEvents } from '../../bus/catalogue.ts';
import type { EntityDefinition } from '../../machines/entity.ts';
import type { EffectParams, PublishParams } from '../../machines/effects.ts';
import { GateEvent } from '../../machines/gate.ts';
import { Kind, type RequestedAction } from '../../runtime/host/kind.ts';

/**
 * A kit for walking an entity's machine purely through `Kind`, as the runtime
 * does, without a runtime: a persist/restore round trip before every event,
 * every event stamped with `at`, refused unless the snapshot `can` take it (the
 * runtime dead-letters those), outside events parsed by the entity's schema
 * (the runtime's own, `cadre.*` and fired timers, handed over as they are).
 * Delayed raises become timers (runtime/host/actions.ts: the raise's id names the
 * timer, a cancel or a re-arm drops it) and `fire` delivers a pending timer's
 * event at its due time, the way `cadre.timer.fire` is unwrapped. Every action is
 * checked the way the runtime would (nothing it refuses, every published domain
 * event in the catalogue and matching its schema).
 */

export const iso = (ms: number) => new Date(ms).toISOString();

/** Built-in XState actions the runtime refuses (runtime/host/actions.ts). */
export const REFUSED = ['xstate.sendTo', 'xstate.sendParent', 'xstate.spawnChild', 'xstate.stopChild', 'xstate.emit', 'xstate.forwardTo'];

/** An event as a test writes it. */
export type Ev = { type: string; [k: string]: unknown };
/** A pending timer: a delayed raise not yet fired nor cancelled. */
export type Timer = { id: string; event: { type: string }; delay: number; dueAt: number };
export type Published = PublishParams;
export type Effect = EffectParams;

export interface PureOptions {
  /** @default 'acme' */
  tenant?: string;
  key: string;
  /** Where the clock starts (ms, or an ISO time). */
  start: number | string;
  /** Checks of every requested action beyond those the runtime makes (e.g. an entity that never requests effects). */
  check?: (a: RequestedAction) => void;
}

/** The domain events published by some actions. */
export const publishedIn = (actions: RequestedAction[]) => actions.filter((a) => a.type === 'cadre.publish').map((a) => a.params as Published);
/** The effects requested by some actions. */
export const effectsIn = (actions: RequestedAction[]) => actions.filter((a) => a.type === 'cadre.effect').map((a) => a.params as Effect);
/** The timers some actions armed (their delayed raises). */
export const raised = (actions: RequestedAction[]) =>
  actions
    .filter((a) => a.type === 'xstate.raise' && typeof (a.params as { delay?: unknown }).delay === 'number')
    .map((a) => a.params as { id: string; delay: number; event: { type: string } });
/** The timers some actions cancelled. */
export const cancelled = (actions: RequestedAction[]) => actions.filter((a) => a.type === 'xstate.cancel').map((a) => (a.params as { sendId: string }).sendId);

const kinds = new WeakMap<EntityDefinition, Kind>();
function kindOf(entity: EntityDefinition): Kind {
  let k = kinds.get(entity);
  if (!k) kinds.set(entity, (k = new Kind(entity)));
  return k;
}

/** One actor of `entity`, walked purely (see above). */
export class PureActor<C = unknown> {
  readonly kind: Kind;
  /** The clock (ms): events are stamped with it unless given their own `at`. */
  now: number;
  /** Every action requested so far, oldest first. */
  readonly actions: RequestedAction[] = [];
  /** The actions of the last transition (or of the initial state). */
  last: RequestedAction[] = [];
  /** Pending timers by id. */
  readonly timers = new Map<string, Timer>();
  private current: AnyMachineSnapshot;

  constructor(
    readonly entity: EntityDefinition,
    private readonly opts: PureOptions,
  ) {
    this.kind = kindOf(entity);
    this.now = typeof opts.start === 'number' ? opts.start : Date.parse(opts.start);
    const init = this.kind.initial({ tenant: opts.tenant ?? 'acme', key: opts.key });
    this.current = init.snapshot;
    this.track(init.actions, this.now);
  }

  get snapshot(): AnyMachineSnapshot {
    return this.current;
  }
  get value() {
    return this.current.value;
  }
  get status() {
    return this.current.status;
  }
  get ctx(): C {
    return this.current.context as C;
  }

  /** An outside event from the entity's schema; the runtime's own (`cadre.*`, fired timers) as they are. */
  event(e: Ev): { type: string } {
    return e.type.startsWith('cadre.') || e.type.startsWith('xstate.') ? e : this.entity.events.parse(e);
  }

  /** Sends one event, which the current state must take; `at` dates that one event (the clock stays). */
  send(e: Ev, at?: string): this {
    return this.apply(this.event(e), at);
  }

  /** A gate event, exactly as the runtime sends it (checked by the gate's schema). */
  gate(e: Ev): this {
    return this.apply(GateEvent.parse(e));
  }

  /** Sends one event if the current state takes it; otherwise, as the runtime dead-letters it, nothing changes. Whether it was taken. */
  offer(e: Ev, at?: string): boolean {
    if (!this.takes(e, at)) return false;
    this.send(e, at);
    return true;
  }

  /** Whether the current state would take the event. */
  takes(e: Ev, at?: string): boolean {
    return this.restored().can({ ...this.event(e), at: at ?? iso(this.now) } as never);
  }

  /** Whether the current state would refuse the event. */
  refuses(e: Ev, at?: string): boolean {
    return !this.takes(e, at);
  }

  advance(ms: number): this {
    this.now += ms;
    return this;
  }

  /** Fires the pending timer `id` at its due time (the clock moves on to it). */
  fire(id: string): this {
    const t = this.timers.get(id);
    expect(t, `timer ${id} pending (pending: ${[...this.timers.keys()].join(', ')})`).toBeDefined();
    this.timers.delete(id);
    this.now = Math.max(this.now, t!.dueAt);
    return this.apply(t!.event);
  }

  /** Published domain events, all or those named `entity.name` (or just `name`). */
  published(name?: string): Published[] {
    return publishedIn(this.actions).filter((p) => name === undefined || name === (name.includes('.') ? `${p.entity}.${p.name}` : p.name));
  }

  effects(): Effect[] {
    return effectsIn(this.actions);
  }

  /** The snapshot through its persisted JSON and back, as the runtime rehydrates it. */
  private restored(): AnyMachineSnapshot {
    const r = this.kind.restore(JSON.parse(JSON.stringify(this.kind.persist(this.current))));
    expect(r.value).toEqual(this.current.value);
    expect(r.context).toEqual(this.current.context);
    return r;
  }

  private apply(event: { type: string }, at?: string): this {
    const r = this.restored();
    const stamped = { ...event, at: at ?? iso(this.now) };
    expect(r.can(stamped as never), `${event.type} accepted in ${JSON.stringify(r.value)}`).toBe(true);
    const step = this.kind.transition(r, stamped as never);
    expect(step.snapshot.status).not.toBe('error');
    this.current = step.snapshot;
    this.track(step.actions, Date.parse(stamped.at));
    return this;
  }

  private track(actions: RequestedAction[], at: number): void {
    this.last = actions;
    this.actions.push(...actions);
    for (const a of actions) {
      expect(REFUSED).not.toContain(a.type);
      // Only the runtime's actions and XState's built-ins; these entities talk through cadre.publish and cadre.effect.
      expect(a.type.startsWith('xstate.') || a.type.startsWith('cadre.'), `${a.type} is an action the runtime runs`).toBe(true);
      if (a.type.startsWith('cadre.')) expect(['cadre.publish', 'cadre.effect']).toContain(a.type);
      this.opts.check?.(a);
      // In order: a re-arm is a cancel then a raise of the same id.
      for (const p of raised([a])) this.timers.set(p.id, { id: p.id, event: p.event, delay: p.delay, dueAt: at + p.delay });
      for (const id of cancelled([a])) this.timers.delete(id);
    }
    for (const p of publishedIn(actions)) {
      const name = `${p.entity}.${p.name}`;
      const schema = (DomainEvents as Record<string, { safeParse(v: unknown): { success: boolean; error?: unknown } }>)[name];
      expect(schema, `${name} is in the catalogue`).toBeDefined();
      const r = schema!.safeParse(p.data);
      expect(r.success, `${name} matches its schema: ${JSON.stringify(r.error)}`).toBe(true);
    }
  }
}

/** How a test's gate events name things. */
export interface GateEventNames {
  effectId: (gate: string, request: number) => string;
  approvalId: (gate: string, request: number) => string;
  level: string;
  /** @default 'medium' */
  risk?: string;
  /** Who settles approvals (the expiry settles expired ones). */
  by: string;
  /** A done effect's result. */
  result: (gate: string, request: number) => unknown;
  /** A failed effect's error. @default the status */
  error?: (status: string) => string;
}

/** Builders of the runtime's gate events (machines/gate.ts), as the runtime sends them to an actor. */
export function gateEvents(n: GateEventNames) {
  const head = (gate: string, request: number) => ({ gate, request, effectId: n.effectId(gate, request) });
  return {
    decided: (gate: string, request: number, outcome: string, extra: Record<string, unknown> = {}) => ({
      type: 'cadre.gate.decided',
      ...head(gate, request),
      outcome,
      level: n.level,
      risk: n.risk ?? 'medium',
      policy: null,
      reason: null,
      approvalId: null,
      until: null,
      ...extra,
    }),
    settled: (type: 'approved' | 'rejected' | 'expired', gate: string, request: number, note: string | null = null) => ({
      type: `cadre.gate.${type}`,
      ...head(gate, request),
      approvalId: n.approvalId(gate, request),
      by: type === 'expired' ? 'expiry' : n.by,
      note,
    }),
    done: (gate: string, request: number, result: unknown = n.result(gate, request)) => ({ type: 'cadre.gate.done', ...head(gate, request), result }),
    failed: (gate: string, request: number, status = 'failed', error = n.error ? n.error(status) : status) => ({
      type: 'cadre.gate.failed',
      ...head(gate, request),
      status,
      error,
    }),
  };
}
