import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import { rm } from 'node:fs/promises';
import { NatsBus, Subjects } from '../../bus/index.ts';
import { createRuntime, loadConfig, ManualClock, type Clock, type EffectHandler, type Runtime, type RuntimeConfig } from '../../runtime/index.ts';
import { dealEntity, type EntityDefinition } from '../../machines/index.ts';
import { createTestDatabase, openTestPglite } from './db.ts';
import { counterEntity } from './machines.ts';
import type { AgentDefinition, Planner } from '../../agents/types.ts';
import { rulesPlanner } from '../../agents/planners/rules.ts';

/** NATS on this machine; tests make their own streams under a unique prefix. */
export const NATS_URL = process.env.CADRE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** One place for a test's runtimes: the same database and streams across restarts. */
export interface TestEnv {
  readonly backend: 'embedded' | 'services';
  readonly clock: ManualClock;
  /** The configuration every runtime of this env uses (plus overrides). */
  config(overrides?: Partial<RuntimeConfig>): RuntimeConfig;
  /**
   * Starts a runtime on this env; stopped by cleanup if still running. No department
   * agents run unless `agents` names them (the default of a real runtime is all five).
   */
  start(opts?: {
    clock?: Clock;
    entities?: EntityDefinition[];
    effects?: EffectHandler[];
    overrides?: Partial<RuntimeConfig>;
    agents?: readonly AgentDefinition[];
    planner?: Planner;
  }): Promise<Runtime>;
  /** Stops the runtimes, drops the database and deletes the streams. */
  cleanup(): Promise<void>;
}

/** Both ways Cadre runs, for `describe.each(runtimeBackends)`. */
export const runtimeBackends = [
  { name: 'embedded (PGlite + in-process bus)', make: () => makeEnv('embedded') },
  { name: 'services (PostgreSQL + NATS JetStream)', make: () => makeEnv('services') },
] as const;

/** Makes a test env of one backend. */
export async function makeEnv(backend: 'embedded' | 'services'): Promise<TestEnv> {
  const id = randomBytes(4).toString('hex');
  const clock = new ManualClock(Date.parse('2026-01-05T09:00:00Z'));
  const runtimes: Runtime[] = [];
  let base: Partial<RuntimeConfig>;
  let drop: () => Promise<void>;
  if (backend === 'embedded') {
    const opened = await openTestPglite();
    await opened.db.close();
    base = { dataDir: opened.dataDir! };
    drop = () => rm(opened.dataDir!, { recursive: true, force: true });
  } else {
    const db = await createTestDatabase();
    base = { databaseUrl: db.url, natsUrl: NATS_URL, subjectPrefix: `t${id}`, streamPrefix: `T${id}`, nodeId: `node-${id}` };
    drop = async () => {
      await deleteStreams(`T${id}`);
      await db.drop();
    };
  }
  const config = (overrides: Partial<RuntimeConfig> = {}) =>
    loadConfig({}, { partitions: 4, logLevel: 'silent', leaseTtlMs: 4000, leaseRenewMs: 500, ...base, ...overrides });
  return {
    backend,
    clock,
    config,
    async start(opts = {}) {
      const rt = createRuntime(config(opts.overrides), {
        clock: opts.clock ?? clock,
        entities: opts.entities ?? [dealEntity, counterEntity],
        effects: opts.effects,
        agents: opts.agents ?? [],
        planner: opts.planner ?? rulesPlanner,
      });
      await rt.start();
      runtimes.push(rt);
      return rt;
    },
    async cleanup() {
      for (const rt of runtimes) await rt.stop().catch(() => undefined);
      await drop();
    },
  };
}

/**
 * A test env made before each test and cleaned up after it, for use inside a
 * `describe`: `const env = useEnv(make);` then `await env.start()` in the tests.
 */
export function useEnv(make: () => Promise<TestEnv>): TestEnv {
  let current: TestEnv | undefined;
  beforeEach(async () => {
    current = await make();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const get = (): TestEnv => {
    if (!current) throw new Error('the test env exists only while a test runs');
    return current;
  };
  return {
    get backend() {
      return get().backend;
    },
    get clock() {
      return get().clock;
    },
    config: (overrides) => get().config(overrides),
    start: (opts) => get().start(opts),
    cleanup: () => get().cleanup(),
  };
}

/** Deletes the JetStream streams a test made under `streamPrefix`. */
export async function deleteStreams(streamPrefix: string): Promise<void> {
  const bus = new NatsBus(new Subjects('cleanup', 1), {
    servers: NATS_URL,
    streamPrefix,
    dedupeWindowMs: 120_000,
    ackWaitMs: 30_000,
    maxAckPending: 1000,
    eventsMaxAgeMs: 60_000,
  });
  await bus.start();
  await bus.destroyStreams();
  await bus.stop();
}

/** Polls `fn` until it returns a truthy value (real time; for work crossing processes or the bus). */
export async function eventually<T>(fn: () => Promise<T | undefined | false | null>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
