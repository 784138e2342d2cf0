/**
 * The agents' commands as operators run them: `cadre schedules list|set|run`,
 * `cadre runs list|show`, `cadre delegations list`. Embedded, a Run Now asked for
 * while no node runs is planned by the next `cadre start`; with PostgreSQL + NATS
 * the running node plans it while the commands watch.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.ts';
import { NATS_URL, deleteStreams, makeEnv } from '../support/runtime.ts';
import { systemClock } from '../../runtime/index.ts';
import { Tokens } from '../../runtime/gateway/tokens.ts';
import { DEFAULT_AGENTS } from '../../agents/registry.ts';
import { SLOW, cadre, json, ok, startNode, type Env } from '../support/cli.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** The environment of a command: the rule-based planner whatever the machine has set. */
const planner = { ANTHROPIC_API_KEY: '' };

type Run = { id: string; status: string; job: string; agent: string; counts: Record<string, number> | null; approvals: { index: number; id: string }[] };
type Schedule = { name: string; agent: string; enabled: boolean; cron: string; timezone: string; updatedBy: string; description: string | null };

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Runs a command that must fail with `code`; answers its stderr. */
async function fails(env: Env, code: number, ...args: string[]): Promise<string> {
  const r = await cadre(env, ...args);
  expect(r, `cadre ${args.join(' ')}`).toMatchObject({ code });
  return r.stderr;
}

