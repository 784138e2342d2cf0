/**
 * Messages between the script runner and its sandbox processes. Each sandbox
 * process runs one job at a time, each in a fresh isolate; the runner checks every
 * message it receives, since the process that sends it also ran untrusted code.
 */
import { z } from 'zod';
import { ArtifactSchema, FailureReasonSchema, JsonSchema, LimitsSchema, LogLineSchema, ScriptInputSchema } from './schemas.ts';

/** Everything an isolate needs to run one job, already validated by the runner. */
export const IsolateJobSchema = z
  .object({
    /** The body of `async function main(params, inputs, api)`. */
    source: z.string(),
    params: JsonSchema,
    inputs: z.array(ScriptInputSchema),
    limits: LimitsSchema,
  })
  .strict();

/** Everything an isolate needs to run one job. */
export type IsolateJob = z.infer<typeof IsolateJobSchema>;

/** What one isolate produced. */
export const IsolateOutcomeSchema = z
  .object({
    status: z.enum(['succeeded', 'failed']),
    reason: FailureReasonSchema.optional(),
    output: JsonSchema.optional(),
    artifacts: z.array(ArtifactSchema),
    logs: z.array(LogLineSchema),
    logsTruncated: z.boolean(),
    isolateStartMs: z.number().nonnegative(),
    cpuMs: z.number().nonnegative(),
    heapUsedBytes: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((o) => (o.status === 'failed') === (o.reason !== undefined), 'reason is present exactly when failed');

/** What one isolate produced. */
export type IsolateOutcome = z.infer<typeof IsolateOutcomeSchema>;

/** Runner to sandbox process. */
export const ParentMessageSchema = z.object({
  type: z.literal('run'),
  id: z.number().int(),
  job: IsolateJobSchema,
  watchdogIntervalMs: z.number().int().positive(),
});

/** Runner to sandbox process. */
export type ParentMessage = z.infer<typeof ParentMessageSchema>;

/** Sandbox process to runner. */
export const ChildMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('result'), id: z.number().int(), outcome: IsolateOutcomeSchema }),
  // isolated-vm lost control of an isolate (usually out of memory); the process ends itself.
  z.object({ type: z.literal('fatal'), message: z.string() }),
]);

/** Sandbox process to runner. */
export type ChildMessage = z.infer<typeof ChildMessageSchema>;
