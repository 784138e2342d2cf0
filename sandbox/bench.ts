/**
 * A throughput benchmark of the sandbox: many small `parse_csv` jobs through one
 * runner, after a warm-up that starts every sandbox process.
 */
import { availableParallelism } from 'node:os';
import { createScriptRunner } from './script-runner.ts';
import type { ScriptJob, ScriptResult } from './schemas.ts';

const CSV = 'name,email,phone\r\nAda,ada@example.com,555-010-0001\r\nBob,bob@example.com,555-010-0002\r\nAda L,ADA@example.com,\r\n';
const JOB: ScriptJob = { kind: 'template', template: 'parse_csv', params: {}, inputs: [{ kind: 'csv', name: 'contacts.csv', text: CSV }] };

/**
 * Runs `jobs` jobs with `concurrency` in flight, on min(concurrency, cores) sandbox processes.
 * @example
 * const { jobsPerSecond } = await benchSandbox({ jobs: 500, concurrency: 4 });
 */
export async function benchSandbox(opts: { jobs: number; concurrency: number }): Promise<{
  jobsPerSecond: number;
  isolateStartMsP50: number;
  isolateStartMsP99: number;
}> {
  if (!(opts.jobs >= 1 && opts.concurrency >= 1)) throw new RangeError('jobs and concurrency must be at least 1');
  const processes = Math.min(opts.concurrency, availableParallelism());
  const runner = createScriptRunner({ processes, maxQueuedJobs: Math.max(1000, opts.concurrency) });
  try {
    await Promise.all(Array.from({ length: processes }, () => runChecked(runner.run(JOB))));
    const starts: number[] = [];
    let next = 0;
    const began = performance.now();
    const lane = async (): Promise<void> => {
      while (next < opts.jobs) {
        next += 1;
        starts.push((await runChecked(runner.run(JOB))).timing.isolateStartMs);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, lane));
    const seconds = (performance.now() - began) / 1000;
    starts.sort((a, b) => a - b);
    return { jobsPerSecond: opts.jobs / seconds, isolateStartMsP50: quantile(starts, 0.5), isolateStartMsP99: quantile(starts, 0.99) };
  } finally {
    await runner.close();
  }
}

async function runChecked(pending: Promise<ScriptResult>): Promise<ScriptResult> {
  const result = await pending;
  if (result.status !== 'succeeded') throw new Error(`bench job failed: ${result.reason.code} ${result.reason.message}`);
  return result;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
