import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DelegateParams, EmailParams, NotifyParams } from '../../agents/actions.ts';
import { CheckInputError } from '../../agents/kit/index.ts';
import { salesAgent } from '../../agents/sales/index.ts';
import { taskEntity } from '../../agents/task.ts';
import { agentEntity } from '../../agents/machine.ts';
import { Plan, type Check, type PlannedAction } from '../../agents/types.ts';
import { bidEntity, contactEntity, dealEntity, orderEntity } from '../../machines/index.ts';
import { planContext } from '../support/agents.ts';
import { DAY, useEntityKits, type EntityKit } from '../support/entities.ts';
import { broken } from '../support/fixtures/order.ts';
import { makeEnv } from '../support/runtime.ts';

/**
 * The Sales agent's rule-based checks on seeded data: real deal, contact, bid and
 * order actors committed through the embedded runtime (PGlite), moved on the
 * controllable clock, then each job's, reaction's and task's `check` run on the
 * read side with `planContext`. One runtime for the file, one tenant per test.
 */

const ResearchParams = z.object({ query: z.string().min(1), reason: z.string().min(1) }).strict();
const SCHEMAS: Record<string, z.ZodType> = {
  'email.send': EmailParams.strict(),
  'notify.send': NotifyParams.strict(),
  'agent.delegate': DelegateParams.strict(),
  'research.run': ResearchParams,
};

/** Runs a check and validates the plan and every action's params by the shared schemas. */
async function run(kit: EntityKit, check: Check, job: string, input: Record<string, unknown> = {}): Promise<Plan> {
  const plan = await check(planContext(kit.rt, { tenant: kit.tenant, agent: 'sales', job, input }));
  Plan.parse(plan);
  for (const a of plan.actions) {
    const schema = SCHEMAS[a.actionType];
    expect(schema, `schema for ${a.actionType}`).toBeDefined();
    schema!.parse(a.params);
  }
  expect(plan.actions.map((a) => a.actionType)).not.toContain('task.create');
  return plan;
}

const job = (name: string) => salesAgent.jobs.find((j) => j.name === name)!;
const reaction = (event: string) => salesAgent.reactions.find((r) => r.event === event)!;
const of = (plan: Plan, actionType: string) => plan.actions.filter((a) => a.actionType === actionType);
const email = (a: PlannedAction) => EmailParams.parse(a.params);
const notify = (a: PlannedAction) => NotifyParams.parse(a.params);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * An earlier run's planned action as its task actor (agents/task.ts): it asks the
 * gate and, under the default supervised level, waits for approval. Its reports
 * to the sales agent actor (not registered here) go to the dead letters.
 */
async function earlierDraft(kit: EntityKit, runId: string, action: PlannedAction): Promise<ReturnType<EntityKit['at']>> {
  const t = kit.at('task', `${runId}-0`);
  await kit.send(t, { type: 'task.start', agent: 'sales', runId, index: 0, actionType: action.actionType, params: action.params, preview: action.preview, target: action.target ?? null });
  await kit.untilGate(t, 'act', 'awaiting_approval');
  return t;
}
const touch = (key: string, to: string): PlannedAction => ({ actionType: 'email.send', params: { to, subject: 'Checking in', body: 'Hello' }, preview: `Touch ${key}`, target: `contact/${key}` });

