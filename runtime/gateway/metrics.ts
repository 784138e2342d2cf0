/**
 * `GET /metrics`: Prometheus metrics of one gateway (its own prom-client registry,
 * never the global one, so two gateways in one process do not mix).
 *
 * Two sources:
 * - this process: the host's counters (transitions, commits, committed messages,
 *   dead letters since start), active actors, owned partitions, and Node's process
 *   metrics (`process_*`, `nodejs_*`). Sum them over the nodes.
 * - the database, read at scrape time (`collect()`): the whole instance as one
 *   number, the same from every node, so do not sum those over nodes. The audit log
 *   is append-only, so the counts taken from it are true counters. A scrape runs
 *   the queries once (results are shared by the metrics of one scrape and reused
 *   for `cacheMs`); when the database cannot answer, those series are left out and
 *   `cadre_metrics_database_up` is 0.
 *
 * The names of the reference's "Metrics to Track" (shared/reference
 * hourly-cycle-and-policies.md) map as {@link METRICS} lists; the agents' runs
 * (cycles) are `cadre_agent_runs` by status; their other metrics (planned actions,
 * engagement, Gmail) come with the agents.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Runtime } from '../runtime.ts';

/** One documented metric. */
export interface MetricDoc {
  name: string;
  type: 'counter' | 'gauge';
  labels: string[];
  help: string;
  /** `process`: this node since its start; `database`: the whole instance, read at scrape. */
  source: 'process' | 'database';
  /** The reference's name (hourly-cycle-and-policies.md, "Metrics to Track"), where there is one. */
  reference?: string;
}

/** Every Cadre metric, with where it comes from and the reference name it stands for. */
export const METRICS: readonly MetricDoc[] = [
  { name: 'cadre_actions_executed_total', type: 'counter', labels: ['tenant', 'action_type'], source: 'database', reference: 'agent.actions.executed', help: 'Effects executed successfully (audit log: execution/executed)' },
  { name: 'cadre_actions_blocked_total', type: 'counter', labels: ['tenant', 'action_type'], source: 'database', reference: 'agent.actions.blocked', help: 'Effects blocked by a policy, when decided or when re-checked before running (audit log: outcome blocked)' },
  { name: 'cadre_actions_failed_total', type: 'counter', labels: ['tenant', 'action_type'], source: 'database', help: 'Effects that failed for good after their retries (audit log: execution/failed)' },
  { name: 'cadre_actions_dry_run_total', type: 'counter', labels: ['tenant', 'action_type'], source: 'database', help: 'Effects recorded as would-have-run in dry-run (audit log: execution/dry_run)' },
  { name: 'cadre_approvals_decided_total', type: 'counter', labels: ['tenant', 'outcome'], source: 'database', help: 'Approvals decided: approved, rejected, expired, withdrawn (audit log: approval entries)' },
  { name: 'cadre_approvals_pending', type: 'gauge', labels: ['tenant', 'risk'], source: 'database', help: 'Approvals waiting for a person, by risk class' },
  { name: 'cadre_dead_letters_open', type: 'gauge', labels: ['tenant'], source: 'database', help: 'Dead letters not yet replayed or discarded' },
  { name: 'cadre_effects', type: 'gauge', labels: ['status'], source: 'database', help: 'Effects by status (deciding, held, awaiting_approval, pending, succeeded, failed, …)' },
  { name: 'cadre_outbox_waiting', type: 'gauge', labels: [], source: 'database', help: 'Messages committed and not yet published on the bus (the bus lag)' },
  { name: 'cadre_outbox_oldest_age_seconds', type: 'gauge', labels: [], source: 'database', help: 'Age of the oldest message waiting in the outbox; 0 when it is empty' },
  { name: 'cadre_sandbox_jobs', type: 'gauge', labels: ['tenant', 'status'], source: 'database', reference: 'agent.sandbox.jobs_count, agent.sandbox.fail_rate (failed / (succeeded + failed))', help: 'Script jobs recorded, by status (queued, running, succeeded, failed)' },
  { name: 'cadre_agent_runs', type: 'gauge', labels: ['tenant', 'agent', 'status'], source: 'database', reference: 'agent.cycles', help: 'Runs of department agents by status (queued, planning, acting, completed, failed, skipped); completed and failed only grow' },
  { name: 'cadre_actors', type: 'gauge', labels: ['kind', 'state'], source: 'database', reference: 'agent.orders.exceptions (kind="order", state=~"exceptions.*")', help: 'Actors by kind and current state' },
  { name: 'cadre_metrics_database_up', type: 'gauge', labels: [], source: 'database', help: '1 when the database answered the last scrape, else 0 (the database series are then missing)' },
  { name: 'cadre_transitions_total', type: 'counter', labels: [], source: 'process', help: 'Transitions committed by this node' },
  { name: 'cadre_commits_total', type: 'counter', labels: [], source: 'process', help: 'Commits (one transaction each) by this node' },
  { name: 'cadre_committed_messages_total', type: 'counter', labels: [], source: 'process', help: 'Messages committed by this node; divided by cadre_commits_total it is the commit batch size' },
  { name: 'cadre_commit_batch_size_mean', type: 'gauge', labels: [], source: 'process', help: 'Mean messages per commit since this node started' },
  { name: 'cadre_dead_letters_total', type: 'counter', labels: [], source: 'process', help: 'Dead letters recorded by this node' },
  { name: 'cadre_active_actors', type: 'gauge', labels: [], source: 'process', help: 'Actors in memory on this node' },
  { name: 'cadre_partitions_owned', type: 'gauge', labels: [], source: 'process', help: 'Mailbox partitions this node owns' },
];

