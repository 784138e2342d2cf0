import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeEnv, runtimeBackends, eventually, type TestEnv } from '../support/runtime.ts';
import { dealEntity } from '../../machines/index.ts';
import type { AgentDefinition, Plan, PlanContext } from '../../agents/types.ts';
import type { EffectHandler, Runtime } from '../../runtime/index.ts';
import type { AgentContext } from '../../agents/machine.ts';

const T = 'acme';
const HOUR = 3600_000;

/** An email handler that records what it was asked to send (the world, as far as these tests go). */
function recordingEmail(): EffectHandler & { sent: Record<string, unknown>[] } {
  const sent: Record<string, unknown>[] = [];
  return { actionType: 'email.send', sent, async run(req) { sent.push(req.params); return { id: `m-${sent.length}` }; } };
}

const followUp = (n: number): Plan['actions'][number] => ({
  actionType: 'email.send',
  params: { to: `c${n}@client.example`, subject: `Following up ${n}`, body: 'Hello again.' },
  preview: `Follow-up email to c${n}@client.example`,
  target: `deal/D-${n}`,
});

function agent(name: AgentDefinition['name'], over: Partial<AgentDefinition> = {}): AgentDefinition {
  return { name, title: name, mission: `the ${name} agent of the tests`, jobs: [], reactions: [], accepts: [], tools: [], ...over };
}

/** Sales with one daily job proposing two follow-ups; engineering and delivery reacting to won deals. */
function definitions(calls: { job: PlanContext[]; reactions: PlanContext[] }, missed: 'skip' | 'run_once' = 'run_once'): AgentDefinition[] {
  return [
    agent('sales', {
      jobs: [
        {
          name: 'daily-review',
          cron: '0 8 * * *',
          description: 'test job',
          missed,
          async check(ctx) {
            calls.job.push(ctx);
            return { summary: 'two deals need a follow-up', findings: { idle: ['D-1', 'D-2'] }, actions: [followUp(1), followUp(2)], hints: ['look again tomorrow'] };
          },
        },
      ],
    }),
    ...(['engineering', 'delivery'] as const).map((name) =>
      agent(name, {
        reactions: [
          {
            event: 'deal.closed',
            priority: 'high',
            description: 'a won deal',
            async check(ctx) {
              calls.reactions.push(ctx);
              return { summary: `${name} saw ${String(ctx.input.dealId)} won`, findings: { dealId: ctx.input.dealId }, actions: [], hints: [] };
            },
          },
        ],
      }),
    ),
  ];
}

async function agentCtx(rt: Runtime, key: string): Promise<AgentContext | undefined> {
  const page = await rt.read.query(T, { kind: 'agent', where: [{ field: 'key', op: 'eq', value: key }] });
  return page.items[0]?.context as AgentContext | undefined;
}

