import { assign, setup, type AnyEventObject } from 'xstate';
import { z } from 'zod';
import { defineEntity, gate, runtimeActions, type GateContext, type GateMachineEvent, type Stamped } from '../../machines/index.ts';

/**
 * Machines used by the runtime's tests. `counter` checks ordering itself: every
 * `add` carries its index for that actor, and an index out of turn is counted.
 */
export const CounterEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('add'), i: z.number().int().min(1), n: z.number().int().default(1) }),
  z.object({ type: z.literal('boom') }),
  z.object({ type: z.literal('remind'), minutes: z.number().int().min(1) }),
  z.object({ type: z.literal('ping'), to: z.string() }),
  z.object({ type: z.literal('pong'), from: z.string() }),
  z.object({ type: z.literal('charge'), amount: z.number() }),
  z.object({ type: z.literal('arm_fragile') }),
]);
type Ev = Stamped<z.infer<typeof CounterEvent>> | Stamped<GateMachineEvent>;
type Ctx = { count: number; sum: number; outOfOrder: number; reminders: number; pongs: number; charges: string[] } & GateContext;

/** Counts `add` events in order; also: throws on `boom`, sets a durable reminder, pings peers, charges through a gated effect (agent `billing`). */
export const counterMachine = setup({
  types: { context: {} as Ctx, events: {} as Ev },
  actions: { ...runtimeActions },
  delays: { reminder: ({ context }) => (context.reminders >= 0 ? 10 * 60_000 : 0) },
}).createMachine({
  id: 'counter',
  context: { count: 0, sum: 0, outOfOrder: 0, reminders: 0, pongs: 0, charges: [], gates: {} },
  initial: 'counting',
  states: {
    counting: {
      on: {
        add: {
          actions: assign(({ context, event }) => ({
            count: context.count + 1,
            sum: context.sum + event.n,
            outOfOrder: context.outOfOrder + (event.i === context.count + 1 ? 0 : 1),
          })),
        },
        boom: {
          actions: assign(() => {
            throw new Error('the counter machine exploded on purpose');
          }),
        },
        remind: { target: 'waiting' },
        arm_fragile: { target: 'fragile' },
        ping: {
          actions: { type: 'cadre.send', params: ({ event }) => ({ to: { kind: 'counter', key: event.to }, event: { type: 'pong', from: 'x' } }) },
        },
        pong: { actions: assign({ pongs: ({ context }) => context.pongs + 1 }) },
        charge: { target: 'charging' },
      },
    },
    waiting: {
      after: { reminder: { target: 'reminded', actions: assign({ reminders: ({ context }) => context.reminders + 1 }) } },
      on: { add: { actions: assign(({ context, event }) => ({ count: context.count + 1, sum: context.sum + event.n })) } },
    },
    fragile: {
      // Its delayed transition throws: the timer must be consumed with the dead letter.
      after: {
        reminder: {
          actions: assign(() => {
            throw new Error('the delayed transition exploded on purpose');
          }),
        },
      },
    },
    reminded: {
      on: { remind: { target: 'waiting' } },
    },
    charging: gate<Ctx>({
      name: 'charge',
      actionType: 'payment.charge',
      agent: 'billing',
      params: ({ event }) => ({ amount: (event as { amount?: number }).amount ?? 0 }),
      targets: { done: '#counter.counting', failed: '#counter.counting' },
      onDone: [assign(({ context, event }: { context: Ctx; event: AnyEventObject }) => ({ charges: [...context.charges, `ok:${String(event.effectId)}`] }))],
      onFailed: [assign(({ context, event }: { context: Ctx; event: AnyEventObject }) => ({ charges: [...context.charges, `failed:${String(event.error)}`] }))],
    }),
  },
});

/** The `counter` kind. */
export const counterEntity = defineEntity({ kind: 'counter', machine: counterMachine, events: CounterEvent });
