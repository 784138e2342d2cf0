/**
 * runtime/read: the read side. Queries the committed snapshots in the `actors`
 * table by state and context fields, without activating any actor. See
 * docs/read-side.md.
 */
import { Token } from '../../bus/address.ts';
import type { Clock } from '../clock.ts';
import type { Queryable, Row } from '../store/index.ts';
import {
  buildExists,
  buildSelect,
  buildSum,
  encodeCursor,
  parseActorQuery,
  ReadQueryError,
  type ActorQueryInput,
  type InternalConditions,
  type ParsedActorQuery,
} from './query.ts';

export { ActorQuery, OPERATORS, ReadQueryError, parseActorQuery, type ActorQueryInput, type ParsedActorQuery, type Operator, type WhereClause } from './query.ts';

/** One actor as the read side returns it: its committed state and context. */
export interface ReadItem {
  kind: string;
  key: string;
  /** The state value as one string: `open.lead`, parallel regions joined by `|`. */
  state: string;
  /** The operator status: active, paused or stopped. */
  status: 'active' | 'paused' | 'stopped';
  context: Record<string, unknown>;
  /** When the actor last committed a transition (ISO). */
  updatedAt: string;
}

/** A page of results; `next` is passed as `after` for the following page, null on the last. */
export interface Page {
  items: ReadItem[];
  next: string | null;
}

/** Paging options of the list helpers. */
export interface PageOptions {
  /** @default 100 (at most 1000) */
  limit?: number;
  after?: string;
}

/** States of an order in which a billed order is not owed (see `outstandingBalance`). */
const NOT_OWED_STATES = ['new', 'received', 'validating', 'exceptions', 'cancelled'];
/** States of a bid not yet submitted (machines/bid: `open.draft`). */
const DRAFT_STATES = ['new', 'draft', 'open.draft'];

type ActorRow = Row & { kind: string; key: string; state: string; status: ReadItem['status']; context: Record<string, unknown>; updated_at: Date; sort_value: string | null };

/**
 * Queries actors by state and context from PostgreSQL. Every commit writes the
 * actor's snapshot (and so `state`, `state_value` and `context`) in the same
 * transaction as its journal entry, so what this returns is exactly the committed
 * snapshots: a send that waited for its commit is visible to the next query, on
 * any connection and in any process on the same database.
 *
 * @example
 * const read = new ReadModel(rt.db, rt.clock);
 * const page = await read.query('acme', { kind: 'deal', state: 'open', where: [{ field: 'value', op: 'gte', value: 10_000 }], orderBy: { field: 'value', dir: 'desc' } });
 * const more = page.next ? await read.query('acme', { kind: 'deal', state: 'open', where: […], orderBy: {…}, after: page.next }) : undefined;
 */
