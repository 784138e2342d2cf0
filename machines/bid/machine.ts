import { assign, setup } from 'xstate';
import { publisher, runtimeActions } from '../effects.ts';
import { gate, type GateContext, type GateMachineEvent, type GateOptions } from '../gate.ts';
import type { Stamped } from '../entity.ts';
import type { BidEvent, BidSubmitter } from './events.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the submitter told us about the competition (merged over successive `bid.intel` events). */
export interface BidIntel {
  /** Who else bids (accumulated, without duplicates). */
  competitors: string[];
  budget: number | null;
  decisionDate: string | null;
  notes: string | null;
  receivedAt: string;
}

/** A bid's context. */
export interface BidContext extends GateContext {
  tenant: string;
  key: string;
  title: string;
  client: string;
  submitter: BidSubmitter | null;
  amount: number;
  currency: string;
  dueDate: string | null;
  followUpEveryDays: number;
  maxFollowUps: number;
  createdAt: string | null;
  submittedAt: string | null;
  /** Follow-ups that went out. */
  followUps: number;
  /** Follow-up slots whose email did not go out (its gate ended rejected, expired, blocked or failed, and the next tick came). */
  followUpsMissed: number;
  lastFollowUpAt: string | null;
  /** When the armed follow-up tick fires; null when none is armed (draft, a request in flight, exhausted, closed). */
  nextFollowUpAt: string | null;
  intel: BidIntel | null;
  outcome: 'won' | 'lost' | 'withdrawn' | null;
  /** The reason given with the outcome. */
  reason: string | null;
  /** Who won instead (lost bids, when known). */
  winner: string | null;
  closedAt: string | null;
}

type Ev = Stamped<BidEvent | GateMachineEvent>;
type Args = { context: BidContext; event: Ev };

const publish = publisher<Args>('bid');

/** Where the submitted bid's steps live. */
const S = '#bid.open.submitted';

/**
 * The bid lifecycle (P1.5, Quotes / Bids Engine):
 *
 *   new ─ bid.create ─► open.draft ─ bid.submit ─► open.submitted:
 *     confirmation ─► intelRequest ─► following (waiting ⇄ sending, every followUpEveryDays) ─► exhausted
 *   open.submitted ─ bid.won / bid.lost (a reason is required) ─► won / lost (final)
 *   open.*         ─ bid.withdraw (with a reason) ─► withdrawn (final)
 *
 * Every email goes through a gate (`email.send`, agent `sales`, to the submitter):
 * `confirmation` (the submission confirmation), `intel_request` (who else bids,
 * budget, decision date) and `follow_up` (one request per follow-up slot).
 *
 * When a gate does not end done (rejected, expired, blocked, failed), the flow does
 * not stall and does not skip ahead at once: the bid waits in that step's `missed`
 * state, where `gate.retry` naming the gate asks again (a new request, decided
 * afresh), until the next cadence tick (`followUpEveryDays` after the gate ended).
 * At that tick a missed confirmation or intel request is skipped (the bid moves on
 * to the next step), and a missed follow-up counts as a used slot
 * (`followUpsMissed`) and the next slot's follow-up is requested. So a person
 * rejecting one follow-up, or a policy blocking them all, never leaves a bid
 * chasing forever: follow-ups sent plus slots missed are bounded by
 * `maxFollowUps`, after which the bid publishes `bid.follow_ups_exhausted` and
 * waits in `exhausted` for its outcome (raising `maxFollowUps` there with
 * `bid.update` resumes the cadence). A request still deciding, held or awaiting
 * approval simply waits (the approval has its own expiry); the outcome or a
 * withdrawal in the meantime withdraws it.
 *
 * `bid.intel` (intel received) and `bid.update` are taken in every open state; a
 * changed `followUpEveryDays` applies from the next tick armed (the one armed keeps
 * its time). `bid.intel_requested` and `bid.followed_up` are published when the
 * email went out (the gate is done), not when it was asked for.
 */
