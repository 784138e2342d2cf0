/**
 * `cadre schedules list|set|run`, `cadre runs list|show`, `cadre delegations list`:
 * the department agents' schedules, their runs and the delegations between them
 * (docs/agents.md). Straight on the database, like the gate's commands: a run asked
 * for with `schedules run` is planned by a running `cadre start` (embedded: by the
 * next one, since this command holds the data directory while it runs).
 *
 * `--tenant` may be left out when the instance has one tenant.
 */
import type { Command } from 'commander';
import { AGENT_NAMES } from '../../../agents/types.ts';
import type { AgentContext } from '../../../agents/machine.ts';
import { cronOf, ScheduleError, SchedulePatch, type Schedule } from '../../agents/schedules.ts';
import { RunCursorError, type RunRecord } from '../../agents/runs.ts';
import { Tokens } from '../../gateway/tokens.ts';
import type { Runtime } from '../../runtime.ts';
import { choiceOption, defaultOperator, intOption, parseTenant } from '../args.ts';
import { CommandFailedError, UsageError } from '../errors.ts';
import { cell, line, printFields, printJson, printTable, type OutputOptions } from '../output.ts';
import { cliConfig, usesServices, withRuntime } from '../session.ts';

const RUN_STATUSES = ['queued', 'planning', 'acting', 'completed', 'failed', 'skipped'] as const;
const TRIGGERS = ['schedule', 'catch_up', 'manual', 'event', 'delegation'] as const;
const DELEGATION_STATUSES = ['requested', 'accepted', 'declined', 'completed', 'timed_out'] as const;
const MISSED = ['skip', 'run_once'] as const;
const TENANT_HELP = 'the tenant, e.g. acme (may be left out when there is only one)';

type Tenanted = OutputOptions & { tenant?: string };

interface SetOptions extends Tenanted {
  enable?: boolean;
  disable?: boolean;
  cron?: string;
  timezone?: string;
  missed?: (typeof MISSED)[number];
  timeout?: number;
  by?: string;
}

interface RunListOptions extends Tenanted {
  agent?: string;
  job?: string;
  status?: (typeof RUN_STATUSES)[number];
  trigger?: (typeof TRIGGERS)[number];
  since?: string;
  limit: number;
  after?: string;
}

/** A pending approval of one action of a run. */
interface ActionApproval {
  index: number;
  id: string;
  expiresAt: string;
}

/**
 * The tenant of a command: `--tenant`, or the only tenant there is.
 * @example const tenant = await tenantFor(rt, given);
 */
async function tenantFor(rt: Runtime, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const tenants = (await new Tokens(rt.db, rt.clock, null).listTenants()).map((t) => t.tenant);
  if (tenants.length === 1) return tenants[0]!;
  if (tenants.length === 0) throw new UsageError('there are no tenants yet: create one with `cadre tenant create <tenant>`, then give it with --tenant');
  throw new UsageError(`give --tenant: this instance has ${tenants.length} tenants (${tenants.slice(0, 8).join(', ')}${tenants.length > 8 ? ', …' : ''})`);
}

/** `--tenant` checked before anything is opened. */
const givenTenant = (opts: Tenanted): string | undefined => (opts.tenant === undefined ? undefined : parseTenant(opts.tenant));

/** Counts by outcome as one short text: `requested 2, done 1, awaiting_approval 1`. */
function countsText(counts: Record<string, number> | null | undefined): string {
  if (!counts) return '-';
  const { requested, ...rest } = counts;
  return [`requested ${requested ?? 0}`, ...Object.entries(rest).map(([k, v]) => `${k} ${v}`)].join(', ');
}

/** A finding as a short value: lists by their length, the rest as they are. */
function findingText(v: unknown): string {
  if (Array.isArray(v)) return `${v.length} (${cell(v, 80)})`;
  return cell(v, 100);
}

/** Registers `cadre schedules ...`, `cadre runs ...` and `cadre delegations ...`. */
export function registerAgents(program: Command): void {
  registerSchedules(program);
  registerRuns(program);
  registerDelegations(program);
}

