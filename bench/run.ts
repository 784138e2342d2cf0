/**
 * `npm run bench`: Cadre's speed and memory, end to end, on embedded (PGlite + the
 * in-process bus) and on PostgreSQL + NATS JetStream, with the raw limits of the
 * same machine measured in the same run. Options: --actors, --events, --inflight,
 * --rate (open-loop offered load), --mode embedded|services|gate|agents|both, --dormant.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { NatsBus, Subjects } from '../bus/index.ts';
import { createRuntime, loadConfig } from '../runtime/index.ts';
import { busClient, closedLoop, openLoop, percentiles, type SendFn } from './load.ts';
import { rawJetStream, rawPostgres } from './raw.ts';
import { benchEntity } from './machine.ts';

const { values: opt } = parseArgs({
  options: {
    actors: { type: 'string', default: '1000' },
    events: { type: 'string', default: '20000' },
    inflight: { type: 'string', default: '32' },
    rate: { type: 'string', default: '2000' },
    mode: { type: 'string', default: 'both' },
    dormant: { type: 'string', default: '200' },
  },
});
const K = Number(opt.actors);
const N = Number(opt.events);
const INFLIGHT = Number(opt.inflight);
const RATE = Number(opt.rate);
const DORMANT = Number(opt.dormant);
const PG_ADMIN = process.env.CADRE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

type Report = Record<string, unknown>;

/** The measurements both modes share, given a way to send and to query the host. */
async function measure(send: SendFn, host: { memory(): Promise<{ rss: number; heapUsed: number; active: number }>; passivate(): Promise<void>; stats(): Promise<Report>; coreSend?: SendFn }): Promise<Report> {
  await closedLoop(send, { actors: 200, events: 2000, inflight: INFLIGHT, keyPrefix: 'warm-' }); // JIT warm-up
  const job = await closedLoop(send, { actors: K, events: N, inflight: INFLIGHT, keyPrefix: 'A-' });
  const stats = await host.stats();
  const coreJob = host.coreSend ? await closedLoop(host.coreSend, { actors: K, events: N, inflight: INFLIGHT, keyPrefix: 'A-' }) : undefined;
  const open = await openLoop(send, { actors: K, rate: RATE, seconds: 5, keyPrefix: 'A-' });

  const before = await host.memory();
  await closedLoop(send, { actors: 10_000, events: 10_000, inflight: 64, keyPrefix: 'M-' });
  const after = await host.memory();
  const per10k = (bytes: number) => round(((bytes / (after.active - before.active)) * 10_000) / 2 ** 20);

  await host.passivate();
  const cold: number[] = [];
  for (let i = 0; i < DORMANT; i++) {
    const s = performance.now();
    await send(`M-${i}`, 1);
    cold.push(performance.now() - s);
  }
  const warm: number[] = [];
  for (let i = 0; i < DORMANT; i++) {
    const s = performance.now();
    await send(`M-${i}`, 2);
    warm.push(performance.now() - s);
  }
  return {
    job: { actors: K, events: N, inflight: INFLIGHT, transitionsPerSecond: round(job.perSecond), p50ms: round(job.p50), p99ms: round(job.p99), maxms: round(job.max) },
    ...(coreJob
      ? { jobCorePublish: { transitionsPerSecond: round(coreJob.perSecond), p50ms: round(coreJob.p50), p99ms: round(coreJob.p99), maxms: round(coreJob.max) } }
      : {}),
    commits: stats,
    openLoop: { offeredPerSecond: RATE, p50ms: round(open.p50), p99ms: round(open.p99), maxms: round(open.max) },
    // Heap after a full GC is the stable figure; RSS also moves with allocator pools.
    memory: { heapMiBPer10kActive: per10k(after.heapUsed - before.heapUsed), rssMiBPer10kActive: per10k(after.rss - before.rss), activeAfter: after.active },
    activation: { dormantP50ms: round(percentiles(cold).p50), dormantP99ms: round(percentiles(cold).p99), warmP50ms: round(percentiles(warm).p50) },
  };
}

