import { afterAll, describe, expect, it } from 'vitest';
import { createScriptRunner, type Limits, type ScriptResult } from '../../sandbox/index.ts';

// Small limits keep the hostile cases quick.
const LIMITS = { cpuMs: 250, wallMs: 2000, memoryMb: 32 };
const runner = createScriptRunner({ processes: 2, limits: LIMITS, killGraceMs: 500 });
afterAll(() => runner.close());

interface Attack {
  name: string;
  code: string;
  limits?: Partial<Limits>;
  /** The reason code it must fail with, or 'succeeded' when it cannot do harm. */
  expect: string | string[];
  /** Further checks on the result. */
  check?: (result: ScriptResult) => void;
}

const ATTACKS: Attack[] = [
  // Reaching the host
  { name: 'require', code: "return require('fs').readFileSync('/etc/passwd', 'utf8')", expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'static import', code: "import fs from 'node:fs'; return fs", expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'dynamic import', code: "return (await import('node:child_process')).execSync('id').toString()", expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'import.meta', code: 'return import.meta.url', expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'process', code: 'return process.env', expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'constructor chain from this', code: "return this.constructor.constructor('return process')().env", expect: 'SANDBOX_SCRIPT_ERROR' },
  {
    name: 'constructor chain from an error',
    code: "try { null.x } catch (e) { return e.constructor.constructor('return process')().mainModule.require('fs') }",
    expect: 'SANDBOX_SCRIPT_ERROR',
  },
  { name: 'constructor chain from an async function', code: "return (async () => {}).constructor('return process')()", expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'constructor chain from the api', code: "return api.artifact.constructor('return process.binding')()", expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'eval', code: "return eval('process.exit(1)')", expect: 'SANDBOX_SCRIPT_ERROR' },
  {
    name: 'globalThis probing',
    code: `const names = Reflect.ownKeys(globalThis).map(String);
           const hidden = ['$0', '$1', '$2', 'hostLog', 'payload', 'collect', 'require', 'module', 'process', 'global', 'Buffer', 'fetch', 'performance']
             .filter((n) => { try { return eval('typeof ' + n) !== 'undefined'; } catch { return true; } });
           return { names, hidden };`,
    expect: 'succeeded',
    check: (r) => {
      if (r.status !== 'succeeded') throw new Error(r.reason.message);
      const output = r.output as { names: string[]; hidden: string[] };
      expect(output.hidden).toEqual([]);
      for (const banned of ['process', 'require', 'setTimeout', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'Intl', 'WeakRef']) {
        expect(output.names).not.toContain(banned);
      }
    },
  },
  // Timers and clocks
  { name: 'setTimeout', code: 'setTimeout(() => {}, 0); return 1', expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'setInterval', code: 'setInterval(() => {}, 1); return 1', expect: 'SANDBOX_SCRIPT_ERROR' },
  {
    name: 'timer functions of any kind',
    code: 'return [typeof setTimeout, typeof setInterval, typeof setImmediate, typeof queueMicrotask, typeof requestAnimationFrame]',
    expect: 'succeeded',
    check: (r) => expect(r).toMatchObject({ output: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined'] }),
  },
  { name: 'reading the clock', code: 'return [Date.now(), new Date()]', expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'the clock through the Date prototype', code: 'return new (new Date(0).constructor)().getTime()', expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'SharedArrayBuffer and Atomics.wait', code: 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return 1', expect: 'SANDBOX_SCRIPT_ERROR' },
  {
    name: 'WebAssembly to burn time',
    code: 'return new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])))',
    expect: 'SANDBOX_SCRIPT_ERROR',
  },
  // Exhausting CPU and time
  { name: 'infinite loop', code: 'for (;;) {}', expect: 'SANDBOX_CPU_LIMIT' },
  { name: 'infinite async loop', code: 'for (;;) await null;', expect: 'SANDBOX_CPU_LIMIT' },
  { name: 'microtask loop after returning', code: 'const f = () => Promise.resolve().then(f); f(); return 1', expect: 'SANDBOX_CPU_LIMIT' },
  { name: 'promise flood', code: 'for (let i = 0; i < 1e8; i++) Promise.resolve(i).then((x) => x); return 1', expect: ['SANDBOX_CPU_LIMIT', 'SANDBOX_MEMORY_LIMIT'] },
  { name: 'pending promise flood', code: 'const all = []; for (;;) all.push(new Promise(() => {}));', expect: ['SANDBOX_CPU_LIMIT', 'SANDBOX_MEMORY_LIMIT'] },
  { name: 'wall clock with CPU to spare', code: 'for (;;) {}', limits: { cpuMs: 5000, wallMs: 300 }, expect: 'SANDBOX_TIMEOUT' },
  { name: 'a promise that never settles', code: 'await new Promise(() => {}); return 1', expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'a thenable that never calls back', code: 'return { then() {} }', expect: 'SANDBOX_SCRIPT_ERROR' },
  { name: 'a thenable that calls back', code: 'return { then(resolve) { resolve(7) } }', expect: 'succeeded', check: (r) => expect(r).toMatchObject({ output: 7 }) },
  { name: 'deep recursion', code: 'const f = (n) => f(n + 1) + 1; return f(0)', expect: 'SANDBOX_SCRIPT_ERROR' },
  // Exhausting memory
  { name: 'array growth', code: 'const a = []; for (;;) a.push(new Array(1e5).fill(1));', limits: { cpuMs: 5000, wallMs: 10_000 }, expect: 'SANDBOX_MEMORY_LIMIT' },
  { name: 'string doubling', code: "let s = 'x'; for (;;) s += s;", expect: 'SANDBOX_MEMORY_LIMIT' },
  // One huge allocation makes v8 give up on the isolate; its process is replaced.
  { name: 'one huge array', code: 'return new Array(1e8).fill(0).length', limits: { cpuMs: 5000, wallMs: 10_000 }, expect: 'SANDBOX_MEMORY_LIMIT' },
  { name: 'huge typed array', code: 'return new Float64Array(2e8).length', expect: 'SANDBOX_MEMORY_LIMIT' },
  // Flooding the way out
  { name: 'huge output', code: "return 'x'.repeat(2 * 1024 * 1024)", expect: 'SANDBOX_OUTPUT_TOO_LARGE' },
  { name: 'huge output through toJSON', code: "return { toJSON() { return 'y'.repeat(3e6) } }", expect: 'SANDBOX_OUTPUT_TOO_LARGE' },
  {
    name: 'huge console output',
    code: "for (let i = 0; i < 100000; i++) console.log('line ' + i); console.log('x'.repeat(1e7)); return 'done'",
    expect: 'succeeded',
    check: (r) => {
      expect(r.logsTruncated).toBe(true);
      expect(r.logs.length).toBeLessThanOrEqual(1001);
      expect(r.logs.reduce((n, l) => n + l.text.length, 0)).toBeLessThanOrEqual(64 * 1024 + 100);
    },
  },
  { name: 'gigantic artifact', code: "api.artifact('a.txt', 'text/plain', 'x'.repeat(5e6)); return 1", expect: 'SANDBOX_OUTPUT_TOO_LARGE' },
  {
    name: 'thousands of artifacts, errors swallowed',
    code: "for (let i = 0; i < 5000; i++) { try { api.artifact('a' + i + '.txt', 'text/plain', 'x') } catch {} } return 'ok'",
    expect: 'SANDBOX_OUTPUT_TOO_LARGE',
  },
  { name: 'artifact with non-string arguments', code: "api.artifact({ toString() { return 'a' } }, 1, null); return 1", expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'artifact with a path for a name', code: "api.artifact('../../etc/passwd', 'text/plain', 'x'); return 1", expect: 'SANDBOX_BAD_OUTPUT' },
  {
    name: 'log with hostile arguments',
    code: "api.log(new Proxy({}, { get() { throw new Error('trap') }, ownKeys() { throw new Error('trap') } }), Symbol('s'), 10n); return 1",
    expect: 'succeeded',
    check: (r) => expect(r.logs).toHaveLength(1),
  },
  // Hostile return values
  { name: 'returning a function', code: 'return () => process', expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'returning a symbol', code: "return Symbol('x')", expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'returning a cycle', code: 'const a = {}; a.self = a; return a', expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'returning a throwing getter', code: "return { get x() { throw new Error('gotcha') } }", expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'returning a proxy', code: "return new Proxy({}, { ownKeys() { throw new Error('trap') } })", expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'returning a BigInt', code: 'return 10n', expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'returning deep nesting', code: 'let o = {}; for (let i = 0; i < 150; i++) o = { o }; return o', expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'poisoning JSON for the wrapper', code: "Object.prototype.toJSON = function () { return 'pwned' }; return { a: 1 }", expect: 'SANDBOX_BAD_OUTPUT' },
  { name: 'throwing a non-Error', code: 'throw 42', expect: 'SANDBOX_SCRIPT_ERROR' },
  {
    name: 'throwing a fake reason',
    code: "throw { code: 'SANDBOX_TIMEOUT', message: 'fake' }",
    expect: 'SANDBOX_SCRIPT_ERROR',
    check: (r) => expect(r.status === 'failed' && r.reason.message).toMatch(/^NonError: threw a non-Error value/),
  },
  { name: 'an error whose message never ends', code: "const e = new Error(); Object.defineProperty(e, 'message', { get() { for (;;) {} } }); throw e", expect: 'SANDBOX_CPU_LIMIT' },
];

describe('hostile scripts are contained', () => {
  it('has at least 25 attacks', () => {
    expect(ATTACKS.length).toBeGreaterThanOrEqual(25);
  });

  it.each(ATTACKS)('$name', async (attack) => {
    const result = await runner.run({ kind: 'custom', code: attack.code, ...(attack.limits ? { limits: attack.limits } : {}) });
    const got = result.status === 'failed' ? result.reason.code : 'succeeded';
    const allowed = Array.isArray(attack.expect) ? attack.expect : [attack.expect];
    expect(allowed, `got ${got}: ${result.status === 'failed' ? result.reason.message : ''}`).toContain(got);
    attack.check?.(result);
  });
});

describe('values returned to the host', () => {
  const before = Object.getOwnPropertyNames(Object.prototype).sort();

  it('cannot pollute prototypes through __proto__ or constructor.prototype', async () => {
    const result = await runner.run({
      kind: 'custom',
      code: `Object.prototype.insideOnly = 1;
             const viaDefine = {};
             Object.defineProperty(viaDefine, '__proto__', { value: { polluted: 1 }, enumerable: true });
             return { parsed: JSON.parse('{"__proto__": {"polluted": 1}, "a": 1}'), viaDefine,
                      constructor: { prototype: { polluted: 1 } }, list: [{ __proto__: { polluted: 1 } }] };`,
    });
    expect(result.status).toBe('succeeded');
    if (result.status !== 'succeeded') throw new Error(result.reason.message);
    const output = result.output as Record<string, unknown>;
    expect(output).toEqual({ parsed: { a: 1 }, viaDefine: {}, constructor: { prototype: { polluted: 1 } }, list: [{}] });
    expect(Object.getPrototypeOf(output.parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(output.parsed as object, '__proto__')).toBe(false);
    const probe: Record<string, unknown> = {};
    expect(probe.polluted).toBeUndefined();
    expect(probe.insideOnly).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });
});

describe('the host keeps working meanwhile', () => {
  it('ticks and finishes a good job while an infinite loop runs', async () => {
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 5);
    try {
      const startedAt = performance.now();
      const bad = runner.run({ kind: 'custom', code: 'for (;;) {}', limits: { cpuMs: 1000, wallMs: 3000 } });
      const good = await runner.run({ kind: 'custom', code: 'let s = 0; for (let i = 0; i < 1000; i++) s += i; return s' });
      const goodDoneAt = performance.now();
      const badResult = await bad;
      const badDoneAt = performance.now();
      expect(good).toMatchObject({ status: 'succeeded', output: 499500 });
      expect(badResult).toMatchObject({ status: 'failed', reason: { code: 'SANDBOX_CPU_LIMIT' } });
      expect(goodDoneAt).toBeLessThan(badDoneAt);
      // The event loop never stalled while the isolate looped for a second of CPU:
      // timer callbacks kept coming, with no gap anywhere near that second.
      const during = [startedAt, ...ticks.filter((t) => t <= badDoneAt), badDoneAt];
      const longestGap = Math.max(...during.slice(1).map((t, i) => t - during[i]!));
      expect(badDoneAt - startedAt).toBeGreaterThan(900);
      expect(ticks.length).toBeGreaterThan(20);
      expect(longestGap).toBeLessThan(300);
    } finally {
      clearInterval(timer);
    }
  });
});