/** `cadre schedules list|set|run`. */
export function registerSchedules(program: Command): void {
  const sc = program.command('schedules').description("the agents' schedules: list, change, run now");

  sc.command('list')
    .description("a tenant's schedules: one per job of each agent, with its next occurrence and last run")
    .option('--tenant <tenant>', TENANT_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: Tenanted) => {
      const given = givenTenant(opts);
      const { tenant, rows } = await withRuntime({}, async (rt) => {
        const tenant = await tenantFor(rt, given);
        const rows = (await rt.agents.schedules.list(tenant)).map((s) => ({ ...s, description: rt.agents.definitions.find((a) => a.name === s.agent)?.jobs.find((j) => j.name === s.job)?.description ?? null }));
        return { tenant, rows };
      });
      if (opts.json) return printJson(rows);
      printTable(
        [
          { header: 'NAME', get: (r) => r.name },
          { header: 'AGENT', get: (r) => r.agent },
          { header: 'CRON', get: (r) => r.cron },
          { header: 'TIMEZONE', get: (r) => r.timezone },
          { header: 'ENABLED', get: (r) => (r.enabled ? 'yes' : 'no') },
          { header: 'MISSED', get: (r) => r.missed },
          { header: 'NEXT', get: (r) => (r.enabled ? r.nextDueAt : '-') },
          { header: 'LAST RUN', get: (r) => r.lastRunId },
          { header: 'DESCRIPTION', get: (r) => r.description, max: 60 },
        ],
        rows,
        `no schedules for tenant ${tenant}: they are made when the tenant is created (\`cadre tenant create\`, POST /v1/tenants), and for every tenant when \`cadre start\` starts`,
      );
    });

  sc.command('set <name>')
    .description('change a schedule: enable or disable it, its cron, time zone, missed-run policy or planning time limit')
    .option('--tenant <tenant>', TENANT_HELP)
    .option('--enable', 'enable it (the next occurrence is counted from now)')
    .option('--disable', 'disable it: no occurrence fires until it is enabled again')
    .option('--cron <expr>', 'five fields: minute hour day-of-month month day-of-week, e.g. "0 8 * * 1-5"')
    .option('--timezone <tz>', 'an IANA time zone, e.g. Europe/Berlin')
    .option('--missed <policy>', `what to do with occurrences that passed while no runtime ran: ${MISSED.join(', ')}`, choiceOption(MISSED))
    .option('--timeout <ms>', 'the planning time limit, in ms (1000 to 3600000)', intOption(1000, 3_600_000))
    .option('--by <name>', 'who changes it (default: $USER)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: SetOptions) => {
      const given = givenTenant(opts);
      const patch = patchOf(opts);
      const by = opts.by || defaultOperator();
      const s = await withRuntime({}, async (rt) => rt.agents.schedules.update(await tenantFor(rt, given), name, patch, by)).catch(scheduleFailure);
      if (opts.json) return printJson(s);
      line(`${s.name} (${s.agent}) is now ${describeSchedule(s)} (by ${by})`);
    });

  sc.command('run <name>')
    .description("run now: queue a run of the schedule's job at once (also when the schedule is disabled)")
    .option('--tenant <tenant>', TENANT_HELP)
    .option('--by <name>', 'who asks for it (default: $USER)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: Tenanted & { by?: string }) => {
      const given = givenTenant(opts);
      const by = opts.by || defaultOperator();
      const { tenant, runId } = await withRuntime({}, async (rt) => {
        const tenant = await tenantFor(rt, given);
        return { tenant, runId: await rt.agents.runNow(tenant, name, by) };
      }).catch(scheduleFailure);
      if (opts.json) return printJson({ runId, status: 'queued', tenant, schedule: name });
      line(`queued run ${runId} of ${name} (tenant ${tenant}, by ${by})`);
      line(
        usesServices(cliConfig())
          ? 'the running `cadre start` nodes plan and act on it'
          : 'embedded: it is planned when `cadre start` runs (this command held the data directory)',
      );
      line(`follow it: cadre runs show ${runId} --tenant ${tenant}`);
    });
}

/** The change `schedules set` asks for, checked before anything is opened. */
function patchOf(opts: SetOptions): SchedulePatch {
  if (opts.enable && opts.disable) throw new UsageError('give --enable or --disable, not both');
  if (opts.cron !== undefined) {
    try {
      cronOf(opts.cron, 'UTC'); // the time zone does not change whether an expression parses
    } catch (err) {
      throw new UsageError(`--cron: ${(err as Error).message}`);
    }
  }
  const given = {
    enabled: opts.enable ? true : opts.disable ? false : undefined,
    cron: opts.cron,
    timezone: opts.timezone,
    missed: opts.missed,
    timeoutMs: opts.timeout,
  };
  // Only the options given: a key present as undefined would count as a change.
  const patch = SchedulePatch.safeParse(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)));
  if (!patch.success) {
    if (patch.error.issues.some((i) => i.path.length === 0)) throw new UsageError('nothing to change: give --enable, --disable, --cron, --timezone, --missed or --timeout');
    throw new UsageError(patch.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('; '));
  }
  return patch.data;
}

/** A refused schedule change as the CLI reports it: a bad value exits 2, an unknown schedule 1. */
function scheduleFailure(err: unknown): never {
  if (err instanceof ScheduleError) {
    if (err.code === 'schedule_not_found') throw new CommandFailedError(err.message.replace(/GET \/v1\/schedules or /, ''), err.code);
    throw new UsageError(err.message);
  }
  throw err;
}

