import type { Delivery } from '../../bus/index.ts';
import type { Cell } from './cell.ts';

/** Rows one batch commits, as plain objects for `jsonb_to_recordset`. */
export interface JournalRow {
  tenant: string;
  kind: string;
  key: string;
  seq: number;
  message_id: string;
  event_type: string;
  event: unknown;
  state: string;
  correlation_id: string;
  causation_id: string | null;
  sender: string;
  at: string;
}

/** A message leaving through the outbox. */
export interface OutboxRow {
  tenant: string;
  message_id: string;
  partition: number;
  subject: string;
  payload: string;
  at: string;
}

/** A durable timer to set. */
export interface TimerRow {
  tenant: string;
  kind: string;
  key: string;
  timer_id: string;
  partition: number;
  set_seq: number;
  due_at: string;
  event: unknown;
  at: string;
}

/** A requested effect. */
export interface EffectRow {
  tenant: string;
  id: string;
  kind: string;
  key: string;
  partition: number;
  action_type: string;
  params: Record<string, unknown>;
  on_done: string;
  on_error: string;
  /** The gate it came through (machines/gate.ts). */
  gate: Record<string, unknown>;
  max_attempts: number;
  correlation_id: string;
  requested_seq: number;
  at: string;
}

/** A message refused, with its reason. */
export interface DeadLetterRow {
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
  at: string;
}

/** A message held for a paused actor. */
export interface HeldRow {
  tenant: string;
  kind: string;
  key: string;
  hold_seq: number;
  message_id: string;
  payload: unknown;
  at: string;
}

/** What to answer a sender once the batch is committed. */
export interface Reply {
  to: string;
  body: unknown;
}

/**
 * Everything one batch of messages asks to commit. Timer and held-message changes
 * are netted per row (set then cancelled in the same batch leaves nothing), since
 * one SQL statement must not touch a row twice.
 */
export class Batch {
  readonly cells = new Map<string, { cell: Cell; oldSeq: number; wasNew: boolean }>();
  readonly journal: JournalRow[] = [];
  readonly outbox: OutboxRow[] = [];
  readonly effects: EffectRow[] = [];
  readonly deadLetters: DeadLetterRow[] = [];
  readonly timersSet = new Map<string, TimerRow>();
  readonly timersDeleted = new Map<string, { tenant: string; kind: string; key: string; timer_id: string }>();
  readonly heldInserted = new Map<string, HeldRow>();
  readonly heldDeleted = new Map<string, { tenant: string; kind: string; key: string; hold_seq: number }>();
  /** Ids of the messages this batch takes in for the first time, checked against what was committed before. */
  readonly fresh: { tenant: string; message_id: string }[] = [];
  readonly replies: Reply[] = [];
  readonly acks: Delivery[] = [];

  /** Records that `cell` changes in this batch (first call keeps its starting point). */
  touch(cell: Cell): void {
    if (!this.cells.has(cell.id)) this.cells.set(cell.id, { cell, oldSeq: cell.seq, wasNew: cell.isNew });
  }

  setTimer(row: TimerRow): void {
    const k = `${row.tenant}/${row.kind}/${row.key}#${row.timer_id}`;
    this.timersDeleted.delete(k);
    this.timersSet.set(k, row);
  }

  deleteTimer(cell: Cell, timerId: string): void {
    this.deleteTimerRow(cell.address, timerId);
  }

  /** Deletes a timer row by address, also of an actor that has no cell (an unknown kind). */
  deleteTimerRow(address: { tenant: string; kind: string; key: string }, timerId: string): void {
    const k = `${address.tenant}/${address.kind}/${address.key}#${timerId}`;
    this.timersSet.delete(k);
    this.timersDeleted.set(k, { tenant: address.tenant, kind: address.kind, key: address.key, timer_id: timerId });
  }

  hold(row: HeldRow): void {
    this.heldInserted.set(`${row.tenant}/${row.kind}/${row.key}#${row.hold_seq}`, row);
  }

  release(cell: Cell, holdSeq: number): void {
    const k = `${cell.id}#${holdSeq}`;
    if (!this.heldInserted.delete(k)) this.heldDeleted.set(k, { ...cell.address, hold_seq: holdSeq });
  }

  /** True when there is nothing to write. */
  get empty(): boolean {
    return (
      this.cells.size === 0 &&
      this.journal.length === 0 &&
      this.outbox.length === 0 &&
      this.effects.length === 0 &&
      this.deadLetters.length === 0 &&
      this.timersSet.size === 0 &&
      this.timersDeleted.size === 0 &&
      this.heldInserted.size === 0 &&
      this.heldDeleted.size === 0
    );
  }
}