describe.each(runtimeBackends)('department agents: schedules, runs, tasks ($name)', ({ make }) => {
  let env: TestEnv;
  afterEach(() => env?.cleanup());

  it('fires an occurrence once, plans it, acts through the gate and records the run', async () => {
    env = await make();
    const calls = { job: [] as PlanContext[], reactions: [] as PlanContext[] };
    const email = recordingEmail();
    const rt = await env.start({ entities: [dealEntity], agents: definitions(calls), effects: [email] });
    expect(await rt.agents.ensureTenant(T)).toBe(1);
    const [s] = await rt.agents.schedules.list(T);
    expect(s).toMatchObject({ name: 'daily-review', agent: 'sales', cron: '0 8 * * *', timezone: 'UTC', enabled: true, nextDueAt: '2026-01-06T08:00:00.000Z' });
    // One follow-up runs on its own, the other waits for a person.
    await rt.gate.settings.setLevel(T, { agent: 'sales', actionType: 'email.send', level: 'autonomous' }, 'test');

    env.clock.set(Date.parse('2026-01-06T08:00:05Z'));
    await rt.agents.kick();
    await rt.agents.kick();
    await rt.agents.idle();
    const run = await eventually(async () => {
      const r = (await rt.agents.runs.list(T)).items[0];
      return r?.status === 'completed' ? r : undefined;
    });
    expect(calls.job).toHaveLength(1);
    expect(run).toMatchObject({ agent: 'sales', job: 'daily-review', trigger: 'schedule', occurrence: 'schedule:daily-review:2026-01-06T08:00:00.000Z', planner: 'rules', summary: 'two deals need a follow-up' });
    expect(run.counts).toMatchObject({ requested: 2, done: 2 });
    expect(run.hints).toEqual(['look again tomorrow']);
    expect(run.durationMs).toBeGreaterThanOrEqual(0);
    expect(email.sent.map((p) => p.to).sort()).toEqual(['c1@client.example', 'c2@client.example']);
    // The schedule moved on to the next day; a second tick fires nothing.
    expect((await rt.agents.schedules.get(T, 'daily-review'))?.nextDueAt).toBe('2026-01-07T08:00:00.000Z');
    expect((await rt.agents.runs.list(T)).items).toHaveLength(1);
    const ctx = await agentCtx(rt, 'sales');
    expect(ctx?.recent[0]).toMatchObject({ runId: run.id, counts: { requested: 2, done: 2 } });
  });

  it('holds an action for approval, records it as awaiting, does not ask again while it waits, and updates the run when a person approves', async () => {
    env = await make();
    const email = recordingEmail();
    // Each follow-up touches its deal once sent.
    const touching = (n: number) => ({ ...followUp(n), onDone: { to: { kind: 'deal', key: `D-${n}` }, event: { type: 'deal.touch', activity: 'email', by: 'sales' } } });
    const defs = [
      agent('sales', {
        jobs: [{ name: 'daily-review', cron: '0 8 * * *', description: 'test job', missed: 'skip', check: async () => ({ summary: 'two deals need a follow-up', findings: {}, actions: [touching(1), touching(2)], hints: [] }) }],
      }),
    ];
    const rt = await env.start({ entities: [dealEntity], agents: defs, effects: [email] });
    for (const n of [1, 2]) await rt.send.send({ tenant: T, kind: 'deal', key: `D-${n}` }, { type: 'deal.create', title: `Deal ${n}`, value: 1000 }, { wait: true });
    await rt.agents.ensureTenant(T);
    const id = await rt.agents.runNow(T, 'daily-review', 'operator:ana');
    await rt.agents.idle();
    const run = await eventually(async () => {
      const r = await rt.agents.runs.get(T, id);
      return r?.status === 'completed' ? r : undefined;
    });
    expect(run).toMatchObject({ trigger: 'manual', requestedBy: 'operator:ana', counts: { requested: 2, awaiting_approval: 2 } });
    const pending = await rt.approvals.list(T, { status: 'pending' });
    expect(pending.map((a) => a.preview).sort()).toEqual(['Follow-up email to c1@client.example', 'Follow-up email to c2@client.example']);
    expect(pending.every((a) => a.agent === 'sales' && a.kind === 'task')).toBe(true);
    expect(email.sent).toHaveLength(0);
    // The same job again: both follow-ups still wait for a person, so nothing is asked twice.
    const again = await rt.agents.runNow(T, 'daily-review', 'operator:ana');
    const second = await eventually(async () => {
      const r = await rt.agents.runs.get(T, again);
      return r?.status === 'completed' ? r : undefined;
    });
    expect(second.counts).toEqual({ requested: 0 });
    expect(second.findings).toMatchObject({ alreadyWaiting: [{ actionType: 'email.send', target: 'deal/D-1' }, { actionType: 'email.send', target: 'deal/D-2' }] });
    expect(await rt.approvals.list(T, { status: 'pending' })).toHaveLength(2);

    const first = pending.find((a) => a.params.to === 'c1@client.example')!;
    env.clock.advance(60_000);
    await rt.approvals.approve(T, first.id, 'operator:ana');
    await eventually(async () => ((await rt.agents.runs.get(T, id))?.counts?.done === 1 ? true : undefined));
    expect(email.sent).toHaveLength(1);
    expect((await rt.agents.runs.get(T, id))?.counts).toMatchObject({ requested: 2, done: 1, awaiting_approval: 1 });
    // Sent, the follow-up touched its deal.
    const deal = await eventually(async () => {
      const d = (await rt.read.query(T, { kind: 'deal', where: [{ field: 'key', op: 'eq', value: 'D-1' }] })).items[0];
      return d && d.context.lastMovedAt !== d.context.createdAt ? d : undefined;
    });
    expect(deal.context.lastMovedAt).toBe(new Date(env.clock.now()).toISOString());
  });

  it('escalates a task that failed its attempts to a person, and tries again when approved', async () => {
    env = await make();
    let failures = 3;
    const flaky: EffectHandler = {
      actionType: 'email.send',
      retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 10 },
      async run() {
        if (failures-- > 0) throw new Error(`mail server said 503: ${'the queue is full; '.repeat(200)}`);
        return { ok: true };
      },
    };
    const defs = [agent('sales', { jobs: [{ name: 'one-mail', cron: '0 8 * * *', description: 'one email', missed: 'skip', check: async () => ({ summary: 'one', findings: {}, actions: [followUp(7)], hints: [] }) }] })];
    const rt = await env.start({ entities: [dealEntity], agents: defs, effects: [flaky] });
    await rt.agents.ensureTenant(T);
    await rt.gate.settings.setLevel(T, { agent: 'sales', actionType: 'email.send', level: 'autonomous' }, 'test');
    const id = await rt.agents.runNow(T, 'one-mail', 'test');
    // Three attempts with backoff; the clock moves the backoff along.
    const escalation = await eventually(async () => {
      env.clock.advance(50);
      const [a] = await rt.approvals.list(T, { status: 'pending', actionType: 'task.escalate' });
      return a;
    });
    expect(escalation.risk).toBe('critical');
    expect(escalation.preview).toContain('failed after its attempts: mail server said 503');
    expect(escalation.preview.length).toBeLessThanOrEqual(2000); // a long error is cut, not a reason to lose the escalation
    const run = await eventually(async () => {
      const r = await rt.agents.runs.get(T, id);
      return r?.status === 'completed' ? r : undefined;
    });
    expect(run.counts).toMatchObject({ escalated: 1 });
    await rt.approvals.approve(T, escalation.id, 'operator:ana', 'the mail server is back');
    await eventually(async () => {
      env.clock.advance(50);
      return (await rt.agents.runs.get(T, id))?.counts?.done === 1 ? true : undefined;
    });
  });
});

