/**
 * Runs one job in a fresh isolate and always disposes it. Used inside a sandbox
 * process (see `child.ts`); only asynchronous isolated-vm calls are made, so the
 * process's event loop keeps running the watchdog while a script runs.
 *
 * Four guards, each independent of the others:
 * - `timeout` on every isolated-vm call: the remaining wall-clock budget, enforced
 *   by isolated-vm's own timer thread (it also covers the microtasks a run queues);
 * - a watchdog that reads `isolate.cpuTime` and disposes the isolate past `cpuMs`;
 * - a wall-clock timer that disposes the isolate at `wallMs`;
 * - isolated-vm's `memoryLimit`, which disposes the isolate past `memoryMb`.
 */
import ivm from 'isolated-vm';
import { BOOTSTRAP_JS } from './js/bootstrap.ts';
import { SandboxError, SandboxTimeoutError, fromIsolateError, toReason, type KillReason } from './errors.ts';
import { LogSink, parseEnvelope, type ScriptOutput } from './output.ts';
import type { IsolateJob, IsolateOutcome } from './protocol.ts';
import type { Limits, ScriptInput } from './schemas.ts';

/** How the sandbox process wants to hear about an isolate it cannot recover. */
export interface IsolateHooks {
  /** isolated-vm lost control of an isolate; the process must end. */
  onCatastrophicError(message: string): void;
  /** How often the CPU watchdog looks, in ms. */
  watchdogIntervalMs: number;
}

/** Runs `job` in a new isolate and reports what happened; never throws for script faults. */
export async function runInIsolate(job: IsolateJob, hooks: IsolateHooks): Promise<IsolateOutcome> {
  const started = performance.now();
  const isolate = new ivm.Isolate({ memoryLimit: job.limits.memoryMb, onCatastrophicError: hooks.onCatastrophicError });
  const guard = new IsolateGuard(isolate, job.limits, hooks.watchdogIntervalMs);
  const logs = new LogSink(job.limits);
  let isolateStartMs = 0;
  let result: ScriptOutput | SandboxError;
  let heapUsedBytes: number | undefined;
  try {
    const context = await isolate.createContext();
    isolateStartMs = performance.now() - started;
    const raw = await execute(context, job, logs, guard);
    // The script is done; stop the guards so they cannot dispose the isolate under the last reads.
    guard.stop();
    result = parseEnvelope(raw, job.limits);
    heapUsedBytes = await heapInUse(isolate);
  } catch (err) {
    result = err instanceof SandboxError ? err : fromIsolateError(err, guard.killed, job.limits);
  } finally {
    guard.stop();
    if (!isolate.isDisposed) isolate.dispose();
  }
  const base = { ...logs.result(), isolateStartMs, cpuMs: guard.cpuMs, heapUsedBytes };
  if (result instanceof SandboxError) return { status: 'failed', reason: toReason(result), artifacts: [], ...base };
  return { status: 'succeeded', output: result.output, artifacts: result.artifacts, ...base };
}

async function execute(context: ivm.Context, job: IsolateJob, logs: LogSink, guard: IsolateGuard): Promise<unknown> {
  const payload = {
    params: job.params,
    inputs: job.inputs.map(toIsolateInput),
    limits: pickScriptLimits(job.limits),
  };
  const log = new ivm.Callback((level: unknown, text: unknown) => logs.push(level, text));
  // Copied, never referenced: the isolate gets its own objects, nothing of the host's.
  const args = [log, new ivm.ExternalCopy(payload).copyInto({ release: true }), job.source];
  const collect = await context.evalClosure(BOOTSTRAP_JS, args, {
    timeout: guard.remainingMs(),
    filename: 'sandbox:bootstrap',
    result: { reference: true },
  });
  try {
    return await collect.apply(undefined, [], { timeout: guard.remainingMs(), result: { copy: true } });
  } finally {
    collect.release();
  }
}

type IsolateInput = Exclude<ScriptInput, { kind: 'file' }> | { kind: 'file'; name: string; mediaType: string; text?: string; bytes?: Uint8Array };

function toIsolateInput(input: ScriptInput): IsolateInput {
  if (input.kind !== 'file') return input;
  if (input.base64 === undefined) {
    return { kind: 'file', name: input.name, mediaType: input.mediaType ?? 'text/plain', text: input.text ?? '' };
  }
  // A fresh Uint8Array: a Buffer may be a view on Node's shared pool, whose other
  // bytes would be copied along with it.
  const bytes = new Uint8Array(Buffer.from(input.base64, 'base64'));
  return { kind: 'file', name: input.name, mediaType: input.mediaType ?? 'application/octet-stream', bytes };
}

function pickScriptLimits(limits: Limits): Pick<Limits, 'maxOutputBytes' | 'maxLogBytes' | 'maxLogLines' | 'maxArtifacts'> {
  const { maxOutputBytes, maxLogBytes, maxLogLines, maxArtifacts } = limits;
  return { maxOutputBytes, maxLogBytes, maxLogLines, maxArtifacts };
}

async function heapInUse(isolate: ivm.Isolate): Promise<number | undefined> {
  if (isolate.isDisposed) return undefined;
  const stats = await isolate.getHeapStatistics();
  return stats.used_heap_size + stats.externally_allocated_size;
}

/** The CPU watchdog and wall-clock timer of one isolate. */
class IsolateGuard {
  /** Why the guard disposed the isolate, if it did. */
  killed: KillReason;
  private cpuNs = 0n;
  private readonly deadline: number;
  private readonly wallTimer: NodeJS.Timeout;
  private readonly cpuTimer: NodeJS.Timeout;

  constructor(
    private readonly isolate: ivm.Isolate,
    private readonly limits: Limits,
    intervalMs: number,
  ) {
    this.deadline = performance.now() + limits.wallMs;
    this.wallTimer = setTimeout(() => this.kill('wall'), limits.wallMs);
    this.cpuTimer = setInterval(() => {
      if (this.sampleCpu() > BigInt(limits.cpuMs) * 1_000_000n) this.kill('cpu');
    }, intervalMs);
  }

  /** CPU time used so far, in ms. */
  get cpuMs(): number {
    return Number(this.sampleCpu()) / 1e6;
  }

  /** Wall-clock budget left, for isolated-vm's `timeout` (where 0 would mean none). */
  remainingMs(): number {
    const ms = Math.ceil(this.deadline - performance.now());
    if (ms <= 0) throw new SandboxTimeoutError(`the script ran longer than ${this.limits.wallMs} ms`);
    return ms;
  }

  /** Stops the watchdog and timer and takes a last CPU reading. Safe to call twice. */
  stop(): void {
    clearTimeout(this.wallTimer);
    clearInterval(this.cpuTimer);
    this.sampleCpu();
  }

  private sampleCpu(): bigint {
    // A disposed isolate has no clock; keep the last reading. isolated-vm may dispose
    // it from its own thread (memory limit) between the check and the read.
    try {
      if (!this.isolate.isDisposed) this.cpuNs = this.isolate.cpuTime;
    } catch (err) {
      if (!this.isolate.isDisposed) throw err;
    }
    return this.cpuNs;
  }

  private kill(reason: Exclude<KillReason, undefined>): void {
    if (this.killed !== undefined || this.isolate.isDisposed) return;
    this.killed = reason;
    this.isolate.dispose();
  }
}
