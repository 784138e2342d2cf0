/**
 * Entry point of a sandbox process, forked by the script runner's pool with
 * `--no-node-snapshot` (isolated-vm on Node 20+ needs it) and an empty environment.
 * It runs one job at a time, each in a fresh isolate, and reports back over IPC.
 *
 * Isolates live here rather than in the runtime's process because v8 cannot always
 * recover from an isolate running out of memory (isolated-vm's README): a large
 * enough allocation ends in `onCatastrophicError`, after which this process kills
 * itself and the pool starts another.
 */
import { runInIsolate } from './runner.ts';
import { errorMessage, SandboxInternalError, toReason } from './errors.ts';
import { ParentMessageSchema, type ChildMessage, type IsolateOutcome } from './protocol.ts';

function send(message: ChildMessage, then?: () => void): void {
  process.send!(message, undefined, {}, () => then?.());
}

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

function onCatastrophicError(message: string): void {
  // The isolate's thread is lost and its memory with it: tell the runner, then go.
  // The timer covers an IPC channel that never drains.
  setTimeout(die, 1000).unref();
  send({ type: 'fatal', message }, die);
}

async function handle(raw: unknown): Promise<void> {
  const parsed = ParentMessageSchema.safeParse(raw);
  if (!parsed.success) {
    // Only the runner talks to this process; anything else is a bug worth a crash.
    throw new Error(`sandbox process got a malformed message: ${parsed.error.message.slice(0, 500)}`);
  }
  const { id, job, watchdogIntervalMs } = parsed.data;
  let outcome: IsolateOutcome;
  try {
    outcome = await runInIsolate(job, { onCatastrophicError, watchdogIntervalMs });
  } catch (err) {
    const reason = toReason(new SandboxInternalError(`sandbox process failed: ${errorMessage(err)}`, err));
    outcome = { status: 'failed', reason, artifacts: [], logs: [], logsTruncated: false, isolateStartMs: 0, cpuMs: 0 };
  }
  send({ type: 'result', id, outcome });
}

if (process.send === undefined) {
  console.error('sandbox/child.ts is started by the script runner, over IPC');
  process.exit(2);
}
process.on('message', (raw) => {
  handle(raw).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
// The runner closes the channel to stop this process.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
