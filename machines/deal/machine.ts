import { assign, raise, setup } from 'xstate';
import { runtimeActions } from '../effects.ts';
import type { Stamped } from '../entity.ts';
import { gate, type GateContext, type GateMachineEvent } from '../gate.ts';
import type { DealEvent } from './events.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A deal's context. */
export interface DealContext extends GateContext {
  tenant: string;
  key: string;
  title: string;
  value: number;
  currency: string;
  contact: string | null;
  owner: string | null;
  expectedCloseDate: string | null;
  stallAfterDays: number;
  createdAt: string | null;
  lastMovedAt: string | null;
  stalledSince: string | null;
  closedAt: string | null;
  lostReason: string | null;
  /** When the last follow-up email went out (its gate reached done). */
  followedUpAt: string | null;
}

/**
 * Raised inside the machine, never accepted from outside (the `DealEvent` schema
 * refuses them): a stage's stall timer asks the `followUp` region for a follow-up,
 * and movement tells it the stall is over.
 */
type InternalEvent = { type: 'deal.follow_up' } | { type: 'deal.moved' };

type Ev = Stamped<DealEvent | GateMachineEvent | InternalEvent>;

type Stage = 'lead' | 'qualified' | 'proposal' | 'negotiation';

/**
 * The deal lifecycle: lead → qualified → proposal → negotiation → won / lost.
 * A deal may skip forward, never back. After `stallAfterDays` (default 7) without
 * movement (a stage change, an update or a touch) it publishes `deal.stalled`
 * once; movement re-arms the timer. Winning publishes `deal.closed` with value and
 * contact; losing needs a reason and publishes `deal.lost`.
 *
 * While open, the deal is in two parallel regions, so the stage stays visible
 * (and movement, win and lose keep working) while a follow-up waits:
 *
 *   open ─┬─ stage:    lead → qualified → proposal → negotiation   (each arms the stall timer)
 *         └─ followUp: idle ─ stalled, with a contact ─► sending (the `follow_up` gate) ─ done ─► sent
 *
 * The state column reads `open.stage.lead|followUp.idle`. A stall with a contact
 * asks for a follow-up email to the contact through the approval gate
 * (`email.send`, agent `sales`); it may be decided automatically, wait for
 * approval, be rejected, expire, be blocked or held, all visible as states of
 * `followUp.sending` (see machines/gate.ts; `gate.retry` with gate `follow_up`
 * asks again after rejected, expired, blocked or failed). Without a contact there
 * is no follow-up. Movement ends the stall: `followUp` goes back to idle, which
 * withdraws a follow-up still waiting (the runtime then never sends it), and the
 * next stall may follow up again. Winning or losing withdraws it too. A sent
 * follow-up is not movement: the deal stays stalled and is followed up once per
 * stall.
 */
