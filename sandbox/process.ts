/**
 * One sandbox process, as seen from the runner. States:
 * starting → idle ⇄ busy → exited. It runs one job at a time; if it dies while
 * busy (killed at the job's deadline, out of memory, crashed) the job fails with
 * a reason that says why, and the pool starts a fresh process for the next job.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  SandboxError,
  SandboxInternalError,
  SandboxMemoryLimitError,
  SandboxTimeoutError,
  errorMessage,
  toReason,
} from './errors.ts';
import { ChildMessageSchema, type IsolateJob, type IsolateOutcome, type ParentMessage } from './protocol.ts';

const CHILD_ENTRY = fileURLToPath(new URL('./child.ts', import.meta.url));
const STDERR_TAIL = 2048;

/** Settings every sandbox process shares. */
export interface ProcessSettings {
  killGraceMs: number;
  startupTimeoutMs: number;
  watchdogIntervalMs: number;
}

/** What the pool hears from a process. */
export interface ProcessEvents {
  /** The process can take a job. */
  idle(p: SandboxProcess): void;
  /** The process is gone; `startupError` is set when it never became ready. */
  exited(p: SandboxProcess, startupError: SandboxError | undefined): void;
}

/** A job handed to a process; `done` is called exactly once. */
export interface ProcessTask {
  job: IsolateJob;
  done(outcome: IsolateOutcome): void;
}

/** One forked sandbox process. */
export class SandboxProcess {
  state: 'starting' | 'idle' | 'busy' | 'exited' = 'starting';
  private readonly child: ChildProcess;
  private current: { id: number; task: ProcessTask; deadline: NodeJS.Timeout } | undefined;
  private nextId = 1;
  private startupTimer: NodeJS.Timeout | undefined;
  private fatal: string | undefined;
  private deadlineHit = false;
  private problem: string | undefined;
  private stderrTail = '';
  private readonly exitedPromise: Promise<void>;

  constructor(
    private readonly settings: ProcessSettings,
    private readonly events: ProcessEvents,
  ) {
    this.child = fork(CHILD_ENTRY, [], {
      // No secrets and no configuration of the runtime reach the sandbox process.
      env: {},
      execArgv: ['--no-node-snapshot', '--import', tsxLoader()],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.exitedPromise = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    // Kept for diagnostics only; the process handle decides what keeps the runtime alive.
    (this.child.stderr as Socket | null)?.unref();
    this.child.on('message', (raw) => this.onMessage(raw));
    this.child.on('error', (err) => this.fail(`sandbox process error: ${errorMessage(err)}`));
    this.child.on('exit', (code, signal) => this.onExit(code, signal));
    this.startupTimer = setTimeout(
      () => this.fail(`sandbox process not ready within ${settings.startupTimeoutMs} ms`),
      settings.startupTimeoutMs,
    );
  }

  /** Starts a job; the process must be idle. */
  run(task: ProcessTask): void {
    if (this.state !== 'idle') throw new Error(`sandbox process is ${this.state}, not idle`);
    this.state = 'busy';
    this.setRef(true);
    const id = this.nextId++;
    const limitMs = task.job.limits.wallMs + this.settings.killGraceMs;
    const deadline = setTimeout(() => {
      this.deadlineHit = true;
      this.kill();
    }, limitMs);
    this.current = { id, task, deadline };
    const message: ParentMessage = { type: 'run', id, job: task.job, watchdogIntervalMs: this.settings.watchdogIntervalMs };
    try {
      this.child.send(message, (err) => {
        if (err) this.fail(`could not send the job: ${err.message}`);
      });
    } catch (err) {
      this.fail(`could not send the job: ${errorMessage(err)}`);
    }
  }

  /** Closes the channel, which ends the process; kills it if it lingers. */
  async stop(graceMs: number): Promise<void> {
    if (this.state === 'exited') return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exitedPromise;
    clearTimeout(timer);
  }

  private onMessage(raw: unknown): void {
    let parsed;
    try {
      parsed = ChildMessageSchema.safeParse(raw);
    } catch (err) {
      // A process that ran hostile code may send anything, even JSON deep enough to
      // overflow the validator's stack; that must not reach the runtime's event loop.
      return this.fail(`sandbox process sent an unreadable message: ${errorMessage(err)}`);
    }
    if (!parsed.success) return this.fail('sandbox process sent a malformed message');
    const message = parsed.data;
    if (message.type === 'fatal') {
      this.fatal = message.message;
    } else if (message.type === 'ready' && this.state === 'starting') {
      clearTimeout(this.startupTimer);
      this.becomeIdle();
    } else if (message.type === 'result' && this.current?.id === message.id) {
      const { task, deadline } = this.current;
      clearTimeout(deadline);
      this.current = undefined;
      this.becomeIdle();
      task.done(message.outcome);
    } else {
      this.fail(`sandbox process sent an unexpected ${message.type} message`);
    }
  }

  private becomeIdle(): void {
    this.state = 'idle';
    // An idle sandbox must not keep the runtime's process alive on its own.
    this.setRef(false);
    this.events.idle(this);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.state === 'exited') return;
    const wasStarting = this.state === 'starting';
    this.state = 'exited';
    clearTimeout(this.startupTimer);
    const how = `sandbox process exited (${signal ?? `code ${code}`})`;
    const detail = [this.problem, how, this.stderrTail.trim().split('\n').slice(-5).join(' | ')].filter(Boolean).join('; ');
    if (this.current) {
      const { task, deadline } = this.current;
      clearTimeout(deadline);
      this.current = undefined;
      task.done(lostOutcome(this.lossError(task.job, detail)));
    }
    this.events.exited(this, wasStarting ? new SandboxInternalError(`sandbox process failed to start: ${detail}`) : undefined);
  }

  private lossError(job: IsolateJob, detail: string): SandboxError {
    if (this.fatal?.includes('out-of-memory')) {
      return new SandboxMemoryLimitError(`the script used more than ${job.limits.memoryMb} MB (${this.fatal}; sandbox process replaced)`);
    }
    if (this.deadlineHit) {
      return new SandboxTimeoutError(`no result within ${job.limits.wallMs} ms + ${this.settings.killGraceMs} ms grace; sandbox process killed`);
    }
    return new SandboxInternalError(this.fatal ? `${this.fatal}; ${detail}` : detail);
  }

  private fail(problem: string): void {
    this.problem ??= problem;
    this.kill();
  }

  private kill(): void {
    if (this.state !== 'exited') this.child.kill('SIGKILL');
  }

  private setRef(ref: boolean): void {
    const channel = this.child.channel as { ref(): void; unref(): void } | null | undefined;
    if (ref) {
      this.child.ref();
      channel?.ref();
    } else {
      this.child.unref();
      channel?.unref();
    }
  }
}

/** A failed outcome for a job whose process is gone. */
export function lostOutcome(error: SandboxError): IsolateOutcome {
  return { status: 'failed', reason: toReason(error), artifacts: [], logs: [], logsTruncated: false, isolateStartMs: 0, cpuMs: 0 };
}

let loader: string | undefined;
function tsxLoader(): string {
  // Resolved to a file URL so the process does not depend on its working directory.
  loader ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return loader;
}
