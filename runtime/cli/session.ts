/**
 * How a CLI command gets a runtime: the configuration from the environment, a
 * quiet logger on stderr, and a runtime for the duration of the command.
 *
 * With PostgreSQL and NATS the command runs as a `client`: it reads the database
 * and sends through the bus, and the running `cadre start` nodes apply what it
 * sends; it never takes their partitions. Embedded, no other process can see the
 * in-process bus, so a command whose messages must be applied runs as a `node`
 * itself (and finds the data directory locked if a `cadre start` holds it).
 */
import { resolve } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type RuntimeConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createRuntime, type Runtime } from '../runtime.ts';

/** Reads and validates the configuration from the environment (a ConfigError names the variable). */
export function cliConfig(): RuntimeConfig {
  return loadConfig(process.env);
}

/**
 * The logger of one-shot commands: JSON lines on stderr so stdout stays the
 * command's output, at `error` unless CADRE_LOG_LEVEL says otherwise.
 */
export function commandLogger(config: RuntimeConfig): Logger {
  const level = process.env.CADRE_LOG_LEVEL ? config.logLevel : 'error';
  return pino({ name: 'cadre', level }, pino.destination({ dest: 2, sync: true }));
}

/** True when both PostgreSQL and NATS are configured: other processes can apply what this one sends. */
export function usesServices(config: RuntimeConfig): boolean {
  return Boolean(config.databaseUrl && config.natsUrl);
}

/** The database's host, port and name, without credentials. */
export function databaseHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'PostgreSQL (unparseable DATABASE_URL)';
  }
}

/** How this configuration runs, in words: `{ mode: 'embedded PGlite + in-process bus', store: 'data directory /x/.cadre' }`. */
export function describeSetup(config: RuntimeConfig): { mode: string; store: string } {
  const db = config.databaseUrl ? 'PostgreSQL' : 'embedded PGlite';
  const bus = config.natsUrl ? 'NATS JetStream' : 'in-process bus';
  const store = config.databaseUrl ? `database ${databaseHost(config.databaseUrl)}` : `data directory ${resolve(config.dataDir)}`;
  return { mode: `${db} + ${bus}`, store };
}

/** What a command needs from its runtime. */
export interface SessionOptions {
  /**
   * The command sends messages that must be applied before it ends (send, pause,
   * resume, stop, replay). Embedded, that makes this process a node.
   */
  applies?: boolean;
}

/**
 * Runs `fn` with a started runtime and stops it afterwards. A node settles first,
 * so what the command sent is applied and committed before the process exits.
 * @example await withRuntime({ applies: false }, (rt) => rt.operator.actor(address));
 */
export async function withRuntime<T>(opts: SessionOptions, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const config = cliConfig();
  const role = opts.applies && !usesServices(config) ? 'node' : 'client';
  const rt = createRuntime(config, { role, log: commandLogger(config), runsEffects: false });
  await rt.start();
  try {
    const result = await fn(rt);
    if (role === 'node') await rt.settle();
    return result;
  } finally {
    await rt.stop();
  }
}
