import type { AnyMachineSnapshot } from 'xstate';
import type { Queryable } from '../store/index.ts';
import type { Batch } from './batch.ts';
import { stateString } from './kind.ts';

/**
 * The commit of one batch: a single SQL statement whose data-modifying CTEs write
 * the new snapshots (with optimistic concurrency on each actor's `seq`), the
 * journal entries, the outbox, timers set and cancelled, effects, dead letters and
 * held messages. A single statement is atomic by itself and costs one round trip.
 * If any actor's `seq` moved underneath us, or a message of the batch turns out
 * to be committed already (deduplication without a prior round trip), `cadre_assert`
 * aborts the whole statement and nothing is written; the lane then retries with an
 * explicit check first.
 */
const COMMIT_SQL = `
WITH
ins_actors AS (
  INSERT INTO actors (tenant, kind, key, partition, seq, status, machine_status, state, state_value, context, snapshot, version, created_at, updated_at)
  SELECT r.tenant, r.kind, r.key, r.partition, r.seq, r.status, r.machine_status, r.state, r.state_value, r.context, r.snapshot, r.version, r.at, r.at
  FROM jsonb_to_recordset($1::jsonb) AS r(tenant text, kind text, key text, partition int, seq bigint, status text, machine_status text,
       state text, state_value jsonb, context jsonb, snapshot jsonb, version text, at timestamptz)
  ON CONFLICT DO NOTHING
  RETURNING 1
),
upd_actors AS (
  UPDATE actors a SET seq = r.seq, status = r.status, machine_status = r.machine_status, state = r.state,
         state_value = r.state_value, context = r.context, snapshot = r.snapshot, updated_at = r.at
  FROM jsonb_to_recordset($2::jsonb) AS r(tenant text, kind text, key text, old_seq bigint, seq bigint, status text, machine_status text,
       state text, state_value jsonb, context jsonb, snapshot jsonb, at timestamptz)
  WHERE a.tenant = r.tenant AND a.kind = r.kind AND a.key = r.key AND a.seq = r.old_seq
  RETURNING 1
),
ins_journal AS (
  INSERT INTO journal (tenant, kind, key, seq, message_id, event_type, event, state, correlation_id, causation_id, sender, committed_at)
  SELECT r.tenant, r.kind, r.key, r.seq, r.message_id, r.event_type, r.event, r.state, r.correlation_id, r.causation_id, r.sender, r.at
  FROM jsonb_to_recordset($3::jsonb) AS r(tenant text, kind text, key text, seq bigint, message_id text, event_type text, event jsonb,
       state text, correlation_id text, causation_id text, sender text, at timestamptz)
  RETURNING 1
),
ins_outbox AS (
  INSERT INTO outbox (tenant, message_id, partition, subject, payload, created_at)
  SELECT r.tenant, r.message_id, r.partition, r.subject, r.payload, r.at
  FROM jsonb_to_recordset($4::jsonb) AS r(tenant text, message_id text, partition int, subject text, payload text, at timestamptz)
  ON CONFLICT DO NOTHING
  RETURNING 1
),
del_timers AS (
  DELETE FROM timers t USING jsonb_to_recordset($5::jsonb) AS r(tenant text, kind text, key text, timer_id text)
  WHERE t.tenant = r.tenant AND t.kind = r.kind AND t.key = r.key AND t.timer_id = r.timer_id
  RETURNING 1
),
set_timers AS (
  INSERT INTO timers (tenant, kind, key, timer_id, partition, set_seq, due_at, event, set_at)
  SELECT r.tenant, r.kind, r.key, r.timer_id, r.partition, r.set_seq, r.due_at, r.event, r.at
  FROM jsonb_to_recordset($6::jsonb) AS r(tenant text, kind text, key text, timer_id text, partition int, set_seq bigint,
       due_at timestamptz, event jsonb, at timestamptz)
  ON CONFLICT (tenant, kind, key, timer_id) DO UPDATE
    SET set_seq = EXCLUDED.set_seq, due_at = EXCLUDED.due_at, event = EXCLUDED.event, set_at = EXCLUDED.set_at
  RETURNING 1
),
ins_effects AS (
  INSERT INTO effects (tenant, id, kind, key, partition, action_type, params, on_done, on_error, max_attempts, next_attempt_at,
                       correlation_id, requested_seq, requested_at)
  SELECT r.tenant, r.id, r.kind, r.key, r.partition, r.action_type, r.params, r.on_done, r.on_error, r.max_attempts, r.at,
         r.correlation_id, r.requested_seq, r.at
  FROM jsonb_to_recordset($7::jsonb) AS r(tenant text, id text, kind text, key text, partition int, action_type text, params jsonb,
       on_done text, on_error text, max_attempts int, correlation_id text, requested_seq bigint, at timestamptz)
  RETURNING 1
),
ins_dead AS (
  INSERT INTO dead_letters (tenant, message_id, kind, key, subject, code, reason, payload, payload_encoding, delivery_count, created_at)
  SELECT r.tenant, r.message_id, r.kind, r.key, r.subject, r.code, r.reason, r.payload, r.payload_encoding, r.delivery_count, r.at
  FROM jsonb_to_recordset($8::jsonb) AS r(tenant text, message_id text, kind text, key text, subject text, code text, reason text,
       payload text, payload_encoding text, delivery_count int, at timestamptz)
  ON CONFLICT DO NOTHING
  RETURNING 1
),
ins_held AS (
  INSERT INTO held_messages (tenant, kind, key, hold_seq, message_id, payload, held_at)
  SELECT r.tenant, r.kind, r.key, r.hold_seq, r.message_id, r.payload, r.at
  FROM jsonb_to_recordset($9::jsonb) AS r(tenant text, kind text, key text, hold_seq bigint, message_id text, payload jsonb, at timestamptz)
  RETURNING 1
),
dup_ids AS (
  SELECT 1 FROM jsonb_to_recordset($12::jsonb) AS m(tenant text, message_id text)
  WHERE EXISTS (SELECT 1 FROM journal j WHERE j.tenant = m.tenant AND j.message_id = m.message_id)
     OR EXISTS (SELECT 1 FROM dead_letters d WHERE d.tenant = m.tenant AND d.message_id = m.message_id)
     OR EXISTS (SELECT 1 FROM held_messages h WHERE h.tenant = m.tenant AND h.message_id = m.message_id)
),
del_held AS (
  DELETE FROM held_messages h USING jsonb_to_recordset($10::jsonb) AS r(tenant text, kind text, key text, hold_seq bigint)
  WHERE h.tenant = r.tenant AND h.kind = r.kind AND h.key = r.key AND h.hold_seq = r.hold_seq
  RETURNING 1
)
SELECT cadre_assert(
  (SELECT count(*) FROM ins_actors) + (SELECT count(*) FROM upd_actors) = $11::int,
  'an actor''s sequence number moved: another process committed to it') AS ok,
  cadre_assert(NOT EXISTS (SELECT 1 FROM dup_ids), 'a message in this batch was already committed') AS fresh,
  (SELECT count(*) FROM ins_journal) AS journal,
  (SELECT count(*) FROM ins_outbox) AS outbox,
  (SELECT count(*) FROM del_timers) + (SELECT count(*) FROM set_timers) AS timers,
  (SELECT count(*) FROM ins_effects) AS effects,
  (SELECT count(*) FROM ins_dead) AS dead,
  (SELECT count(*) FROM ins_held) + (SELECT count(*) FROM del_held) AS held`;