describe('cadre schedules, runs and delegations', () => {
  it('embedded: list and change schedules; a Run Now queued while no node runs is planned by the next `cadre start`, and `runs show` says how to approve what it holds', async () => {
    // The data directory as the gateway's POST /v1/tenants leaves it: a tenant with its agents' schedules.
    const prepared = await makeEnv('embedded');
    cleanups.push(() => prepared.cleanup());
    const rt = await prepared.start({ clock: systemClock, agents: DEFAULT_AGENTS });
    await new Tokens(rt.db, rt.clock, null).createTenant('acme', 'Acme', 'test');
    await rt.agents.ensureTenant('acme');
    await rt.stop();
    const env = { CADRE_DATA_DIR: prepared.config().dataDir, ...planner };

    // One tenant: --tenant may be left out.
    const table = await ok(env, 'schedules', 'list');
    expect(table.split('\n')[0]).toMatch(/^NAME\s+AGENT\s+CRON\s+TIMEZONE\s+ENABLED\s+MISSED\s+NEXT\s+LAST RUN\s+DESCRIPTION/);
    expect(table).toMatch(/ceo-morning-brief\s+executive\s+0 7 \* \* 1-5\s+UTC\s+yes\s+skip/);
    expect(table).toMatch(/sales-pipeline-review\s+sales\s+0 8 \* \* 1-5/);

    const off = await ok(env, 'schedules', 'set', 'hourly-cycle', '--disable', '--by', 'ana');
    expect(off).toContain('hourly-cycle (sales) is now disabled: cron "0 * * * *" in UTC, missed runs: run_once, planning limit 60000 ms (by ana)');
    const changed = await ok(env, 'schedules', 'set', 'sales-pipeline-review', '--cron', '30 7 * * 1-5', '--timezone', 'Europe/Berlin', '--missed', 'run_once', '--tenant', 'acme');
    expect(changed).toMatch(/^sales-pipeline-review \(sales\) is now enabled, next at \d{4}-\d\d-\d\dT\d\d:30:00\.000Z: cron "30 7 \* \* 1-5" in Europe\/Berlin, missed runs: run_once/);
    const listed = await json<Schedule[]>(env, 'schedules', 'list');
    expect(listed.find((s) => s.name === 'hourly-cycle')).toMatchObject({ enabled: false, updatedBy: 'ana', description: expect.stringContaining('hourly') });
    expect(listed.find((s) => s.name === 'sales-pipeline-review')).toMatchObject({ enabled: true, cron: '30 7 * * 1-5', timezone: 'Europe/Berlin' });

    // Refusals say what is wrong and what to do.
    expect(await fails(env, 2, 'schedules', 'set', 'hourly-cycle', '--cron', 'every hour')).toContain('--cron: "every hour" is not a cron expression of five fields');
    expect(await fails(env, 2, 'schedules', 'set', 'hourly-cycle', '--timezone', 'Mars/Olympus_Mons')).toContain('"Mars/Olympus_Mons" is not a time zone; use an IANA name');
    expect(await fails(env, 2, 'schedules', 'set', 'hourly-cycle')).toContain('nothing to change: give --enable, --disable, --cron, --timezone, --missed or --timeout');
    expect(await fails(env, 2, 'schedules', 'set', 'hourly-cycle', '--enable', '--disable')).toContain('give --enable or --disable, not both');
    expect(await fails(env, 1, 'schedules', 'set', 'no-such-job', '--enable')).toContain('no schedule named "no-such-job"; list them with `cadre schedules list`');

    const queued = await ok(env, 'schedules', 'run', 'ceo-morning-brief', '--by', 'ana');
    const id = /queued run (\S+) of ceo-morning-brief \(tenant acme, by ana\)/.exec(queued)?.[1];
    expect(id, queued).toBeDefined();
    expect(queued).toContain('embedded: it is planned when `cadre start` runs');
    expect(queued).toContain(`follow it: cadre runs show ${id} --tenant acme`);
    const waiting = await ok(env, 'runs', 'show', id!);
    expect(waiting).toMatch(/status\s+queued/);
    expect(waiting).toContain('no actions recorded yet (the run is queued)');

    // The data directory is locked while a node runs, so look between runs.
    const run = await until('the run completed', async () => {
      const node = await startNode(env);
      await new Promise((r) => setTimeout(r, 1500));
      await node.stop();
      const r = await json<Run>(env, 'runs', 'show', id!);
      return r.status === 'completed' ? r : undefined;
    });
    expect(run).toMatchObject({ agent: 'executive', job: 'ceo-morning-brief' });
    const list = await ok(env, 'runs', 'list');
    expect(list.split('\n')[0]).toMatch(/^REQUESTED\s+ID\s+AGENT\s+JOB\s+TRIGGER\s+STATUS\s+ACTIONS\s+SUMMARY/);
    expect(list).toMatch(new RegExp(`${id}\\s+executive\\s+ceo-morning-brief\\s+manual\\s+completed\\s+requested \\d`));

    const shown = await ok(env, 'runs', 'show', id!);
    expect(shown).toMatch(/status\s+completed/);
    expect(shown).toMatch(/requested\s+\S+ by ana/);
    expect(shown).toMatch(/^summary$/m);
    expect(shown).toMatch(/^#\s+ACTION\s+OUTCOME\s+TARGET\s+PREVIEW/m);
    // Supervised by default: the brief waits for a person, and `runs show` says how to release it.
    expect(shown).toMatch(/^0\s+notify\.send\s+awaiting_approval/m);
    const [pending] = await json<{ id: string; kind: string }[]>(env, 'approvals', 'list', '--tenant', 'acme');
    expect(pending).toMatchObject({ kind: 'task' });
    expect(shown).toContain(`action 0 waits for a person (until `);
    expect(shown).toContain(`cadre approvals approve ${pending!.id} --tenant acme`);
    expect(run.approvals).toEqual([{ index: 0, id: pending!.id, expiresAt: expect.any(String) }]);
    expect(await ok(env, 'delegations', 'list')).toContain('no delegations for tenant acme');
  }, 2 * SLOW);

  it('with PostgreSQL + NATS: the running node plans a Run Now while the commands watch; with two tenants --tenant is needed', async () => {
    const id = randomBytes(4).toString('hex');
    const db = await createTestDatabase('cadre_cli_agents');
    cleanups.push(() => db.drop());
    cleanups.push(() => deleteStreams(`A${id}`));
    const env = { DATABASE_URL: db.url, NATS_URL, CADRE_SUBJECT_PREFIX: `a${id}`, CADRE_STREAM_PREFIX: `A${id}`, ...planner };
    await ok(env, 'migrate');
    expect(await fails(env, 2, 'schedules', 'list')).toContain('there are no tenants yet: create one with `cadre tenant create <tenant>`');
    // A tenant made by the CLI gets its agents' schedules at once.
    expect(await ok(env, 'tenant', 'create', 'acme')).toMatch(/8 agent schedule\(s\) created: cadre schedules list --tenant acme/);
    expect(await ok(env, 'schedules', 'list', '--tenant', 'acme')).toMatch(/hourly-cycle\s+sales\s+0 \* \* \* \*/);
    await ok(env, 'tenant', 'create', 'globex');
    const node = await startNode({ ...env, CADRE_NODE_ID: `node-${id}` });
    try {
      expect(await fails(env, 2, 'schedules', 'list')).toContain('give --tenant: this instance has 2 tenants (acme, globex)');
      expect((await json<Schedule[]>(env, 'schedules', 'list', '--tenant', 'globex')).map((s) => s.name)).toContain('sales-pipeline-review');
      const queued = await json<{ runId: string; status: string }>(env, 'schedules', 'run', 'sales-pipeline-review', '--tenant', 'acme');
      expect(queued).toMatchObject({ status: 'queued', runId: expect.any(String) });
      const run = await until('the run completed', async () => {
        const r = await json<Run>(env, 'runs', 'show', queued.runId, '--tenant', 'acme');
        return r.status === 'completed' ? r : undefined;
      });
      expect(run).toMatchObject({ agent: 'sales', job: 'sales-pipeline-review', counts: expect.objectContaining({ requested: expect.any(Number) }) });
      const page = await json<{ items: Run[]; next: string | null }>(env, 'runs', 'list', '--tenant', 'acme', '--agent', 'sales', '--job', 'sales-pipeline-review', '--limit', '1');
      expect(page.items.map((r) => r.id)).toEqual([queued.runId]);
      // The other tenant has none of it.
      expect(await ok(env, 'runs', 'list', '--tenant', 'globex')).toContain('no runs for tenant globex');
      expect(await fails(env, 1, 'runs', 'show', queued.runId, '--tenant', 'globex')).toContain(
        `no run ${queued.runId} in tenant globex; list them with \`cadre runs list --tenant globex\``,
      );
      expect(await ok(env, 'runs', 'list', '--tenant', 'acme', '--status', 'failed')).toContain('no runs for tenant acme that match');
      expect(await fails(env, 2, 'runs', 'list', '--tenant', 'acme', '--after', 'garbage')).toContain('--after: `after` is not a cursor from a previous page of runs');
      expect(await fails(env, 2, 'runs', 'list', '--status', 'bogus')).toContain("argument 'bogus' is invalid. expected one of queued, planning");
      expect(await fails(env, 1, 'schedules', 'run', 'no-such-job', '--tenant', 'acme')).toContain('no schedule named "no-such-job"');
      expect(await json(env, 'delegations', 'list', '--tenant', 'acme', '--agent', 'sales')).toEqual([]);
    } finally {
      const stopped = await node.stop();
      expect(stopped.code).toBe(0);
    }
  }, 2 * SLOW);
});
