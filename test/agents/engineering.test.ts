import { describe, expect, it } from 'vitest';
import { engineeringAgent, buildQueueCheck, onDealClosed, onTicketCreated, onTicketFailed, buildEstimate } from '../../agents/engineering/index.ts';
import { AgentSendParams, EmailParams, NotifyParams } from '../../agents/actions.ts';
import { Plan, type PlannedAction } from '../../agents/types.ts';
import { DomainEvents, DomainEventEnvelope } from '../../bus/index.ts';
import { dealEntity, orderEntity, ticketEntity } from '../../machines/index.ts';
import type { Runtime } from '../../runtime/index.ts';
import { planContext } from '../support/agents.ts';
import { eventually, makeEnv, runtimeBackends, useEnv } from '../support/runtime.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-01-05T09:00:00.000Z');
const tenant = 'acme';

/**
 * The engineering agent's job, reactions and task on a real runtime (embedded:
 * PGlite and the in-process bus): tickets are seeded by sending their events
 * while the manual clock moves, domain events are taken from the bus as the
 * actors published them, and each check's plan is asserted: what it found (ids)
 * and the actions it asks for, with params validated by the shared schemas.
 */

type Ev = { type: string; [k: string]: unknown };

async function send(rt: Runtime, kind: string, key: string, event: Ev) {
  const r = await rt.send.send({ tenant, kind, key }, event, { wait: true });
  expect(r, `${kind}/${key} took ${event.type}`).toMatchObject({ ok: true });
  return r;
}

const create = (title: string, patch: Record<string, unknown> = {}) => ({ type: 'ticket.create', title, client: 'Cornerstone Realty', platform: 'make', owner: 'brian', value: 8000, ...patch });

/** Every domain event the runtime publishes, as it went on the bus. */
function record(rt: Runtime) {
  const seen: DomainEventEnvelope[] = [];
  rt.bus.subscribe(`${rt.subjects.prefix}.${tenant}.events.>`, (_s, data) => seen.push(DomainEventEnvelope.parse(JSON.parse(new TextDecoder().decode(data)))));
  return {
    seen,
    /** The first event `name` (whose data matches `where`), once it was published. */
    one: (name: string, where: Record<string, unknown> = {}) =>
      eventually(async () => seen.find((e) => `${e.entity}.${e.name}` === name && Object.entries(where).every(([k, v]) => e.data[k] === v)), 10_000, name).then((e) => e.data),
  };
}

/** The plan is valid, and every action's params pass the shared schema of its type. */
function validated(plan: Plan): Plan {
  const p = Plan.parse(plan);
  for (const a of p.actions) {
    switch (a.actionType) {
      case 'notify.send':
        NotifyParams.parse(a.params);
        break;
      case 'email.send':
        EmailParams.parse(a.params);
        break;
      case 'agent.send': {
        const s = AgentSendParams.parse(a.params);
        expect(s.to.kind).toBe('ticket');
        ticketEntity.events.parse(s.event);
        break;
      }
      default:
        throw new Error(`unexpected action type ${a.actionType}`);
    }
  }
  return p;
}

const ofType = (p: Plan, t: string) => p.actions.filter((a) => a.actionType === t);
const params = <T>(a: PlannedAction) => a.params as T;

describe('engineering agent definition', () => {
  it('is defined as data: one job on weekdays at 9, three reactions, one task, tool names', () => {
    expect(engineeringAgent.name).toBe('engineering');
    expect(engineeringAgent.jobs.map((j) => [j.name, j.cron, j.missed])).toEqual([['build-queue-check', '0 9 * * 1-5', 'skip']]);
    expect(engineeringAgent.reactions.map((r) => r.event)).toEqual(['deal.closed', 'ticket.failed', 'ticket.created']);
    expect(engineeringAgent.accepts.map((t) => t.name)).toEqual(['build-estimate']);
    expect(engineeringAgent.tools).toEqual(expect.arrayContaining(['notify_team', 'send_email', 'update_entity']));
  });
});

