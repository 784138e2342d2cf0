/**
 * A process running a script job is killed (SIGKILL) mid-job; the runtime started
 * afterwards on the same database marks the job failed with SANDBOX_INTERRUPTED,
 * and the job's effect id can run it again. Asserts what was committed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, runtimeBackends, type TestEnv } from '../support/runtime.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-job.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe.each(runtimeBackends)('a script job whose process dies, on $name', ({ make }) => {
  let env: TestEnv;
  beforeEach(async () => {
    env = await make();
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('is marked failed (SANDBOX_INTERRUPTED) when the runtime starts again', async () => {
    // The schema first, as a node makes it; then the database is free for the child.
    await (await env.start()).stop();
    const config = env.config();
    const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CADRE_|DATABASE_URL$|NATS_URL$)/.test(k)));
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      cwd: ROOT,
      env: {
        ...childEnv,
        ...(config.databaseUrl ? { DATABASE_URL: config.databaseUrl } : { CADRE_DATA_DIR: config.dataDir }),
        CADRE_NODE_ID: config.nodeId,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      await eventually(async () => /running \S+\n/.test(stdout) || child.exitCode !== null, 30_000, 'the job running in the child');
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited, stderr).toBe('SIGKILL');
    const jobId = /running (\S+)\n/.exec(stdout)?.[1];
    expect(jobId, `${stdout}\n${stderr}`).toBeDefined();
    expect(stdout).not.toContain('finished');

    const rt = await env.start();
    const [row] = await rt.db.query(
      `SELECT id, status, reason_code, reason, reason_retryable, node_id, finished_at IS NOT NULL AS finished FROM script_jobs`,
    );
    expect(row).toEqual({
      id: jobId,
      status: 'failed',
      reason_code: 'SANDBOX_INTERRUPTED',
      reason: 'the runtime stopped while this job ran; run it again',
      reason_retryable: true,
      node_id: config.nodeId,
      finished: true,
    });

    // The interrupted job's effect id runs the same job again.
    const again = await rt.scripts.run('acme', { kind: 'custom', code: 'return "done"' }, { requestedBy: 'operator:crash-test', effectId: 'crash-1' });
    expect(again).toMatchObject({ id: jobId, status: 'succeeded', attempts: 2, output: 'done' });
  });
});
