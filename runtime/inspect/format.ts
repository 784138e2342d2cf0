/**
 * The @statelyai/inspect wire format, as Cadre emits it (docs/inspect.md).
 *
 * The Stately inspector takes three kinds of inspection events, each a JSON object
 * with `type`, `sessionId` (which actor), `rootId`, `id`, `createdAt` (milliseconds
 * since the epoch, as a string) and `_version` (the @statelyai/inspect version; a
 * receiver ignores messages without it):
 *
 * - `@xstate.actor`: an actor appeared; `name`, `definition` (the machine's config
 *   as JSON text, which the inspector draws), `snapshot`, `parentId`;
 * - `@xstate.event`: an event was sent to the actor; `event`, `sourceId` (who sent it);
 * - `@xstate.snapshot`: the actor's state after the event; `snapshot`
 *   (`value`, `context`, `status`, `output`) and `event`.
 *
 * These are the shapes @statelyai/inspect's `createInspector` sends (its
 * `StatelyInspectionEvent` type); they are declared here rather than imported so
 * the runtime does not lean on the library's internals.
 */
import type { AnyStateMachine } from 'xstate';

/** The @statelyai/inspect version whose format this is; receivers only require a string. */
export const INSPECT_VERSION = '0.7.2';

/** An actor's state as the inspector shows it. */
export interface InspectedSnapshot {
  value: unknown;
  context: unknown;
  status: 'active' | 'done' | 'error' | 'stopped';
  output?: unknown;
}

interface Base {
  sessionId: string;
  rootId: string | undefined;
  id: string | null;
  createdAt: string;
  _version: string;
}

/** An actor appeared (sent the first time a subscriber sees it). */
export interface InspectActorEvent extends Base {
  type: '@xstate.actor';
  name: string;
  definition: string | undefined;
  parentId: string | undefined;
  snapshot: InspectedSnapshot;
}

/** An event was sent to an actor (and committed). */
export interface InspectEventEvent extends Base {
  type: '@xstate.event';
  event: { type: string; [k: string]: unknown };
  sourceId: string | undefined;
}

/** An actor's committed snapshot. */
export interface InspectSnapshotEvent extends Base {
  type: '@xstate.snapshot';
  event: { type: string; [k: string]: unknown };
  snapshot: InspectedSnapshot;
}

/** One inspection event in the @statelyai/inspect format. */
export type InspectionEvent = InspectActorEvent | InspectEventEvent | InspectSnapshotEvent;

/** One committed message of an actor, as carried on the bus. */
export interface InspectedMessage {
  /** The message id. */
  id: string;
  /** The actor's sequence number after this message. */
  seq: number;
  /** The event the machine received (with `at`), or the control message. */
  event: { type: string; [k: string]: unknown };
  /** `tenant/kind/key` of the sending actor, or `external:<who>`. */
  from: string;
  /** When it was applied (the runtime clock). */
  at: string;
}

/**
 * What one commit did to one actor: its messages in order and the snapshot that was
 * committed after the last of them. This is what the committing process publishes
 * on `<prefix>.<tenant>.inspect` (core NATS, not stored), one message per actor and
 * commit, and what a subscription turns into inspection events.
 */
export interface InspectionRecord {
  v: 1;
  tenant: string;
  kind: string;
  key: string;
  seq: number;
  /** Operator status: active, paused or stopped. */
  actorStatus: string;
  messages: InspectedMessage[];
  snapshot: InspectedSnapshot;
  /** True when events or the context were cut to keep the record under the size limit. */
  truncated?: boolean;
}

/** `tenant/kind/key`: the session id of an actor in the inspector. */
export function sessionIdOf(r: { tenant: string; kind: string; key: string }): string {
  return `${r.tenant}/${r.kind}/${r.key}`;
}

function millis(at: string): string {
  const t = Date.parse(at);
  return String(Number.isFinite(t) ? t : Date.now());
}

/**
 * The inspection events of one record: `@xstate.actor` first when the subscriber
 * has not seen the actor yet (`definition`: the machine's, when this process knows
 * the kind), then one `@xstate.event` per committed message, then one
 * `@xstate.snapshot` with the committed snapshot.
 */
export function toInspectionEvents(r: InspectionRecord, firstSight: boolean, definition: string | undefined): InspectionEvent[] {
  const sessionId = sessionIdOf(r);
  const base = { sessionId, rootId: sessionId, _version: INSPECT_VERSION };
  const out: InspectionEvent[] = [];
  const first = r.messages[0];
  const last = r.messages[r.messages.length - 1];
  if (firstSight) {
    out.push({
      ...base,
      type: '@xstate.actor',
      id: null,
      createdAt: millis(first?.at ?? ''),
      name: `${r.kind}/${r.key}`,
      definition,
      parentId: undefined,
      snapshot: r.snapshot,
    });
  }
  for (const m of r.messages) {
    out.push({ ...base, type: '@xstate.event', id: m.id, createdAt: millis(m.at), event: m.event, sourceId: m.from });
  }
  out.push({
    ...base,
    type: '@xstate.snapshot',
    id: `${sessionId}#${r.seq}`,
    createdAt: millis(last?.at ?? ''),
    event: last?.event ?? { type: '' },
    snapshot: r.snapshot,
  });
  return out;
}

const definitions = new WeakMap<AnyStateMachine, string>();

/**
 * A machine's definition as the inspector takes it: its config as JSON text, with
 * functions (inline actions, guards, assigners) shown as `{ "type": name }`, as
 * @statelyai/inspect does for a live actor. Computed once per machine.
 */
export function machineDefinition(machine: AnyStateMachine): string {
  let d = definitions.get(machine);
  if (d === undefined) {
    d = JSON.stringify(plain(machine.config, 0, new Set())) ?? '{}';
    definitions.set(machine, d);
  }
  return d;
}

/** A JSON-safe copy: functions become `{ type: name }`, cycles and depth beyond 40 become a marker. */
function plain(v: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof v === 'function') return { type: (v as { name?: string }).name || 'anonymous' };
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' || typeof v === 'symbol' ? String(v) : v;
  if (ancestors.has(v) || depth > 40) return '[…]';
  ancestors.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1, ancestors));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x, depth + 1, ancestors);
    return out;
  } finally {
    ancestors.delete(v);
  }
}
