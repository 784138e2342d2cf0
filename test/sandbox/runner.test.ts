import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ScriptJobSchema,
  ScriptResultSchema,
  SandboxClosedError,
  SandboxOptionsError,
  benchSandbox,
  createScriptRunner,
  type ScriptJob,
  type ScriptResult,
} from '../../sandbox/index.ts';

const START = Date.parse('2030-01-02T03:04:05.000Z');
const runner = createScriptRunner({ processes: 2, clock: () => START, maxInputBytes: 64 * 1024 });
afterAll(() => runner.close());

const custom = (code: string, extra: Partial<Extract<ScriptJob, { kind: 'custom' }>> = {}): ScriptJob => ({ kind: 'custom', code, ...extra });

function failedCode(result: ScriptResult): string | undefined {
  return result.status === 'failed' ? result.reason.code : undefined;
}

describe('custom scripts', () => {
  it('get params and copied inputs of every kind, and return output, artifacts and logs', async () => {
    const result = await runner.run(
      custom(
        `const [text, csv, json, file, binary] = inputs;
         console.info('starting', params.label);
         api.log('rows', api.parseCsv(csv.text).rows.length);
         api.artifact('summary.txt', 'text/plain', text.text.toUpperCase());
         return {
           output: { label: params.label, json: json.value, file: file.text, mediaType: binary.mediaType,
                     bytes: Array.from(binary.bytes), isBytes: binary.bytes instanceof Uint8Array },
           artifacts: [{ name: 'table.csv', mediaType: 'text/csv', text: api.toCsv(['a'], [['x,y']]) }],
         };`,
        {
          params: { label: 'demo' },
          inputs: [
            { kind: 'text', name: 'note.txt', text: 'hello' },
            { kind: 'csv', name: 'c.csv', text: 'a,b\n1,2\n3,4\n' },
            { kind: 'json', name: 'j.json', value: { n: [1, 2] } },
            { kind: 'file', name: 'f.md', mediaType: 'text/markdown', text: '# hi' },
            { kind: 'file', name: 'b.bin', base64: Buffer.from([0, 1, 254, 255]).toString('base64') },
          ],
        },
      ),
    );
    expect(result).toMatchObject({
      status: 'succeeded',
      output: { label: 'demo', json: { n: [1, 2] }, file: '# hi', mediaType: 'application/octet-stream', bytes: [0, 1, 254, 255], isBytes: true },
      artifacts: [
        { name: 'summary.txt', mediaType: 'text/plain', text: 'HELLO' },
        { name: 'table.csv', mediaType: 'text/csv', text: 'a\r\n"x,y"\r\n' },
      ],
      logs: [
        { level: 'info', text: 'starting demo' },
        { level: 'log', text: 'rows 2' },
      ],
      logsTruncated: false,
    });
    expect(result.timing.startedAt).toBe('2030-01-02T03:04:05.000Z');
    expect(result.timing.isolateStartMs).toBeGreaterThan(0);
    expect(result.timing.cpuMs).toBeGreaterThan(0);
    expect(result.timing.wallMs).toBeGreaterThanOrEqual(result.timing.isolateStartMs);
    expect(result.heapUsedBytes).toBeGreaterThan(0);
    // Results survive a round trip through storage.
    expect(ScriptResultSchema.parse(JSON.parse(JSON.stringify(result)))).toEqual(result);
  });

  it('treats anything but an { output, artifacts? } object as the output itself', async () => {
    const plain = await runner.run(custom('return { output: 1, extra: true }'));
    expect(plain).toMatchObject({ status: 'succeeded', output: { output: 1, extra: true } });
    const none = await runner.run(custom('params.x = 1;'));
    expect(none.status).toBe('succeeded');
    expect(none).not.toHaveProperty('output');
  });

  it('reports syntax errors and thrown errors as SANDBOX_SCRIPT_ERROR', async () => {
    const syntax = await runner.run(custom('return {'));
    expect(syntax).toMatchObject({ status: 'failed', reason: { code: 'SANDBOX_SCRIPT_ERROR', retryable: false } });
    expect(syntax.status === 'failed' && syntax.reason.message).toMatch(/^SyntaxError/);
    const thrown = await runner.run(custom("console.error('about to fail'); throw new TypeError('nope')"));
    expect(thrown).toMatchObject({
      status: 'failed',
      reason: { code: 'SANDBOX_SCRIPT_ERROR', message: 'TypeError: nope' },
      logs: [{ level: 'error', text: 'about to fail' }],
    });
  });

  it('bounds logs by lines and bytes and marks the truncation', async () => {
    const byLines = await runner.run(custom('for (let i = 0; i < 10; i++) console.log(i); return 1', { limits: { maxLogLines: 3 } }));
    expect(byLines.logs.map((l) => l.text)).toEqual(['0', '1', '2', '[sandbox] logs truncated (limits: 3 lines, 65536 bytes)']);
    expect(byLines.logsTruncated).toBe(true);
    const byBytes = await runner.run(custom("console.log('é'.repeat(10)); return 1", { limits: { maxLogBytes: 5 } }));
    expect(byBytes.logs[0]).toEqual({ level: 'log', text: 'éé' });
    expect(byBytes.logsTruncated).toBe(true);
  });
});

