/**
 * Options of the script job service: merged with named defaults, checked once
 * (naming the option), then frozen. Bad values are refused, never adjusted.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { DEFAULT_LIMITS, type ScriptRunnerOptions } from '../../sandbox/index.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { ScriptJobsOptionsError } from './errors.ts';

/** Options of `new ScriptJobs(db, options)`. */
export interface ScriptJobsOptions {
  /**
   * The process's name, recorded on every job. A node starting with the id of an
   * earlier incarnation recovers that incarnation's unfinished jobs at once, so it
   * must be unique among live processes (the runtime's `CADRE_NODE_ID` is).
   */
  nodeId: string;
  /** @default the system clock */
  clock?: Clock;
  /**
   * Options of the script runner the service creates and owns. Its `processes`
   * is also how many jobs run at once; the rest wait in the service's queue.
   * @default {} (one sandbox process per core, the sandbox's default limits)
   */
  runner?: ScriptRunnerOptions;
  /**
   * Jobs allowed to wait for a sandbox process; beyond that a job fails at once with
   * SANDBOX_BUSY (retryable).
   * @default 1000
   */
  maxQueuedJobs?: number;
  /**
   * How long a job waits for a sandbox process before it fails with SANDBOX_BUSY.
   * @default 60000
   */
  maxQueueWaitMs?: number;
  /**
   * Inputs larger than this in total are stored as one summary per input (kind,
   * name, size, SHA-256) instead of their content.
   * @default 262144 (256 KiB)
   */
  maxStoredInputBytes?: number;
  /**
   * Added to every job's deadline: covers clock skew between hosts, a busy event
   * loop and the write of the outcome.
   * @default 30000
   */
  deadlineSlackMs?: number;
  /**
   * How often a started service marks jobs past their deadline as interrupted.
   * @default 60000
   */
  sweepIntervalMs?: number;
  /** Where recovery and recording problems are reported. */
  log?: Logger;
}

/** The sandbox's own defaults, used to compute deadlines when the runner options leave them out (sandbox/options.ts). */
const SANDBOX_KILL_GRACE_MS = 1000;
const SANDBOX_STARTUP_TIMEOUT_MS = 15_000;

/** Options after validation, with what deadlines are computed from. */
export interface ResolvedScriptJobsOptions {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly runner: ScriptRunnerOptions;
  /** Jobs running at once: the runner's process count. */
  readonly concurrency: number;
  readonly maxQueuedJobs: number;
  readonly maxQueueWaitMs: number;
  readonly maxStoredInputBytes: number;
  readonly deadlineSlackMs: number;
  readonly sweepIntervalMs: number;
  /** A job's wall limit when it sets none. */
  readonly defaultWallMs: number;
  /**
   * The longest a job can take beyond its wall limit once handed to the runner: a
   * sandbox process start, the kill grace after the wall limit, and the slack.
   */
  readonly overheadMs: number;
  readonly log: Logger | undefined;
}

const Schema = z
  .object({
    nodeId: z.string().min(1).max(200),
    concurrency: z.number().int().min(1).max(64),
    maxQueuedJobs: z.number().int().min(0).max(1_000_000),
    maxQueueWaitMs: z.number().int().min(1).max(3_600_000),
    maxStoredInputBytes: z.number().int().min(0).max(64 * 1024 * 1024),
    deadlineSlackMs: z.number().int().min(0).max(3_600_000),
    sweepIntervalMs: z.number().int().min(100).max(3_600_000),
  })
  .strict();

/** Checks the options, fills in defaults and freezes the result; throws ScriptJobsOptionsError. */
export function resolveScriptJobsOptions(options: ScriptJobsOptions): ResolvedScriptJobsOptions {
  const runner = options.runner ?? {};
  const parsed = Schema.safeParse({
    nodeId: options.nodeId,
    concurrency: runner.processes ?? availableParallelism(),
    maxQueuedJobs: options.maxQueuedJobs ?? 1000,
    maxQueueWaitMs: options.maxQueueWaitMs ?? 60_000,
    maxStoredInputBytes: options.maxStoredInputBytes ?? 256 * 1024,
    deadlineSlackMs: options.deadlineSlackMs ?? 30_000,
    sweepIntervalMs: options.sweepIntervalMs ?? 60_000,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ScriptJobsOptionsError(`invalid script job options: ${issue?.path.join('.') || 'options'}: ${issue?.message ?? 'invalid'}`);
  }
  const startup = runner.startupTimeoutMs ?? SANDBOX_STARTUP_TIMEOUT_MS;
  const grace = runner.killGraceMs ?? SANDBOX_KILL_GRACE_MS;
  return Object.freeze({
    ...parsed.data,
    clock: options.clock ?? systemClock,
    runner,
    defaultWallMs: runner.limits?.wallMs ?? DEFAULT_LIMITS.wallMs,
    overheadMs: startup + grace + parsed.data.deadlineSlackMs,
    log: options.log,
  });
}