function describeSchedule(s: Schedule): string {
  const state = s.enabled ? `enabled, next at ${s.nextDueAt ?? 'never (the expression has no further occurrence)'}` : 'disabled';
  return `${state}: cron "${s.cron}" in ${s.timezone}, missed runs: ${s.missed}, planning limit ${s.timeoutMs} ms`;
}

/** `cadre runs list|show`. */
export function registerRuns(program: Command): void {
  const rn = program.command('runs').description("the agents' runs: what each planned, did, and what became of it");

  rn.command('list')
    .description("a tenant's runs, newest first")
    .option('--tenant <tenant>', TENANT_HELP)
    .option('--agent <agent>', AGENT_NAMES.join(', '), choiceOption(AGENT_NAMES))
    .option('--job <job>', 'one job, e.g. sales-pipeline-review (reactions are react:<event>)')
    .option('--status <status>', RUN_STATUSES.join(', '), choiceOption(RUN_STATUSES))
    .option('--trigger <trigger>', TRIGGERS.join(', '), choiceOption(TRIGGERS))
    .option('--since <iso>', 'runs requested at or after this time')
    .option('--limit <n>', 'how many (at most 500)', intOption(1, 500), 20)
    .option('--after <cursor>', 'the next page: the cursor the previous one printed')
    .option('--json', 'print JSON')
    .action(async (opts: RunListOptions) => {
      const given = givenTenant(opts);
      if (opts.since !== undefined && Number.isNaN(Date.parse(opts.since))) throw new UsageError(`--since "${opts.since}" is not a time: give ISO 8601, e.g. 2026-01-05T09:00:00Z`);
      const since = opts.since === undefined ? undefined : new Date(opts.since).toISOString();
      const { tenant, page } = await withRuntime({}, async (rt) => {
        const tenant = await tenantFor(rt, given);
        const q = { agent: opts.agent as (typeof AGENT_NAMES)[number] | undefined, job: opts.job, status: opts.status, trigger: opts.trigger, since, limit: opts.limit, after: opts.after };
        return { tenant, page: await rt.agents.runs.list(tenant, q) };
      }).catch((err: unknown) => {
        if (err instanceof RunCursorError) throw new UsageError(`--after: ${err.message}`);
        throw err;
      });
      if (opts.json) return printJson(page);
      printTable(
        [
          { header: 'REQUESTED', get: (r) => r.requestedAt },
          { header: 'ID', get: (r) => r.id, max: 40 },
          { header: 'AGENT', get: (r) => r.agent },
          { header: 'JOB', get: (r) => r.job, max: 40 },
          { header: 'TRIGGER', get: (r) => r.trigger },
          { header: 'STATUS', get: (r) => r.status },
          { header: 'ACTIONS', get: (r) => countsText(r.counts as RunRecord['counts']), max: 60 },
          { header: 'SUMMARY', get: (r) => r.summary ?? r.error, max: 60 },
        ],
        page.items as unknown as Record<string, unknown>[],
        `no runs for tenant ${tenant}${opts.agent || opts.status || opts.job || opts.trigger || since ? ' that match' : ''}`,
      );
      if (page.next) line(`more: --after ${page.next}`);
    });

  rn.command('show <id>')
    .description('one run: its summary, findings, each action with its outcome, and how to approve what waits for a person')
    .option('--tenant <tenant>', TENANT_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: Tenanted) => {
      const given = givenTenant(opts);
      const { tenant, run, live, approvals } = await withRuntime({}, async (rt) => {
        const tenant = await tenantFor(rt, given);
        const run = await rt.agents.runs.get(tenant, id);
        if (!run) throw new CommandFailedError(`no run ${id} in tenant ${tenant}; list them with \`cadre runs list --tenant ${tenant}\``, 'run_not_found');
        const live = run.actions ? null : await liveActions(rt, tenant, run);
        return { tenant, run, live, approvals: await pendingApprovals(rt, tenant, actionsOf(run, live)) };
      });
      if (opts.json) return printJson({ ...run, liveActions: live, approvals });
      showRun(tenant, run, live, approvals);
    });
}

type Action = { index: number; actionType: string; preview: string; target: string | null; task: string | null; outcome: string; detail: string | null };

const actionsOf = (run: RunRecord, live: Action[] | null): Action[] => (run.actions as Action[] | null) ?? live ?? [];

/** While a run acts, its actions so far are in its agent's context (the read side); the record has them once it completes. */
async function liveActions(rt: Runtime, tenant: string, run: RunRecord): Promise<Action[] | null> {
  if (run.status !== 'acting') return null;
  const page = await rt.read.query(tenant, { kind: 'agent', where: [{ field: 'key', op: 'eq', value: run.agent }] });
  const ctx = page.items[0]?.context as Partial<AgentContext> | undefined;
  return ctx?.run?.runId === run.id ? (ctx.run.actions as Action[]) : null;
}