describe('planning time limits (embedded)', () => {
  let env: TestEnv;
  afterEach(() => env?.cleanup());

  it('a planner slower than its time limit fails the attempt, three attempts fail the run with an alert, and nothing rejects afterwards', async () => {
    env = await makeEnv('embedded');
    let calls = 0;
    const defs = [
      agent('sales', {
        jobs: [
          { name: 'slow', cron: '0 8 * * *', description: 'too slow', missed: 'skip', timeoutMs: 200, check: () => (calls++, new Promise<never>(() => {})) },
          { name: 'quick', cron: '0 9 * * *', description: 'fast', missed: 'skip', timeoutMs: 300, check: async () => ({ summary: 'quick', findings: {}, actions: [], hints: [] }) },
        ],
      }),
    ];
    const rt = await env.start({ entities: [dealEntity], agents: defs });
    await rt.agents.ensureTenant(T);
    const quick = await rt.agents.runNow(T, 'quick', 'test');
    const id = await rt.agents.runNow(T, 'slow', 'test');
    const run = await eventually(async () => {
      env.clock.advance(5_000); // the backoff between attempts is on the runtime's clock
      await rt.agents.kick();
      const r = await rt.agents.runs.get(T, id);
      return r?.status === 'failed' ? r : undefined;
    }, 20_000);
    expect(calls).toBe(3);
    expect(run.attempts).toBe(3);
    expect(run.error).toBe('planning took longer than 200 ms (the schedule\'s timeout)');
    // The agent was told, and alerts people (a notify.send task, through the gate).
    const alert = await eventually(async () => (await rt.read.query(T, { kind: 'task', where: [{ field: 'runId', op: 'eq', value: id }] })).items[0]);
    expect(alert.context).toMatchObject({ actionType: 'notify.send', params: { kind: 'alert', topic: 'run.failed:slow' } });
    expect((await rt.agents.runs.get(T, quick))?.status).toBe('completed');
    // The quick run's time limit passes after it was planned: that must not reject anything (vitest fails on an unhandled rejection).
    await new Promise((r) => setTimeout(r, 600));
  });
});

