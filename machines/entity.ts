import type { z } from 'zod';
import type { AnyStateMachine } from 'xstate';

/**
 * A kind of actor as data: its machine, the zod schema of the events it accepts
 * from outside, and how its input is made from its address. Checked when the
 * runtime registers it.
 */
export interface EntityDefinition<M extends AnyStateMachine = AnyStateMachine> {
  /** The `kind` part of `tenant/kind/key`. */
  kind: string;
  machine: M;
  /** Events accepted from other actors, the gateway and the CLI. */
  events: z.ZodType<{ type: string }>;
  /** Input of a new actor. @default ({ tenant, key }) => ({ tenant, key }) */
  input?: (address: { tenant: string; key: string }) => unknown;
  /** Bumped when a change to the machine needs its snapshots migrated. @default '1' */
  version?: string;
}

/**
 * Declares a kind of actor.
 * @example
 * export const deal = defineEntity({ kind: 'deal', machine: dealMachine, events: DealEvent });
 */
export function defineEntity<M extends AnyStateMachine>(def: EntityDefinition<M>): EntityDefinition<M> {
  return Object.freeze({ ...def });
}

/**
 * Every event a machine receives is stamped by the runtime with `at`, the ISO
 * time it was processed at: machines take time from their events, never from a clock.
 */
export type Stamped<E> = E & { at: string };
