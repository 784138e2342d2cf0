/**
 * The `script.run` effect: an actor asks for a template or custom script job
 * through a gate (`machines/gate.ts`), the gate decides it (runtime/gate: level ×
 * risk, policies, the tenant's daily limit), the effect executor runs it after the
 * commit through ScriptJobs with the effect's idempotency key, and the actor gets
 * `{ jobId, status, output, artifacts }` back in its `cadre.gate.done` event.
 */
import { z } from 'zod';
import { formatAddress } from '../../bus/index.ts';
import { LimitsSchema, ScriptInputSchema, type JsonValue, type ScriptJob } from '../../sandbox/index.ts';
import { TerminalEffectError, type EffectHandler } from '../effects.ts';
import type { ScriptJobs } from './jobs.ts';
import type { ScriptJobRecord } from './records.ts';

/** The action type of script jobs. */
export const SCRIPT_RUN = 'script.run';

const Common = {
  /** JSON params; for a template, checked against its schema when the job runs. */
  params: z.json().optional(),
  inputs: z.array(ScriptInputSchema).max(100).optional(),
  limits: LimitsSchema.partial().optional(),
};

/** Params of a `script.run` effect: `{ template, params?, inputs?, limits? }` or `{ code, params?, inputs?, limits? }`. */
export const ScriptRunParamsSchema = z.union([
  z.object({ template: z.string().min(1).max(100), ...Common }).strict(),
  z.object({ code: z.string().min(1).max(256 * 1024), ...Common }).strict(),
]);

/** Params of a `script.run` effect. */
export type ScriptRunParams = z.infer<typeof ScriptRunParamsSchema>;

/** The risk classes of the gate (runtime/gate/levels.ts). */
export type RiskClass = 'low' | 'medium' | 'high' | 'critical';

/**
 * The risk class of a `script.run` effect: an allow-listed template is `medium`,
 * custom code `high`. The gate asks the handler for it (`handler.risk`) when it
 * decides; a tenant's risk setting for `script.run` wins over it. Called with the
 * params as requested, before they are validated: invalid params fail when the
 * job would run.
 */
export function scriptRisk(params: ScriptRunParams): RiskClass {
  // Unvalidated: anything but an object naming a template is high (and must not throw, or the decision could never be made).
  return typeof params === 'object' && params !== null && 'template' in params ? 'medium' : 'high';
}

/** What the actor gets back in its `onDone` event's `result`. */
export interface ScriptRunResult {
  jobId: string;
  status: 'succeeded';
  /** The output, or null when `outputOmitted` (read the job by id for the whole of it). */
  output: JsonValue | null;
  /** Set when the output was larger than the handler's `maxOutputBytes`. */
  outputOmitted?: { bytes: number };
  artifacts: { name: string; mediaType: string; size: number }[];
  /** `scriptRisk` of the params; the gate's risk (a tenant may override it) is in the gate record and the audit log. */
  risk: RiskClass;
}

/** Options of `scriptRunEffect`. */
export interface ScriptRunEffectOptions {
  /**
   * Outputs larger than this (as JSON, UTF-8) are not sent to the actor, whose
   * messages are bounded (CADRE_MAX_MESSAGE_BYTES); the job keeps them.
   * @default 65536
   */
  maxOutputBytes?: number;
}

/** A job failed in a way that may pass next time (a sandbox process died, busy, interrupted): the executor retries. */
export class ScriptJobRetryableError extends Error {
  readonly retryable = true;
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ScriptJobRetryableError';
  }
}

/**
 * The effect handler of `script.run`. Params are checked with
 * `ScriptRunParamsSchema` (a mismatch fails the effect at once); the job runs with
 * `effectId = req.id`, so a retried effect never runs a finished job twice. A job
 * that fails for a reason retrying cannot fix (a script error, a limit) fails the
 * effect at once with a TerminalEffectError carrying the reason; a retryable
 * reason (a sandbox process died, the sandbox busy, the runtime stopped) is
 * retried by the executor, running the same job again. The gate decides every
 * request before this runs; `risk` is the handler's say in that decision.
 * @example
 * runtime.effects.register(scriptRunEffect(jobs));
 */
export function scriptRunEffect(jobs: ScriptJobs, options: ScriptRunEffectOptions = {}): EffectHandler & { risk: typeof scriptRisk } {
  const maxOutputBytes = options.maxOutputBytes ?? 64 * 1024;
  return {
    actionType: SCRIPT_RUN,
    // A job already running elsewhere (a partition handed over mid-job) is waited
    // for across retries: 2 + 4 + ... + 60 s covers its deadline.
    retry: { attempts: 8, backoffMs: 2000, maxBackoffMs: 60_000 },
    // Queue wait + wall limit + process start; a timed-out attempt leaves the job
    // running and the next attempt finds it.
    timeoutMs: 120_000,
    risk: scriptRisk,
    async run(req): Promise<ScriptRunResult> {
      const parsed = ScriptRunParamsSchema.safeParse(req.params);
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
        throw new TerminalEffectError(`invalid script.run params: ${why}`, 'bad_params');
      }
      const record = await jobs.run(req.tenant, toJob(parsed.data), { requestedBy: formatAddress(req.actor), effectId: req.id });
      if (record.status !== 'succeeded') throw failure(record);
      return toResult(record, scriptRisk(parsed.data), maxOutputBytes);
    },
  };
}

function toJob(p: ScriptRunParams): ScriptJob {
  const common = { params: p.params ?? {}, inputs: p.inputs ?? [], ...(p.limits ? { limits: p.limits } : {}) };
  return 'template' in p ? { kind: 'template', template: p.template, ...common } : { kind: 'custom', code: p.code, ...common };
}

function failure(record: ScriptJobRecord): Error {
  const reason = record.reason ?? { code: 'SANDBOX_INTERNAL', message: `the job ended ${record.status}`, retryable: true };
  const message = `script job ${record.id} failed: ${reason.message} (${reason.code})`;
  return reason.retryable ? new ScriptJobRetryableError(message, reason.code) : new TerminalEffectError(message, reason.code);
}

function toResult(record: ScriptJobRecord, risk: ScriptRunResult['risk'], maxOutputBytes: number): ScriptRunResult {
  const bytes = Buffer.byteLength(JSON.stringify(record.output), 'utf8');
  const omit = bytes > maxOutputBytes;
  return {
    jobId: record.id,
    status: 'succeeded',
    output: omit ? null : record.output,
    ...(omit ? { outputOmitted: { bytes } } : {}),
    artifacts: record.artifacts.map(({ name, mediaType, size }) => ({ name, mediaType, size })),
    risk,
  };
}
