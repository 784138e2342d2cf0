/**
 * `cadre demo`: a working week of Northwind Automation in accelerated time, on an
 * embedded runtime (PGlite and the in-process bus) with a manual clock. It seeds
 * deals, contacts, bids, orders and builds with a history, then moves the clock
 * hour by hour from Monday 06:00 to Friday evening: schedules fire, agents plan
 * with the rule-based planner (or Claude with ANTHROPIC_API_KEY), act through the
 * gates, react to a won deal and to deployments, delegate, and reflect. It prints
 * what each agent did and what the gates held back, and ends with how to approve.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { ManualClock } from '../clock.ts';
import { loadConfig } from '../config.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { Tokens } from '../gateway/tokens.ts';
import type { Planner } from '../../agents/types.ts';
import type { RunRecord } from '../agents/runs.ts';
import { history, week } from './seed.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Marks a data directory the demo made, so it only ever deletes its own. */
const MARKER = '.cadre-demo';

/** What the demo takes. */
export interface DemoOptions {
  /** Where the demo's embedded database lives; emptied first if the demo made it. */
  dataDir: string;
  tenant: string;
  /** Working days to run, Monday on. @default 5 */
  days?: number;
  /** Prints one line. */
  out: (line: string) => void;
  /** The planner; default: Claude with ANTHROPIC_API_KEY, else the rules. */
  planner?: Planner;
  /** The Monday the week starts (any time that day, UTC); default the coming Monday. */
  monday?: number;
}

/** What the week came to. */
export interface DemoSummary {
  runs: number;
  byAgent: Record<string, number>;
  actions: Record<string, number>;
  pendingApprovals: number;
  notifications: number;
  emails: number;
  delegations: Record<string, number>;
}

const AGENT_TITLE: Record<string, string> = { sales: 'Sales', delivery: 'Delivery', engineering: 'Engineering', executive: 'Executive', marketing: 'Marketing' };

/** The Monday 06:00 UTC of the week of `t`, or the next one when `t` is past Monday. */
export function nextMonday(t: number): number {
  const d = new Date(t);
  const day = d.getUTCDay(); // 0 Sunday
  const add = day === 1 ? 0 : (8 - day) % 7;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + add, 6, 0, 0);
}

function stamp(t: number): string {
  const d = new Date(t);
  const wd = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  return `${wd} ${String(d.getUTCHours()).padStart(2, '0')}:00`;
}

/** One line per outcome count, in the order a person cares about. */
function outcomes(counts: Record<string, number> | null): string {
  if (!counts) return '';
  const order: [string, string][] = [
    ['done', 'done'],
    ['awaiting_approval', 'held for approval'],
    ['held', 'held by a daily limit'],
    ['blocked', 'blocked by a policy'],
    ['escalated', 'escalated'],
    ['delegated', 'delegated'],
    ['sent', 'sent to an entity'],
    ['published', 'event published'],
    ['rejected', 'rejected'],
    ['refused', 'refused'],
    ['pending', 'not reported'],
  ];
  const parts = order.filter(([k]) => (counts[k] ?? 0) > 0).map(([k, say]) => `${counts[k]} ${say}`);
  return parts.length ? parts.join(' · ') : 'nothing to do';
}

async function prepareDir(dir: string): Promise<void> {
  if (existsSync(dir)) {
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new Error(`${dir} exists and was not made by \`cadre demo\`; choose another directory with --data-dir (the demo empties its directory first)`);
    }
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MARKER), 'made by cadre demo; deleted by the next demo run\n');
}

