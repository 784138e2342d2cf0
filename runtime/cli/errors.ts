/**
 * The CLI's errors and how each one is reported: one line saying what happened
 * and what to do, and an exit code (1: the operation failed; 2: the command line
 * or the configuration is wrong). Expected errors never print a stack trace.
 */
import { readFileSync } from 'node:fs';
import { ZodError } from 'zod';
import { BusError } from '../../bus/index.ts';
import { ConfigError } from '../config.ts';
import { OperatorError } from '../operator.ts';
import { ApprovalError, ProposalError } from '../gate/index.ts';
import { SendTimeoutError } from '../send.ts';
import { DataDirLockedError, StoreError } from '../store/index.ts';

/** Exit codes of `cadre`. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The command line is wrong (a bad address, bad JSON, a bad option value). Exit code 2. */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The operation ran and failed in an expected way (an actor not found, a refused message). Exit code 1. */
export class CommandFailedError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** Printed with `--json` next to the message. */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CommandFailedError';
  }
}

/** An error as the CLI reports it. */
export interface Report {
  code: string;
  message: string;
  exitCode: number;
  /** Set for unexpected errors only: those are bugs, and the stack helps. */
  stack?: string;
  details?: unknown;
}

function lockHolderPid(lockFile: string): string {
  try {
    const parsed = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid?: unknown };
    return typeof parsed.pid === 'number' ? String(parsed.pid) : 'unknown';
  } catch {
    return 'unknown';
  }
}

function zodMessage(err: ZodError): string {
  return err.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** Turns any error into what the CLI prints and the exit code. */
export function describeError(err: unknown): Report {
  if (err instanceof UsageError) return { code: err.code, message: err.message, exitCode: EXIT.usage };
  if (err instanceof ConfigError) {
    // loadConfig lists one variable per line; the CLI says it in one line.
    const [head, ...vars] = err.message.split('\n').map((l) => l.trim());
    return { code: err.code, message: `${head} ${vars.join('; ')} (fix the environment and run the command again)`, exitCode: EXIT.usage };
  }
  if (err instanceof CommandFailedError) return { code: err.code, message: err.message, exitCode: EXIT.failed, details: err.details };
  if (err instanceof DataDirLockedError) {
    return {
      code: err.code,
      message:
        `the embedded database is in use by a running \`cadre start\` (pid ${lockHolderPid(err.lockFile)}); stop it first, ` +
        'or run Cadre with DATABASE_URL and NATS_URL to operate it while it runs',
      exitCode: EXIT.failed,
    };
  }
  if (err instanceof OperatorError || err instanceof ApprovalError || err instanceof ProposalError) return { code: err.code, message: err.message, exitCode: EXIT.failed };
  if (err instanceof SendTimeoutError) {
    return { code: err.code, message: `${err.message}; is a \`cadre start\` running on this database and NATS?`, exitCode: EXIT.failed };
  }
  if (err instanceof StoreError && err.sqlState === '42P01') {
    // undefined_table: commands other than start and migrate never create the schema.
    return { code: 'SCHEMA_MISSING', message: `the database has no Cadre schema yet (${err.message}); run \`cadre migrate\` or \`cadre start\` first`, exitCode: EXIT.failed };
  }
  if (err instanceof StoreError) {
    const hint = err.code === 'STORE_UNAVAILABLE' ? ' (check DATABASE_URL and that PostgreSQL is up)' : '';
    return { code: err.code, message: `${err.message}${hint}`, exitCode: EXIT.failed };
  }
  if (err instanceof BusError) return { code: err.code, message: `${err.message} (check NATS_URL and that NATS is up)`, exitCode: EXIT.failed };
  if (err instanceof ZodError) return { code: 'INVALID_INPUT', message: zodMessage(err), exitCode: EXIT.usage };
  const e = err instanceof Error ? err : new Error(String(err));
  return { code: 'UNEXPECTED', message: `unexpected failure: ${e.message}`, exitCode: EXIT.failed, stack: e.stack };
}

/** Prints an error to stderr in one line (as JSON with `--json`) and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const described = describeError(err);
  const r = { ...described, message: described.message.replace(/\s*\n\s*/g, ' ') };
  if (json) {
    const body = { error: { code: r.code, message: r.message, ...(r.details === undefined ? {} : { details: r.details }) } };
    process.stderr.write(`${JSON.stringify(body)}\n`);
  } else {
    process.stderr.write(`error: ${r.message}\n`);
  }
  if (r.stack) process.stderr.write(`${r.stack}\n`);
  return r.exitCode;
}
