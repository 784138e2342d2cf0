import type { z } from 'zod';

/**
 * A sales check was given input it cannot use: an event or a delegation whose
 * data does not have the shape the check needs. Not retryable: the same input
 * fails the same way. `issues` names each problem (`input.dealId: …`).
 */
export class SalesInputError extends Error {
  readonly code = 'invalid_input';
  readonly retryable = false;
  constructor(
    readonly job: string,
    readonly issues: string[],
  ) {
    super(`${job}: invalid input: ${issues.join('; ')}`);
    this.name = 'SalesInputError';
  }
}

/** Parses a check's `ctx.input` with `schema`, or throws `SalesInputError` naming each problem. */
export function parseInput<T>(job: string, schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new SalesInputError(
    job,
    r.error.issues.map((i) => `input${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`),
  );
}