/** Waits until no run is queued, planning or acting and the runtime is settled. */
async function quiet(rt: Runtime, tenant: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    await rt.agents.kick();
    await rt.agents.idle();
    await rt.settle();
    const [row] = await rt.db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM agent_runs WHERE tenant = $1 AND status IN ('queued', 'planning', 'acting'))
            + (SELECT count(*) FROM effects WHERE tenant = $1 AND status IN ('deciding', 'approved', 'running') AND next_attempt_at <= $2::timestamptz) AS n`,
      [tenant, new Date(rt.clock.now()).toISOString()],
    );
    if (Number(row!.n) === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs the demo week; resolves with what it came to. */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const dataDir = resolve(o.dataDir);
  await prepareDir(dataDir);
  const monday = nextMonday(o.monday ?? Date.now());
  const days = o.days ?? 5;
  const clock = new ManualClock(monday - 61 * DAY);
  const config = loadConfig({}, { dataDir, logLevel: 'silent', schedulerTickMs: 3_600_000, partitions: 4 });
  const log = pino({ level: process.env.CADRE_LOG_LEVEL ?? 'silent' }, pino.destination({ dest: 2, sync: true }));
  const rt = createRuntime(config, { clock, log, ...(o.planner ? { planner: o.planner } : {}) });
  const out = o.out;
  const T = o.tenant;
  await rt.start();
  try {
    out(`Cadre demo: one working week of Northwind Automation, a small automation agency (tenant "${T}").`);
    out(`Embedded (PGlite + in-process bus) in ${dataDir}; the ${rt.agents.planner === 'claude' ? 'Claude' : 'rule-based'} planner decides.`);
    out('');

    // The company: semi-autonomous agents. Low-risk actions (notifications) run on their
    // own; emails, posts and fixes wait for a person.
    await new Tokens(rt.db, clock, null).createTenant(T, 'Northwind Automation (demo)', 'cadre demo');
    await rt.gate.settings.setLevel(T, { level: 'semi_autonomous' }, 'cadre demo');

    // The history: sent at the time it happened, so timers and clocks are real.
    const seed = history(monday);
    out(`Seeding ${new Set(seed.map((s) => `${s.kind}/${s.key}`)).size} deals, contacts, bids, orders and builds with ${seed.length} events over the past 60 days…`);
    for (const s of seed) {
      const at = monday + s.at * DAY;
      if (at > clock.now()) clock.set(at);
      await rt.send.send({ tenant: T, kind: s.kind, key: s.key }, s.event, { wait: true, from: 'external:demo' });
    }
    clock.set(monday);
    await quiet(rt, T);

    // The schedules start from Monday 06:00.
    await rt.agents.ensureTenant(T);
    const held0 = (await rt.approvals.list(T, { status: 'pending', limit: 500 })).length;
    out(`The entities' own machines already asked for ${held0} thing(s) (stalled-deal follow-ups, order fixes, bid follow-ups); they wait in the approval queue.`);
    out('Autonomy: the whole company is semi_autonomous: low-risk actions run on their own, the rest waits for a person.');
    out('');

    const events = week();
    const seen = new Set<string>();
    const before = await newRuns(rt, T, seen);
    if (before.length) out(`While the history was replayed, the agents already reacted ${before.length} time(s) (builds created and deployed in the past); from here on, every run is shown.`);
    const end = monday + (days - 1) * DAY + 12 * HOUR; // the last day's 18:00
    let day = -1;
    for (let t = monday; t <= end; t += HOUR) {
      clock.set(t);
      const d = Math.floor(t / DAY); // the UTC calendar day
      if (d !== day) {
        day = d;
        out(`── ${new Date(t).toUTCString().slice(0, 16)} ${'─'.repeat(40)}`);
      }
      for (const e of events.filter((x) => monday + x.hour * HOUR === t)) {
        out(`${stamp(t)}  ▶ ${e.say}`);
        if (e.send) await rt.send.send({ tenant: T, kind: e.send.kind, key: e.send.key }, e.send.event, { wait: true, from: 'external:demo' });
        if (e.operator) await operate(rt, T, e.operator, out, t);
      }
      await quiet(rt, T);
      const runs = await newRuns(rt, T, seen);
      for (const r of runs) report(r, out, t);
    }

    return await finish(rt, T, dataDir, out);
  } finally {
    await rt.stop();
  }
}

async function operate(rt: Runtime, T: string, op: NonNullable<ReturnType<typeof week>[number]['operator']>, out: (l: string) => void, t: number): Promise<void> {
  // The oldest still open (one whose expiry has just passed is the expiry's, not Ana's).
  const pending = (await rt.approvals.list(T, { status: 'pending', limit: 500 }))
    .filter((a) => +new Date(a.expires_at) > t + HOUR)
    .sort((a, b) => +new Date(a.requested_at) - +new Date(b.requested_at));
  let i = 0;
  for (const a of pending.slice(i, (i += op.approve ?? 0))) {
    await rt.approvals.approve(T, a.id, 'operator:ana', 'looks right');
    out(`${stamp(t)}    ✓ approved ${a.action_type} for ${a.agent}: ${a.preview}`);
  }
  for (const a of pending.slice(i, (i += op.reject ?? 0))) {
    await rt.approvals.reject(T, a.id, 'operator:ana', 'not now');
    out(`${stamp(t)}    ✗ rejected ${a.action_type} for ${a.agent}: ${a.preview}`);
  }
  if (op.runNow) {
    const id = await rt.agents.runNow(T, op.runNow, 'operator:ana');
    out(`${stamp(t)}    ↻ ran ${op.runNow} now (run ${id})`);
  }
}

async function newRuns(rt: Runtime, T: string, seen: Set<string>): Promise<RunRecord[]> {
  const fresh: RunRecord[] = [];
  let after: string | undefined;
  do {
    const page = await rt.agents.runs.list(T, { limit: 200, ...(after ? { after } : {}) });
    for (const r of page.items) if (!seen.has(r.id) && ['completed', 'failed', 'skipped'].includes(r.status)) fresh.push(r);
    after = page.items.some((r) => seen.has(r.id)) ? undefined : (page.next ?? undefined);
  } while (after);
  for (const r of fresh) seen.add(r.id);
  return fresh.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt) || a.agent.localeCompare(b.agent));
}