/** Commits a batch; throws a `StoreAssertionError` on a sequence conflict. */
export async function commitBatch(db: Queryable, batch: Batch, at: string): Promise<void> {
  const inserts: unknown[] = [];
  const updates: unknown[] = [];
  for (const { cell, oldSeq, wasNew } of batch.cells.values()) {
    const row = actorRow(cell.snapshot, cell.kind.persist(cell.snapshot), at);
    const base = { ...cell.address, seq: cell.seq, status: cell.status, ...row };
    if (wasNew) inserts.push({ ...base, partition: cell.partition, version: cell.kind.version });
    else updates.push({ ...base, old_seq: oldSeq });
  }
  await db.query(COMMIT_SQL, [
    JSON.stringify(inserts),
    JSON.stringify(updates),
    JSON.stringify(batch.journal),
    JSON.stringify(batch.outbox),
    JSON.stringify([...batch.timersDeleted.values()]),
    JSON.stringify([...batch.timersSet.values()]),
    JSON.stringify(batch.effects),
    JSON.stringify(batch.deadLetters),
    JSON.stringify([...batch.heldInserted.values()]),
    JSON.stringify([...batch.heldDeleted.values()]),
    inserts.length + updates.length,
    JSON.stringify(batch.fresh),
  ]);
}

function actorRow(snapshot: AnyMachineSnapshot, persisted: unknown, at: string) {
  return {
    machine_status: snapshot.status,
    state: stateString(snapshot.value),
    state_value: snapshot.value,
    context: snapshot.context,
    snapshot: persisted,
    at,
  };
}
