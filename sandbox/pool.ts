/**
 * A fixed-size pool of sandbox processes with a bounded queue in front. Jobs wait
 * in order, each process runs one at a time, dead processes are replaced on demand.
 * The queue lives in memory on purpose: it holds only calls in flight, and callers
 * that need durability persist their jobs before calling `run`.
 */
import type { SandboxError } from './errors.ts';
import { SandboxProcess, lostOutcome, type ProcessSettings } from './process.ts';
import type { IsolateJob, IsolateOutcome } from './protocol.ts';

/** Pool settings, validated by the script runner. */
export interface PoolSettings extends ProcessSettings {
  size: number;
  /** Epoch milliseconds, for `startedAt`. */
  clock: () => number;
}

/** A job's outcome with the pool's view of its timing. */
export interface PoolResult {
  outcome: IsolateOutcome;
  startedAt: number;
  queuedMs: number;
  wallMs: number;
}

interface QueuedTask {
  job: IsolateJob;
  enqueuedAt: number;
  resolve(result: PoolResult): void;
}

const STOP_GRACE_MS = 2000;

/** Sandbox processes and the jobs waiting for them. */
export class SandboxPool {
  private readonly queue: QueuedTask[] = [];
  private readonly processes = new Set<SandboxProcess>();
  private busy = 0;
  private closing: Promise<void> | undefined;
  private onDrained: (() => void) | undefined;

  constructor(private readonly settings: PoolSettings) {}

  /** Jobs waiting for a process. */
  get queued(): number {
    return this.queue.length;
  }

  /** Queues a job; resolves with its outcome, never rejects. */
  submit(job: IsolateJob): Promise<PoolResult> {
    return new Promise((resolve) => {
      this.queue.push({ job, enqueuedAt: performance.now(), resolve });
      this.dispatch();
    });
  }

  /** Lets queued and running jobs finish, then ends every process. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await new Promise<void>((resolve) => {
        this.onDrained = resolve;
        this.checkDrained();
      });
      await Promise.all([...this.processes].map((p) => p.stop(STOP_GRACE_MS)));
    })();
    return this.closing;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const idle = [...this.processes].find((p) => p.state === 'idle');
      if (idle) {
        this.start(idle, this.queue.shift()!);
        continue;
      }
      const starting = [...this.processes].filter((p) => p.state === 'starting').length;
      if (this.processes.size >= this.settings.size || starting >= this.queue.length) break;
      this.spawn();
    }
    this.checkDrained();
  }

  private spawn(): void {
    const p = new SandboxProcess(this.settings, {
      idle: () => this.dispatch(),
      exited: (gone, startupError) => this.onExited(gone, startupError),
    });
    this.processes.add(p);
  }

  private start(p: SandboxProcess, task: QueuedTask): void {
    const startedAt = this.settings.clock();
    const dispatched = performance.now();
    this.busy += 1;
    p.run({
      job: task.job,
      done: (outcome) => {
        this.busy -= 1;
        task.resolve({ outcome, startedAt, queuedMs: dispatched - task.enqueuedAt, wallMs: performance.now() - dispatched });
        this.dispatch();
      },
    });
  }

  private onExited(gone: SandboxProcess, startupError: SandboxError | undefined): void {
    this.processes.delete(gone);
    // A process that cannot start fails one waiting job rather than being retried
    // forever: each job costs at most one attempt to start a process.
    if (startupError && this.queue.length > 0) {
      const task = this.queue.shift()!;
      task.resolve({ outcome: lostOutcome(startupError), startedAt: this.settings.clock(), queuedMs: performance.now() - task.enqueuedAt, wallMs: 0 });
    }
    this.dispatch();
  }

  private checkDrained(): void {
    if (this.onDrained && this.queue.length === 0 && this.busy === 0) {
      const resolve = this.onDrained;
      this.onDrained = undefined;
      resolve();
    }
  }
}
