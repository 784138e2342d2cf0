import type { AnyMachineSnapshot } from 'xstate';
import type { ActorAddress, ActorMessage } from '../../bus/index.ts';
import type { Kind } from './kind.ts';

/** Lifecycle status of an actor, set by operators. */
export type ActorStatus = 'active' | 'paused' | 'stopped';

/** A pending durable timer as the actor's cell knows it. */
export interface PendingTimer {
  setSeq: number;
  dueAt: number;
}

/** A message held while the actor is paused. */
export interface HeldMessage {
  holdSeq: number;
  message: ActorMessage;
}

/**
 * The in-memory state of one active actor: its snapshot and sequence number as
 * last committed (or, inside a batch that has not committed yet, as computed),
 * its pending timers and its held messages. A cell is dropped whenever a commit
 * that touched it fails, and rebuilt from the database on the next message.
 */
export interface Cell {
  readonly address: ActorAddress;
  /** `tenant/kind/key` */
  readonly id: string;
  readonly partition: number;
  readonly kind: Kind;
  snapshot: AnyMachineSnapshot;
  seq: number;
  status: ActorStatus;
  /** true until the actor's first commit */
  isNew: boolean;
  timers: Map<string, PendingTimer>;
  held: HeldMessage[];
  nextHoldSeq: number;
}
