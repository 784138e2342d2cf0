import { assign, setup } from 'xstate';
import { z } from 'zod';
import { defineEntity, runtimeActions, type Stamped } from '../machines/index.ts';

/** The bench's actor: a small counter with a state change every tenth event, as a business entity would. */
export const BenchEvent = z.object({ type: z.literal('bump'), n: z.number().int() });
type Ev = Stamped<z.infer<typeof BenchEvent>>;

const benchMachine = setup({
  types: { context: {} as { count: number; last: number }, events: {} as Ev },
  actions: { ...runtimeActions, count: assign(({ context, event }) => ({ count: context.count + 1, last: event.n })) },
  guards: { tenth: ({ context }) => (context.count + 1) % 10 === 0 },
}).createMachine({
  id: 'bench',
  context: { count: 0, last: 0 },
  initial: 'even',
  states: {
    even: { on: { bump: [{ guard: 'tenth', target: 'odd', actions: 'count' }, { actions: 'count' }] } },
    odd: { on: { bump: [{ guard: 'tenth', target: 'even', actions: 'count' }, { actions: 'count' }] } },
  },
});

/** The `bench` kind. */
export const benchEntity = defineEntity({ kind: 'bench', machine: benchMachine, events: BenchEvent });
