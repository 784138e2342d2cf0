import type { z } from 'zod';

/**
 * A department agent's check was given input it cannot use: an event, a run
 * input or a delegation whose data does not have the shape the check needs.
 * Not retryable: the same input fails the same way. `job` names the check
 * (`deal-review`, `react:client.at_risk`); `issues` names each problem
 * (`input.dealId: …`).
 */
export class CheckInputError extends Error {
  readonly code = 'invalid_input';
  readonly retryable = false;
  constructor(
    readonly job: string,
    readonly issues: string[],
  ) {
    super(`${job}: invalid input: ${issues.join('; ')}`);
    this.name = 'CheckInputError';
  }
}

/** Parses a check's `ctx.input` with `schema`, or throws `CheckInputError` naming each problem. */
export function parseInput<T>(job: string, schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new CheckInputError(
    job,
    r.error.issues.map((i) => `input${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`),
  );
}
