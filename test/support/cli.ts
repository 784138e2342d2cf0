/**
 * Runs the `cadre` CLI as users do, `node bin/cadre.js ...` as child processes,
 * for the CLI tests: one-shot commands and a running `cadre start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** For commands that must fail before opening anything. */
export const NOWHERE = { CADRE_DATA_DIR: join(tmpdir(), 'cadre-cli-test-never-opened') };
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/cadre.js', import.meta.url));

export type Env = Record<string, string>;
export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The parent's environment without any Cadre setting, so only what a test gives applies. */
function cleanEnv(env: Env): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CADRE_|DATABASE_URL$|NATS_URL$|PORT$)/.test(k)));
  return { ...base, CADRE_PARTITIONS: '4', ...env };
}

function spawnCli(args: string[], env: Env): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs one CLI command to its end. */
export function cadre(env: Env, ...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a command that must succeed and returns its stdout (the whole result in the failure message otherwise). */
export async function ok(env: Env, ...args: string[]): Promise<string> {
  const r = await cadre(env, ...args);
  expect(r, `cadre ${args.join(' ')}`).toMatchObject({ code: 0 });
  return r.stdout;
}

/** Runs a `--json` command that must succeed and parses its output. */
export async function json<T = Record<string, unknown>>(env: Env, ...args: string[]): Promise<T> {
  return JSON.parse(await ok(env, ...args, '--json')) as T;
}

/** A running `cadre start`: its output so far, and a way to stop it with a signal. */
export interface Node {
  stdout(): string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export async function startNode(env: Env): Promise<Node> {
  // Port 0: each node's gateway takes a free port, so nodes of concurrent tests never collide.
  const child = spawnCli(['start'], { CADRE_LOG_LEVEL: 'warn', PORT: '0', CADRE_HOST: '127.0.0.1', ...env });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + 30_000;
  while (!stdout.includes('Cadre is running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`cadre start did not come up (exit ${child.exitCode}):\n${stdout}\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    stdout: () => stdout,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      const timeout = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const result = await exited;
      clearTimeout(timeout);
      return { ...result, stderr };
    },
  };
}

// Each command is a new process that loads Cadre (and PGlite) afresh: about 1.5 s on an
// idle machine, a good deal more when the machine is busy with other test files.
export const SLOW = 150_000;

