import type { MachineEvent } from '../bus/index.ts';
import type { GateParams } from './gate.ts';

/**
 * The runtime's actions: the only way a machine reaches the world. Each is an
 * XState action with params; the runtime reads them from the transition's action
 * list and commits them with the new snapshot (DESIGN.md, durability contract).
 * Their implementations here do nothing on purpose: machines do no I/O.
 */

/** Send an event to another actor's mailbox (through the outbox). */
export interface SendParams {
  to: { kind: string; key: string };
  event: MachineEvent;
}

/** Publish a domain event on `<prefix>.<tenant>.events.<entity>.<name>`. */
export interface PublishParams {
  entity: string;
  name: string;
  data: Record<string, unknown>;
}

/**
 * Request an effect, always through a gate (machines/gate.ts builds these): the
 * runtime decides it (autonomy level, risk, policies), and once allowed runs it
 * after the commit, with an idempotency key, retried with backoff. Its decision
 * and outcome come back as `cadre.gate.*` events naming the gate and request.
 */
export interface EffectParams {
  actionType: string;
  params: Record<string, unknown>;
  gate: GateParams;
}

/**
 * The runtime's action declarations, to spread into a machine's `setup({ actions })`.
 * They exist for their types; the runtime reads their params and never calls them.
 */
export const runtimeActions = {
  'cadre.send': (_: unknown, _params: SendParams) => {},
  'cadre.publish': (_: unknown, _params: PublishParams) => {},
  'cadre.effect': (_: unknown, _params: EffectParams) => {},
};

/** Names of the runtime's action types. */
export const RUNTIME_ACTION = {
  send: 'cadre.send',
  publish: 'cadre.publish',
  effect: 'cadre.effect',
} as const;

/**
 * A `cadre.publish` action of `entity`'s domain events, for a machine's actions:
 * `const publish = publisher<Args>('order')`, then `publish('accepted', ({ context }) => data)`.
 */
export function publisher<A>(entity: string) {
  return (name: string, data: (a: A) => Record<string, unknown>) => ({
    type: RUNTIME_ACTION.publish,
    params: (a: A) => ({ entity, name, data: data(a) }),
  });
}