export const bidMachine = setup({
  types: {
    context: {} as BidContext,
    events: {} as Ev,
    input: {} as { tenant: string; key: string },
  },
  actions: {
    ...runtimeActions,
    applyUpdate: assign(({ context, event }) => {
      if (event.type !== 'bid.update') return {};
      return {
        title: event.title ?? context.title,
        client: event.client ?? context.client,
        submitter: event.submitter ?? context.submitter,
        amount: event.amount ?? context.amount,
        currency: event.currency ?? context.currency,
        dueDate: event.dueDate === undefined ? context.dueDate : event.dueDate,
        followUpEveryDays: event.followUpEveryDays ?? context.followUpEveryDays,
        maxFollowUps: event.maxFollowUps ?? context.maxFollowUps,
      };
    }),
    recordIntel: assign(({ context, event }) => {
      if (event.type !== 'bid.intel') return {};
      const prev = context.intel;
      const competitors = [...(prev?.competitors ?? [])];
      for (const c of event.competitors ?? []) if (!competitors.includes(c)) competitors.push(c);
      return {
        intel: {
          competitors,
          budget: event.budget ?? prev?.budget ?? null,
          decisionDate: event.decisionDate ?? prev?.decisionDate ?? null,
          notes: event.notes ?? prev?.notes ?? null,
          receivedAt: event.at,
        },
      };
    }),
    scheduleNext: assign({ nextFollowUpAt: ({ context, event }) => addDays(event.at, context.followUpEveryDays) }),
    clearNext: assign({ nextFollowUpAt: null }),
    countSent: assign({ followUps: ({ context }) => context.followUps + 1, lastFollowUpAt: ({ event }) => event.at }),
    countMissed: assign({ followUpsMissed: ({ context }) => context.followUpsMissed + 1 }),
  },
  guards: {
    noSlotsLeft: ({ context }) => slotsUsed(context) >= context.maxFollowUps,
    /** The tick that abandons a missed follow-up uses the last slot. */
    missedLastSlot: ({ context }) => slotsUsed(context) + 1 >= context.maxFollowUps,
    /** A `bid.update` in exhausted that leaves slots again. */
    updateFreesSlots: ({ context, event }) =>
      event.type === 'bid.update' && event.maxFollowUps !== undefined && event.maxFollowUps > slotsUsed(context),
  },
  delays: {
    followUp: ({ context }) => context.followUpEveryDays * DAY_MS,
  },
}).createMachine({
  id: 'bid',
  context: ({ input }) => ({
    tenant: input.tenant,
    key: input.key,
    title: '',
    client: '',
    submitter: null,
    amount: 0,
    currency: 'USD',
    dueDate: null,
    followUpEveryDays: 3,
    maxFollowUps: 5,
    createdAt: null,
    submittedAt: null,
    followUps: 0,
    followUpsMissed: 0,
    lastFollowUpAt: null,
    nextFollowUpAt: null,
    intel: null,
    outcome: null,
    reason: null,
    winner: null,
    closedAt: null,
    gates: {},
  }),
  initial: 'new',
  states: {
    new: {
      on: {
        'bid.create': {
          target: 'open',
          actions: [
            assign(({ event }) => ({
              title: event.title,
              client: event.client,
              submitter: event.submitter,
              amount: event.amount,
              currency: event.currency,
              dueDate: event.dueDate ?? null,
              followUpEveryDays: event.followUpEveryDays,
              maxFollowUps: event.maxFollowUps,
              createdAt: event.at,
            })),
            publish('created', ({ context }) => ({ ...common(context), submitter: context.submitter!, dueDate: context.dueDate })),
          ],
        },
      },
    },
    open: {
      initial: 'draft',
      on: {
        'bid.update': { actions: 'applyUpdate' },
        'bid.intel': {
          actions: [
            'recordIntel',
            publish('intel_received', ({ context }) => ({
              bidId: context.key,
              client: context.client,
              competitors: context.intel!.competitors,
              budget: context.intel!.budget,
              decisionDate: context.intel!.decisionDate,
              notes: context.intel!.notes,
            })),
          ],
        },
        'bid.withdraw': {
          target: 'withdrawn',
          actions: [
            assign({ outcome: 'withdrawn' as const, reason: ({ event }) => event.reason, closedAt: ({ event }) => event.at }),
            publish('withdrawn', ({ context }) => ({ ...common(context), reason: context.reason!, submitted: context.submittedAt !== null })),
          ],
        },
      },
      states: {
        draft: {
          on: {
            'bid.submit': {
              target: 'submitted',
              actions: [
                assign({ submittedAt: ({ event }) => event.at }),
                publish('submitted', ({ context }) => ({
                  ...common(context),
                  submitter: context.submitter!,
                  dueDate: context.dueDate,
                  submittedAt: context.submittedAt!,
                })),
              ],
            },
          },
        },
        submitted: {
          initial: 'confirmation',
          on: {
            'bid.won': {
              target: '#bid.won',
              actions: [
                assign({
                  outcome: 'won' as const,
                  reason: ({ event }) => event.reason,
                  amount: ({ context, event }) => event.amount ?? context.amount,
                  closedAt: ({ event }) => event.at,
                }),
                publish('won', ({ context }) => ({ ...common(context), reason: context.reason!, followUps: context.followUps })),
              ],
            },
            'bid.lost': {
              target: '#bid.lost',
              actions: [
                assign({
                  outcome: 'lost' as const,
                  reason: ({ event }) => event.reason,
                  winner: ({ event }) => event.winner ?? null,
                  closedAt: ({ event }) => event.at,
                }),
                publish('lost', ({ context }) => ({ ...common(context), reason: context.reason!, winner: context.winner, followUps: context.followUps })),
              ],
            },
          },
          states: {
            confirmation: {
              initial: 'sending',
              states: {
                sending: emailGate({
                  name: 'confirmation',
                  subject: (c) => `Bid submitted: ${c.title}`,
                  text: (c) => `we have submitted our bid for "${c.title}" (${money(c)}${c.dueDate ? `, due ${c.dueDate}` : ''}). Could you confirm you received it?`,
                  preview: ({ context }) => `Bid confirmation to ${context.submitter?.email}: ${context.title} (${money(context)})`,
                  targets: missedTargets('confirmation', `${S}.intelRequest`),
                }),
                missed: missed('confirmation', `${S}.intelRequest`),
              },
            },
            intelRequest: {
              initial: 'sending',
              states: {
                sending: emailGate({
                  name: 'intel_request',
                  subject: (c) => `Re: ${c.title}`,
                  text: (c) =>
                    `so that our bid for "${c.title}" can be as competitive as possible: could you tell us who else is bidding, what budget you have in mind, and when you expect to decide?`,
                  preview: ({ context }) => `Intel request to ${context.submitter?.email}: competitors, budget, decision date for ${context.title}`,
                  targets: missedTargets('intelRequest', `${S}.following`),
                  onDone: [
                    publish('intel_requested', ({ context }) => ({ bidId: context.key, client: context.client, submitter: context.submitter! })),
                  ],
                }),
                missed: missed('intel_request', `${S}.following`),
              },
            },
            following: {
              initial: 'next',
              states: {
                /** Decides, without waiting, whether a slot is left. */
                next: {
                  always: [{ guard: 'noSlotsLeft', target: `${S}.exhausted` }, { target: 'waiting' }],
                },
                waiting: {
                  entry: 'scheduleNext',
                  exit: 'clearNext',
                  after: { followUp: 'sending' },
                },
                sending: emailGate({
                  name: 'follow_up',
                  subject: (c) => `Re: ${c.title}`,
                  text: (c) => `following up on our bid for "${c.title}" (${money(c)}). Is there any news on a decision, or anything else you need from us?`,
                  preview: ({ context }) =>
                    `Follow-up ${slotsUsed(context) + 1} of ${context.maxFollowUps} to ${context.submitter?.email}: ${context.title}`,
                  targets: missedTargets('following', `${S}.following.next`),
                  onDone: [
                    'countSent',
                    publish('followed_up', ({ context }) => ({
                      bidId: context.key,
                      client: context.client,
                      followUp: context.followUps,
                      maxFollowUps: context.maxFollowUps,
                    })),
                  ],
                }),
                /** The slot's follow-up did not go out: `gate.retry` asks again; the next tick gives the slot up. */
                missed: {
                  entry: 'scheduleNext',
                  exit: 'clearNext',
                  on: { 'gate.retry': { guard: ({ event }) => event.gate === 'follow_up', target: 'sending' } },
                  after: {
                    followUp: [
                      { guard: 'missedLastSlot', target: `${S}.exhausted`, actions: 'countMissed' },
                      { target: 'sending', actions: 'countMissed' },
                    ],
                  },
                },
              },
            },
            exhausted: {
              entry: publish('follow_ups_exhausted', ({ context }) => ({
                ...common(context),
                followUps: context.followUps,
                missed: context.followUpsMissed,
                lastFollowUpAt: context.lastFollowUpAt,
              })),
              on: { 'bid.update': { guard: 'updateFreesSlots', target: 'following', actions: 'applyUpdate' } },
            },
          },
        },
      },
    },
    won: { type: 'final' },
    lost: { type: 'final' },
    withdrawn: { type: 'final' },
  },
});

