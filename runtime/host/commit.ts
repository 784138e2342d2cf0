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
 *
 * Only the parts a batch needs are in its statement (an empty CTE still costs
 * executor work), so a handful of statement shapes exist; each is prepared once.
 * Row sets travel as jsonb (`jsonb_to_recordset`). The duplicate check is a LATERAL
 * probe per message id: written as a join or with `= ANY(array)`, the planner
 * scanned the journal (measured: 11 ms against 0.1 ms at 80,000 entries).
 */

type Param = (value: unknown) => string;

interface Keys {
  tenants: string[];
  ids: string[];
}

const PARTS: { name: string; rows: (b: Batch, rows: Rows) => unknown[]; sql: (rows: string) => string }[] = [
  {
    name: 'ins_actors',
    rows: (_b, r) => r.inserts,
    sql: (rows) => `INSERT INTO actors (tenant, kind, key, partition, seq, status, machine_status, state, snapshot, version, created_at, updated_at)
  SELECT r.tenant, r.kind, r.key, r.partition, r.seq, r.status, r.machine_status, r.state, r.snapshot, r.version, r.at, r.at
  FROM jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, kind text, key text, partition int, seq bigint, status text, machine_status text,
       state text, snapshot jsonb, version text, at timestamptz)
  ON CONFLICT DO NOTHING RETURNING 1`,
  },
  {
    name: 'upd_actors',
    rows: (_b, r) => r.updates,
    sql: (rows) => `UPDATE actors a SET seq = r.seq, status = r.status, machine_status = r.machine_status, state = r.state,
         snapshot = r.snapshot, updated_at = r.at
  FROM jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, kind text, key text, old_seq bigint, seq bigint, status text, machine_status text,
       state text, snapshot jsonb, at timestamptz)
  WHERE a.tenant = r.tenant AND a.kind = r.kind AND a.key = r.key AND a.seq = r.old_seq
  RETURNING 1`,
  },
  {
    name: 'ins_journal',
    rows: (b) => b.journal,
    sql: (rows) => `INSERT INTO journal (tenant, kind, key, seq, message_id, event_type, event, state, correlation_id, causation_id, sender, committed_at)
  SELECT r.tenant, r.kind, r.key, r.seq, r.message_id, r.event_type, r.event, r.state, r.correlation_id, r.causation_id, r.sender, r.at
  FROM jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, kind text, key text, seq bigint, message_id text, event_type text, event jsonb,
       state text, correlation_id text, causation_id text, sender text, at timestamptz)
  RETURNING 1`,
  },
  {
    name: 'ins_outbox',
    rows: (b) => b.outbox,
    sql: (rows) => `INSERT INTO outbox (tenant, message_id, partition, subject, payload, created_at)
  SELECT e.v->>'tenant', e.v->>'message_id', (e.v->>'partition')::int, e.v->>'subject', e.v->>'payload', (e.v->>'at')::timestamptz
  FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS e(v, n)
  ORDER BY e.n -- positions follow commit order
  ON CONFLICT DO NOTHING RETURNING 1`,
  },
  {
    name: 'del_timers',
    rows: (b) => [...b.timersDeleted.values()],
    sql: (rows) => `DELETE FROM timers t USING jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, kind text, key text, timer_id text)
  WHERE t.tenant = r.tenant AND t.kind = r.kind AND t.key = r.key AND t.timer_id = r.timer_id
  RETURNING 1`,
  },
  {
    name: 'set_timers',
    rows: (b) => [...b.timersSet.values()],
    sql: (rows) => `INSERT INTO timers (tenant, kind, key, timer_id, partition, set_seq, due_at, event, set_at)
  SELECT r.tenant, r.kind, r.key, r.timer_id, r.partition, r.set_seq, r.due_at, r.event, r.at
  FROM jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, kind text, key text, timer_id text, partition int, set_seq bigint,
       due_at timestamptz, event jsonb, at timestamptz)
  ON CONFLICT (tenant, kind, key, timer_id) DO UPDATE
    SET set_seq = EXCLUDED.set_seq, due_at = EXCLUDED.due_at, event = EXCLUDED.event, set_at = EXCLUDED.set_at
  RETURNING 1`,
  },
  {
    name: 'ins_effects',
    rows: (b) => b.effects,
    sql: (rows) => `INSERT INTO effects (tenant, id, kind, key, partition, action_type, params, on_done, on_error, gate, status, max_attempts,
                       next_attempt_at, correlation_id, requested_seq, requested_at)
  SELECT r.tenant, r.id, r.kind, r.key, r.partition, r.action_type, r.params, r.on_done, r.on_error, r.gate, 'deciding', r.max_attempts, r.at,
         r.correlation_id, r.requested_seq, r.at
  FROM jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, id text, kind text, key text, partition int, action_type text, params jsonb,
       on_done text, on_error text, gate jsonb, max_attempts int, correlation_id text, requested_seq bigint, at timestamptz)
  RETURNING 1`,
  },
  {
    name: 'ins_dead',
    rows: (b) => b.deadLetters,
    sql: (rows) => `INSERT INTO dead_letters (tenant, message_id, kind, key, subject, code, reason, payload, payload_encoding, delivery_count, created_at)
  SELECT r.tenant, r.message_id, r.kind, r.key, r.subject, r.code, r.reason, r.payload, r.payload_encoding, r.delivery_count, r.at
  FROM jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, message_id text, kind text, key text, subject text, code text, reason text,
       payload text, payload_encoding text, delivery_count int, at timestamptz)
  ON CONFLICT DO NOTHING RETURNING 1`,
  },
  {
    name: 'ins_held',
    rows: (b) => [...b.heldInserted.values()],
    sql: (rows) => `INSERT INTO held_messages (tenant, kind, key, hold_seq, message_id, payload, held_at)
  SELECT r.tenant, r.kind, r.key, r.hold_seq, r.message_id, r.payload, r.at
  FROM jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, kind text, key text, hold_seq bigint, message_id text, payload jsonb, at timestamptz)
  RETURNING 1`,
  },
  {
    name: 'del_held',
    rows: (b) => [...b.heldDeleted.values()],
    sql: (rows) => `DELETE FROM held_messages h USING jsonb_to_recordset(${rows}::jsonb) AS r(tenant text, kind text, key text, hold_seq bigint)
  WHERE h.tenant = r.tenant AND h.kind = r.kind AND h.key = r.key AND h.hold_seq = r.hold_seq
  RETURNING 1`,
  },
];

