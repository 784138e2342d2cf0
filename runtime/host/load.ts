import type { ActorAddress } from '../../bus/index.ts';
import type { Queryable } from '../store/index.ts';
import type { ActorStatus, HeldMessage, PendingTimer } from './cell.ts';

/** An actor's persisted row with its pending timers and held messages. */
export interface LoadedActor {
  tenant: string;
  kind: string;
  key: string;
  seq: number;
  status: ActorStatus;
  snapshot: unknown;
  timers: Map<string, PendingTimer>;
  held: HeldMessage[];
}

const LOAD_SQL = `
SELECT a.tenant, a.kind, a.key, a.seq, a.status, a.snapshot,
  COALESCE((SELECT jsonb_agg(jsonb_build_object('id', t.timer_id, 'setSeq', t.set_seq, 'dueAt', t.due_at))
            FROM timers t WHERE t.tenant = a.tenant AND t.kind = a.kind AND t.key = a.key), '[]'::jsonb) AS timers,
  COALESCE((SELECT jsonb_agg(jsonb_build_object('holdSeq', h.hold_seq, 'message', h.payload) ORDER BY h.hold_seq)
            FROM held_messages h WHERE h.tenant = a.tenant AND h.kind = a.kind AND h.key = a.key), '[]'::jsonb) AS held
FROM actors a
JOIN jsonb_to_recordset($1::jsonb) AS r(tenant text, kind text, key text)
  ON a.tenant = r.tenant AND a.kind = r.kind AND a.key = r.key`;

/** Loads the persisted state of several actors in one round trip; absent ones are new. */
export async function loadActors(db: Queryable, addresses: ActorAddress[]): Promise<Map<string, LoadedActor>> {
  const out = new Map<string, LoadedActor>();
  if (addresses.length === 0) return out;
  const rows = await db.query<{
    tenant: string;
    kind: string;
    key: string;
    seq: number;
    status: ActorStatus;
    snapshot: unknown;
    timers: { id: string; setSeq: number; dueAt: string }[];
    held: { holdSeq: number; message: HeldMessage['message'] }[];
  }>(LOAD_SQL, [JSON.stringify(addresses)]);
  for (const r of rows) {
    out.set(`${r.tenant}/${r.kind}/${r.key}`, {
      tenant: r.tenant,
      kind: r.kind,
      key: r.key,
      seq: Number(r.seq),
      status: r.status,
      snapshot: r.snapshot,
      timers: new Map(r.timers.map((t) => [t.id, { setSeq: Number(t.setSeq), dueAt: Date.parse(t.dueAt) }])),
      held: r.held.map((h) => ({ holdSeq: Number(h.holdSeq), message: h.message })),
    });
  }
  return out;
}

/** What is already known of a message id: committed, refused or held. */
export interface SeenMessage {
  seq: number | null;
  state: string | null;
  code: string | null;
  reason: string | null;
  held: boolean;
}

const SEEN_SQL = `
SELECT r.tenant, r.id, j.seq, j.state, d.code, d.reason, h.held
FROM unnest($1::text[], $2::text[]) AS r(tenant, id)
LEFT JOIN LATERAL (SELECT seq, state FROM journal WHERE tenant = r.tenant AND message_id = r.id) j ON true
LEFT JOIN LATERAL (SELECT code, reason FROM dead_letters WHERE tenant = r.tenant AND message_id = r.id) d ON true
LEFT JOIN LATERAL (SELECT true AS held FROM held_messages WHERE tenant = r.tenant AND message_id = r.id) h ON true
WHERE j.seq IS NOT NULL OR d.code IS NOT NULL OR h.held`;

/** Which of these message ids were already committed (the deduplication check). */
export async function seenMessages(db: Queryable, ids: { tenant: string; id: string }[]): Promise<Map<string, SeenMessage>> {
  const out = new Map<string, SeenMessage>();
  if (ids.length === 0) return out;
  const rows = await db.query<{ tenant: string; id: string; seq: number | null; state: string | null; code: string | null; reason: string | null; held: boolean | null }>(
    SEEN_SQL,
    [ids.map((i) => i.tenant), ids.map((i) => i.id)],
  );
  for (const r of rows) {
    out.set(`${r.tenant}:${r.id}`, { seq: r.seq === null ? null : Number(r.seq), state: r.state, code: r.code, reason: r.reason, held: r.held === true });
  }
  return out;
}

const ATTEMPTS_SQL = `
INSERT INTO delivery_attempts (tenant, message_id, attempts, last_at)
SELECT r.tenant, r.id, 1, r.at FROM jsonb_to_recordset($1::jsonb) AS r(tenant text, id text, at timestamptz)
ON CONFLICT (tenant, message_id) DO UPDATE SET attempts = delivery_attempts.attempts + 1, last_at = EXCLUDED.last_at
RETURNING tenant, message_id, attempts`;

/**
 * Counts an attempt at messages redelivered after a process ended with them in
 * flight. A message that keeps ending its process (a poison message) reaches the
 * limit and is dead-lettered instead of processed again.
 */
export async function countAttempts(db: Queryable, ids: { tenant: string; id: string; at: string }[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  const rows = await db.query<{ tenant: string; message_id: string; attempts: number }>(ATTEMPTS_SQL, [JSON.stringify(ids)]);
  for (const r of rows) out.set(`${r.tenant}:${r.message_id}`, Number(r.attempts));
  return out;
}
