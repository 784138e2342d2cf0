/**
 * Wire types of the sandbox: one zod schema per message gives the TypeScript type,
 * the runtime check at the boundary and the shape that gets persisted.
 */
import { z } from 'zod';
import { SANDBOX_CODES } from './errors.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Any JSON value. */
export const JsonSchema = z.json();

/** Any JSON value. */
export type JsonValue = z.infer<typeof JsonSchema>;

/** Per-job resource limits. */
export const LimitsSchema = z
  .object({
    /** Heap limit of the isolate in MB (isolated-vm's minimum is 8). */
    memoryMb: z.number().int().min(8).max(4096),
    /** CPU time the script may use, in ms. */
    cpuMs: z.number().int().min(1).max(600_000),
    /** Wall-clock time the job may take once started, in ms. */
    wallMs: z.number().int().min(1).max(600_000),
    /** Size of the returned JSON (output and artifacts together), in UTF-8 bytes. */
    maxOutputBytes: z.number().int().min(1).max(256 * MiB),
    /** Total size of captured log text, in UTF-8 bytes. */
    maxLogBytes: z.number().int().min(0).max(64 * MiB),
    /** Number of captured log lines. */
    maxLogLines: z.number().int().min(0).max(1_000_000),
    /** Number of artifacts. */
    maxArtifacts: z.number().int().min(0).max(10_000),
  })
  .strict();

/** Per-job resource limits. */
export type Limits = z.infer<typeof LimitsSchema>;

/** Limits used when neither the runner nor the job says otherwise. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  memoryMb: 64,
  cpuMs: 1000,
  wallMs: 5000,
  maxOutputBytes: 1 * MiB,
  maxLogBytes: 64 * KiB,
  maxLogLines: 1000,
  maxArtifacts: 50,
});

/** The largest limits a job may ask for unless the runner says otherwise. */
export const DEFAULT_MAX_LIMITS: Readonly<Limits> = Object.freeze({
  memoryMb: 256,
  cpuMs: 10_000,
  wallMs: 30_000,
  maxOutputBytes: 8 * MiB,
  maxLogBytes: 1 * MiB,
  maxLogLines: 10_000,
  maxArtifacts: 200,
});

const InputName = z.string().min(1).max(255);
const MediaType = z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'expected a media type such as text/csv').max(127);
const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64').refine((s) => s.length % 4 === 0, 'base64 length must be a multiple of 4');

/**
 * One input, copied into the isolate. Inside, scripts see the same object except
 * that a `file` given as `base64` arrives as `{ kind, name, mediaType, bytes: Uint8Array }`.
 */
export const ScriptInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), name: InputName, text: z.string() }).strict(),
  z.object({ kind: z.literal('csv'), name: InputName, text: z.string() }).strict(),
  z.object({ kind: z.literal('json'), name: InputName, value: JsonSchema }).strict(),
  z
    .object({ kind: z.literal('file'), name: InputName, mediaType: MediaType.optional(), text: z.string().optional(), base64: Base64.optional() })
    .strict()
    .refine((f) => (f.text === undefined) !== (f.base64 === undefined), 'a file has exactly one of text or base64'),
]);

/** One input, copied into the isolate. */
export type ScriptInput = z.infer<typeof ScriptInputSchema>;

const JobBase = {
  /** JSON params; for templates checked against the template's schema. */
  params: JsonSchema.default({}),
  inputs: z.array(ScriptInputSchema).max(100).default([]),
  limits: LimitsSchema.partial().optional(),
};

/** Runs an allow-listed template by name. */
export const TemplateJobSchema = z
  .object({ kind: z.literal('template'), template: z.string().min(1).max(100), ...JobBase })
  .strict();

/** Runs custom code: the body of `async function main(params, inputs, api)`. */
export const CustomJobSchema = z
  .object({ kind: z.literal('custom'), code: z.string().min(1).max(256 * KiB), ...JobBase })
  .strict();

/** A job for the script runner. */
export const ScriptJobSchema = z.discriminatedUnion('kind', [TemplateJobSchema, CustomJobSchema]);

/**
 * A job as the caller writes it. `params` is checked when the job runs (JSON, and
 * the template's schema), so it may arrive as `unknown` from a tool call.
 */
export type ScriptJob =
  | { kind: 'template'; template: string; params?: unknown; inputs?: ScriptInput[]; limits?: Partial<Limits> }
  | { kind: 'custom'; code: string; params?: unknown; inputs?: ScriptInput[]; limits?: Partial<Limits> };
/** A job after validation, with defaults applied. */
export type ParsedScriptJob = z.output<typeof ScriptJobSchema>;

/** A file a script produced. */
export const ArtifactSchema = z
  .object({
    name: z.string().min(1).max(255).regex(/^[\w][\w .()-]*$/, 'artifact names are plain file names'),
    mediaType: MediaType,
    text: z.string(),
  })
  .strict();

/** A file a script produced. */
export type Artifact = z.infer<typeof ArtifactSchema>;

/** One captured console line. */
export const LogLineSchema = z.object({ level: z.enum(['log', 'info', 'warn', 'error', 'debug']), text: z.string() }).strict();

/** One captured console line. */
export type LogLine = z.infer<typeof LogLineSchema>;

/** Why a job failed. */
export const FailureReasonSchema = z.object({ code: z.enum(SANDBOX_CODES), message: z.string(), retryable: z.boolean() }).strict();

/** Where the time went. `startedAt` is when the job left the queue. */
export const TimingSchema = z
  .object({
    startedAt: z.iso.datetime(),
    queuedMs: z.number().nonnegative(),
    isolateStartMs: z.number().nonnegative(),
    cpuMs: z.number().nonnegative(),
    wallMs: z.number().nonnegative(),
  })
  .strict();

const ResultBase = {
  artifacts: z.array(ArtifactSchema),
  logs: z.array(LogLineSchema),
  logsTruncated: z.boolean(),
  timing: TimingSchema,
  /** Heap in use when the script finished, if the isolate was still alive. */
  heapUsedBytes: z.number().int().nonnegative().optional(),
};

/** The result of a job: `reason` is present exactly when it failed. */
export const ScriptResultSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('succeeded'), output: JsonSchema.optional(), ...ResultBase }).strict(),
  z.object({ status: z.literal('failed'), reason: FailureReasonSchema, ...ResultBase }).strict(),
]);

/** The result of a job: `reason` is present exactly when it failed. */
export type ScriptResult = z.infer<typeof ScriptResultSchema>;