describe('missed occurrences (embedded)', () => {
  let env: TestEnv;
  afterEach(() => env?.cleanup());

  for (const policy of ['run_once', 'skip'] as const) {
    it(`an occurrence that passed while the runtime was down: ${policy}`, async () => {
      env = await makeEnv('embedded');
      const calls = { job: [] as PlanContext[], reactions: [] as PlanContext[] };
      const defs = definitions(calls, policy);
      const email = recordingEmail();
      let rt = await env.start({ entities: [dealEntity], agents: defs, effects: [email] });
      await rt.agents.ensureTenant(T);
      await rt.stop();
      // Down for three days: the 8:00 occurrences of Jan 6, 7 and 8 pass unseen.
      env.clock.set(Date.parse('2026-01-08T11:00:00Z'));
      rt = await env.start({ entities: [dealEntity], agents: defs, effects: [email] });
      await rt.agents.kick();
      await rt.agents.idle();
      const runs = await eventually(async () => {
        const r = (await rt.agents.runs.list(T)).items;
        return r.length === 1 && ['completed', 'skipped'].includes(r[0]!.status) ? r : undefined;
      });
      const [run] = runs;
      expect(run!.input).toMatchObject({ catchUp: { missed: 3, firstMissedAt: '2026-01-06T08:00:00.000Z', latestMissedAt: '2026-01-08T08:00:00.000Z', policy } });
      if (policy === 'run_once') {
        expect(run).toMatchObject({ trigger: 'catch_up', status: 'completed', occurrence: 'schedule:daily-review:2026-01-08T08:00:00.000Z' });
        expect(calls.job).toHaveLength(1);
      } else {
        expect(run).toMatchObject({ status: 'skipped', trigger: 'schedule' });
        expect(run!.error).toContain('3 occurrence(s)');
        expect(calls.job).toHaveLength(0);
      }
      // Once: further ticks and a restart fire nothing more until the next occurrence.
      await rt.agents.kick();
      await rt.stop();
      rt = await env.start({ entities: [dealEntity], agents: defs, effects: [email] });
      await rt.agents.kick();
      await rt.agents.idle();
      expect((await rt.agents.runs.list(T)).items).toHaveLength(1);
      expect((await rt.agents.schedules.get(T, 'daily-review'))?.nextDueAt).toBe('2026-01-09T08:00:00.000Z');
    });
  }
});

describe('a stop overnight (embedded)', () => {
  let env: TestEnv;
  afterEach(() => env?.cleanup());

  it("runs today's occurrence as scheduled when it is on time, saying how many earlier ones were missed", async () => {
    env = await makeEnv('embedded');
    const calls = { job: [] as PlanContext[], reactions: [] as PlanContext[] };
    const defs = definitions(calls, 'skip');
    let rt = await env.start({ entities: [dealEntity], agents: defs });
    await rt.agents.ensureTenant(T);
    await rt.stop();
    env.clock.set(Date.parse('2026-01-08T08:01:00Z')); // Jan 6 and 7 passed unseen; Jan 8 is a minute late
    rt = await env.start({ entities: [dealEntity], agents: defs });
    await rt.agents.kick();
    await rt.agents.idle();
    const [run] = await eventually(async () => {
      const r = (await rt.agents.runs.list(T)).items;
      return r.length === 1 && r[0]!.status === 'completed' ? r : undefined;
    });
    expect(run).toMatchObject({ trigger: 'schedule', occurrence: 'schedule:daily-review:2026-01-08T08:00:00.000Z', input: { missedBefore: { missed: 2, firstMissedAt: '2026-01-06T08:00:00.000Z', policy: 'skip' } } });
    expect(calls.job).toHaveLength(1);
  });
});