/** Follow-up slots used: sent plus missed. */
function slotsUsed(c: BidContext): number {
  return c.followUps + c.followUpsMissed;
}

function common(c: BidContext) {
  return { bidId: c.key, title: c.title, client: c.client, amount: c.amount, currency: c.currency };
}

function money(c: BidContext): string {
  return `${c.amount} ${c.currency}`;
}

/** The `email.send` params: to the submitter, plain text. */
function email(c: BidContext, subject: string, text: string) {
  const to = c.submitter!;
  return { to: to.email, toName: to.name, subject, body: `Hi ${to.name},\n\n${text}\n\nThank you.`, bidId: c.key };
}

/** An email to the submitter (`email.send`, agent `sales`) through the gate `name`; `text` goes between the greeting and the thanks. */
function emailGate(o: Omit<GateOptions<BidContext>, 'actionType' | 'agent' | 'params'> & { subject: (c: BidContext) => string; text: (c: BidContext) => string }) {
  const { subject, text, ...rest } = o;
  return gate<BidContext>({ ...rest, actionType: 'email.send', agent: 'sales', params: ({ context }) => email(context, subject(context), text(context)) });
}

/** An email's gate: done moves on; every other outcome waits in the step's `missed` state. */
function missedTargets(step: 'confirmation' | 'intelRequest' | 'following', done: string) {
  const m = `${S}.${step}.missed`;
  return { done, rejected: m, expired: m, blocked: m, failed: m };
}

/** A one-shot email that did not go out: `gate.retry` asks again; the next tick skips it. */
function missed(gateName: string, skipTo: string) {
  return {
    on: { 'gate.retry': { guard: ({ event }: { event: Ev }) => event.type === 'gate.retry' && event.gate === gateName, target: 'sending' } },
    after: { followUp: skipTo },
  };
}

function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * DAY_MS).toISOString();
}
