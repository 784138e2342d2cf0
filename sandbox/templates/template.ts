/**
 * What a template is: a name, a zod schema for its params (checked on the host,
 * defaults applied, before the isolate starts), a zod schema for its output
 * (checked on the host afterwards) and its source, plain JavaScript that runs
 * inside the isolate as the body of `async function main(params, inputs, api)`.
 */
import type { z } from 'zod';

/** An allow-listed script. */
export interface ScriptTemplate<P extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  /** Stable name jobs refer to, in snake_case. */
  readonly name: string;
  /** One sentence for people and agents choosing a template. */
  readonly description: string;
  readonly params: P;
  readonly output: O;
  /** Pure JavaScript, no imports: the body of `async function main(params, inputs, api)`. */
  readonly source: string;
}

/**
 * Declares a template; the result is frozen.
 * @example
 * export const echo = defineTemplate({
 *   name: 'echo', description: 'Returns its params.',
 *   params: z.object({ text: z.string() }), output: z.object({ text: z.string() }),
 *   source: 'return { text: params.text };',
 * });
 */
export function defineTemplate<P extends z.ZodType, O extends z.ZodType>(template: ScriptTemplate<P, O>): ScriptTemplate<P, O> {
  if (!/^[a-z][a-z0-9_]*$/.test(template.name)) throw new Error(`template names are snake_case: ${template.name}`);
  return Object.freeze({ ...template });
}
