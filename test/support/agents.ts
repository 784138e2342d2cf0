import type { Runtime } from '../../runtime/index.ts';
import type { AgentName, PlanContext, RunTrigger } from '../../agents/types.ts';

/**
 * A planning context on a running runtime's read side, for calling a job's or a
 * reaction's `check` directly on seeded data. `foresee` answers what the real
 * gate would decide, when the runtime has one; otherwise 'approval'.
 */
export function planContext(
  rt: Runtime,
  o: { tenant: string; agent: AgentName; job: string; trigger?: RunTrigger; input?: Record<string, unknown>; now?: number },
): PlanContext {
  const foresee: PlanContext['foresee'] = async (a) => {
    const agents = (rt as unknown as { agents?: { foresee(t: string, ag: string, a: unknown): Promise<Awaited<ReturnType<PlanContext['foresee']>>> } }).agents;
    return agents ? agents.foresee(o.tenant, o.agent, a) : { outcome: 'approval', reason: 'no gate in this test runtime' };
  };
  return {
    tenant: o.tenant,
    agent: o.agent,
    job: o.job,
    trigger: o.trigger ?? 'schedule',
    input: o.input ?? {},
    read: rt.read,
    now: o.now ?? rt.clock.now(),
    signal: new AbortController().signal,
    foresee,
  };
}
