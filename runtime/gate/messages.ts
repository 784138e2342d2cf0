import type { ActorAddress, ActorMessage, Subjects } from '../../bus/index.ts';
import { partitionOf } from '../../bus/index.ts';
import type { Queryable } from '../store/index.ts';
import type { OutboxEntry } from '../outbox.ts';

/**
 * A runtime message to an actor, written to the outbox inside the caller's
 * transaction and published after it commits (the durability contract, rule 5).
 */
export async function toActor(
  tx: Queryable,
  subjects: Subjects,
  m: { id: string; actor: ActorAddress; event: ActorMessage['event']; correlationId: string; causationId: string | null; from: string; at: string },
): Promise<OutboxEntry> {
  const message: ActorMessage = {
    id: m.id,
    tenant: m.actor.tenant,
    to: { kind: m.actor.kind, key: m.actor.key },
    event: m.event,
    correlationId: m.correlationId,
    causationId: m.causationId,
    from: m.from,
    sentAt: m.at,
  };
  const entry: OutboxEntry = {
    tenant: m.actor.tenant,
    message_id: m.id,
    partition: partitionOf(m.actor, subjects.partitions),
    subject: subjects.mailbox(m.actor),
    payload: JSON.stringify(message),
  };
  await tx.query(
    `INSERT INTO outbox (tenant, message_id, partition, subject, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz)
     ON CONFLICT DO NOTHING`,
    [entry.tenant, entry.message_id, entry.partition, entry.subject, entry.payload, m.at],
  );
  return entry;
}

/** What the actor hears when its gated effect ended: done with a result, or failed with a status. */
export type EffectOutcome = { ok: true; result: unknown } | { ok: false; status: string; error: string };

/**
 * The effect's result for its actor (`cadre.effect.result` wrapping `cadre.gate.done`
 * or `cadre.gate.failed`), written to the outbox in the caller's transaction. Its id
 * is one per effect: whoever records the outcome first tells the actor.
 */
export function effectResult(
  tx: Queryable,
  subjects: Subjects,
  e: { tenant: string; id: string; kind: string; key: string; correlation_id: string; gate: { name: string; request: number } | null },
  outcome: EffectOutcome,
  at: string,
): Promise<OutboxEntry> {
  const g = e.gate!;
  const base = { gate: g.name, request: g.request, effectId: e.id };
  return toActor(tx, subjects, {
    id: `effect:${e.id}:result`,
    actor: { tenant: e.tenant, kind: e.kind, key: e.key },
    event: {
      type: 'cadre.effect.result',
      effectId: e.id,
      ok: outcome.ok,
      event: outcome.ok
        ? { type: 'cadre.gate.done', ...base, result: outcome.result ?? null }
        : { type: 'cadre.gate.failed', ...base, status: outcome.status, error: outcome.error },
    },
    correlationId: e.correlation_id,
    causationId: e.id,
    from: 'runtime:effects',
    at,
  });
}
