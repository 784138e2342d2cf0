/**
 * Turns a caller's job into what an isolate runs: checks its shape, limits and
 * input sizes, resolves a template and checks its params. Every problem becomes a
 * `SandboxError`, which the runner reports as a failed result.
 */
import type { z } from 'zod';
import { SandboxBadJobError, SandboxBadParamsError, SandboxError, SandboxUnknownTemplateError } from './errors.ts';
import { limitsAbove, type ResolvedOptions } from './options.ts';
import { summariseIssues } from './output.ts';
import type { IsolateJob } from './protocol.ts';
import { ScriptJobSchema, type JsonValue, type Limits, type ParsedScriptJob, type ScriptInput } from './schemas.ts';
import type { ScriptTemplate } from './templates/template.ts';

/** A job ready for an isolate, with the template whose output is to be checked. */
export interface PreparedJob {
  job: IsolateJob;
  template: ScriptTemplate | undefined;
}

/** Validates and resolves `raw`; returns the SandboxError that describes any fault. */
export function prepareJob(
  raw: unknown,
  options: ResolvedOptions,
  templates: ReadonlyMap<string, ScriptTemplate>,
): PreparedJob | SandboxError {
  const parsed = ScriptJobSchema.safeParse(raw);
  if (!parsed.success) {
    const onParams = parsed.error.issues.every((issue) => issue.path[0] === 'params');
    const message = `invalid job: ${summariseIssues(parsed.error)}`;
    return onParams ? new SandboxBadParamsError(message) : new SandboxBadJobError(message);
  }
  const job = parsed.data;
  const limits = resolveLimits(job, options);
  if (limits instanceof SandboxError) return limits;
  const size = inputBytes(job.inputs);
  if (size > options.maxInputBytes) {
    return new SandboxBadJobError(`inputs take ${size} bytes, more than the ${options.maxInputBytes} allowed`);
  }
  if (job.kind === 'custom') {
    return { job: { source: job.code, params: job.params, inputs: job.inputs, limits }, template: undefined };
  }
  const template = templates.get(job.template);
  if (!template) return new SandboxUnknownTemplateError(job.template);
  const params = template.params.safeParse(job.params);
  if (!params.success) return new SandboxBadParamsError(`invalid params for ${template.name}: ${summariseIssues(params.error)}`);
  return { job: { source: template.source, params: params.data as JsonValue, inputs: job.inputs, limits }, template };
}

function resolveLimits(job: ParsedScriptJob, options: ResolvedOptions): Limits | SandboxError {
  const limits: Limits = { ...options.limits, ...job.limits };
  const over = limitsAbove(limits, options.maxLimits);
  if (over) return new SandboxBadJobError(`limits.${over} = ${limits[over]} is above the maximum ${options.maxLimits[over]}`);
  return limits;
}

function inputBytes(inputs: ScriptInput[]): number {
  let total = 0;
  for (const input of inputs) {
    if (input.kind === 'json') total += Buffer.byteLength(JSON.stringify(input.value), 'utf8');
    else if (input.kind === 'file' && input.base64 !== undefined) total += input.base64.length;
    else total += Buffer.byteLength(input.text ?? '', 'utf8');
  }
  return total;
}

/** Checks a template's output against its schema. */
export function checkTemplateOutput(template: ScriptTemplate, output: unknown): z.ZodError | undefined {
  const result = template.output.safeParse(output);
  return result.success ? undefined : result.error;
}