async function services(): Promise<Report> {
  const id = randomBytes(4).toString('hex');
  const dbName = `cadre_bench_${id}`;
  const admin = postgres(PG_ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${dbName}`);
  const url = PG_ADMIN.replace(/\/[^/]*$/, `/${dbName}`);
  const prefix = `bench${id}`;
  const env = { ...process.env, DATABASE_URL: url, NATS_URL: NATS, CADRE_SUBJECT_PREFIX: prefix, CADRE_STREAM_PREFIX: `BENCH${id}`, CADRE_LOG_LEVEL: 'warn', CADRE_NODE_ID: `bench-${id}` };
  const child = fork(new URL('./host.ts', import.meta.url).pathname, { env, execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_HOST_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_HOST_PROF] : [])] });
  const subjects = new Subjects(prefix, loadConfig(env).partitions);
  const bus = new NatsBus(subjects, { servers: NATS, streamPrefix: `BENCH${id}`, dedupeWindowMs: 120_000, ackWaitMs: 30_000, maxAckPending: 1000, eventsMaxAgeMs: 3_600_000 });
  try {
    await waitFor(child, 'ready');
    await bus.start();
    const client = busClient(bus, (key) => subjects.mailbox({ tenant: 'bench', kind: 'bench', key }), 'bench', 'bench');
    const core = busClient(bus, (key) => subjects.mailbox({ tenant: 'bench', kind: 'bench', key }), 'bench', 'bench', 'core');
    const report = await measure(client.send, {
      coreSend: core.send,
      memory: async () => (child.send({ type: 'memory' }), (await waitFor(child, 'memory')) as { rss: number; heapUsed: number; active: number }),
      passivate: async () => void (child.send({ type: 'passivate' }), await waitFor(child, 'passivated')),
      stats: async () => {
        child.send({ type: 'stats' });
        const s = (await waitFor(child, 'stats')) as { commits: number; meanBatch: number };
        return { commits: s.commits, meanBatch: round(s.meanBatch) };
      },
    });
    client.close();
    core.close();
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
    const raw = { postgres: await rawPostgres(url), jetstream: await rawJetStream(bus, (i) => subjects.mailbox({ tenant: 'raw', kind: 'raw', key: `r${i % 100}` })) };
    return { ...report, raw: roundAll(raw) };
  } finally {
    child.kill('SIGKILL');
    await bus.destroyStreams().catch(() => undefined);
    await bus.stop();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

async function embedded(): Promise<Report> {
  const dir = await mkdtemp(join(tmpdir(), 'cadre-bench-'));
  const rt = createRuntime(loadConfig({}, { dataDir: dir, logLevel: 'warn' }), { entities: [benchEntity] });
  await rt.start();
  try {
    const client = busClient(rt.bus, (key) => rt.subjects.mailbox({ tenant: 'bench', kind: 'bench', key }), 'bench', 'bench');
    return await measure(client.send, {
      memory: async () => {
        globalThis.gc?.();
        const m = process.memoryUsage();
        return { rss: m.rss, heapUsed: m.heapUsed, active: rt.host.cells.size };
      },
      passivate: async () => void rt.host.cells.passivate(0),
      stats: async () => ({ commits: rt.host.stats.commits, meanBatch: round(rt.host.stats.committedMessages / rt.host.stats.commits) }),
    });
  } finally {
    await rt.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function waitFor(child: ChildProcess, type: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', onMsg);
      resolve(m);
    };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`bench host exited with ${code}`)));
  });
}

const round = (x: number) => Math.round(x * 100) / 100;
const roundAll = (o: Record<string, Record<string, number>>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([k2, x]) => [k2, round(x)]))]));

const results: Report = { at: new Date().toISOString(), node: process.version };
if (opt.mode === 'services' || opt.mode === 'both') {
  console.log(`PostgreSQL + NATS: ${K} actors, ${N} events, ${INFLIGHT} in flight ...`);
  results.services = await services();
  console.log(JSON.stringify(results.services, null, 2));
}
if (opt.mode === 'embedded' || opt.mode === 'both') {
  console.log(`embedded (PGlite + in-process bus): ${K} actors, ${N} events, ${INFLIGHT} in flight ...`);
  results.embedded = await embedded();
  console.log(JSON.stringify(results.embedded, null, 2));
}
if (opt.mode === 'services' || opt.mode === 'both' || opt.mode === 'gate') {
  const { benchGate } = await import('./gate.ts');
  console.log('the gate: 500 gated order.autofix effects, autonomous, then supervised with bulk approval ...');
  results.gate = await benchGate({ pgAdmin: PG_ADMIN, nats: NATS, orders: 500 });
  console.log('gate:', JSON.stringify(results.gate));
}
if (opt.mode === 'services' || opt.mode === 'both' || opt.mode === 'agents') {
  const { benchAgents } = await import('./agents.ts');
  console.log('the agents: 200 deals won at once (600 reaction runs), then the pipeline review over 1,000 open deals ...');
  results.agents = await benchAgents({ pgAdmin: PG_ADMIN, nats: NATS, deals: 200, pipeline: 1000 });
  console.log('agents:', JSON.stringify(results.agents));
}
try {
  const { benchSandbox } = await import('../sandbox/bench.ts');
  results.sandbox = await benchSandbox({ jobs: 200, concurrency: 2 });
  console.log('sandbox:', JSON.stringify(results.sandbox));
} catch (e) {
  console.log(`sandbox bench not run: ${(e as Error).message}`);
}
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/latest.json', import.meta.url), JSON.stringify(results, null, 2));
console.log('written to bench/results/latest.json');
process.exit(0);