export const dealMachine = setup({
  types: {
    context: {} as DealContext,
    events: {} as Ev,
    input: {} as { tenant: string; key: string },
  },
  actions: {
    ...runtimeActions,
    moved: assign({ lastMovedAt: ({ event }) => event.at, stalledSince: null }),
    /** Tells the followUp region that the deal moved. */
    announceMove: raise(({ event }) => ({ type: 'deal.moved' as const, at: event.at })),
    /** Asks the followUp region for a follow-up (it sends one only with a contact). */
    askFollowUp: raise(({ event }) => ({ type: 'deal.follow_up' as const, at: event.at })),
    markStalled: assign({ stalledSince: ({ event }) => event.at }),
    applyUpdate: assign(({ context, event }) => {
      if (event.type !== 'deal.update') return {};
      return {
        title: event.title ?? context.title,
        value: event.value ?? context.value,
        contact: event.contact ?? context.contact,
        owner: event.owner ?? context.owner,
        expectedCloseDate: event.expectedCloseDate ?? context.expectedCloseDate,
      };
    }),
  },
  guards: {
    hasContact: ({ context }) => context.contact !== null,
  },
  delays: {
    stall: ({ context }) => context.stallAfterDays * DAY_MS,
  },
}).createMachine({
  id: 'deal',
  context: ({ input }) => ({
    tenant: input.tenant,
    key: input.key,
    title: '',
    value: 0,
    currency: 'USD',
    contact: null,
    owner: null,
    expectedCloseDate: null,
    stallAfterDays: 7,
    createdAt: null,
    lastMovedAt: null,
    stalledSince: null,
    closedAt: null,
    lostReason: null,
    followedUpAt: null,
    gates: {},
  }),
  initial: 'new',
  states: {
    new: {
      on: {
        'deal.create': {
          target: 'open',
          actions: [
            assign(({ event }) => ({
              title: event.title,
              value: event.value,
              currency: event.currency,
              contact: event.contact ?? null,
              owner: event.owner ?? null,
              expectedCloseDate: event.expectedCloseDate ?? null,
              stallAfterDays: event.stallAfterDays ?? 7,
              createdAt: event.at,
              lastMovedAt: event.at,
            })),
            {
              type: 'cadre.publish',
              params: ({ context, event }) => ({
                entity: 'deal',
                name: 'created',
                data: { dealId: context.key, title: event.title, value: event.value, contact: event.contact ?? null },
              }),
            },
          ],
        },
      },
    },
    open: {
      type: 'parallel',
      on: {
        'deal.win': {
          target: 'won',
          actions: [
            assign({ closedAt: ({ event }) => event.at }),
            {
              type: 'cadre.publish',
              params: ({ context }) => ({
                entity: 'deal',
                name: 'closed',
                data: { dealId: context.key, title: context.title, value: context.value, currency: context.currency, contact: context.contact, owner: context.owner },
              }),
            },
          ],
        },
        'deal.lose': {
          target: 'lost',
          actions: [
            assign({ closedAt: ({ event }) => event.at, lostReason: ({ event }) => event.reason }),
            {
              type: 'cadre.publish',
              params: ({ context, event }) => ({
                entity: 'deal',
                name: 'lost',
                data: { dealId: context.key, title: context.title, value: context.value, reason: event.reason },
              }),
            },
          ],
        },
      },
      states: {
        stage: {
          initial: 'lead',
          states: {
            lead: {
              on: { 'deal.qualify': moveTo('lead', 'qualified'), 'deal.propose': moveTo('lead', 'proposal'), 'deal.negotiate': moveTo('lead', 'negotiation'), ...activity('lead') },
              after: { stall: stalled('lead') },
            },
            qualified: {
              on: { 'deal.propose': moveTo('qualified', 'proposal'), 'deal.negotiate': moveTo('qualified', 'negotiation'), ...activity('qualified') },
              after: { stall: stalled('qualified') },
            },
            proposal: {
              on: { 'deal.negotiate': moveTo('proposal', 'negotiation'), ...activity('proposal') },
              after: { stall: stalled('proposal') },
            },
            negotiation: {
              on: { ...activity('negotiation') },
              after: { stall: stalled('negotiation') },
            },
          },
        },
        followUp: {
          initial: 'idle',
          // Movement ends the stall: back to idle (leaving the gate withdraws a request still waiting).
          on: { 'deal.moved': { target: '.idle' } },
          states: {
            idle: {
              on: { 'deal.follow_up': { guard: 'hasContact', target: 'sending' } },
            },
            sending: gate<DealContext>({
              name: 'follow_up',
              actionType: 'email.send',
              agent: 'sales',
              params: ({ context }) => ({
                to: context.contact,
                subject: context.title ? `Following up: ${context.title}` : 'Following up',
                body: followUpBody(context),
                dealId: context.key,
              }),
              preview: ({ context }) =>
                `Follow-up email to ${context.contact} on stalled deal ${context.key}${context.title ? ` "${context.title}"` : ''} (no movement for ${context.stallAfterDays} days)`,
              targets: { done: '#deal.open.followUp.sent' },
              onDone: [
                assign({ followedUpAt: ({ event }: { event: { at?: string } }) => event.at ?? null }),
                {
                  type: 'cadre.publish',
                  params: ({ context }: { context: DealContext }) => ({
                    entity: 'deal',
                    name: 'followed_up',
                    data: { dealId: context.key, title: context.title, contact: context.contact!, owner: context.owner, stalledSince: context.stalledSince },
                  }),
                },
              ],
            }),
            sent: {},
          },
        },
      },
    },
    won: { type: 'final' },
    lost: { type: 'final' },
  },
});

/** A forward move to a later stage: movement, and `deal.stage_changed`. */
function moveTo(from: Stage, to: Stage) {
  return {
    target: to,
    actions: [
      'moved' as const,
      'announceMove' as const,
      {
        type: 'cadre.publish' as const,
        params: ({ context }: { context: DealContext }) => ({
          entity: 'deal',
          name: 'stage_changed',
          data: { dealId: context.key, from, to, value: context.value },
        }),
      },
    ],
  };
}

/** A touch or an update is movement: re-entering the stage restarts its stall timer. */
function activity(stage: Stage) {
  return {
    'deal.touch': { target: stage, reenter: true, actions: ['moved' as const, 'announceMove' as const] },
    'deal.update': { target: stage, reenter: true, actions: ['applyUpdate' as const, 'moved' as const, 'announceMove' as const] },
  };
}

/** `stallAfterDays` without movement: mark the deal stalled, publish `deal.stalled` and ask for a follow-up, once. */
function stalled(stage: Stage) {
  return {
    actions: [
      'markStalled' as const,
      {
        type: 'cadre.publish' as const,
        params: ({ context }: { context: DealContext }) => ({
          entity: 'deal',
          name: 'stalled',
          data: { dealId: context.key, stage, days: context.stallAfterDays, lastMovedAt: context.lastMovedAt, value: context.value, owner: context.owner },
        }),
      },
      'askFollowUp' as const,
    ],
  };
}

/** The follow-up email's text; the sales agent may rewrite it before approving. */
function followUpBody(context: DealContext): string {
  const about = context.title ? `"${context.title}"` : 'our proposal';
  const sign = context.owner ? `\n\nBest regards,\n${context.owner}` : '\n\nBest regards';
  return `Hello,\n\nI wanted to follow up on ${about}. Is there anything you need from us to move forward, or a good time to talk this week?${sign}`;
}
