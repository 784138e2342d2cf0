/**
 * The script runner's options: merged with named defaults, checked once (naming
 * the offending option), then frozen. Bad values are refused, never adjusted.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { SandboxOptionsError } from './errors.ts';
import { summariseIssues } from './output.ts';
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS, LimitsSchema, type Limits } from './schemas.ts';

/** Options of `createScriptRunner`. */
export interface ScriptRunnerOptions {
  /**
   * Sandbox processes, each running one job at a time in a fresh isolate.
   * @default os.availableParallelism()
   */
  processes?: number;
  /**
   * Limits for jobs that do not set their own.
   * @default DEFAULT_LIMITS (64 MB, 1000 ms CPU, 5000 ms wall, 1 MiB output, 64 KiB / 1000 lines of logs, 50 artifacts)
   */
  limits?: Partial<Limits>;
  /**
   * The most a job may ask for; a job asking for more fails with SANDBOX_BAD_JOB.
   * @default DEFAULT_MAX_LIMITS (256 MB, 10 s CPU, 30 s wall, 8 MiB output, 1 MiB / 10,000 lines of logs, 200 artifacts)
   */
  maxLimits?: Partial<Limits>;
  /**
   * Jobs allowed to wait for a process; beyond that `run` answers SANDBOX_BUSY.
   * @default 1000
   */
  maxQueuedJobs?: number;
  /**
   * Total size of a job's inputs (text, base64 and JSON as serialised), in bytes.
   * @default 8 MiB
   */
  maxInputBytes?: number;
  /**
   * Time a sandbox process gets past a job's wall limit before it is killed.
   * @default 1000
   */
  killGraceMs?: number;
  /**
   * Time a new sandbox process gets to become ready.
   * @default 15000
   */
  startupTimeoutMs?: number;
  /**
   * How often the CPU watchdog reads an isolate's CPU time, in ms.
   * @default 10
   */
  watchdogIntervalMs?: number;
  /**
   * Epoch milliseconds, used for `timing.startedAt`.
   * @default Date.now
   */
  clock?: () => number;
}

/** Options after validation: complete and frozen. */
export type ResolvedOptions = Readonly<Required<Omit<ScriptRunnerOptions, 'limits' | 'maxLimits'>>> & {
  readonly limits: Readonly<Limits>;
  readonly maxLimits: Readonly<Limits>;
};

const OptionsSchema = z
  .object({
    processes: z.number().int().min(1).max(64),
    limits: LimitsSchema,
    maxLimits: LimitsSchema,
    maxQueuedJobs: z.number().int().min(0).max(1_000_000),
    maxInputBytes: z.number().int().min(0).max(1024 * 1024 * 1024),
    killGraceMs: z.number().int().min(0).max(60_000),
    startupTimeoutMs: z.number().int().min(100).max(300_000),
    watchdogIntervalMs: z.number().int().min(1).max(1000),
  })
  .strict();

/** Checks options, fills in defaults and freezes the result; throws SandboxOptionsError. */
export function resolveOptions(options: ScriptRunnerOptions = {}): ResolvedOptions {
  const { clock = Date.now, ...rest } = options;
  if (typeof clock !== 'function') throw new SandboxOptionsError('clock: expected a function');
  const merged = {
    processes: rest.processes ?? availableParallelism(),
    limits: { ...DEFAULT_LIMITS, ...rest.limits },
    maxLimits: { ...DEFAULT_MAX_LIMITS, ...rest.maxLimits },
    maxQueuedJobs: rest.maxQueuedJobs ?? 1000,
    maxInputBytes: rest.maxInputBytes ?? 8 * 1024 * 1024,
    killGraceMs: rest.killGraceMs ?? 1000,
    startupTimeoutMs: rest.startupTimeoutMs ?? 15_000,
    watchdogIntervalMs: rest.watchdogIntervalMs ?? 10,
  };
  const parsed = OptionsSchema.safeParse(merged);
  if (!parsed.success) throw new SandboxOptionsError(`invalid script runner options: ${summariseIssues(parsed.error)}`);
  const over = limitsAbove(parsed.data.limits, parsed.data.maxLimits);
  if (over) throw new SandboxOptionsError(`limits.${over} is above maxLimits.${over}`);
  return Object.freeze({
    ...parsed.data,
    limits: Object.freeze(parsed.data.limits),
    maxLimits: Object.freeze(parsed.data.maxLimits),
    clock,
  });
}

/** The first limit in `limits` that is above `max`, if any. */
export function limitsAbove(limits: Limits, max: Limits): keyof Limits | undefined {
  return (Object.keys(limits) as Array<keyof Limits>).find((key) => limits[key] > max[key]);
}
