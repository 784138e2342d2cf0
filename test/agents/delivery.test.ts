import { describe, expect, it } from 'vitest';
import {
  deliveryAgent,
  deliveryHealthCheck,
  monthlyClientReports,
  onAutomationError,
  onDealClosed,
  onTicketApproved,
  onTicketDeployed,
  orderExceptions,
  previousMonth,
  sinceLastRun,
  hoursSaved,
  tasksSaved,
} from '../../agents/delivery/index.ts';
import { AgentPublishParams, EmailParams, NotifyParams } from '../../agents/actions.ts';
import { Plan, type PlannedAction } from '../../agents/types.ts';
import { DomainEventEnvelope, DomainEvents } from '../../bus/index.ts';
import { dealEntity, orderEntity, ticketEntity } from '../../machines/index.ts';
import { ManualClock, type Runtime } from '../../runtime/index.ts';
import { planContext } from '../support/agents.ts';
import { broken, receive } from '../support/fixtures/order.ts';
import { eventually, makeEnv, useEnv } from '../support/runtime.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const tenant = 'acme';
const at = (iso: string) => Date.parse(iso);

/**
 * The delivery agent's jobs, reactions and task on a real runtime (embedded:
 * PGlite and the in-process bus). Tickets and orders are seeded by sending their
 * events while the manual clock moves; domain events are taken from the bus as the
 * actors published them; each plan is asserted: what it found and the actions it
 * asks for, with params validated by the shared schemas and the catalogue.
 */

type Ev = { type: string; [k: string]: unknown };

async function send(rt: Runtime, kind: string, key: string, ...events: Ev[]) {
  for (const e of events) expect(await rt.send.send({ tenant, kind, key }, e, { wait: true }), `${kind}/${key} took ${e.type}`).toMatchObject({ ok: true });
}

