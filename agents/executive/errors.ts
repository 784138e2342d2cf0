import type { z } from 'zod';

/**
 * An executive check was given input it cannot use: an event or a run input
 * whose data does not have the shape the check needs. Not retryable: the same
 * input fails the same way. `issues` names each problem (`input.ownerEmail: …`).
 */
export class ExecutiveInputError extends Error {
  readonly code = 'invalid_input';
  readonly retryable = false;
  constructor(
    readonly job: string,
    readonly issues: string[],
  ) {
    super(`${job}: invalid input: ${issues.join('; ')}`);
    this.name = 'ExecutiveInputError';
  }
}

/** Parses a check's `ctx.input` with `schema`, or throws `ExecutiveInputError` naming each problem. */
export function parseInput<T>(job: string, schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new ExecutiveInputError(
    job,
    r.error.issues.map((i) => `input${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`),
  );
}
