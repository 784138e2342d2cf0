import { assign, setup } from 'xstate';
import { runtimeActions } from '../effects.ts';
import type { Stamped } from '../entity.ts';
import type { DealEvent } from './events.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A deal's context. */
export interface DealContext {
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
}

type Ev = Stamped<DealEvent>;

type Stage = 'lead' | 'qualified' | 'proposal' | 'negotiation';

/**
 * The deal lifecycle: lead → qualified → proposal → negotiation → won / lost.
 * A deal may skip forward, never back. After `stallAfterDays` (default 7) without
 * movement (a stage change, an update or a touch) it publishes `deal.stalled`
 * once; movement re-arms the timer. Winning publishes `deal.closed` with value and
 * contact; losing needs a reason and publishes `deal.lost`.
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
      initial: 'lead',
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
    'deal.touch': { target: stage, reenter: true, actions: ['moved' as const] },
    'deal.update': { target: stage, reenter: true, actions: ['applyUpdate' as const, 'moved' as const] },
  };
}

/** `stallAfterDays` without movement: mark the deal stalled and publish `deal.stalled`, once. */
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
    ],
  };
}