const create = (client: string, title: string, patch: Record<string, unknown> = {}) => ({ type: 'ticket.create', title, client, platform: 'n8n', owner: 'brian', value: 6000, ...patch });
const toApproved: Ev[] = [{ type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' }, { type: 'ticket.approve', by: 'dana' }];
const deployOk = (url?: string): Ev => ({ type: 'ticket.deploy', ok: true, ...(url ? { url } : {}) });
const deployFail = (error: string): Ev => ({ type: 'ticket.deploy', ok: false, error });

/** Every domain event the runtime publishes, as it went on the bus. */
function record(rt: Runtime) {
  const seen: DomainEventEnvelope[] = [];
  rt.bus.subscribe(`${rt.subjects.prefix}.${tenant}.events.>`, (_s, data) => seen.push(DomainEventEnvelope.parse(JSON.parse(new TextDecoder().decode(data)))));
  return (name: string, where: Record<string, unknown> = {}) =>
    eventually(async () => seen.find((e) => `${e.entity}.${e.name}` === name && Object.entries(where).every(([k, v]) => e.data[k] === v)), 10_000, name).then((e) => e.data);
}

/** The plan is valid, and every action's params pass the shared schema of its type (and a published event, the catalogue's). */
function validated(plan: Plan): Plan {
  const p = Plan.parse(plan);
  for (const a of p.actions) {
    if (a.actionType === 'notify.send') NotifyParams.parse(a.params);
    else if (a.actionType === 'email.send') EmailParams.parse(a.params);
    else if (a.actionType === 'agent.publish') {
      const pub = AgentPublishParams.parse(a.params);
      const schema = (DomainEvents as Record<string, { parse(v: unknown): unknown }>)[pub.event];
      expect(schema, `${pub.event} is in the catalogue`).toBeDefined();
      schema!.parse(pub.data);
    } else throw new Error(`unexpected action type ${a.actionType}`);
  }
  return p;
}

const kinds = (p: Plan) => p.actions.map((a) => a.actionType);
const params = <T>(a: PlannedAction) => a.params as T;

describe('delivery agent definition', () => {
  it('two jobs, four reactions, the order-exceptions task, tool names', () => {
    expect(deliveryAgent.jobs.map((j) => [j.name, j.cron, j.missed])).toEqual([
      ['delivery-health-check', '0 9 * * 1-5', 'skip'],
      ['monthly-client-reports', '0 9 1 * *', 'run_once'],
    ]);
    expect(deliveryAgent.reactions.map((r) => [r.event, r.priority])).toEqual([
      ['deal.closed', 'high'],
      ['ticket.deployed', 'normal'],
      ['ticket.approved', 'normal'],
      ['automation.error', 'urgent'],
    ]);
    expect(deliveryAgent.accepts.map((t) => t.name)).toEqual(['order-exceptions']);
    expect(deliveryAgent.accepts[0]!.input.safeParse({ count: 3 }).success).toBe(true);
    expect(deliveryAgent.accepts[0]!.input.safeParse({ count: -1 }).success).toBe(false);
    expect(deliveryAgent.tools).toEqual(expect.arrayContaining(['send_email', 'notify_team', 'flag_client_at_risk']));
  });

  it('the estimate: 300 tasks a month per automation, prorated; 2 minutes a task; the previous month', () => {
    const dec = previousMonth(at('2026-01-01T09:00:00Z'));
    expect(dec).toEqual({ start: at('2025-12-01T00:00:00Z'), end: at('2026-01-01T00:00:00Z'), label: 'December 2025' });
    expect(previousMonth(at('2026-03-01T09:00:00Z')).label).toBe('February 2026');
    expect(tasksSaved(at('2025-10-01T00:00:00Z'), dec.start, dec.end)).toBe(300);
    expect(tasksSaved(at('2025-12-16T12:00:00Z'), dec.start, dec.end)).toBe(150);
    expect(tasksSaved(at('2026-01-01T00:00:00Z'), dec.start, dec.end)).toBe(0);
    expect(hoursSaved(300)).toBe(10);
    // Weekday runs look back to the previous one: over the weekend on Mondays.
    expect(sinceLastRun(at('2026-02-09T09:00:00Z'))).toBe(3 * DAY);
    expect(sinceLastRun(at('2026-02-10T09:00:00Z'))).toBe(DAY);
  });
});

describe('delivery agent on seeded data', () => {
  const env = useEnv(() => makeEnv('embedded'));
  const start = (clock?: ManualClock) => env.start({ entities: [ticketEntity, dealEntity, orderEntity], ...(clock ? { clock } : {}) });
  const ctx = (rt: Runtime, job: string, input: Record<string, unknown> = {}) => planContext(rt, { tenant, agent: 'delivery', job, input });

  it('delivery-health-check: deployments of 30 days, churn risk, reviews to schedule, repeated failures; flags only what began since the last run', async () => {
    const clock = new ManualClock(at('2026-01-05T09:00:00Z'));
    const rt = await start(clock);
    const to = (iso: string) => clock.set(at(iso));
    // Jan 5: Old Co and Busy Inc have their builds done and closed.
    await send(rt, 'ticket', 'Q-1', create('Old Co', 'Invoice intake'), ...toApproved, deployOk(), { type: 'ticket.close' });
    await send(rt, 'ticket', 'X-1', create('Busy Inc', 'CRM sync'), ...toApproved, deployOk(), { type: 'ticket.close' });
    to('2026-01-06T09:00:00Z');
    await send(rt, 'ticket', 'K-1', create('Stable SA', 'Payroll export'), ...toApproved, deployOk()); // outside the 30 days
    to('2026-01-10T15:00:00Z');
    await send(rt, 'ticket', 'F-1', create('Fading LLC', 'Lead routing', { clientContact: 'ops@fading.example' }), ...toApproved, deployOk(), { type: 'ticket.close' });
    to('2026-01-15T09:00:00Z');
    await send(rt, 'ticket', 'W-1', create('Wobbly Co', 'Quote builder'), ...toApproved, deployFail('401 from HubSpot'));
    to('2026-01-16T09:00:00Z');
    await send(rt, 'ticket', 'W-1', deployFail('401 from HubSpot'));
    to('2026-01-17T09:00:00Z');
    await send(rt, 'ticket', 'W-1', deployOk());
    to('2026-01-20T09:00:00Z');
    await send(rt, 'ticket', 'S-1', create('Shaky Ltd', 'Order sync', { clientContact: 'it@shaky.example' }), ...toApproved, deployFail('Shopify rate limit'));
    to('2026-02-01T09:00:00Z');
    await send(rt, 'ticket', 'K-1', deployFail('timeout'));
    to('2026-02-05T09:00:00Z');
    await send(rt, 'ticket', 'A-1', create('Acme', 'Onboarding flow', { clientContact: 'pm@acme.example' }), ...toApproved);
    to('2026-02-09T09:00:00Z');
    await send(rt, 'ticket', 'X-2', create('Busy Inc', 'Slack digest'), { type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' });
    to('2026-02-09T20:00:00Z');
    await send(rt, 'ticket', 'S-1', deployFail('Shopify rate limit'));
    to('2026-02-10T09:00:00Z'); // a Tuesday: the previous run was Monday 09:00

    const plan = validated(await deliveryHealthCheck(ctx(rt, 'delivery-health-check')));
    expect(plan.findings).toEqual({
      deployments: 6,
      failedDeployments: [
        { ticketId: 'W-1', client: 'Wobbly Co', at: '2026-01-15T09:00:00.000Z', error: '401 from HubSpot' },
        { ticketId: 'W-1', client: 'Wobbly Co', at: '2026-01-16T09:00:00.000Z', error: '401 from HubSpot' },
        { ticketId: 'S-1', client: 'Shaky Ltd', at: '2026-01-20T09:00:00.000Z', error: 'Shopify rate limit' },
        { ticketId: 'K-1', client: 'Stable SA', at: '2026-02-01T09:00:00.000Z', error: 'timeout' },
        { ticketId: 'S-1', client: 'Shaky Ltd', at: '2026-02-09T20:00:00.000Z', error: 'Shopify rate limit' },
      ],
      churnRisk: ['Old Co', 'Fading LLC'],
      repeatedFailures: ['Wobbly Co', 'Shaky Ltd'],
      flaggedAtRisk: ['Fading LLC', 'Shaky Ltd'],
      reviewsToSchedule: { Acme: ['A-1'], 'Busy Inc': ['X-2'] },
    });
    expect(kinds(plan)).toEqual(['agent.publish', 'agent.publish', 'notify.send', 'notify.send']);
    expect(plan.actions[0]!.params).toEqual({
      event: 'client.at_risk',
      data: { client: 'Fading LLC', reason: 'No ticket activity for 30 days (last on 2026-01-10: F-1 closed)', contact: 'ops@fading.example', since: '2026-01-10T15:00:00.000Z' },
    });
    expect(plan.actions[1]!.params).toMatchObject({
      event: 'client.at_risk',
      data: { client: 'Shaky Ltd', contact: 'it@shaky.example', since: '2026-01-20T09:00:00.000Z', reason: expect.stringContaining('2 failed deployments in the last 30 days (S-1)') },
    });
    const [reviews, summary] = [params<NotifyParams>(plan.actions[2]!), params<NotifyParams>(plan.actions[3]!)];
    expect(reviews).toMatchObject({ kind: 'brief', channel: 'delivery', title: 'Schedule delivery reviews: 2 clients with builds completing this week' });
    expect(reviews.body).toContain('Acme: A-1 "Onboarding flow" (approved, deploying); contact pm@acme.example');
    expect(reviews.body).toContain('Busy Inc: X-2 "Slack digest" (in review); contact unknown');
    expect(summary).toMatchObject({ kind: 'summary', channel: 'delivery', severity: 'warning', title: 'Delivery health: 6 deployments in 30 days, 5 failed; 2 clients quiet 30+ days; 2 to review this week' });
    expect(summary.body).toContain('K-1 "Payroll export" (Stable SA) on 2026-02-01: timeout (still failing)');
    expect(plan.hints).toEqual(['No client contact on the tickets of Old Co: set clientContact so the client can be re-engaged.']);

    // The next morning nothing new began: the same clients are listed, none flagged again.
    clock.advance(DAY);
    const next = validated(await deliveryHealthCheck(ctx(rt, 'delivery-health-check')));
    expect(next.findings).toMatchObject({ churnRisk: ['Old Co', 'Fading LLC'], repeatedFailures: ['Wobbly Co', 'Shaky Ltd'], flaggedAtRisk: [] });
    expect(kinds(next)).toEqual(['notify.send', 'notify.send']);
  });

  it('delivery-health-check with no tickets: the summary alone', async () => {
    const rt = await start();
    const plan = validated(await deliveryHealthCheck(ctx(rt, 'delivery-health-check')));
    expect(plan.findings).toEqual({ deployments: 0, failedDeployments: [], churnRisk: [], repeatedFailures: [], flaggedAtRisk: [], reviewsToSchedule: {} });
    expect(plan.actions).toHaveLength(1);
    expect(plan.actions[0]!.params).toMatchObject({ kind: 'summary', channel: 'delivery', severity: 'info', title: 'Delivery health: 0 deployments in 30 days, 0 failed; 0 clients quiet 30+ days; 0 to review this week' });
  });

  it('monthly-client-reports: last month per client with a live automation, one email per client with a contact, one note; none without', async () => {
    const clock = new ManualClock(at('2025-11-20T09:00:00Z'));
    const rt = await start(clock);
    const empty = validated(await monthlyClientReports(ctx(rt, 'monthly-client-reports')));
    expect(empty).toMatchObject({ actions: [], findings: { period: 'October 2025', reports: [] } });

    await send(rt, 'ticket', 'C-1', create('Cornerstone Realty', 'Invoice intake', { clientContact: 'ops@cornerstone.example', platform: 'make' }), ...toApproved, deployOk());
    clock.set(at('2025-11-25T09:00:00Z'));
    await send(rt, 'ticket', 'C-1', { type: 'ticket.close' });
    clock.set(at('2025-12-01T09:00:00Z'));
    await send(rt, 'ticket', 'B-1', create('Beta GmbH', 'Lead routing'), ...toApproved, deployOk());
    await send(rt, 'ticket', 'U-1', create('Building Co', 'Timesheets'), { type: 'ticket.analyze' }, { type: 'ticket.start_build' });
    clock.set(at('2025-12-15T09:00:00Z'));
    await send(rt, 'ticket', 'C-2', create('Cornerstone Realty', 'Lease reminders'), ...toApproved, deployFail('token expired'));
    clock.set(at('2025-12-16T09:00:00Z'));
    await send(rt, 'ticket', 'C-2', deployOk());
    clock.set(at('2026-01-01T08:00:00Z'));
    await send(rt, 'ticket', 'L-1', create('Late Co', 'Reporting', { clientContact: 'cfo@late.example' }), ...toApproved, deployOk()); // after December
    clock.set(at('2026-01-01T09:00:00Z'));

    const plan = validated(await monthlyClientReports(ctx(rt, 'monthly-client-reports')));
    expect(plan.findings).toEqual({
      period: 'December 2025',
      reports: [
        {
          client: 'Beta GmbH',
          contact: null,
          period: 'December 2025',
          automations: [{ ticketId: 'B-1', title: 'Lead routing', platform: 'n8n', liveSince: '2025-12-01', partOfMonth: true, tasks: 296 }],
          tasks: 296,
          hours: 9.9,
          deployments: { ok: 1, failed: 0 },
        },
        {
          client: 'Cornerstone Realty',
          contact: 'ops@cornerstone.example',
          period: 'December 2025',
          automations: [
            { ticketId: 'C-1', title: 'Invoice intake', platform: 'make', liveSince: '2025-11-20', partOfMonth: false, tasks: 300 },
            { ticketId: 'C-2', title: 'Lease reminders', platform: 'n8n', liveSince: '2025-12-16', partOfMonth: true, tasks: 151 },
          ],
          tasks: 451,
          hours: 15,
          deployments: { ok: 1, failed: 1 },
        },
      ],
    });
    expect(kinds(plan)).toEqual(['email.send', 'notify.send']);
    const email = params<EmailParams>(plan.actions[0]!);
    expect(email).toMatchObject({ to: 'ops@cornerstone.example', subject: 'Cornerstone Realty: your automation report for December 2025', related: 'client/Cornerstone Realty' });
    expect(email.body).toContain('Automations active: 2');
    expect(email.body).toContain('Lease reminders on n8n (live since 2025-12-16): about 151 tasks');
    expect(email.body).toContain('Estimated time saved: 15 hours');
    expect(email.body).toContain('Deployments this month: 2 (1 failed and retried).');
    expect(plan.actions[0]!.preview).toContain('Review before it goes out');
    const note = params<NotifyParams>(plan.actions[1]!);
    expect(note).toMatchObject({ kind: 'report', channel: 'delivery', title: '1 monthly report ready for review' });
    expect(note.body).toContain('Beta GmbH: 1 automation, ~296 tasks, ~9.9 h saved → no contact email: not drafted');
    expect(plan.hints).toEqual(["Beta GmbH has no client contact email on its tickets: set clientContact so next month's report can be sent."]);
  });

  it('order-exceptions: the orders waiting in exceptions, oldest first, posted to #delivery; nothing when there are none', async () => {
    const rt = await start();
    expect(validated(await orderExceptions(ctx(rt, 'order-exceptions')))).toMatchObject({ actions: [], findings: { orders: [] } });
    await send(rt, 'order', 'O-1', { ...receive, catalogue: null });
    env.clock.advance(DAY);
    await send(rt, 'order', 'O-2', receive);
    await send(rt, 'order', 'O-3', broken);
    // The autofix's gate decides after the receive: wait for its decision before the clock moves.
    const o3 = await eventually(async () => {
      const [o] = (await rt.read.query(tenant, { kind: 'order', where: [{ field: 'key', op: 'eq', value: 'O-3' }] })).items;
      return o && !o.state.endsWith('.deciding') ? o : undefined;
    });
    expect(o3.state).toBe('exceptions.autofix.awaitingApproval');
    env.clock.advance(DAY);

    const plan = validated(await orderExceptions(ctx(rt, 'order-exceptions', { count: 2 })));
    expect(plan.findings).toEqual({ orders: ['O-1', 'O-3'], needAmend: ['O-1'], oldestWaitingDays: 2 });
    expect(plan.actions).toHaveLength(1);
    const alert = params<NotifyParams>(plan.actions[0]!);
    expect(alert).toMatchObject({ kind: 'alert', channel: 'delivery', severity: 'warning', topic: 'order.exceptions', title: '2 orders waiting in exceptions' });
    expect(alert.body).toMatch(/O-1 \(client C-7\), waiting 2 days: .+\. Needs an amend from a person\./);
    expect(alert.body).toMatch(/O-3 \(client C-7\), waiting 1 day: .+\. Autofix proposed/);
    await expect(orderExceptions(ctx(rt, 'order-exceptions', { count: 'many' }))).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('deal.closed: a welcome email to the contact and a note to #delivery; without an email contact, the note alone', async () => {
    const rt = await start();
    const event = record(rt);
    await send(rt, 'deal', 'D-1', { type: 'deal.create', title: 'Cornerstone automations', value: 12_000, contact: 'ops@cornerstone.example', owner: 'Tony Reyes' }, { type: 'deal.win' });
    const plan = validated(await onDealClosed(ctx(rt, 'react:deal.closed', await event('deal.closed'))));
    expect(plan.findings).toEqual({ dealId: 'D-1', client: 'Cornerstone automations', welcomeTo: 'ops@cornerstone.example' });
    expect(kinds(plan)).toEqual(['email.send', 'notify.send']);
    expect(plan.actions[0]!.params).toMatchObject({ to: 'ops@cornerstone.example', subject: 'Welcome aboard: next steps for Cornerstone automations', related: 'deal/D-1' });
    expect(params<EmailParams>(plan.actions[0]!).body).toContain('Best regards,\nTony Reyes');
    expect(plan.actions[1]!.params).toMatchObject({ kind: 'brief', channel: 'delivery', title: 'New client onboarding: Cornerstone automations' });

    await send(rt, 'deal', 'D-2', { type: 'deal.create', title: 'Beta ops', value: 3000 }, { type: 'deal.win' });
    const bare = validated(await onDealClosed(ctx(rt, 'react:deal.closed', await event('deal.closed', { dealId: 'D-2' }))));
    expect(kinds(bare)).toEqual(['notify.send']);
    expect(params<NotifyParams>(bare.actions[0]!).body).toContain('No welcome email: the deal has no contact.');
    expect(bare.hints).toEqual(['Deal D-2 has no client email: get one at the kickoff to send reports and reviews.']);
  });

  it('ticket.approved and ticket.deployed: handover, then monitoring and the delivery review a week after the deployment', async () => {
    const rt = await start();
    const event = record(rt);
    await send(rt, 'ticket', 'T-1', create('Cornerstone Realty', 'Invoice intake', { clientContact: 'ops@cornerstone.example' }), ...toApproved);
    const approved = validated(await onTicketApproved(ctx(rt, 'react:ticket.approved', await event('ticket.approved'))));
    expect(approved.findings).toEqual({ ticketId: 'T-1', client: 'Cornerstone Realty', by: 'dana' });
    expect(approved.actions).toHaveLength(1);
    expect(approved.actions[0]!.params).toMatchObject({ kind: 'brief', channel: 'delivery', title: 'Approved: T-1 for Cornerstone Realty, deployment next' });

    env.clock.advance(2 * DAY);
    await send(rt, 'ticket', 'T-1', deployOk('https://n8n.cornerstone.example/workflow/wf-123'));
    const deployed = validated(await onTicketDeployed(ctx(rt, 'react:ticket.deployed', await event('ticket.deployed'))));
    expect(deployed.findings).toEqual({ ticketId: 'T-1', client: 'Cornerstone Realty', reviewDue: '2026-01-14', contact: 'ops@cornerstone.example' });
    expect(deployed.actions).toHaveLength(1);
    const note = params<NotifyParams>(deployed.actions[0]!);
    expect(note).toMatchObject({ kind: 'brief', channel: 'delivery', title: 'Live: T-1 for Cornerstone Realty, review due 2026-01-14' });
    expect(note.body).toContain('at https://n8n.cornerstone.example/workflow/wf-123');
    expect(note.body).toContain('Schedule the delivery review with ops@cornerstone.example by 2026-01-14.');
  });

  it('automation.error: an urgent alert on topic automation.error naming the client of the matching ticket; unmatched, a hint', async () => {
    const rt = await start();
    await send(rt, 'ticket', 'T-1', create('Cornerstone Realty', 'Invoice intake', { clientContact: 'ops@cornerstone.example' }), ...toApproved, deployOk('https://n8n.cornerstone.example/workflow/wf-123'));
    await send(rt, 'ticket', 'T-2', create('Beta GmbH', 'Lead routing'), ...toApproved, deployOk('https://n8n.beta.example/workflow/wf-9'));
    const error = (workflowId: string) =>
      DomainEvents['automation.error'].parse({
        platform: 'n8n',
        workflowId,
        workflowName: 'Invoice intake',
        executionId: '8812',
        errorMessage: 'QuickBooks: 401 Unauthorized',
        node: 'Create bill',
        url: `https://n8n.cornerstone.example/workflow/${workflowId}/executions/8812`,
        mode: 'trigger',
      });
    const plan = validated(await onAutomationError(ctx(rt, 'react:automation.error', error('wf-123'))));
    expect(plan.findings).toEqual({ workflowId: 'wf-123', tickets: ['T-1'], clients: ['Cornerstone Realty'] });
    expect(plan.actions).toHaveLength(1);
    const alert = params<NotifyParams>(plan.actions[0]!);
    expect(alert).toMatchObject({ kind: 'alert', channel: 'delivery', severity: 'urgent', topic: 'automation.error', title: 'Automation failing: Invoice intake (Cornerstone Realty)', related: 'ticket/T-1' });
    expect(alert.body).toContain('failed in node "Create bill" (trigger run): QuickBooks: 401 Unauthorized');

    const unknown = validated(await onAutomationError(ctx(rt, 'react:automation.error', error('wf-777'))));
    expect(unknown.findings).toEqual({ workflowId: 'wf-777', tickets: [], clients: [] });
    expect(unknown.actions[0]!.params).toMatchObject({ severity: 'urgent', topic: 'automation.error', related: 'automation/wf-777' });
    expect(unknown.hints).toHaveLength(1);
  });
});
