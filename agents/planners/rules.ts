import { z } from 'zod';
import { Plan, type Check, type PlanContext, type Planner } from '../types.ts';

/**
 * A plan a check or the model produced that the `Plan` schema refuses. Not
 * retryable: the same inputs give the same plan; the run is recorded as failed
 * with this message.
 */
export class InvalidPlanError extends Error {
  readonly code = 'invalid_plan';
  readonly retryable = false;
  /** What the schema refused, path by path. */
  readonly issues: z.core.$ZodIssue[];
  constructor(
    /** Who produced it: the job's check, or the model. */
    readonly source: 'check' | 'model',
    error: z.ZodError,
  ) {
    super(`the ${source === 'check' ? "job's check" : 'model'} returned an invalid plan:\n${z.prettifyError(error)}`, { cause: error });
    this.name = 'InvalidPlanError';
    this.issues = error.issues;
  }
}

/**
 * Settles with `work`, or rejects with the signal's reason (`signal.reason`: an
 * `AbortError`, a `TimeoutError`, or what the runtime aborted with) as soon as it is
 * aborted: a check that ignores the signal cannot hold a run past its limit.
 */
export function raceSignal<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Runs a job's check and validates what it returns with the `Plan` schema; the
 * validated (parsed) plan is returned. Rejects with the signal's reason when the
 * run is aborted, and with `InvalidPlanError` for a malformed plan.
 */
export async function runCheck(ctx: PlanContext, check: Check): Promise<Plan> {
  const raw = await raceSignal(ctx.signal, check(ctx));
  const parsed = Plan.safeParse(raw);
  if (!parsed.success) throw new InvalidPlanError('check', parsed.error);
  return parsed.data;
}

/**
 * The rule-based planner: the job's checks, run on the read side, are the plan.
 * @example
 * const plan = await rulesPlanner.plan(ctx, { description, check, tools: [], mission });
 */
export const rulesPlanner: Planner = Object.freeze({
  name: 'rules' as const,
  plan(ctx: PlanContext, work: { check: Check }): Promise<Plan> {
    return runCheck(ctx, work.check);
  },
});
