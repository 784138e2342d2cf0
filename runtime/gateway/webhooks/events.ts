import { z } from 'zod';
import { DomainEventEnvelope, DomainEvents, partitionOf, type Subjects } from '../../../bus/index.ts';
import type { Queryable } from '../../store/index.ts';
import type { OutboxEntry } from '../../outbox.ts';

/** A domain event published from outside the actors (here: a webhook), before it is written. */
export interface ExternalEvent {
  /** The event's id: the bus's deduplication id and the outbox key. */
  id: string;
  tenant: string;
  entity: string;
  name: string;
  data: Record<string, unknown>;
  correlationId: string;
  causationId: string | null;
  /** Who publishes it, e.g. `webhook:form`. */
  source: string;
  /** ISO time of the runtime clock. */
  at: string;
}

/** A domain event outside the catalogue, or not of its shape; nothing was written. */
export class InvalidDomainEventError extends Error {
  readonly code = 'invalid_domain_event';
}

/**
 * The domain-event counterpart of the gate's `toActor`: validates an event against
 * the catalogue (bus/catalogue.ts) and writes it to the outbox inside the caller's
 * transaction, on `<prefix>.<tenant>.events.<entity>.<name>`. Publish the entry
 * (`rt.relay.publish`) once that transaction committed; after a crash the relay's
 * sweep publishes it (the outbox row's partition is the source's, see `partition`).
 *
 * @example
 * const entry = await db.transaction((tx) => toEvent(tx, rt.subjects, { id, tenant: 'acme', entity: 'lead', name: 'qualified', data, ... }));
 * rt.relay.publish([entry]);
 */
export async function toEvent(tx: Queryable, subjects: Subjects, e: ExternalEvent, maxBytes = 256 * 1024): Promise<OutboxEntry> {
  const name = `${e.entity}.${e.name}`;
  const schema = (DomainEvents as Record<string, z.ZodType>)[name];
  if (!schema) throw new InvalidDomainEventError(`domain event ${name} is not in the event catalogue (bus/catalogue.ts)`);
  const data = schema.safeParse(e.data);
  if (!data.success) throw new InvalidDomainEventError(`domain event ${name} does not match its schema: ${z.prettifyError(data.error)}`);
  const envelope = DomainEventEnvelope.parse({
    id: e.id,
    tenant: e.tenant,
    entity: e.entity,
    name: e.name,
    data: data.data,
    correlationId: e.correlationId,
    causationId: e.causationId,
    source: e.source,
    occurredAt: e.at,
  });
  const payload = JSON.stringify(envelope);
  if (Buffer.byteLength(payload) > maxBytes) throw new InvalidDomainEventError(`domain event ${name} would be ${Buffer.byteLength(payload)} bytes; the limit is ${maxBytes}`);
  const entry: OutboxEntry = {
    tenant: e.tenant,
    message_id: e.id,
    partition: partition(subjects, e.tenant, e.source),
    subject: subjects.event(e.tenant, e.entity, e.name),
    payload,
  };
  await tx.query(
    `INSERT INTO outbox (tenant, message_id, partition, subject, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz)
     ON CONFLICT DO NOTHING`,
    [entry.tenant, entry.message_id, entry.partition, entry.subject, entry.payload, e.at],
  );
  return entry;
}

/**
 * The partition whose owner re-publishes the event after a crash: that of a
 * notional actor `tenant/webhook/<source>`, so one source's events keep their order.
 */
function partition(subjects: Subjects, tenant: string, source: string): number {
  const key = source.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100) || 'external';
  return partitionOf({ tenant, kind: 'webhook', key }, subjects.partitions);
}
