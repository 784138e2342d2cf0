import { z } from 'zod';
import { MachineEvent } from '../../bus/index.ts';

/**
 * Events the runtime itself sends to actors, in the reserved `cadre.` namespace
 * (as XState reserves `xstate.`). Machines never see them directly: the host
 * unwraps timers and effect results, and handles control events itself. The
 * gateway refuses `cadre.` events from outside.
 */
export const RUNTIME_PREFIX = 'cadre.';

/** A durable timer came due. */
export const TimerFire = z.object({
  type: z.literal('cadre.timer.fire'),
  timerId: z.string(),
  setSeq: z.number().int(),
  dueAt: z.string(),
  event: MachineEvent,
});

/** An effect finished: `event` is the machine's onDone / onError event. */
export const EffectResult = z.object({
  type: z.literal('cadre.effect.result'),
  effectId: z.string(),
  ok: z.boolean(),
  event: MachineEvent,
});

/** The gate decided, or an approval was settled: `event` is the gate fragment's event (machines/gate.ts). */
export const GateUpdate = z.object({
  type: z.literal('cadre.gate.update'),
  effectId: z.string(),
  event: MachineEvent,
});

/** Operator control of one actor. */
export const Control = z.object({
  type: z.enum(['cadre.control.pause', 'cadre.control.resume', 'cadre.control.stop']),
  by: z.string().max(200),
  reason: z.string().max(1000).optional(),
});

/** Any runtime event. */
export const RuntimeEvent = z.discriminatedUnion('type', [TimerFire, EffectResult, GateUpdate, Control]);
/** Any runtime event. */
export type RuntimeEvent = z.infer<typeof RuntimeEvent>;