describe('internal actions the runtime would refuse (embedded)', () => {
  let env: TestEnv;
  afterEach(() => env?.cleanup());

  it('are refused one by one, and the rest of the run goes on', async () => {
    env = await makeEnv('embedded');
    const email = recordingEmail();
    const defs = [
      agent('sales', {
        jobs: [
          {
            name: 'mixed',
            cron: '0 8 * * *',
            description: 'good and bad internal actions',
            missed: 'skip',
            check: async () => ({
              summary: 'mixed',
              findings: {},
              actions: [
                { actionType: 'agent.publish', params: { event: 'client.at_risk', data: { client: 'Acme' } }, preview: 'bad data' },
                { actionType: 'agent.publish', params: { event: 'client.vanished', data: {} }, preview: 'not in the catalogue' },
                { actionType: 'agent.publish', params: { event: 'client.at_risk', data: { client: 'Acme', reason: 'quiet', contact: null, since: null } }, preview: 'good' },
                { actionType: 'agent.send', params: { to: { kind: 'deal', key: 'deal/D-1' }, event: { type: 'deal.touch' } }, preview: 'bad key' },
                followUp(1),
              ],
              hints: [],
            }),
          },
        ],
      }),
    ];
    const rt = await env.start({ entities: [dealEntity], agents: defs, effects: [email] });
    await rt.agents.ensureTenant(T);
    await rt.gate.settings.setLevel(T, { agent: 'sales', actionType: 'email.send', level: 'autonomous' }, 'test');
    const id = await rt.agents.runNow(T, 'mixed', 'test');
    const run = await eventually(async () => {
      const r = await rt.agents.runs.get(T, id);
      return r?.status === 'completed' ? r : undefined;
    });
    expect(run.counts).toEqual({ requested: 5, refused: 3, published: 1, done: 1 });
    const details = (run.actions as { detail: string | null; outcome: string }[]).filter((a) => a.outcome === 'refused').map((a) => a.detail ?? '');
    expect(details[0]).toContain('client.at_risk does not match its schema');
    expect(details[1]).toContain('client.vanished is not in the event catalogue');
    expect(details[2]).toContain('bad message');
    expect(email.sent).toHaveLength(1);
  });
});

describe('reactions across two processes (PostgreSQL + NATS)', () => {
  let env: TestEnv;
  afterEach(() => env?.cleanup());

  it('an occurrence fires once when two processes look at the same moment', async () => {
    env = await makeEnv('services');
    const calls = { job: [] as PlanContext[], reactions: [] as PlanContext[] };
    const defs = definitions(calls);
    const email = recordingEmail();
    const a = await env.start({ entities: [dealEntity], agents: defs, effects: [email], overrides: { nodeId: 'node-a' } });
    const b = await env.start({ entities: [dealEntity], agents: defs, effects: [email], overrides: { nodeId: 'node-b' } });
    await a.agents.ensureTenant(T);
    await b.agents.ensureTenant(T); // the second finds them there
    env.clock.set(Date.parse('2026-01-06T08:00:01Z'));
    await Promise.all([a.agents.kick(), b.agents.kick(), a.agents.kick(), b.agents.kick()]);
    const runs = await eventually(async () => {
      const r = (await a.agents.runs.list(T)).items;
      return r.length > 0 && r.every((x) => x.status === 'completed') ? r : undefined;
    }, 30_000);
    await Promise.all([a.agents.idle(), b.agents.idle()]);
    expect(runs).toHaveLength(1);
    expect(calls.job).toHaveLength(1);
    expect(email.sent).toHaveLength(0); // supervised: both follow-ups wait for a person
    expect((await a.agents.runs.list(T)).items).toHaveLength(1);
  });

  it('deal.closed for a won deal reaches engineering and delivery exactly once each', async () => {
    env = await makeEnv('services');
    const calls = { job: [] as PlanContext[], reactions: [] as PlanContext[] };
    const defs = definitions(calls);
    const a = await env.start({ entities: [dealEntity], agents: defs, overrides: { nodeId: 'node-a' } });
    const b = await env.start({ entities: [dealEntity], agents: defs, overrides: { nodeId: 'node-b' } });
    const deal = { tenant: T, kind: 'deal', key: 'D-1042' };
    await a.send.send(deal, { type: 'deal.create', title: 'Roof automation', value: 12000, contact: 'ops@roofco.example' }, { wait: true });
    await b.send.send(deal, { type: 'deal.win' }, { wait: true });
    const runs = await eventually(async () => {
      const r = (await a.agents.runs.list(T)).items;
      return r.length === 2 && r.every((x) => x.status === 'completed') ? r : undefined;
    }, 30_000);
    expect(runs.map((r) => r.agent).sort()).toEqual(['delivery', 'engineering']);
    expect(new Set(runs.map((r) => r.occurrence)).size).toBe(1);
    expect(runs.every((r) => r.job === 'react:deal.closed' && r.trigger === 'event')).toBe(true);
    // Give a redelivery every chance to show up: still one run each, one planning each.
    await new Promise((r) => setTimeout(r, 1500));
    await a.agents.kick();
    await b.agents.kick();
    await a.agents.idle();
    await b.agents.idle();
    expect((await a.agents.runs.list(T)).items).toHaveLength(2);
    expect(calls.reactions.map((c) => c.agent).sort()).toEqual(['delivery', 'engineering']);
    expect(calls.reactions[0]!.input).toMatchObject({ dealId: 'D-1042', value: 12000 });
    for (const key of ['engineering', 'delivery']) expect((await agentCtx(a, key))?.stats.runs).toBe(1);
  });
});

