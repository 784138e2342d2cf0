/**
 * Errors of runtime/scripts. A job that fails (a script error, a limit, a dead
 * sandbox process) is not an error here: it is a `failed` job with a reason code.
 * These are thrown only when no outcome can be given: the service is closed, or
 * another call is running the same effect's job right now.
 */
import type { SandboxCode } from '../../sandbox/index.ts';

/** A job left unfinished by a process that stopped; set by recovery. */
export const SCRIPT_INTERRUPTED = 'SANDBOX_INTERRUPTED';

/** The reason recovery records on an interrupted job. */
export const INTERRUPTED_REASON = 'the runtime stopped while this job ran; run it again';

/** Every reason code a failed job can carry: the sandbox's, and `SANDBOX_INTERRUPTED`. */
export type ScriptJobReasonCode = SandboxCode | typeof SCRIPT_INTERRUPTED;

/** Codes of the errors below. */
export type ScriptJobsErrorCode = 'SCRIPT_JOBS_CLOSED' | 'SCRIPT_JOB_IN_PROGRESS' | 'SCRIPT_JOBS_BAD_OPTIONS';

/** Base of runtime/scripts' errors: a stable code and whether a retry can help. */
export class ScriptJobsError extends Error {
  constructor(
    message: string,
    readonly code: ScriptJobsErrorCode,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** `run` after `close`: a programming error of the host. */
export class ScriptJobsClosedError extends ScriptJobsError {
  constructor() {
    super('the script job service is closed', 'SCRIPT_JOBS_CLOSED', false);
  }
}

/**
 * The job of this effect id is queued or running in another call (this process
 * or another) and has not reached its deadline: try again later.
 */
export class ScriptJobInProgressError extends ScriptJobsError {
  constructor(readonly jobId: string) {
    super(`script job ${jobId} for this effect is still running; try again later`, 'SCRIPT_JOB_IN_PROGRESS', true);
  }
}

/** The service's options are invalid; the message names the option. */
export class ScriptJobsOptionsError extends ScriptJobsError {
  constructor(message: string) {
    super(message, 'SCRIPT_JOBS_BAD_OPTIONS', false);
  }
}