describe('job validation', () => {
  it('refuses bad params, unknown templates and malformed jobs without running them', async () => {
    const cases: Array<[unknown, string]> = [
      [{ kind: 'template', template: 'parse_csv', params: { header: 'yes' } }, 'SANDBOX_BAD_PARAMS'],
      [{ kind: 'template', template: 'engagement_compliance_report', params: {} }, 'SANDBOX_BAD_PARAMS'],
      [{ kind: 'custom', code: 'return 1', params: { f: () => 1 } }, 'SANDBOX_BAD_PARAMS'],
      [{ kind: 'template', template: 'rm_rf', params: {} }, 'SANDBOX_UNKNOWN_TEMPLATE'],
      [{ kind: 'custom' }, 'SANDBOX_BAD_JOB'],
      [{ kind: 'shell', code: 'ls' }, 'SANDBOX_BAD_JOB'],
      [custom('return 1', { limits: { cpuMs: 60_000 } }), 'SANDBOX_BAD_JOB'],
      [custom('return 1', { inputs: [{ kind: 'file', name: 'x', base64: 'not base64!' }] }), 'SANDBOX_BAD_JOB'],
      [custom('return 1', { inputs: [{ kind: 'file', name: 'x', text: 'a', base64: 'AA==' }] }), 'SANDBOX_BAD_JOB'],
      [custom('return 1', { inputs: [{ kind: 'text', name: 'big', text: 'x'.repeat(70_000) }] }), 'SANDBOX_BAD_JOB'],
    ];
    for (const [job, code] of cases) {
      const result = await runner.run(job as ScriptJob);
      expect([code, failedCode(result)]).toEqual([code, code]);
      expect(result.timing).toMatchObject({ startedAt: '2030-01-02T03:04:05.000Z', cpuMs: 0, isolateStartMs: 0 });
    }
  });

  it('exports a job schema that applies defaults', () => {
    expect(ScriptJobSchema.parse({ kind: 'custom', code: 'return 1' })).toEqual({ kind: 'custom', code: 'return 1', params: {}, inputs: [] });
  });
});

describe('runner lifecycle', () => {
  it('rejects invalid options by name', () => {
    expect(() => createScriptRunner({ processes: 0 })).toThrow(SandboxOptionsError);
    expect(() => createScriptRunner({ limits: { memoryMb: 512 } })).toThrow(/limits.memoryMb is above maxLimits.memoryMb/);
    expect(() => createScriptRunner({ limits: { cpuMs: -1 } })).toThrow(/limits.cpuMs/);
  });

  it('answers SANDBOX_BUSY past the queue bound', async () => {
    const small = createScriptRunner({ processes: 1, maxQueuedJobs: 1 });
    try {
      const first = small.run(custom('return 1'));
      const second = await small.run(custom('return 2'));
      expect(second).toMatchObject({ status: 'failed', reason: { code: 'SANDBOX_BUSY', retryable: true } });
      expect(await first).toMatchObject({ status: 'succeeded', output: 1 });
    } finally {
      await small.close();
    }
  });

  it('drains running jobs on close, is safe to close twice and refuses jobs afterwards', async () => {
    const own = createScriptRunner({ processes: 1 });
    const running = own.run(custom('let n = 0; for (let i = 0; i < 1e6; i++) n += i; return n'));
    const closing = own.close();
    expect(await running).toMatchObject({ status: 'succeeded', output: 499999500000 });
    await closing;
    await own.close();
    await expect(own.run(custom('return 1'))).rejects.toThrow(SandboxClosedError);
  });

  it('does not keep the host process alive while idle', async () => {
    const sandbox = new URL('../../sandbox/index.ts', import.meta.url).href;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const script = `import { createScriptRunner } from ${JSON.stringify(sandbox)};
      const result = await createScriptRunner({ processes: 1 }).run({ kind: 'custom', code: 'return 6 * 7' });
      console.log(JSON.stringify(result.output));`;
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('42');
  });

  it('benchmarks itself', async () => {
    const bench = await benchSandbox({ jobs: 20, concurrency: 2 });
    expect(bench.jobsPerSecond).toBeGreaterThan(0);
    expect(bench.isolateStartMsP99).toBeGreaterThanOrEqual(bench.isolateStartMsP50);
    expect(bench.isolateStartMsP50).toBeGreaterThan(0);
  });
});
