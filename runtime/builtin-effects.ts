import { z } from 'zod';
import { paramsOf, type EffectHandler } from './effects.ts';

const AutofixParams = z.object({
  orderId: z.string(),
  fixes: z.array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown(), rule: z.string() })).min(1),
});

/**
 * `order.autofix`: a safe pricing correction. The change itself is the order
 * actor's (it applies the fixes to its own state when the effect is done); what
 * the gate controls is whether it may. The handler checks the fixes and returns
 * them as applied.
 */
export const orderAutofixEffect: EffectHandler = {
  actionType: 'order.autofix',
  retry: { attempts: 1 },
  async run(req) {
    const p = paramsOf(AutofixParams, req);
    return { orderId: p.orderId, applied: p.fixes };
  },
};

/**
 * `task.escalate`: a person approved trying a failed task again (agents/task.ts).
 * The decision is the whole point; the task re-requests its action when this is done.
 */
export const taskEscalateEffect: EffectHandler = {
  actionType: 'task.escalate',
  retry: { attempts: 1 },
  async run(req) {
    return { task: req.params.task ?? null, retry: true };
  },
};

/** Effect handlers every runtime has unless the caller registers its own for the same action type. */
export const BUILTIN_EFFECTS: readonly EffectHandler[] = [orderAutofixEffect, taskEscalateEffect];
