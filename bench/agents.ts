import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createRuntime, loadConfig, ManualClock, type Runtime } from '../runtime/index.ts';
import { rulesPlanner } from '../agents/planners/rules.ts';

/**
 * The department agents on PostgreSQL + NATS, one runtime in this process with the
 * five real agents and the rule-based planner:
 *
 * - reactions: `deals` deals won at once; each `deal.closed` makes a run of
 *   engineering (a ticket, a note; the ticket's `ticket.created` makes a third run)
 *   and of delivery (a welcome email, a note), each
 *   planned, acted on through the gate (notifications run, emails wait for approval)
 *   and reflected. Runs completed per second, and the time from the event to the
 *   run's reflection (p50, p99).
 * - a big pipeline: the sales pipeline review (Run Now) over `pipeline` open deals,
 *   idle for ten days (a second runtime on a manual clock): the time from the request
 *   to the plan, and to the completed run.
 */
export async function benchAgents(opts: { pgAdmin: string; nats: string; deals: number; pipeline: number }): Promise<Record<string, number>> {
  const id = randomBytes(4).toString('hex');
  const dbName = `cadre_bench_agents_${id}`;
  const admin = postgres(opts.pgAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${dbName}`);
  const url = opts.pgAdmin.replace(/\/[^/]*$/, `/${dbName}`);
  const config = loadConfig({}, { databaseUrl: url, natsUrl: opts.nats, subjectPrefix: `ba${id}`, streamPrefix: `BA${id}`, logLevel: 'warn', nodeId: `ba-${id}`, schedulerTickMs: 1000 });
  try {
    const rt = createRuntime(config, { planner: rulesPlanner });
    await rt.start();
    let reactions: Record<string, number>;
    try {
      await rt.gate.settings.setLevel('r', { level: 'semi_autonomous' }, 'bench');
      reactions = await wonDeals(rt, 'r', opts.deals);
    } finally {
      await rt.stop();
    }
    // The pipeline is ten days old: a manual clock, set back while the deals are created.
    const clock = new ManualClock(Date.now() - 10 * 86_400_000);
    const rt2 = createRuntime(config, { planner: rulesPlanner, clock });
    await rt2.start();
    try {
      return { ...reactions, ...(await bigPipeline(rt2, clock, 'p', opts.pipeline)) };
    } finally {
      await rt2.stop();
    }
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

async function wonDeals(rt: Runtime, tenant: string, n: number): Promise<Record<string, number>> {
  const keys = Array.from({ length: n }, (_, i) => `D-${i}`);
  await Promise.all(keys.map((key) => rt.send.send({ tenant, kind: 'deal', key }, { type: 'deal.create', title: `Deal ${key}`, value: 5000, contact: `buyer-${key}@client.example` }, { wait: true })));
  const t0 = performance.now();
  await Promise.all(keys.map((key) => rt.send.send({ tenant, kind: 'deal', key }, { type: 'deal.win' }, { wait: true })));
  // Each won deal: engineering and delivery react; engineering's ticket.create then makes ticket.created, which engineering reacts to.
  let total = 0;
  for (;;) {
    const [row] = await rt.db.query<{ done: number; all: number }>(
      `SELECT count(*) FILTER (WHERE status IN ('completed', 'failed'))::int AS done, count(*)::int AS all FROM agent_runs WHERE tenant = $1`,
      [tenant],
    );
    total = row!.all;
    if (row!.all >= 3 * n && row!.done === row!.all) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  const [failed] = await rt.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM agent_runs WHERE tenant = $1 AND status = 'failed'`, [tenant]);
  if (failed!.n > 0) throw new Error(`${failed!.n} reaction runs failed`);
  const lat = (await rt.db.query<{ ms: number }>(`SELECT EXTRACT(EPOCH FROM (finished_at - due_at)) * 1000 AS ms FROM agent_runs WHERE tenant = $1 AND finished_at IS NOT NULL AND due_at IS NOT NULL ORDER BY 1`, [tenant])).map((r) => Number(r.ms));
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  return { reactionRuns: total, reactionRunsPerSecond: total / seconds, reactionEventToReflectionP50Ms: q(0.5), reactionEventToReflectionP99Ms: q(0.99) };
}

async function bigPipeline(rt: Runtime, clock: ManualClock, tenant: string, n: number): Promise<Record<string, number>> {
  // Without a contact, so that the deals' own stall follow-ups stay out of the measure.
  const keys = Array.from({ length: n }, (_, i) => `P-${i}`);
  for (let i = 0; i < keys.length; i += 200) {
    await Promise.all(keys.slice(i, i + 200).map((key, j) => rt.send.send({ tenant, kind: 'deal', key }, { type: 'deal.create', title: `Deal ${key}`, value: 1000 + ((i + j) % 7) * 900 }, { wait: true })));
  }
  clock.set(Date.now());
  await rt.settle();
  await rt.agents.ensureTenant(tenant);
  const t0 = performance.now();
  const runId = await rt.agents.runNow(tenant, 'sales-pipeline-review', 'bench');
  let planned = 0;
  for (;;) {
    const run = await rt.agents.runs.get(tenant, runId);
    if (!planned && run && run.status !== 'queued' && run.status !== 'planning') planned = performance.now() - t0;
    if (run?.status === 'completed' || run?.status === 'failed') {
      if (run.status === 'failed') throw new Error(`the pipeline review failed: ${run.error}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { pipelineDeals: n, pipelineReviewPlannedMs: planned, pipelineReviewCompletedMs: performance.now() - t0 };
}
