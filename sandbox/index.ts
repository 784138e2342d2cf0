/**
 * The sandbox: runs allow-listed templates and constrained custom scripts in fresh
 * isolated-vm isolates inside dedicated processes, with CPU, wall-clock, memory,
 * output and log limits. Other folders import only from here.
 */
export { createScriptRunner, type ScriptRunner } from './script-runner.ts';
export type { ScriptRunnerOptions } from './options.ts';
export {
  ArtifactSchema,
  DEFAULT_LIMITS,
  DEFAULT_MAX_LIMITS,
  FailureReasonSchema,
  LimitsSchema,
  LogLineSchema,
  ScriptInputSchema,
  ScriptJobSchema,
  ScriptResultSchema,
  type Artifact,
  type JsonValue,
  type Limits,
  type LogLine,
  type ScriptInput,
  type ScriptJob,
  type ScriptResult,
} from './schemas.ts';
export {
  SANDBOX_CODES,
  SandboxError,
  SandboxClosedError,
  SandboxOptionsError,
  type FailureReason,
  type SandboxCode,
} from './errors.ts';
export { TEMPLATES } from './templates/index.ts';
export type { ScriptTemplate } from './templates/template.ts';
export { benchSandbox } from './bench.ts';
