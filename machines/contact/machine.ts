import { assign, setup } from 'xstate';
import { runtimeActions } from '../effects.ts';
import type { GateContext } from '../gate.ts';
import type { Stamped } from '../entity.ts';
import type { ContactEvent, TouchType } from './events.ts';
import { contactPriority, overdueDaysAt } from './priority.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A touch: an email, call or meeting, when it happened and who made it. */
export interface ContactTouch {
  type: TouchType;
  at: string;
  by: string;
}

/** A contact's context. */
export interface ContactContext extends GateContext {
  tenant: string;
  key: string;
  name: string;
  email: string | null;
  phone: string | null;
  account: string | null;
  role: string | null;
  owner: string | null;
  cadenceDays: number;
  /** 1 … 5, for the priority. */
  importance: number;
  /** The account's value, for the priority. */
  accountValue: number;
  createdAt: string | null;
  /** The latest touch (by when it happened, not when it was reported). */
  lastTouch: ContactTouch | null;
  /** Last touch (or creation) + cadenceDays; null while opted out (no touch is due). */
  nextTouchDue: string | null;
  /** When the current overdue period began (the due date it passed), or null when not overdue. */
  overdueSince: string | null;
  /** Whole days past due, as of the last overdue timer, touch, update or refresh. */
  overdueDays: number;
  /** See priority.ts; as of the last event. */
  priority: number;
  /** Touches recorded, including those older than the last one. */
  touches: number;
  optedOut: boolean;
  optedOutAt: string | null;
  optOutReason: string | null;
  archivedAt: string | null;
}

type Ev = Stamped<ContactEvent>;
type Args = { context: ContactContext; event: Ev };

/** `engagement.touched`, after `recordTouch`. */
const publishTouched = {
  type: 'cadre.publish' as const,
  params: ({ context, event }: Args) => {
    const t = event as Extract<Ev, { type: 'contact.touch' }>;
    return {
      entity: 'engagement',
      name: 'touched',
      data: {
        contactId: context.key,
        name: context.name,
        account: context.account,
        owner: context.owner,
        type: t.activity,
        by: t.by,
        at: touchTime(t),
        lastTouchAt: context.lastTouch?.at ?? null,
        nextTouchDue: context.nextTouchDue,
        wasOverdue: context.overdueSince !== null,
        optedOut: context.optedOut,
        touches: context.touches,
      },
    };
  },
};

/** `contact.opted_in`. */
const publishOptedIn = {
  type: 'cadre.publish' as const,
  params: ({ context }: Args) => ({
    entity: 'contact',
    name: 'opted_in',
    data: { contactId: context.key, name: context.name, email: context.email, account: context.account },
  }),
};

/**
 * The 21-day engagement clock of one contact (P0.4):
 *
 *   new ─ contact.create ─► active.compliant ─ cadenceDays without a touch ─► active.overdue
 *   active.overdue ─ contact.touch ─► active.compliant (the clock re-armed from the touch)
 *   active.* ─ contact.opt_out ─► active.optedOut ─ contact.opt_in ─► compliant or overdue
 *   active.* ─ contact.archive ─► archived (final)
 *
 * `nextTouchDue` is the last touch (or the creation) + `cadenceDays`; compliant
 * arms a durable timer for it. When it fires the contact turns overdue and
 * publishes `engagement.overdue`, once per overdue period. A touch (email, call,
 * meeting) publishes `engagement.touched`; if it is the latest one it moves the
 * clock and re-arms the timer (back to compliant). A touch older than the last one
 * (a late report) is counted and published but does not move the clock back; a
 * touch so old that its due date has passed already leaves the contact overdue
 * (entering overdue, with its event, if it was compliant). A changed `cadenceDays`
 * moves the due date the same way. `contact.refresh` recomputes `overdueDays` and
 * `priority` (see priority.ts; every event recomputes it as of its `at`) (and turns a contact whose due date has passed overdue, should its
 * timer not have fired yet).
 *
 * Opted-out contacts leave the clock: not chased, never overdue, no
 * `nextTouchDue`, priority 0; touches (they may still write to us) are recorded,
 * and `contact.opt_in` puts them back on it, due from their last touch (or
 * creation), so overdue at once if that is long ago. No gates: the contact
 * sends nothing itself (`gates` stays empty); the agents reach out.
 */
