/**
 * The sandbox's errors. Each has a stable `code` and says whether a retry can help.
 * A failed job is reported as a result carrying one of these codes (see `toReason`);
 * only host programming errors (a closed runner, bad options) are thrown.
 */

/** Every code a sandbox failure can carry. Stable: persisted and matched on. */
export const SANDBOX_CODES = [
  'SANDBOX_TIMEOUT',
  'SANDBOX_CPU_LIMIT',
  'SANDBOX_MEMORY_LIMIT',
  'SANDBOX_OUTPUT_TOO_LARGE',
  'SANDBOX_SCRIPT_ERROR',
  'SANDBOX_BAD_PARAMS',
  'SANDBOX_BAD_OUTPUT',
  'SANDBOX_UNKNOWN_TEMPLATE',
  'SANDBOX_BAD_JOB',
  'SANDBOX_BUSY',
  'SANDBOX_INTERNAL',
  'SANDBOX_CLOSED',
  'SANDBOX_BAD_OPTIONS',
] as const;

/** One of `SANDBOX_CODES`. */
export type SandboxCode = (typeof SANDBOX_CODES)[number];

/** Base of the sandbox's errors: a stable `code` and whether a retry can help. */
export class SandboxError extends Error {
  constructor(
    message: string,
    readonly code: SandboxCode,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The job ran past its wall-clock limit (often host contention; a retry may pass). */
export class SandboxTimeoutError extends SandboxError {
  constructor(message: string, cause?: unknown) {
    super(message, 'SANDBOX_TIMEOUT', true, { cause });
  }
}

/** The script used more CPU time than its limit. */
export class SandboxCpuLimitError extends SandboxError {
  constructor(message: string, cause?: unknown) {
    super(message, 'SANDBOX_CPU_LIMIT', false, { cause });
  }
}

/** The script used more memory than its limit. */
export class SandboxMemoryLimitError extends SandboxError {
  constructor(message: string, cause?: unknown) {
    super(message, 'SANDBOX_MEMORY_LIMIT', false, { cause });
  }
}

/** The output or artifacts exceeded their size or count limits. */
export class SandboxOutputTooLargeError extends SandboxError {
  constructor(message: string) {
    super(message, 'SANDBOX_OUTPUT_TOO_LARGE', false);
  }
}

/** The script threw, failed to compile, or never settled. */
export class SandboxScriptError extends SandboxError {
  constructor(message: string) {
    super(message, 'SANDBOX_SCRIPT_ERROR', false);
  }
}

/** The params do not match the template's schema, or are not JSON. */
export class SandboxBadParamsError extends SandboxError {
  constructor(message: string) {
    super(message, 'SANDBOX_BAD_PARAMS', false);
  }
}

/** The script returned something that is not plain JSON of the expected shape. */
export class SandboxBadOutputError extends SandboxError {
  constructor(message: string) {
    super(message, 'SANDBOX_BAD_OUTPUT', false);
  }
}

/** No template has this name. */
export class SandboxUnknownTemplateError extends SandboxError {
  constructor(name: string) {
    super(`no template named ${JSON.stringify(name.slice(0, 100))}`, 'SANDBOX_UNKNOWN_TEMPLATE', false);
  }
}

/** The job itself is malformed: its shape, inputs or limits. */
export class SandboxBadJobError extends SandboxError {
  constructor(message: string) {
    super(message, 'SANDBOX_BAD_JOB', false);
  }
}

/** Too many jobs are queued; retry later. */
export class SandboxBusyError extends SandboxError {
  constructor(message: string) {
    super(message, 'SANDBOX_BUSY', true);
  }
}

/** The sandbox itself failed (a sandbox process died or misbehaved); retry later. */
export class SandboxInternalError extends SandboxError {
  constructor(message: string, cause?: unknown) {
    super(message, 'SANDBOX_INTERNAL', true, { cause });
  }
}

/** `run` was called after `close`: a host programming error, thrown. */
export class SandboxClosedError extends SandboxError {
  constructor() {
    super('the script runner is closed', 'SANDBOX_CLOSED', false);
  }
}

/** The runner's options are invalid: a host programming error, thrown. */
export class SandboxOptionsError extends SandboxError {
  constructor(message: string) {
    super(message, 'SANDBOX_BAD_OPTIONS', false);
  }
}

/** The `reason` of a failed result. */
export interface FailureReason {
  code: SandboxCode;
  message: string;
  retryable: boolean;
}

/** The failure reason to store for an error. */
export function toReason(err: SandboxError): FailureReason {
  return { code: err.code, message: err.message, retryable: err.retryable };
}

/** Why the host stopped an isolate itself, if it did. */
export type KillReason = 'cpu' | 'wall' | undefined;

/**
 * Translates an error thrown by an isolated-vm call. Those errors are copies made
 * in another isolate, so they are recognised by their message, never `instanceof`
 * (messages from isolated-vm 5 `src/isolate/run_with_timeout.h` and `environment.cc`).
 */
export function fromIsolateError(err: unknown, killed: KillReason, limits: { cpuMs: number; wallMs: number; memoryMb: number }): SandboxError {
  const message = errorMessage(err);
  if (message.includes('due to memory limit') || message.includes('out-of-memory')) {
    return new SandboxMemoryLimitError(`the script used more than ${limits.memoryMb} MB`, err);
  }
  if (killed === 'cpu') return new SandboxCpuLimitError(`the script used more than ${limits.cpuMs} ms of CPU`, err);
  if (killed === 'wall' || message === 'Script execution timed out.') {
    return new SandboxTimeoutError(`the script ran longer than ${limits.wallMs} ms`, err);
  }
  return new SandboxInternalError(`isolate failure: ${message}`, err);
}

/** The message of anything thrown, without trusting its shape. */
export function errorMessage(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'message' in err && typeof err.message === 'string') {
    return err.message;
  }
  return String(err);
}