describe.each(runtimeBackends)('engineering build-queue-check on $name', ({ make }) => {
  const env = useEnv(make);
  const ctx = (rt: Runtime, job: string) => planContext(rt, { tenant, agent: 'engineering', job });

  it('build-queue-check: builds at risk, stuck submissions analysed, overdue reviews nudged by email or in #builds, the summary', async () => {
    const rt = await env.start({ entities: [ticketEntity, dealEntity, orderEntity] });
    const go = (key: string, ...events: Ev[]) => events.reduce((p, e) => p.then(() => send(rt, 'ticket', key, e)), Promise.resolve() as Promise<unknown>);
    // t0 (Mon 09:00): B-1 starts building; enter review on day 2.
    await go('B-1', create('Invoice intake'), { type: 'ticket.analyze' }, { type: 'ticket.start_build' });
    await go('D-1', create('Lead routing'), { type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' }, { type: 'ticket.approve', by: 'dana' }, { type: 'ticket.deploy', ok: true });
    env.clock.advance(2 * DAY);
    await go('B-3', create('CRM sync'), { type: 'ticket.analyze' }, { type: 'ticket.start_build' }); // exactly 3 days at the check: not at risk
    await go('R-1', create('Quote builder', { reviewer: 'dana@manageai.example' }), { type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' });
    await go('R-2', create('Onboarding flow', { reviewer: 'dana', client: 'Acme Facilities' }), { type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' });
    env.clock.advance(DAY);
    await go('B-2', create('Slack digest'), { type: 'ticket.analyze' }, { type: 'ticket.start_build' });
    await go('S-1', create('Timesheet import'));
    env.clock.advance(DAY);
    await go('R-3', create('Report mailer'), { type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' }); // no reviewer, 1 day
    env.clock.advance(DAY / 2);
    await go('S-2', create('Calendar sync')); // 12 hours: not stuck
    env.clock.advance(DAY / 2); // the check at t0 + 5 days

    const plan = validated(await buildQueueCheck(ctx(rt, 'build-queue-check')));
    expect(plan.findings).toMatchObject({
      inProgress: ['B-1', 'B-3', 'B-2'],
      atRisk: ['B-1'],
      analysisTriggered: ['S-1'],
      waitingReview: ['R-1', 'R-2', 'R-3'],
      reviewNudged: ['R-1', 'R-2'],
      ages: { 'B-1': 5, 'B-2': 2, 'B-3': 3, 'R-1': 3, 'R-2': 3, 'R-3': 1, 'S-1': 2 },
    });
    expect(plan.actions.map((a) => [a.actionType, a.target ?? null])).toEqual([
      ['agent.send', 'ticket/S-1'],
      ['email.send', 'ticket/R-1'],
      ['notify.send', 'ticket/R-2'],
      ['notify.send', null],
      ['notify.send', null],
    ]);
    expect(ofType(plan, 'agent.send')[0]!.params).toEqual({ to: { kind: 'ticket', key: 'S-1' }, event: { type: 'ticket.analyze' } });
    expect(params<EmailParams>(ofType(plan, 'email.send')[0]!)).toMatchObject({ to: 'dana@manageai.example', subject: 'Review waiting: Quote builder (R-1)', related: 'ticket/R-1' });
    const [nudge, alert, summary] = ofType(plan, 'notify.send').map((a) => params<NotifyParams>(a));
    expect(nudge).toMatchObject({ kind: 'alert', channel: 'builds', topic: 'review.nudge:R-2', body: expect.stringContaining('Reviewer: dana.') });
    expect(alert).toMatchObject({ kind: 'alert', channel: 'builds', severity: 'warning', topic: 'build.at_risk', body: expect.stringContaining('B-1 "Invoice intake" (Cornerstone Realty): building for 5 days') });
    expect(alert!.body).not.toContain('B-3');
    expect(summary).toMatchObject({ kind: 'summary', channel: 'builds', title: '3 builds in progress, 1 at risk, 3 waiting review' });
    expect(plan.hints).toEqual(['No reviewer assigned on R-3: set one with ticket.update so reviews can be nudged.']);

    // The planned agent.send is an event the ticket takes.
    const a = params<AgentSendParams>(ofType(plan, 'agent.send')[0]!);
    expect(await rt.send.send({ tenant, ...a.to }, a.event, { wait: true })).toMatchObject({ ok: true, state: 'analyzing' });
  });
});

describe('engineering agent on seeded data', () => {
  const env = useEnv(() => makeEnv('embedded'));
  const start = () => env.start({ entities: [ticketEntity, dealEntity, orderEntity] });
  const ctx = (rt: Runtime, job: string, input: Record<string, unknown> = {}) => planContext(rt, { tenant, agent: 'engineering', job, input });

  it('build-queue-check on an empty queue: only the summary, with zeros', async () => {
    const rt = await start();
    const plan = validated(await buildQueueCheck(ctx(rt, 'build-queue-check')));
    expect(plan.findings).toMatchObject({ inProgress: [], atRisk: [], analysisTriggered: [], waitingReview: [], reviewNudged: [] });
    expect(plan.actions).toHaveLength(1);
    expect(plan.actions[0]!.params).toMatchObject({ kind: 'summary', channel: 'builds', title: '0 builds in progress, 0 at risk, 0 waiting review', body: 'Nothing in build.' });
    expect(plan.hints).toEqual([]);
  });

  it('deal.closed: opens T-<dealId> from the deal as published, tells #builds the queue load; the created ticket is acknowledged; not twice', async () => {
    const rt = await start();
    const events = record(rt);
    await send(rt, 'ticket', 'B-1', create('Busy build'));
    await send(rt, 'ticket', 'B-1', { type: 'ticket.analyze' });
    await send(rt, 'ticket', 'B-1', { type: 'ticket.start_build' });
    await send(rt, 'deal', 'D-42', { type: 'deal.create', title: 'Cornerstone contract automation', value: 15_000, contact: 'ops@cornerstone.example', owner: 'tony' });
    await send(rt, 'deal', 'D-42', { type: 'deal.win' });
    const closed = await events.one('deal.closed');

    const plan = validated(await onDealClosed(ctx(rt, 'react:deal.closed', closed)));
    expect(plan.findings).toMatchObject({ dealId: 'D-42', ticketId: 'T-D-42', existing: false, building: 1, waitingAnalysis: 0 });
    expect(plan.actions.map((a) => [a.actionType, a.target])).toEqual([
      ['agent.send', 'ticket/T-D-42'],
      ['notify.send', 'ticket/T-D-42'],
    ]);
    const open = params<AgentSendParams>(plan.actions[0]!);
    expect(open.event).toEqual({
      type: 'ticket.create',
      title: 'Cornerstone contract automation',
      client: 'Cornerstone contract automation',
      value: 15_000,
      dealId: 'D-42',
      clientContact: 'ops@cornerstone.example',
    });
    expect(plan.actions[1]!.params).toMatchObject({ kind: 'brief', channel: 'builds', title: 'New build: Cornerstone contract automation (USD 15,000)' });
    expect((plan.actions[1]!.params as NotifyParams).body).toContain('1 build in progress');

    // Carried out: the ticket exists and publishes ticket.created, which engineering acknowledges.
    expect(await rt.send.send({ tenant, ...open.to }, open.event, { wait: true })).toMatchObject({ ok: true, state: 'submitted' });
    const created = await events.one('ticket.created', { ticketId: 'T-D-42' });
    const ack = validated(await onTicketCreated(ctx(rt, 'react:ticket.created', created)));
    expect(ack.findings).toMatchObject({ ticketId: 'T-D-42', client: 'Cornerstone contract automation', analysisDue: '2026-01-06', waitingAnalysis: 1 });
    expect(ack.actions).toHaveLength(1);
    expect(ack.actions[0]!.params).toMatchObject({ kind: 'brief', channel: 'builds', title: 'New ticket T-D-42: Cornerstone contract automation (Cornerstone contract automation)' });
    expect(ack.hints).toEqual(['T-D-42 has no owner: assign an engineer before the analysis.']);

    // The same deal again (a redelivery): the ticket exists, nothing is asked for.
    const again = validated(await onDealClosed(ctx(rt, 'react:deal.closed', { ...closed, client: 'Cornerstone Realty' })));
    expect(again.findings).toMatchObject({ ticketId: 'T-D-42', existing: true });
    expect(again.actions).toEqual([]);
  });

  it('deal.closed names the client from the company name when the event has one, and only writes an email contact', async () => {
    const rt = await start();
    const data = { ...DomainEvents['deal.closed'].parse({ dealId: 'D-7', title: 'Ops automations', value: 3000, currency: 'EUR', contact: 'C-12', owner: null }), client: 'Beta GmbH' };
    const plan = validated(await onDealClosed(ctx(rt, 'react:deal.closed', data)));
    expect(params<AgentSendParams>(plan.actions[0]!).event).toEqual({ type: 'ticket.create', title: 'Ops automations', client: 'Beta GmbH', value: 3000, dealId: 'D-7' });
    expect(plan.hints).toEqual(["No client email on deal D-7: set the ticket's clientContact so delivery can write to the client."]);
    await expect(onDealClosed(ctx(rt, 'react:deal.closed', { dealId: 'D-7' }))).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('ticket.failed: a warning alert on topic ticket.failed with the error and attempts', async () => {
    const rt = await start();
    const events = record(rt);
    for (const e of [create('Invoice intake'), { type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' }, { type: 'ticket.approve', by: 'dana' }]) await send(rt, 'ticket', 'T-9', e);
    env.clock.advance(HOUR);
    await send(rt, 'ticket', 'T-9', { type: 'ticket.deploy', ok: false, error: 'QuickBooks connection expired' });
    const failed = await events.one('ticket.failed');
    const plan = validated(await onTicketFailed(ctx(rt, 'react:ticket.failed', failed)));
    expect(plan.findings).toEqual({ ticketId: 'T-9', client: 'Cornerstone Realty', failedDeploys: 1, owner: 'brian' });
    expect(plan.actions).toHaveLength(1);
    expect(plan.actions[0]!.params).toMatchObject({ kind: 'alert', channel: 'builds', severity: 'warning', topic: 'ticket.failed', title: 'Deploy failed: T-9 for Cornerstone Realty' });
    expect((plan.actions[0]!.params as NotifyParams).body).toContain('failed: QuickBooks connection expired');
  });

  it('build-estimate: from the platform default, then from the median of completed builds; an unknown ticket', async () => {
    const rt = await start();
    const build = async (key: string, days: number, platform = 'make') => {
      await send(rt, 'ticket', key, create(`Build ${key}`, { platform }));
      await send(rt, 'ticket', key, { type: 'ticket.analyze' });
      await send(rt, 'ticket', key, { type: 'ticket.start_build' });
      env.clock.advance(days * DAY);
      for (const e of [{ type: 'ticket.submit_review' }, { type: 'ticket.approve', by: 'dana' }, { type: 'ticket.deploy', ok: true }]) await send(rt, 'ticket', key, e);
    };
    await send(rt, 'ticket', 'T-1', create('New build'));
    await send(rt, 'ticket', 'T-1', { type: 'ticket.analyze' });
    const first = validated(await buildEstimate(ctx(rt, 'build-estimate', { ticketId: 'T-1' })));
    expect(first.findings).toMatchObject({ ticketId: 'T-1', found: true, state: 'analyzing', estimateDays: 5, basis: 'default', samples: 0, remainingDays: 5 });
    expect(first.actions).toEqual([]);

    await build('H-1', 2);
    await build('H-2', 4);
    await build('H-3', 8);
    await build('Z-1', 20, 'zapier'); // another platform: not a sample
    const second = validated(await buildEstimate(ctx(rt, 'build-estimate', { ticketId: 'T-1' })));
    expect(second.findings).toMatchObject({ estimateDays: 4, basis: 'history', samples: 3, elapsedDays: 34, remainingDays: 0 });
    expect(second.summary).toContain('median of 3 completed builds on Make.com');

    const none = validated(await buildEstimate(ctx(rt, 'build-estimate', { ticketId: 'T-404' })));
    expect(none.findings).toEqual({ ticketId: 'T-404', found: false });
    expect(engineeringAgent.accepts[0]!.input.safeParse({}).success).toBe(false);
  });
});