function report(r: RunRecord, out: (l: string) => void, t: number): void {
  const quietRun = r.status === 'completed' && (r.counts?.requested ?? 0) === 0 && r.trigger === 'schedule' && r.job === 'hourly-cycle';
  if (quietRun) return; // an hourly cycle with nothing to do: not worth a line
  const who = (AGENT_TITLE[r.agent] ?? r.agent).padEnd(11);
  const why = r.trigger === 'event' ? `reacts to ${r.job.replace('react:', '')}` : r.trigger === 'delegation' ? `delegated: ${r.job}` : r.trigger === 'manual' ? `${r.job} (Run Now)` : r.job;
  if (r.status === 'failed') {
    out(`${stamp(t)}  ${who} ${why}: FAILED: ${r.error}`);
    return;
  }
  if (r.status === 'skipped') {
    out(`${stamp(t)}  ${who} ${why}: skipped (${r.error})`);
    return;
  }
  out(`${stamp(t)}  ${who} ${why}: ${outcomes(r.counts)}`);
  const first = (r.summary ?? '').split('\n').find((l) => l.trim()) ?? '';
  if (first) out(`              ${first.length > 150 ? `${first.slice(0, 147)}…` : first}`);
  const held = (r.actions as { outcome: string; preview: string }[] | null)?.filter((a) => a.outcome === 'awaiting_approval') ?? [];
  for (const a of held.slice(0, 3)) out(`              ⏸ ${a.preview.length > 140 ? `${a.preview.slice(0, 137)}…` : a.preview}`);
  if (held.length > 3) out(`              ⏸ … and ${held.length - 3} more held for approval`);
}

async function finish(rt: Runtime, T: string, dataDir: string, out: (l: string) => void): Promise<DemoSummary> {
  const runs: RunRecord[] = [];
  let after: string | undefined;
  do {
    const page = await rt.agents.runs.list(T, { limit: 500, ...(after ? { after } : {}) });
    runs.push(...page.items);
    after = page.next ?? undefined;
  } while (after);
  const byAgent: Record<string, number> = {};
  const actions: Record<string, number> = {};
  for (const r of runs) {
    byAgent[r.agent] = (byAgent[r.agent] ?? 0) + 1;
    for (const [k, v] of Object.entries(r.counts ?? {})) actions[k] = (actions[k] ?? 0) + v;
  }
  const pending = (await rt.approvals.list(T, { status: 'pending', limit: 500 })).sort((a, b) => +new Date(a.requested_at) - +new Date(b.requested_at));
  const [n] = await rt.db.query<{ notifications: number; emails: number }>(
    `SELECT (SELECT count(*)::int FROM notifications WHERE tenant = $1) AS notifications, (SELECT count(*)::int FROM sent_emails WHERE tenant = $1) AS emails`,
    [T],
  );
  const delegations: Record<string, number> = {};
  for (const d of await rt.agents.delegations.list(T, { limit: 500 })) delegations[d.status] = (delegations[d.status] ?? 0) + 1;

  out('');
  out('── The week in numbers ' + '─'.repeat(40));
  out(`runs: ${runs.length} (${Object.entries(byAgent).map(([a, c]) => `${AGENT_TITLE[a] ?? a} ${c}`).join(', ')})`);
  out(`actions: ${outcomes(actions)}`);
  out(`delegations: ${Object.entries(delegations).map(([s, c]) => `${c} ${s}`).join(', ') || 'none'}`);
  out(`notifications recorded: ${n!.notifications} (no webhook configured: set CADRE_NOTIFY_WEBHOOK_URL to post them to Slack)`);
  out(`emails recorded, not sent: ${n!.emails} (demo mode: no mail transport configured)`);
  out('');
  out(`The gates hold ${pending.length} action(s) for a person:`);
  for (const a of pending.slice(0, 8)) out(`  ${a.id}  ${a.agent.padEnd(11)} ${a.action_type.padEnd(14)} ${a.preview.length > 90 ? `${a.preview.slice(0, 87)}…` : a.preview}`);
  if (pending.length > 8) out(`  … and ${pending.length - 8} more`);
  out('');
  out('To look and decide (the demo data stays in its directory):');
  out(`  export CADRE_DATA_DIR=${dataDir}`);
  out(`  npx cadre approvals list --tenant ${T}`);
  if (pending[0]) out(`  npx cadre approvals approve ${pending[0].id} --tenant ${T}`);
  out(`  npx cadre runs list --tenant ${T}`);
  out('  npx cadre start        # the gateway: GET /v1/approvals, /v1/runs, /v1/schedules, … (docs/gateway.md)');
  return { runs: runs.length, byAgent, actions, pendingApprovals: pending.length, notifications: n!.notifications, emails: n!.emails, delegations };
}