/** The pending approvals of a run's actions held for a person: each task's approval (kind `task`, key = the task). */
async function pendingApprovals(rt: Runtime, tenant: string, actions: Action[]): Promise<ActionApproval[]> {
  const out: ActionApproval[] = [];
  for (const a of actions) {
    if (!a.task || (a.outcome !== 'awaiting_approval' && a.outcome !== 'escalated')) continue;
    for (const p of await rt.approvals.list(tenant, { kind: 'task', key: a.task, status: 'pending', limit: 10 })) {
      out.push({ index: a.index, id: p.id, expiresAt: new Date(p.expires_at).toISOString() });
    }
  }
  return out;
}

function showRun(tenant: string, run: RunRecord, live: Action[] | null, approvals: ActionApproval[]): void {
  printFields([
    ['run', run.id],
    ['agent', run.agent],
    ['job', run.job],
    ['trigger', `${run.trigger}${run.schedule ? ` (schedule ${run.schedule})` : ''}${run.delegationId ? ` (delegation ${run.delegationId})` : ''}`],
    ['status', run.status],
    ['planner', run.planner],
    ['requested', `${run.requestedAt} by ${run.requestedBy}`],
    ['started', run.startedAt],
    ['finished', run.finishedAt],
    ['duration', run.durationMs === null ? null : `${run.durationMs} ms`],
    ['attempts', run.attempts],
    ['actions', countsText(run.counts)],
    ...(run.error ? ([['error', run.error]] as [string, unknown][]) : []),
  ]);
  if (run.summary) {
    line();
    line('summary');
    line(run.summary.replace(/^/gm, '  '));
  }
  const findings = Object.entries(run.findings ?? {});
  if (findings.length) {
    line();
    line('findings');
    for (const [k, v] of findings) line(`  ${k}: ${findingText(v)}`);
  }
  const actions = actionsOf(run, live);
  line();
  if (actions.length === 0) {
    line(run.status === 'completed' ? 'no actions: the plan had nothing to do' : `no actions recorded yet (the run is ${run.status})`);
  } else {
    if (live) line('actions so far (the run is still acting)');
    printTable(
      [
        { header: '#', get: (r) => r.index },
        { header: 'ACTION', get: (r) => r.actionType },
        { header: 'OUTCOME', get: (r) => r.outcome },
        { header: 'TARGET', get: (r) => r.target, max: 30 },
        { header: 'PREVIEW', get: (r) => r.preview, max: 70 },
        { header: 'DETAIL', get: (r) => r.detail, max: 50 },
      ],
      actions as unknown as Record<string, unknown>[],
      '',
    );
  }
  for (const a of approvals) line(`action ${a.index} waits for a person (until ${a.expiresAt}): cadre approvals approve ${a.id} --tenant ${tenant}   (or reject)`);
  for (const h of run.hints ?? []) line(`hint: ${h}`);
}

/** `cadre delegations list`. */
export function registerDelegations(program: Command): void {
  const dg = program.command('delegations').description('tasks agents asked of each other');
  dg.command('list')
    .description("a tenant's delegations, newest first")
    .option('--tenant <tenant>', TENANT_HELP)
    .option('--agent <agent>', `from or to this agent: ${AGENT_NAMES.join(', ')}`, choiceOption(AGENT_NAMES))
    .option('--status <status>', DELEGATION_STATUSES.join(', '), choiceOption(DELEGATION_STATUSES))
    .option('--limit <n>', 'how many (at most 500)', intOption(1, 500), 50)
    .option('--json', 'print JSON')
    .action(async (opts: Tenanted & { agent?: (typeof AGENT_NAMES)[number]; status?: (typeof DELEGATION_STATUSES)[number]; limit: number }) => {
      const given = givenTenant(opts);
      const { tenant, rows } = await withRuntime({}, async (rt) => {
        const tenant = await tenantFor(rt, given);
        return { tenant, rows: await rt.agents.delegations.list(tenant, { agent: opts.agent, status: opts.status, limit: opts.limit }) };
      });
      if (opts.json) return printJson(rows);
      printTable(
        [
          { header: 'REQUESTED', get: (r) => r.requestedAt },
          { header: 'ID', get: (r) => r.id, max: 44 },
          { header: 'FROM', get: (r) => r.from },
          { header: 'TO', get: (r) => r.to },
          { header: 'TASK', get: (r) => r.task },
          { header: 'STATUS', get: (r) => `${String(r.status)}${r.late ? ' (late result)' : ''}` },
          { header: 'DEADLINE', get: (r) => r.deadline },
          { header: 'RESULT', get: (r) => r.summary ?? r.reason, max: 60 },
        ],
        rows as unknown as Record<string, unknown>[],
        `no delegations for tenant ${tenant}${opts.agent || opts.status ? ' that match' : ''}`,
      );
    });
}