describe.each(runtimeBackends)('delegation ($name)', ({ make }) => {
  let env: TestEnv;
  afterEach(() => env?.cleanup());

  it('a passed deadline gives the delegator a timeout event; a late result is kept as late; a declined delegation is recorded', async () => {
    env = await make();
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const defs = [
      agent('sales', {
        jobs: [
          {
            name: 'ask-delivery',
            cron: '0 8 * * *',
            description: 'delegates',
            missed: 'skip',
            check: async () => ({
              summary: 'asking delivery',
              findings: {},
              actions: [
                { actionType: 'agent.delegate', params: { to: 'delivery', task: 'order-exceptions', input: { count: 2 }, deadlineMs: 30 * 60_000 }, preview: 'Ask delivery to review order exceptions' },
                { actionType: 'agent.delegate', params: { to: 'delivery', task: 'write-poetry', input: {} }, preview: 'Ask delivery for a poem' },
                { actionType: 'agent.delegate', params: { to: 'delivery', task: 'broken', input: {} }, preview: 'Ask delivery for what it cannot do' },
              ],
              hints: [],
            }),
          },
        ],
      }),
      agent('delivery', {
        accepts: [
          {
            name: 'order-exceptions',
            description: 'reviews order exceptions',
            input: z.object({ count: z.number() }).strict(),
            async check(ctx) {
              await slow;
              return { summary: `reviewed ${String(ctx.input.count)} exceptions`, findings: { reviewed: ctx.input.count }, actions: [], hints: [] };
            },
          },
          {
            name: 'broken',
            description: 'always fails to plan',
            input: z.object({}).strict(),
            check: async () => {
              throw new Error('the order system is unreachable');
            },
          },
        ],
      }),
    ];
    const rt = await env.start({ entities: [dealEntity], agents: defs, overrides: { schedulerTickMs: 200 } });
    await rt.agents.ensureTenant(T);
    await rt.agents.runNow(T, 'ask-delivery', 'test');
    const declined = await eventually(async () => (await rt.agents.delegations.list(T, { status: 'declined' }))[0]);
    expect(declined).toMatchObject({ from: 'sales', to: 'delivery', task: 'write-poetry' });
    expect(declined.reason).toContain('does not take "write-poetry"');
    const accepted = await eventually(async () => (await rt.agents.delegations.list(T, { status: 'accepted' })).find((d) => d.task === 'order-exceptions'));
    expect(accepted).toMatchObject({ task: 'order-exceptions', input: { count: 2 } });
    // The delegate is still working when the deadline passes.
    env.clock.advance(31 * 60_000);
    const timedOut = await eventually(async () => (await rt.agents.delegations.list(T, { status: 'timed_out' }))[0]);
    expect(timedOut.id).toBe(accepted.id);
    const sales = await agentCtx(rt, 'sales');
    expect(sales?.delegations[accepted.id]).toMatchObject({ status: 'timed_out', direction: 'outgoing' });
    // The journal has the timeout event the delegator received.
    const [journal] = await rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM journal WHERE tenant = $1 AND kind = 'agent' AND key = 'sales' AND event::text LIKE '%agent.delegation.deadline%'`,
      [T],
    );
    expect(journal!.n).toBe(1);
    release();
    // Accepted, then its planning failed three times: declined after all, with the reason.
    const failed = await eventually(async () => {
      env.clock.advance(10_000);
      await rt.agents.kick();
      return (await rt.agents.delegations.list(T)).find((d) => d.task === 'broken' && d.status === 'declined');
    });
    expect(failed.reason).toBe('planning failed: the order system is unreachable');
    const late = await eventually(async () => (await rt.agents.delegations.list(T)).find((d) => d.id === accepted.id && d.late));
    expect(late).toMatchObject({ status: 'timed_out', summary: 'reviewed 2 exceptions', late: true });
    const runs = (await rt.agents.runs.list(T, { agent: 'delivery', job: 'order-exceptions' })).items;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ trigger: 'delegation', job: 'order-exceptions', delegationId: accepted.id, input: { count: 2 } });
  });
});