export const contactMachine = setup({
  types: {
    context: {} as ContactContext,
    events: {} as Ev,
    input: {} as { tenant: string; key: string },
  },
  actions: {
    ...runtimeActions,
    recordTouch: assign(({ context, event }) => ({ touches: context.touches + 1, ...clockAfter(context, event) })),
    applyUpdate: assign(({ context, event }) => {
      if (event.type !== 'contact.update') return {};
      const keep = <T>(v: T | null | undefined, old: T | null) => (v === undefined ? old : v);
      return {
        name: event.name ?? context.name,
        email: keep(event.email, context.email),
        phone: keep(event.phone, context.phone),
        account: keep(event.account, context.account),
        role: keep(event.role, context.role),
        owner: keep(event.owner, context.owner),
        cadenceDays: event.cadenceDays ?? context.cadenceDays,
        importance: event.importance ?? context.importance,
        accountValue: event.accountValue ?? context.accountValue,
        ...clockAfter(context, event),
      };
    }),
    markOverdue: assign(({ context, event }) => ({
      overdueSince: context.nextTouchDue,
      overdueDays: overdueDaysAt(context.nextTouchDue, event.at),
    })),
    refreshOverdue: assign(({ context, event }) => ({ overdueDays: overdueDaysAt(context.overdueSince, event.at) })),
    clearOverdue: assign({ overdueSince: null, overdueDays: 0 }),
    reprioritize: assign({
      priority: ({ context, event }) =>
        contactPriority({
          now: event.at,
          lastTouchAt: context.lastTouch?.at ?? null,
          createdAt: context.createdAt,
          cadenceDays: context.cadenceDays,
          overdue: context.overdueSince !== null,
          overdueDays: context.overdueDays,
          importance: context.importance,
          accountValue: context.accountValue,
          role: context.role,
          optedOut: context.optedOut,
        }),
    }),
    optIn: assign(({ context, event }) => ({ ...clockAfter(context, event), optedOut: false, optedOutAt: null, optOutReason: null })),
  },
  guards: {
    /** The event leaves the due date where it is (an older touch, an update without a new cadence). */
    clockUnchanged: ({ context, event }) => clockAfter(context, event).nextTouchDue === context.nextTouchDue,
    /** After the event, the due date has passed (or is now). */
    dueByThen: ({ context, event }) => {
      const due = clockAfter(context, event).nextTouchDue;
      return due !== null && Date.parse(due) <= Date.parse(event.at);
    },
  },
  delays: {
    /** Until the next touch is due, from the event that (re-)armed it. */
    due: ({ context, event }) => Math.max(0, Date.parse(context.nextTouchDue!) - Date.parse(event.at)),
  },
}).createMachine({
  id: 'contact',
  context: ({ input }) => ({
    tenant: input.tenant,
    key: input.key,
    name: '',
    email: null,
    phone: null,
    account: null,
    role: null,
    owner: null,
    cadenceDays: 21,
    importance: 3,
    accountValue: 0,
    createdAt: null,
    lastTouch: null,
    nextTouchDue: null,
    overdueSince: null,
    overdueDays: 0,
    priority: 0,
    touches: 0,
    optedOut: false,
    optedOutAt: null,
    optOutReason: null,
    archivedAt: null,
    gates: {},
  }),
  initial: 'new',
  states: {
    new: {
      on: {
        'contact.create': {
          target: 'active',
          actions: [
            assign(({ event }) => ({
              name: event.name,
              email: event.email ?? null,
              phone: event.phone ?? null,
              account: event.account ?? null,
              role: event.role ?? null,
              owner: event.owner ?? null,
              cadenceDays: event.cadenceDays,
              importance: event.importance,
              accountValue: event.accountValue,
              createdAt: event.at,
              nextTouchDue: addDays(event.at, event.cadenceDays),
            })),
            {
              type: 'cadre.publish',
              params: ({ context }) => ({
                entity: 'contact',
                name: 'created',
                data: {
                  contactId: context.key,
                  name: context.name,
                  email: context.email,
                  account: context.account,
                  owner: context.owner,
                  cadenceDays: context.cadenceDays,
                  nextTouchDue: context.nextTouchDue!,
                },
              }),
            },
          ],
        },
      },
    },
    active: {
      initial: 'compliant',
      on: {
        'contact.opt_out': {
          target: '.optedOut',
          actions: [
            assign({ optedOut: true, optedOutAt: ({ event }) => event.at, optOutReason: ({ event }) => event.reason ?? null, nextTouchDue: null }),
            {
              type: 'cadre.publish',
              params: ({ context }) => ({
                entity: 'contact',
                name: 'opted_out',
                data: { contactId: context.key, name: context.name, email: context.email, account: context.account, reason: context.optOutReason },
              }),
            },
          ],
        },
        'contact.archive': {
          target: '#contact.archived',
          actions: [
            assign({ archivedAt: ({ event }) => event.at }),
            {
              type: 'cadre.publish',
              params: ({ context, event }) => ({
                entity: 'contact',
                name: 'archived',
                data: { contactId: context.key, name: context.name, account: context.account, reason: event.reason ?? null },
              }),
            },
          ],
        },
      },
      states: {
        compliant: {
          entry: ['clearOverdue', 'reprioritize'],
          after: { due: 'overdue' },
          on: {
            'contact.touch': [
              { guard: 'clockUnchanged', actions: ['recordTouch', publishTouched, 'reprioritize'] },
              { guard: 'dueByThen', target: 'overdue', actions: ['recordTouch', publishTouched] },
              { target: 'compliant', reenter: true, actions: ['recordTouch', publishTouched] },
            ],
            'contact.update': [
              { guard: 'clockUnchanged', actions: ['applyUpdate', 'reprioritize'] },
              { guard: 'dueByThen', target: 'overdue', actions: ['applyUpdate'] },
              { target: 'compliant', reenter: true, actions: ['applyUpdate'] },
            ],
            'contact.refresh': [{ guard: 'dueByThen', target: 'overdue' }, { actions: 'reprioritize' }],
          },
        },
        overdue: {
          entry: [
            'markOverdue',
            'reprioritize',
            {
              type: 'cadre.publish',
              params: ({ context }) => ({
                entity: 'engagement',
                name: 'overdue',
                data: {
                  contactId: context.key,
                  name: context.name,
                  email: context.email,
                  account: context.account,
                  role: context.role,
                  owner: context.owner,
                  cadenceDays: context.cadenceDays,
                  lastTouch: context.lastTouch,
                  nextTouchDue: context.nextTouchDue!,
                  overdueSince: context.overdueSince!,
                  overdueDays: context.overdueDays,
                  priority: context.priority,
                },
              }),
            },
          ],
          on: {
            'contact.touch': [
              { guard: 'clockUnchanged', actions: ['recordTouch', publishTouched, 'refreshOverdue', 'reprioritize'] },
              // Later than the last touch, yet still past due: the same overdue period, from the new due date.
              { guard: 'dueByThen', actions: ['recordTouch', publishTouched, 'markOverdue', 'reprioritize'] },
              { target: 'compliant', actions: ['recordTouch', publishTouched] },
            ],
            'contact.update': [
              { guard: 'clockUnchanged', actions: ['applyUpdate', 'refreshOverdue', 'reprioritize'] },
              { guard: 'dueByThen', actions: ['applyUpdate', 'markOverdue', 'reprioritize'] },
              { target: 'compliant', actions: ['applyUpdate'] },
            ],
            'contact.refresh': { actions: ['refreshOverdue', 'reprioritize'] },
          },
        },
        optedOut: {
          entry: ['clearOverdue', 'reprioritize'],
          on: {
            'contact.touch': { actions: ['recordTouch', publishTouched, 'reprioritize'] },
            'contact.update': { actions: ['applyUpdate', 'reprioritize'] },
            'contact.refresh': { actions: 'reprioritize' },
            // Already out: accepted, nothing new to record or announce.
            'contact.opt_out': { actions: 'reprioritize' },
            'contact.opt_in': [
              { guard: 'dueByThen', target: 'overdue', actions: ['optIn', publishOptedIn] },
              { target: 'compliant', actions: ['optIn', publishOptedIn] },
            ],
          },
        },
      },
    },
    archived: { type: 'final' },
  },
});