interface Rows {
  inserts: unknown[];
  updates: unknown[];
}

/** Commits a batch; throws a `StoreAssertionError` on a sequence conflict or a duplicate. */
export async function commitBatch(db: Queryable, batch: Batch, at: string): Promise<void> {
  const rows = actorRows(batch, at);
  const keys = keysOf(batch);
  const params: unknown[] = [];
  const memo = new Map<unknown, string>();
  const p: Param = (v) => {
    let ref = memo.get(v);
    if (!ref) memo.set(v, (ref = `$${params.push(v)}`));
    return ref;
  };
  const ctes: string[] = [];
  for (const part of PARTS) {
    const r = part.rows(batch, rows);
    if (r.length > 0) ctes.push(`${part.name} AS (\n  ${part.sql(p(JSON.stringify(r)))}\n)`);
  }
  const checks: string[] = [];
  const actors = rows.inserts.length + rows.updates.length;
  if (actors > 0) {
    const counted = ['ins_actors', 'upd_actors'].filter((n) => ctes.some((c) => c.startsWith(n))).map((n) => `(SELECT count(*) FROM ${n})`);
    checks.push(`cadre_assert(${counted.join(' + ')} = ${p(actors)}::int, 'an actor''s sequence number moved: another process committed to it')`);
  }
  if (keys.ids.length > 0) {
    // LATERAL makes each id an exact probe of the (tenant, message_id) indexes,
    // whatever the statistics say.
    const pairs = `unnest(${p(keys.ids)}::text[], ${p(keys.tenants)}::text[]) AS m(id, tenant)`;
    ctes.push(`dup_ids AS (
  SELECT 1 FROM ${pairs}, LATERAL (
    SELECT 1 FROM journal j WHERE j.tenant = m.tenant AND j.message_id = m.id
    UNION ALL SELECT 1 FROM dead_letters d WHERE d.tenant = m.tenant AND d.message_id = m.id
    UNION ALL SELECT 1 FROM held_messages h WHERE h.tenant = m.tenant AND h.message_id = m.id
    LIMIT 1) x
)`);
    checks.push(`cadre_assert(NOT EXISTS (SELECT 1 FROM dup_ids), 'a message in this batch was already committed')`);
  }
  if (ctes.length === 0) return;
  // Data-modifying CTEs run whether or not they are referenced.
  await db.query(`WITH ${ctes.join(',\n')}\nSELECT ${checks.length > 0 ? checks.join(', ') : 'true'} AS ok`, params);
}

function actorRows(batch: Batch, at: string): Rows {
  const inserts: unknown[] = [];
  const updates: unknown[] = [];
  for (const { cell, oldSeq, wasNew } of batch.cells.values()) {
    const row = actorRow(cell.snapshot, cell.kind.persist(cell.snapshot), at);
    const base = { ...cell.address, seq: cell.seq, status: cell.status, ...row };
    if (wasNew) inserts.push({ ...base, partition: cell.partition, version: cell.kind.version });
    else updates.push({ ...base, old_seq: oldSeq });
  }
  return { inserts, updates };
}

function keysOf(batch: Batch): Keys {
  return { tenants: batch.fresh.map((f) => f.tenant), ids: batch.fresh.map((f) => f.message_id) };
}

function actorRow(snapshot: AnyMachineSnapshot, persisted: unknown, at: string) {
  return {
    machine_status: snapshot.status,
    state: stateString(snapshot.value),
    snapshot: persisted,
    at,
  };
}