interface Snapshot {
  audit: { tenant: string; action_type: string | null; entry: string; outcome: string; n: number }[];
  approvals: { tenant: string; risk: string; n: number }[];
  deadLetters: { tenant: string; n: number }[];
  effects: { status: string; n: number }[];
  outbox: { n: number; oldest: Date | null };
  jobs: { tenant: string; status: string; n: number }[];
  actors: { kind: string; state: string; n: number }[];
  runs: { tenant: string; agent: string; status: string; n: number }[];
}

/** What {@link createMetrics} takes. */
export interface MetricsOptions {
  /** How long one scrape's database answers are reused. @default 1000 */
  cacheMs?: number;
  /** Node's process metrics (`process_*`, `nodejs_*`). @default true */
  processMetrics?: boolean;
}

/**
 * A registry with Cadre's metrics for one runtime.
 * @example const registry = createMetrics(rt); reply.type(registry.contentType).send(await registry.metrics());
 */
export function createMetrics(rt: Runtime, opts: MetricsOptions = {}): Registry {
  const registry = new Registry();
  const cacheMs = opts.cacheMs ?? 1000;
  let cached: { at: number; value: Promise<Snapshot | null> } | undefined;

  const snapshot = (): Promise<Snapshot | null> => {
    const now = Date.now();
    if (!cached || now - cached.at > cacheMs) cached = { at: now, value: readSnapshot(rt) };
    return cached.value;
  };

  const doc = (name: string) => {
    const d = METRICS.find((m) => m.name === name);
    if (!d) throw new Error(`metric ${name} is not documented in METRICS`);
    return { name, help: d.help, labelNames: d.labels, registers: [registry] };
  };
  /** Metrics filled from the database snapshot at scrape time. */
  const dbCounter = (name: string, fill: (m: Counter<string>, s: Snapshot) => void) =>
    new Counter({
      ...doc(name),
      async collect() {
        const s = await snapshot();
        this.reset();
        if (s) fill(this, s);
      },
    });
  const dbGauge = (name: string, fill: (m: Gauge<string>, s: Snapshot) => void) =>
    new Gauge({
      ...doc(name),
      async collect() {
        const s = await snapshot();
        this.reset();
        if (s) fill(this, s);
      },
    });
  const counter = (cfg: ConstructorParameters<typeof Counter<string>>[0]) => new Counter(cfg);
  const gauge = (cfg: ConstructorParameters<typeof Gauge<string>>[0]) => new Gauge(cfg);

  const auditCounter = (name: string, pick: (r: Snapshot['audit'][number]) => boolean) =>
    dbCounter(name, (m, s) => {
      for (const r of s.audit) if (pick(r)) m.inc({ tenant: r.tenant, action_type: r.action_type ?? '' }, r.n);
    });
  auditCounter('cadre_actions_executed_total', (r) => r.entry === 'execution' && r.outcome === 'executed');
  auditCounter('cadre_actions_blocked_total', (r) => r.outcome === 'blocked');
  auditCounter('cadre_actions_failed_total', (r) => r.entry === 'execution' && r.outcome === 'failed');
  auditCounter('cadre_actions_dry_run_total', (r) => r.entry === 'execution' && r.outcome === 'dry_run');
  dbCounter('cadre_approvals_decided_total', (m, s) => {
    for (const r of s.audit) if (r.entry === 'approval' && r.outcome !== 'pending') m.inc({ tenant: r.tenant, outcome: r.outcome }, r.n);
  });
  dbGauge('cadre_approvals_pending', (m, s) => {
    for (const r of s.approvals) m.set({ tenant: r.tenant, risk: r.risk }, r.n);
  });
  dbGauge('cadre_dead_letters_open', (m, s) => {
    for (const r of s.deadLetters) m.set({ tenant: r.tenant }, r.n);
  });
  dbGauge('cadre_effects', (m, s) => {
    for (const r of s.effects) m.set({ status: r.status }, r.n);
  });
  dbGauge('cadre_outbox_waiting', (m, s) => m.set(s.outbox.n));
  dbGauge('cadre_outbox_oldest_age_seconds', (m, s) => m.set(s.outbox.oldest ? Math.max(0, (rt.clock.now() - s.outbox.oldest.getTime()) / 1000) : 0));
  dbGauge('cadre_sandbox_jobs', (m, s) => {
    for (const r of s.jobs) m.set({ tenant: r.tenant, status: r.status }, r.n);
  });
  dbGauge('cadre_agent_runs', (m, s) => {
    for (const r of s.runs) m.set({ tenant: r.tenant, agent: r.agent, status: r.status }, r.n);
  });
  dbGauge('cadre_actors', (m, s) => {
    for (const r of s.actors) m.set({ kind: r.kind, state: r.state }, r.n);
  });
  gauge({
    ...doc('cadre_metrics_database_up'),
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });

  const stats = () => rt.host?.stats ?? { transitions: 0, commits: 0, committedMessages: 0, deadLetters: 0 };
  const processCounter = (name: string, value: () => number) =>
    counter({
      ...doc(name),
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  processCounter('cadre_transitions_total', () => stats().transitions);
  processCounter('cadre_commits_total', () => stats().commits);
  processCounter('cadre_committed_messages_total', () => stats().committedMessages);
  processCounter('cadre_dead_letters_total', () => stats().deadLetters);
  gauge({
    ...doc('cadre_commit_batch_size_mean'),
    collect() {
      const s = stats();
      this.set(s.commits > 0 ? s.committedMessages / s.commits : 0);
    },
  });
  gauge({
    ...doc('cadre_active_actors'),
    collect() {
      this.set(rt.host?.cells.size ?? 0);
    },
  });
  gauge({
    ...doc('cadre_partitions_owned'),
    collect() {
      this.set(rt.role === 'node' && rt.state === 'running' ? rt.ownership.owned().length : 0);
    },
  });

  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The instance-wide numbers, in one pass; null (and a warning) when the database does not answer. */
async function readSnapshot(rt: Runtime): Promise<Snapshot | null> {
  const db = rt.db;
  try {
    const n = <T extends { n: unknown }>(rows: T[]) => rows.map((r) => ({ ...r, n: Number(r.n) }));
    const [audit, approvals, deadLetters, effects, outbox, jobs, actors, runs] = await Promise.all([
      db.query<{ tenant: string; action_type: string | null; entry: string; outcome: string; n: number }>(
        `SELECT tenant, action_type, entry, outcome, count(*) AS n FROM audit_log GROUP BY tenant, action_type, entry, outcome`,
      ),
      db.query<{ tenant: string; risk: string; n: number }>(`SELECT tenant, risk, count(*) AS n FROM approvals WHERE status = 'pending' GROUP BY tenant, risk`),
      db.query<{ tenant: string; n: number }>(`SELECT tenant, count(*) AS n FROM dead_letters WHERE status = 'open' GROUP BY tenant`),
      db.query<{ status: string; n: number }>(`SELECT status, count(*) AS n FROM effects GROUP BY status`),
      db.query<{ n: number; oldest: Date | null }>(`SELECT count(*) AS n, min(created_at) AS oldest FROM outbox`),
      db.query<{ tenant: string; status: string; n: number }>(`SELECT tenant, status, count(*) AS n FROM script_jobs GROUP BY tenant, status`),
      db.query<{ kind: string; state: string; n: number }>(`SELECT kind, state, count(*) AS n FROM actors GROUP BY kind, state`),
      db.query<{ tenant: string; agent: string; status: string; n: number }>(`SELECT tenant, agent, status, count(*) AS n FROM agent_runs GROUP BY tenant, agent, status`),
    ]);
    const box = outbox[0];
    return {
      audit: n(audit),
      approvals: n(approvals),
      deadLetters: n(deadLetters),
      effects: n(effects),
      outbox: { n: Number(box?.n ?? 0), oldest: box?.oldest ? new Date(box.oldest) : null },
      jobs: n(jobs),
      actors: n(actors),
      runs: n(runs),
    };
  } catch (err) {
    rt.log.warn({ err }, 'metrics: the database did not answer; its series are left out of this scrape');
    return null;
  }
}
