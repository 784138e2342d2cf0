/**
 * runtime/scripts: script jobs made durable. `ScriptJobs` runs sandbox jobs and
 * records each in `script_jobs` (outcome, logs, timing, artifacts), recovers jobs
 * a stopped process left unfinished, and backs the `script.run` effect. See
 * docs/sandbox.md.
 */
export { ScriptJobs, type RunOptions, type ListQuery, type InterruptedJob } from './jobs.ts';
export type { ScriptJobsOptions } from './options.ts';
export {
  SCRIPT_RUN,
  ScriptRunParamsSchema,
  ScriptJobRetryableError,
  scriptRisk,
  scriptRunEffect,
  type RiskClass,
  type ScriptRunEffectOptions,
  type ScriptRunParams,
  type ScriptRunResult,
} from './effect.ts';
export {
  INTERRUPTED_REASON,
  SCRIPT_INTERRUPTED,
  ScriptJobInProgressError,
  ScriptJobsClosedError,
  ScriptJobsError,
  ScriptJobsOptionsError,
  type ScriptJobReasonCode,
  type ScriptJobsErrorCode,
} from './errors.ts';
export type { ScriptJobReason, ScriptJobRecord, ScriptJobStatus, ScriptJobSummary, ScriptJobTiming, StoredArtifact } from './records.ts';