describe('sales agent checks (embedded runtime)', () => {
  const kits = useEntityKits(() => makeEnv('embedded'), { entities: [dealEntity, contactEntity, bidEntity, orderEntity, taskEntity, agentEntity] });

  it('is defined as data: jobs with their crons, reactions, the deal-review task and tools', () => {
    expect(salesAgent.name).toBe('sales');
    expect(salesAgent.jobs.map((j) => [j.name, j.cron, j.missed])).toEqual([
      ['sales-pipeline-review', '0 8 * * 1-5', 'skip'],
      ['hourly-cycle', '0 * * * *', 'run_once'],
    ]);
    expect(salesAgent.reactions.map((r) => r.event)).toEqual(['client.at_risk', 'lead.qualified', 'client.churned']);
    expect(salesAgent.accepts.map((t) => t.name)).toEqual(['deal-review']);
    expect(salesAgent.accepts[0]!.input.safeParse({ dealId: 'D-1' }).success).toBe(true);
    expect(salesAgent.accepts[0]!.input.safeParse({}).success).toBe(false);
    expect(salesAgent.tools).toEqual(expect.arrayContaining(['send_email', 'notify_team', 'delegate_task', 'run_research']));
  });

  describe('sales-pipeline-review', () => {
    it('drafts follow-ups for silent deals the deal did not follow up itself, flags late and zero-value deals, ranks the top 3', async () => {
      const kit = await kits();
      const t0 = kit.clock.now();
      const d = (key: string) => kit.at('deal', key);
      await kit.send(kit.at('contact', 'C-1'), { type: 'contact.create', name: 'Cleo Park', email: 'cleo@porch.example', account: 'Porch Co' });
      await kit.send(kit.at('contact', 'C-2'), { type: 'contact.create', name: 'Gus Opted', email: 'gus@out.example' });
      await kit.send(kit.at('contact', 'C-2'), { type: 'contact.opt_out', reason: 'asked us to stop' });
      // Silent for 8 days; their own stall timer waits 30 days, so nobody followed up.
      await kit.send(d('D-1'), { type: 'deal.create', title: 'Roof', value: 12_000, contact: 'ana@client.example', owner: 'ben', stallAfterDays: 30 });
      await kit.send(d('D-1'), { type: 'deal.qualify' });
      await kit.send(d('D-8'), { type: 'deal.create', title: 'Porch', value: 7_000, contact: 'C-1', owner: 'ben', stallAfterDays: 30 });
      await kit.send(d('D-11'), { type: 'deal.create', title: 'Attic', value: 2_000, contact: 'C-2', stallAfterDays: 30 });
      await kit.send(d('D-12'), { type: 'deal.create', title: 'Windows', value: 6_000, contact: 'wes@client.example', stallAfterDays: 30 });
      // Default 7-day stall: the deal itself asks for a follow-up (D-2 waits for approval, D-9's is approved and sent).
      await kit.send(d('D-2'), { type: 'deal.create', title: 'Fence', value: 4_000, contact: 'bo@client.example', owner: 'ben' });
      await kit.send(d('D-9'), { type: 'deal.create', title: 'Garage', value: 5_000, contact: 'dan@client.example' });
      await kit.send(d('D-3'), { type: 'deal.create', title: 'Shed', value: 3_000, owner: 'cy' });
      // Moved after the 8 days (below).
      await kit.send(d('D-4'), { type: 'deal.create', title: 'Pool', value: 5_000, owner: 'ben', expectedCloseDate: day(t0 + 2 * DAY) });
      await kit.send(d('D-4'), { type: 'deal.propose' });
      await kit.send(d('D-10'), { type: 'deal.create', title: 'Deck extension', value: 9_000 });
      await kit.send(d('D-5'), { type: 'deal.create', title: 'Gazebo' });
      await kit.send(d('D-6'), { type: 'deal.create', title: 'Deck', value: 30_000, expectedCloseDate: day(t0 + 20 * DAY) });
      await kit.send(d('D-7'), { type: 'deal.create', title: 'Old', value: 1_000 });
      await kit.send(d('D-7'), { type: 'deal.win' });

      await kit.advance(8 * DAY);
      await kit.untilGate(d('D-2'), 'follow_up', 'awaiting_approval');
      await kit.approve(d('D-9'), 'follow_up', 'ben@acme.example');
      await kit.until(d('D-9'), 'open.stage.lead|followUp.sent');
      await kit.send(d('D-4'), { type: 'deal.touch', activity: 'call', by: 'ben' });
      await kit.send(d('D-10'), { type: 'deal.propose' });
      await kit.send(d('D-5'), { type: 'deal.touch', activity: 'note' });
      await kit.send(d('D-6'), { type: 'deal.negotiate' });
      const sentAt = (await kit.actor(d('D-9'))).context.followedUpAt;
      // Yesterday's review drafted D-12's follow-up; it still waits for approval.
      await earlierDraft(kit, 'r-yesterday', { actionType: 'email.send', params: { to: 'wes@client.example', subject: 'Following up: Windows', body: 'Hello' }, preview: 'Follow-up D-12', target: 'deal/D-12' });

      const plan = await run(kit, job('sales-pipeline-review').check, 'sales-pipeline-review');
      expect(plan.findings).toMatchObject({
        openDeals: 11,
        pipelineValue: { USD: 83_000 },
        stale: ['D-1', 'D-11', 'D-12', 'D-2', 'D-3', 'D-8', 'D-9'],
        followUpDrafted: ['D-1', 'D-8'],
        alreadyFollowedUp: [
          { dealId: 'D-12', by: 'sales', status: 'pending', at: null },
          { dealId: 'D-2', by: 'deal', status: 'awaiting_approval', at: null },
          { dealId: 'D-9', by: 'deal', status: 'done', at: sentAt },
        ],
        staleWithoutContact: ['D-3'],
        staleNotContactable: [{ dealId: 'D-11', reason: 'contact C-2 opted out' }],
        followUpsDeferred: [],
        pastExpectedClose: [{ dealId: 'D-4', expectedCloseDate: day(t0 + 2 * DAY), daysLate: 6, owner: 'ben' }],
        zeroValue: ['D-5'],
        // negotiation moved today 0.9; two proposals moved today 0.6 each, the larger value first.
        likelyToClose: [
          { dealId: 'D-6', stage: 'negotiation', score: 0.9, value: 30_000, daysSinceMove: 0 },
          { dealId: 'D-10', stage: 'proposal', score: 0.6, value: 9_000, daysSinceMove: 0 },
          { dealId: 'D-4', stage: 'proposal', score: 0.6, value: 5_000, daysSinceMove: 0 },
        ],
      });

      expect(plan.actions.map((a) => [a.actionType, a.target ?? null])).toEqual([
        ['email.send', 'deal/D-1'],
        ['email.send', 'deal/D-8'],
        ['notify.send', null],
      ]);
      const [roof, porch] = of(plan, 'email.send');
      expect(email(roof!)).toMatchObject({ to: 'ana@client.example', subject: 'Following up: Roof', related: 'deal/D-1' });
      expect(email(roof!).body).toMatch(/^Hello,\n\n.*"Roof".*proposal/s);
      expect(email(roof!).body).toMatch(/Best regards,\nben$/);
      expect(roof!.preview).toBe('Follow-up draft to ana@client.example on deal D-1 "Roof" (qualified, no movement for 8 days, owner ben)');
      // A contact's key on the deal is resolved to the contact's address and name.
      expect(email(porch!)).toMatchObject({ to: 'cleo@porch.example', subject: 'Following up: Porch' });
      expect(email(porch!).body).toMatch(/^Hi Cleo,/);

      const summary = notify(of(plan, 'notify.send')[0]!);
      expect(summary).toMatchObject({ kind: 'summary', channel: 'sales', severity: 'info' });
      expect(summary.title).toMatch(/^Pipeline review \w{3} \d{4}-\d{2}-\d{2}: 11 open deals, USD 83,000$/);
      for (const text of [
        'D-1 "Roof" (qualified, 8 days, ben): follow-up to ana@client.example drafted',
        'D-2 "Fence" (lead, 8 days, ben): the deal\'s own follow-up is awaiting approval',
        `D-9 "Garage" (lead, 8 days): already followed up on ${day(Date.parse(String(sentAt)))}`,
        'D-3 "Shed" (lead, 8 days, cy): no contact on the deal',
        'D-11 "Attic" (lead, 8 days): not drafted: contact C-2 opted out',
        'D-12 "Windows" (lead, 8 days): a follow-up drafted earlier is still waiting for approval',
        `D-4 "Pool" expected ${day(t0 + 2 * DAY)} (6 days ago), ben`,
        'D-5 "Gazebo" (lead)',
        '1. D-6 "Deck": negotiation, moved today, USD 30,000 (score 0.9)',
        '2. D-10 "Deck extension"',
        '3. D-4 "Pool"',
      ]) {
        expect(summary.body).toContain(text);
      }
      expect(plan.hints.join('\n')).toContain('D-3');
    });

    it('nothing to review: no open deals, no actions; a healthy pipeline gets only its summary', async () => {
      const kit = await kits();
      const empty = await run(kit, job('sales-pipeline-review').check, 'sales-pipeline-review');
      expect(empty.actions).toEqual([]);
      expect(empty.findings).toEqual({ openDeals: 0 });

      await kit.send(kit.at('deal', 'D-1'), { type: 'deal.create', title: 'Roof', value: 12_000, contact: 'ana@client.example' });
      await kit.send(kit.at('deal', 'D-2'), { type: 'deal.create', title: 'Won already', value: 500 });
      await kit.send(kit.at('deal', 'D-2'), { type: 'deal.win' });
      await kit.advance(2 * DAY);
      const healthy = await run(kit, job('sales-pipeline-review').check, 'sales-pipeline-review');
      expect(healthy.actions.map((a) => a.actionType)).toEqual(['notify.send']);
      expect(healthy.findings).toMatchObject({ openDeals: 1, stale: [], followUpDrafted: [], pastExpectedClose: [], zeroValue: [], likelyToClose: [{ dealId: 'D-1' }] });
      expect(notify(healthy.actions[0]!).body).toContain('Every open deal moved in the last week');
    });
  });

  describe('hourly-cycle', () => {
    it('touches the top 5 overdue contacts by priority, lists due bids, delegates order exceptions, holds research back', async () => {
      const kit = await kits();
      const c = (key: string) => kit.at('contact', key);
      const contacts: [string, Record<string, unknown>][] = [
        ['C-1', { name: 'Ana Ruiz', email: 'ana@acme.example', account: 'Acme', role: 'Purchasing Manager', importance: 5, accountValue: 100_000, owner: 'ben' }],
        ['C-2', { name: 'Bo Lane', email: 'bo@b.example', importance: 4 }],
        ['C-3', { name: 'Cy Moss', email: 'cy@c.example', importance: 3 }],
        ['C-4', { name: 'Di Fox', email: 'di@d.example', importance: 3, accountValue: 50_000 }],
        ['C-5', { name: 'Ed Hale', email: 'ed@e.example', importance: 2 }],
        ['C-6', { name: 'Flo Kim', email: 'flo@f.example', importance: 1 }],
        ['C-7', { name: 'Gil Roe', phone: '555-0107', importance: 5 }],
        ['C-8', { name: 'Hal Opt', email: 'hal@h.example', importance: 5 }],
      ];
      for (const [key, fields] of contacts) await kit.send(c(key), { type: 'contact.create', ...fields });
      await kit.send(c('C-8'), { type: 'contact.opt_out' });

      const b = (key: string) => kit.at('bid', key);
      const bid = { type: 'bid.create', title: 'Roof repair', client: 'Acme', submitter: { name: 'Sam Bid', email: 'sam@acme.example' }, amount: 40_000 };
      await kit.send(b('B-1'), bid);
      await kit.send(b('B-1'), { type: 'bid.submit' });
      await kit.approve(b('B-1'), 'confirmation');
      await kit.approve(b('B-1'), 'intel_request');
      await kit.until(b('B-1'), 'open.submitted.following.waiting');
      await kit.send(b('B-2'), bid);
      await kit.send(b('B-2'), { type: 'bid.submit' });
      await kit.send(b('B-3'), bid); // a draft: not an open bid

      await kit.send(kit.at('order', 'O-1'), broken);
      await kit.send(kit.at('deal', 'D-1'), { type: 'deal.create', title: 'Roof', value: 1_000 });

      await kit.advance(22 * DAY); // every contact on the clock is a day overdue; B-1's follow-up is asked for
      await kit.untilGate(b('B-1'), 'follow_up', 'awaiting_approval');
      await kit.send(c('C-9'), { type: 'contact.create', name: 'New Person', email: 'new@n.example', importance: 5 }); // compliant

      const plan = await run(kit, job('hourly-cycle').check, 'hourly-cycle');
      expect(plan.findings).toMatchObject({
        overdueContacts: 7,
        touched: ['C-1', 'C-4', 'C-2', 'C-3', 'C-5'],
        touchNextHour: ['C-6'],
        overdueWithoutEmail: ['C-7'],
        bidsFollowUpDue: [{ bidId: 'B-1', client: 'Acme', requested: true }],
        bidsExhausted: [],
        orderExceptions: 1,
        orderExceptionIds: ['O-1'],
        openDeals: 1,
        research: 'skipped: engagement overdue',
      });
      const priorities = plan.findings.touchPriorities as Record<string, number>;
      expect(priorities['C-1']).toBeGreaterThan(priorities['C-4']!);
      expect(Object.values(priorities).every((p) => p >= 1000)).toBe(true);

      expect(plan.actions.map((a) => [a.actionType, a.target])).toEqual([
        ['email.send', 'contact/C-1'],
        ['email.send', 'contact/C-4'],
        ['email.send', 'contact/C-2'],
        ['email.send', 'contact/C-3'],
        ['email.send', 'contact/C-5'],
        ['agent.delegate', 'agent/delivery'],
      ]);
      const ana = email(plan.actions[0]!);
      expect(ana).toMatchObject({ to: 'ana@acme.example', subject: 'Checking in with Acme', related: 'contact/C-1' });
      expect(ana.body).toMatch(/^Hi Ana,\n\n/);
      expect(ana.body).toMatch(/Best regards,\nben$/);
      // Once sent, the email is the contact's touch.
      expect(plan.actions[0]!.onDone).toEqual({ to: { kind: 'contact', key: 'C-1' }, event: { type: 'contact.touch', activity: 'email', by: 'sales' } });
      expect(plan.actions[0]!.preview).toMatch(/^Engagement touch to Ana Ruiz <ana@acme\.example> \(Acme, Purchasing Manager\): 1 day overdue, last touch never, priority \d+$/);
      // No email to the bid's submitter: the bid machine follows up itself.
      expect(of(plan, 'email.send').map((a) => email(a).to)).not.toContain('sam@acme.example');
      expect(DelegateParams.parse(plan.actions[5]!.params)).toEqual({ to: 'delivery', task: 'order-exceptions', input: { count: 1 }, deadlineMs: 30 * 60 * 1000 });
      expect(of(plan, 'research.run')).toEqual([]);
      const hints = plan.hints.join('\n');
      expect(hints).toContain('1 more overdue contact to touch next hour, in this order: C-6');
      expect(hints).toContain('C-7');
      expect(hints).toContain('B-1');
      expect(hints).toContain('No research this hour: 7 contacts overdue');
    });

    it('a touch already drafted in this overdue period (waiting or sent) is not drafted again; an expired one is', async () => {
      const kit = await kits();
      const people = [['C-1', 'ana@a.example', 5], ['C-2', 'bo@b.example', 4], ['C-3', 'cy@c.example', 3], ['C-4', 'di@d.example', 2]] as const;
      for (const [key, email, importance] of people) await kit.send(kit.at('contact', key), { type: 'contact.create', name: key, email, importance });
      await earlierDraft(kit, 'r-old', touch('C-4', 'di@d.example')); // its approval expires while time passes
      await kit.advance(22 * DAY);
      await kit.until(kit.at('task', 'r-old-0'), 'expired');
      await earlierDraft(kit, 'r-1', touch('C-1', 'ana@a.example')); // waits for approval
      const sent = await earlierDraft(kit, 'r-2', touch('C-2', 'bo@b.example'));
      await kit.approve(sent, 'act');
      await kit.until(sent, 'done');

      const plan = await run(kit, job('hourly-cycle').check, 'hourly-cycle');
      expect(plan.findings).toMatchObject({
        overdueContacts: 4,
        touched: ['C-3', 'C-4'],
        touchAlreadyDrafted: [
          { contactId: 'C-1', task: 'r-1-0', status: 'pending' },
          { contactId: 'C-2', task: 'r-2-0', status: 'done' },
        ],
        touchNextHour: [],
      });
      expect(plan.actions.map((a) => a.target)).toEqual(['contact/C-3', 'contact/C-4']);
      expect(plan.summary).toContain('drafted 2 touches (C-3 and C-4), 2 already drafted earlier.');
    });

    it('researches only when no engagement is overdue and the pipeline is thin', async () => {
      const kit = await kits();
      await kit.send(kit.at('contact', 'C-1'), { type: 'contact.create', name: 'Ana Ruiz', email: 'ana@acme.example' });
      await kit.send(kit.at('deal', 'D-1'), { type: 'deal.create', title: 'Kitchen remodel', value: 20_000 });
      await kit.send(kit.at('deal', 'D-1'), { type: 'deal.win' });
      await kit.send(kit.at('deal', 'D-2'), { type: 'deal.create', title: 'Roof', value: 12_000 });
      await kit.send(kit.at('deal', 'D-3'), { type: 'deal.create', title: 'Fence', value: 3_000 });

      const plan = await run(kit, job('hourly-cycle').check, 'hourly-cycle');
      expect(plan.findings).toMatchObject({ overdueContacts: 0, touched: [], orderExceptions: 0, openDeals: 2, research: 'planned' });
      expect(plan.actions.map((a) => a.actionType)).toEqual(['research.run']);
      const params = plan.actions[0]!.params as { query: string; reason: string };
      expect(params.query).toContain('"Kitchen remodel"');
      expect(params.reason).toBe('The pipeline is thin (2 open deals, fewer than 5) and no engagement is overdue.');
    });

    it('asks delivery about order exceptions at most once a day while they remain', async () => {
      const kit = await kits();
      await kit.send(kit.at('order', 'O-1'), broken);
      for (const key of ['D-1', 'D-2', 'D-3', 'D-4', 'D-5']) await kit.send(kit.at('deal', key), { type: 'deal.create', title: `Deal ${key}`, value: 1_000 });
      const delegates = (p: Plan) => of(p, 'agent.delegate');
      const first = await run(kit, job('hourly-cycle').check, 'hourly-cycle');
      expect(delegates(first)).toHaveLength(1);
      // The agent acts on that plan: its own record of the delegation is in its snapshot.
      const sales = kit.at('agent', 'sales');
      await kit.send(sales, {
        type: 'agent.run',
        runId: 'r-1',
        job: 'hourly-cycle',
        trigger: 'schedule',
        planner: 'rules',
        summary: first.summary,
        findings: {},
        actions: delegates(first),
        hints: [],
        delegation: null,
        requestedAt: new Date(kit.clock.now()).toISOString(),
      });
      const second = await run(kit, job('hourly-cycle').check, 'hourly-cycle');
      expect(delegates(second)).toEqual([]);
      expect(second.hints.join('\n')).toMatch(/delivery was asked at .* already; asking again after 24 h/);
      expect(second.summary).toContain('1 order in exceptions, already with delivery.');
      // Still within the day (the delegation timed out unanswered: no delivery agent here): not yet.
      await kit.advance(5 * 3_600_000);
      expect(delegates(await run(kit, job('hourly-cycle').check, 'hourly-cycle'))).toEqual([]);
      // A day after the first request, asked again.
      await kit.advance(20 * 3_600_000);
      expect(delegates(await run(kit, job('hourly-cycle').check, 'hourly-cycle'))).toHaveLength(1);
    });

    it('nothing to do: no contact overdue, no bid due, no exception, 5 open deals: no actions, a hint why no research', async () => {
      const kit = await kits();
      await kit.send(kit.at('contact', 'C-1'), { type: 'contact.create', name: 'Ana Ruiz', email: 'ana@acme.example' });
      for (const key of ['D-1', 'D-2', 'D-3', 'D-4', 'D-5']) await kit.send(kit.at('deal', key), { type: 'deal.create', title: `Deal ${key}`, value: 1_000 });
      const plan = await run(kit, job('hourly-cycle').check, 'hourly-cycle');
      expect(plan.actions).toEqual([]);
      expect(plan.findings).toMatchObject({ overdueContacts: 0, bidsFollowUpDue: [], orderExceptions: 0, openDeals: 5, research: 'skipped: pipeline not thin' });
      expect(plan.hints).toEqual(['No research this hour: the pipeline has 5 open deals (5 or more).']);
    });
  });

  describe('reactions', () => {
    it('client.at_risk: a re-engagement draft to the contact and an alert to #sales naming the account’s contacts', async () => {
      const kit = await kits();
      await kit.send(kit.at('contact', 'C-1'), { type: 'contact.create', name: 'Ana Ruiz', email: 'ana@acme.example', account: 'Acme', owner: 'ben' });
      await kit.send(kit.at('contact', 'C-2'), { type: 'contact.create', name: 'Bo Lane', email: 'bo@acme.example', account: 'Acme' });
      await kit.send(kit.at('contact', 'C-2'), { type: 'contact.opt_out' });
      const since = new Date(kit.clock.now() - 2 * DAY).toISOString();
      const plan = await run(kit, reaction('client.at_risk').check, 'react:client.at_risk', { client: 'Acme', reason: 'two failed deploys this week', contact: 'C-1', since });

      expect(plan.actions.map((a) => a.actionType)).toEqual(['email.send', 'notify.send']);
      const mail = email(plan.actions[0]!);
      expect(mail).toMatchObject({ to: 'ana@acme.example', subject: 'How are things going at Acme?' });
      expect(mail.body).toMatch(/^Hi Ana,/);
      expect(mail.body).toMatch(/Best regards,\nben$/);
      expect(mail.body).not.toMatch(/risk|failed/i);
      expect(plan.actions[0]!.target).toBe('contact/C-1');
      const alert = notify(plan.actions[1]!);
      expect(alert).toMatchObject({ kind: 'alert', channel: 'sales', severity: 'warning', title: 'Client at risk: Acme', topic: 'client.at_risk:Acme' });
      expect(alert.body).toContain(`Why: two failed deploys this week (since ${day(Date.parse(since))})`);
      expect(alert.body).toContain('Ana Ruiz (C-1)');
      expect(alert.body).toContain('Bo Lane (C-2), opted out');
      expect(plan.findings).toMatchObject({ reengagementTo: 'ana@acme.example', notDrafted: null, accountContacts: ['C-1', 'C-2'] });

      // Flagged again while that draft waits for approval: the alert, no second email.
      await earlierDraft(kit, 'r-risk', plan.actions[0]!);
      const again = await run(kit, reaction('client.at_risk').check, 'react:client.at_risk', { client: 'Acme', reason: 'still unhappy', contact: 'C-1', since });
      expect(again.actions.map((a) => a.actionType)).toEqual(['notify.send']);
      expect(again.findings).toMatchObject({ notDrafted: 'a message to ana@acme.example was already drafted (waiting for approval)' });
    });

    it('client.at_risk without a contact, or with one who opted out: the alert only', async () => {
      const kit = await kits();
      await kit.send(kit.at('contact', 'C-2'), { type: 'contact.create', name: 'Bo Lane', email: 'bo@acme.example', account: 'Acme' });
      await kit.send(kit.at('contact', 'C-2'), { type: 'contact.opt_out' });
      const none = await run(kit, reaction('client.at_risk').check, 'react:client.at_risk', { client: 'Globex', reason: 'no orders in 60 days', contact: null, since: null });
      expect(none.actions.map((a) => a.actionType)).toEqual(['notify.send']);
      expect(none.findings).toMatchObject({ notDrafted: 'no contact named', accountContacts: [] });
      expect(notify(none.actions[0]!).body).toContain('No re-engagement email drafted: no contact named.');
      const out = await run(kit, reaction('client.at_risk').check, 'react:client.at_risk', { client: 'Acme', reason: 'late payments', contact: 'bo@acme.example', since: null });
      expect(out.actions.map((a) => a.actionType)).toEqual(['notify.send']);
      expect(out.findings).toMatchObject({ notDrafted: 'Bo Lane opted out' });
      const bad = await run(kit, reaction('client.at_risk').check, 'react:client.at_risk', { reason: 'x' }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(CheckInputError);
      expect(bad).toMatchObject({ job: 'react:client.at_risk', issues: expect.arrayContaining([expect.stringMatching(/^input\.client: /)]) });
    });

    it('lead.qualified: alerts #sales and drafts an intro email; none to an address that opted out', async () => {
      const kit = await kits();
      const lead = { name: 'Nia Cole', email: 'nia@newco.example', company: 'NewCo', phone: null, message: 'We need help automating invoices.', source: 'website-contact' };
      const plan = await run(kit, reaction('lead.qualified').check, 'react:lead.qualified', lead);
      expect(plan.actions.map((a) => a.actionType)).toEqual(['notify.send', 'email.send']);
      const alert = notify(plan.actions[0]!);
      expect(alert).toMatchObject({ kind: 'alert', channel: 'sales', title: 'New lead: Nia Cole (NewCo)', topic: 'lead.qualified:nia@newco.example' });
      expect(alert.body).toContain('"We need help automating invoices."');
      expect(alert.body).toContain('An intro email is drafted in the approval queue.');
      const intro = email(plan.actions[1]!);
      expect(intro).toMatchObject({ to: 'nia@newco.example', subject: 'Thanks for getting in touch' });
      expect(intro.body).toMatch(/^Hi Nia,\n\n.*at NewCo/s);
      expect(plan.findings).toMatchObject({ introDrafted: true, existingContact: null });

      await kit.send(kit.at('contact', 'C-9'), { type: 'contact.create', name: 'Nia Cole', email: 'nia@newco.example', account: 'NewCo' });
      await kit.send(kit.at('contact', 'C-9'), { type: 'contact.opt_out' });
      const again = await run(kit, reaction('lead.qualified').check, 'react:lead.qualified', lead);
      expect(again.actions.map((a) => a.actionType)).toEqual(['notify.send']);
      expect(again.findings).toMatchObject({ introDrafted: false, existingContact: 'C-9', notDrafted: 'nia@newco.example opted out earlier' });
    });

    it('client.churned: an alert naming the contacts still on the engagement clock', async () => {
      const kit = await kits();
      await kit.send(kit.at('contact', 'C-1'), { type: 'contact.create', name: 'Ana Ruiz', email: 'ana@acme.example', account: 'Acme' });
      await kit.send(kit.at('contact', 'C-3'), { type: 'contact.create', name: 'Cy Other', email: 'cy@other.example', account: 'Other' });
      const plan = await run(kit, reaction('client.churned').check, 'react:client.churned', { client: 'Acme', reason: 'moved to a competitor' });
      expect(plan.actions.map((a) => a.actionType)).toEqual(['notify.send']);
      const alert = notify(plan.actions[0]!);
      expect(alert).toMatchObject({ kind: 'alert', channel: 'sales', severity: 'warning', title: 'Client churned: Acme' });
      expect(alert.body).toContain('Reason: moved to a competitor.');
      expect(alert.body).toContain('Ana Ruiz (C-1)');
      expect(alert.body).not.toContain('C-3');
      expect(plan.findings).toMatchObject({ contactsOnClock: ['C-1'] });

      const none = await run(kit, reaction('client.churned').check, 'react:client.churned', { client: 'Initech', reason: 'went out of business' });
      expect(none.findings).toMatchObject({ contactsOnClock: [] });
      expect(notify(none.actions[0]!).body).toContain('No contact at Initech is on the engagement clock.');
    });
  });

  describe('deal-review (delegable task)', () => {
    it("returns the deal's facts, a follow-up draft when it stalled, none when it moved, found: false for an unknown deal", async () => {
      const kit = await kits();
      const task = salesAgent.accepts[0]!;
      await kit.send(kit.at('deal', 'D-1'), { type: 'deal.create', title: 'Roof', value: 12_000, contact: 'ana@client.example', owner: 'ben', stallAfterDays: 30 });
      await kit.send(kit.at('deal', 'D-1'), { type: 'deal.propose' });
      await kit.send(kit.at('deal', 'D-2'), { type: 'deal.create', title: 'Fence', value: 3_000, contact: 'bo@client.example', stallAfterDays: 30 });
      await kit.advance(9 * DAY);
      await kit.send(kit.at('deal', 'D-2'), { type: 'deal.touch', activity: 'email' });

      const stalled = await run(kit, task.check, 'deal-review', { dealId: 'D-1' });
      expect(stalled.findings).toMatchObject({ dealId: 'D-1', found: true, stage: 'proposal', open: true, value: 12_000, daysSinceMove: 9, stalled: true, followUp: 'drafted' });
      expect(stalled.findings.closeScore).toBeCloseTo(0.6 / (1 + 9 / 7), 2); // proposal × recency, rounded to 3 decimals
      expect(stalled.actions.map((a) => [a.actionType, a.target])).toEqual([['email.send', 'deal/D-1']]);
      expect(email(stalled.actions[0]!).body).toContain('review our proposal for "Roof"');
      expect(stalled.summary).toContain('D-1 "Roof": proposal, USD 12,000, owner ben, last moved 9 days ago; a follow-up email is drafted for approval.');

      const moving = await run(kit, task.check, 'deal-review', { dealId: 'D-2' });
      expect(moving.findings).toMatchObject({ dealId: 'D-2', found: true, daysSinceMove: 0, stalled: false, followUp: 'not_stalled' });
      expect(moving.actions).toEqual([]);

      const missing = await run(kit, task.check, 'deal-review', { dealId: 'D-404' });
      expect(missing).toMatchObject({ findings: { dealId: 'D-404', found: false }, actions: [] });
      await expect(run(kit, task.check, 'deal-review', { deal: 'D-1' })).rejects.toThrow(/^deal-review: invalid input: .*input\.dealId/);
    });
  });
});