export class ReadModel {
  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
  ) {}

  /**
   * Actors of one kind matching `state` (exactly or nested in it) and every
   * `where` condition, in `orderBy` order, `limit` at a time. Throws
   * `ReadQueryError` for a malformed query.
   */
  async query(tenant: string, query: ActorQueryInput): Promise<Page> {
    return this.page(tenant, parseActorQuery(query));
  }

  /**
   * Contacts due for a touch: `nextTouchDue` before `now` (the clock's by
   * default), not archived, not opted out (`optedOut` true), not stopped by an
   * operator. Time-based, so a contact is overdue from its due time on, before its
   * own overdue timer has fired. Highest `priority` first (none last), then by key.
   */
  async overdueContacts(tenant: string, now?: number | Date | string, opts: PageOptions = {}): Promise<Page> {
    const [q, extra] = this.overdue(now, opts);
    return this.page(tenant, q, extra);
  }

  /** Whether any contact is overdue (see `overdueContacts`); stops at the first. */
  async anyOverdueEngagement(tenant: string, now?: number | Date | string): Promise<boolean> {
    const [q, extra] = this.overdue(now, {});
    checkTenant(tenant);
    const st = buildExists(tenant, q, extra);
    const rows = await this.db.query<{ found: boolean }>(st.text, st.params);
    return rows[0]?.found === true;
  }

  /** Open deals marked stalled (`stalledSince` set; any `open` state), not stopped; the longest stalled first. */
  async stalledDeals(tenant: string, opts: PageOptions = {}): Promise<Page> {
    const q = parseActorQuery({ kind: 'deal', state: 'open', where: [{ field: 'stalledSince', op: 'exists', value: true }], orderBy: { field: 'stalledSince', dir: 'asc' }, ...opts });
    return this.page(tenant, q, { excludeStopped: true });
  }

  /** Orders in the `exceptions` state (or nested in it), not stopped; the least recently updated first. */
  async orderExceptions(tenant: string, opts: PageOptions = {}): Promise<Page> {
    const q = parseActorQuery({ kind: 'order', state: 'exceptions', orderBy: { field: 'updatedAt', dir: 'asc' }, ...opts });
    return this.page(tenant, q, { excludeStopped: true });
  }

  /**
   * What a client owes: the sum of `total` over its orders paid by bill
   * (`paymentMethod` 'bill') and not paid (`paidAt` null or missing), once past
   * intake (not new, received, validating, exceptions or cancelled). A `total` that
   * is not a number counts as nothing. Stopped orders count: the money is still owed.
   */
  async outstandingBalance(tenant: string, clientId: string | number): Promise<number> {
    checkTenant(tenant);
    const q = parseActorQuery({
      kind: 'order',
      where: [
        { field: 'clientId', op: 'eq', value: clientId },
        { field: 'paymentMethod', op: 'eq', value: 'bill' },
        { field: 'paidAt', op: 'eq', value: null },
      ],
    });
    const st = buildSum(tenant, q, 'total', { notStates: NOT_OWED_STATES });
    const rows = await this.db.query<{ total: string }>(st.text, st.params);
    return Number(rows[0]?.total ?? 0);
  }

  /** Bids submitted (not in draft) without an outcome yet (`outcome` null), not stopped; the earliest submitted first. */
  async openBids(tenant: string, opts: PageOptions = {}): Promise<Page> {
    const q = parseActorQuery({ kind: 'bid', where: [{ field: 'outcome', op: 'eq', value: null }], orderBy: { field: 'submittedAt', dir: 'asc' }, ...opts });
    return this.page(tenant, q, { notStates: DRAFT_STATES, excludeStopped: true });
  }

  private overdue(now: number | Date | string | undefined, opts: PageOptions): [ParsedActorQuery, InternalConditions] {
    const at = isoTime(now ?? this.clock.now());
    const q = parseActorQuery({
      kind: 'contact',
      where: [
        { field: 'nextTouchDue', op: 'lt', value: at },
        { field: 'optedOut', op: 'ne', value: true },
      ],
      orderBy: { field: 'priority', dir: 'desc' },
      ...opts,
    });
    return [q, { notStates: ['archived'], excludeStopped: true }];
  }

  private async page(tenant: string, q: ParsedActorQuery, extra: InternalConditions = {}): Promise<Page> {
    checkTenant(tenant);
    const st = buildSelect(tenant, q, extra);
    const rows = await this.db.query<ActorRow>(st.text, st.params);
    const more = rows.length > q.limit;
    const items = (more ? rows.slice(0, q.limit) : rows).map(toItem);
    const last = more ? rows[q.limit - 1] : undefined;
    return { items, next: last ? encodeCursor({ q: st.fingerprint, v: last.sort_value, k: last.key }) : null };
  }
}

function toItem(r: ActorRow): ReadItem {
  return { kind: r.kind, key: r.key, state: r.state, status: r.status, context: r.context, updatedAt: r.updated_at.toISOString() };
}

function checkTenant(tenant: string): void {
  const r = Token.safeParse(tenant);
  if (!r.success) throw new ReadQueryError([`tenant: ${r.error.issues[0]?.message ?? 'invalid'}`]);
}

/** An instant as the ISO text machines write (`2026-01-05T09:00:00.000Z`). */
function isoTime(t: number | Date | string): string {
  const d = typeof t === 'string' ? new Date(t) : typeof t === 'number' ? new Date(t) : t;
  if (Number.isNaN(d.getTime())) throw new ReadQueryError([`now: ${JSON.stringify(t)} is not a time`]);
  return d.toISOString();
}