/** When a touch happened: its `occurredAt`, never later than the event. */
function touchTime(e: { occurredAt?: string | undefined; at: string }): string {
  const at = Date.parse(e.at);
  const t = e.occurredAt === undefined ? at : Math.min(Date.parse(e.occurredAt), at);
  return new Date(t).toISOString();
}

/**
 * The last touch and the due date after an event (a touch, a new cadence, opting
 * in), without applying it. No touch is due while the contact is opted out.
 */
function clockAfter(c: ContactContext, e: Ev): Pick<ContactContext, 'lastTouch' | 'nextTouchDue'> {
  let lastTouch = c.lastTouch;
  if (e.type === 'contact.touch') {
    const at = touchTime(e);
    if (!lastTouch || Date.parse(at) > Date.parse(lastTouch.at)) lastTouch = { type: e.activity, at, by: e.by };
  }
  const cadence = e.type === 'contact.update' ? (e.cadenceDays ?? c.cadenceDays) : c.cadenceDays;
  const optedOut = e.type === 'contact.opt_in' ? false : c.optedOut;
  if (lastTouch === c.lastTouch && cadence === c.cadenceDays && optedOut === c.optedOut) return { lastTouch, nextTouchDue: c.nextTouchDue };
  const base = lastTouch?.at ?? c.createdAt;
  return { lastTouch, nextTouchDue: optedOut || base === null ? null : addDays(base, cadence) };
}

function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * DAY_MS).toISOString();
}

