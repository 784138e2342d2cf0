import { describe, expect, it } from 'vitest';
import { EmailParams, NotifyParams } from '../../agents/actions.ts';
import { executiveAgent, ownerAddress } from '../../agents/executive/index.ts';
import { CheckInputError } from '../../agents/kit/index.ts';
import { Plan, type Check, type PlannedAction } from '../../agents/types.ts';
import { bidEntity, contactEntity, dealEntity, orderEntity, ticketEntity } from '../../machines/index.ts';
import { planContext } from '../support/agents.ts';
import { DAY, useEntityKits, type EntityKit } from '../support/entities.ts';
import { broken } from '../support/fixtures/order.ts';
import { makeEnv } from '../support/runtime.ts';

/**
 * The Executive agent's rule-based checks on seeded data: real deal, contact,
 * order and ticket actors committed through the embedded runtime (PGlite), moved
 * on the controllable clock, then each job's and reaction's `check` run on the
 * read side with `planContext`. One runtime for the file, one tenant per test.
 */

const SCHEMAS: Record<string, { parse(v: unknown): unknown }> = { 'email.send': EmailParams.strict(), 'notify.send': NotifyParams.strict() };

/** Runs a check and validates the plan and every action's params by the shared schemas. */
async function run(kit: EntityKit, check: Check, job: string, input: Record<string, unknown> = {}): Promise<Plan> {
  const plan = await check(planContext(kit.rt, { tenant: kit.tenant, agent: 'executive', job, input }));
  Plan.parse(plan);
  for (const a of plan.actions) {
    expect(SCHEMAS[a.actionType], `schema for ${a.actionType}`).toBeDefined();
    SCHEMAS[a.actionType]!.parse(a.params);
  }
  return plan;
}

const job = (name: string) => executiveAgent.jobs.find((j) => j.name === name)!;
const reaction = (event: string) => executiveAgent.reactions.find((r) => r.event === event)!;
const notify = (a: PlannedAction) => NotifyParams.parse(a.params);
const email = (a: PlannedAction) => EmailParams.parse(a.params);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A ticket taken through `steps` (events without fields are given by their type). */
async function ticket(kit: EntityKit, key: string, create: Record<string, unknown>, steps: (string | Record<string, unknown>)[] = []): Promise<void> {
  const t = kit.at('ticket', key);
  await kit.send(t, { type: 'ticket.create', platform: 'n8n', ...create });
  for (const s of steps) await kit.send(t, typeof s === 'string' ? { type: s } : (s as { type: string }));
}
const BUILD = ['ticket.analyze', 'ticket.start_build'];
const APPROVED = [...BUILD, 'ticket.submit_review', { type: 'ticket.approve', by: 'brian' }];

describe('executive agent checks (embedded runtime)', () => {
  const kits = useEntityKits(() => makeEnv('embedded'), { entities: [dealEntity, contactEntity, bidEntity, orderEntity, ticketEntity] });

  it('is defined as data: jobs with their crons, reactions, tools', () => {
    expect(executiveAgent.name).toBe('executive');
    expect(executiveAgent.jobs.map((j) => [j.name, j.cron, j.missed])).toEqual([
      ['ceo-morning-brief', '0 7 * * 1-5', 'skip'],
      ['weekly-ceo-report', '0 8 * * 1', 'run_once'],
    ]);
    expect(executiveAgent.reactions.map((r) => [r.event, r.priority])).toEqual([
      ['automation.error', 'urgent'],
      ['ticket.deployed', 'normal'],
      ['client.churned', 'high'],
    ]);
    expect(executiveAgent.accepts).toEqual([]);
    expect(executiveAgent.tools).toEqual(expect.arrayContaining(['notify_team', 'send_email']));
  });

  describe('ceo-morning-brief', () => {
    it('pipeline, build queue, failed deploys, client alerts and team capacity in one brief for #leadership', async () => {
      const kit = await kits();
      const d = (key: string) => kit.at('deal', key);
      await kit.send(d('D-1'), { type: 'deal.create', title: 'Roof', value: 12_000, owner: 'ben' });
      await kit.send(d('D-2'), { type: 'deal.create', title: 'Fence', value: 3_000 });
      await kit.send(d('D-3'), { type: 'deal.create', title: 'Pool', value: 8_000, owner: 'ben' });
      await kit.send(d('D-5'), { type: 'deal.create', title: 'Old', value: 500 });
      await kit.send(kit.at('contact', 'C-1'), { type: 'contact.create', name: 'Ana Ruiz', email: 'ana@acme.example', account: 'Acme', cadenceDays: 5 });
      await kit.send(kit.at('contact', 'C-2'), { type: 'contact.create', name: 'Bo Lane', email: 'bo@acme.example', account: 'Acme', cadenceDays: 3 });
      await kit.send(kit.at('contact', 'C-3'), { type: 'contact.create', name: 'Cy Moss', email: 'cy@globex.example', account: 'Globex' });
      await kit.send(kit.at('order', 'O-1'), broken);
      await ticket(kit, 'T-1', { title: 'CRM sync', client: 'Acme', owner: 'brian' }, BUILD);
      await ticket(kit, 'T-2', { title: 'Invoices', client: 'Acme', owner: 'dan' }, [...APPROVED, { type: 'ticket.deploy', ok: false, error: 'credentials expired' }]);
      await ticket(kit, 'T-4', { title: 'Reports', client: 'Initech', owner: 'dan' }, [...APPROVED, { type: 'ticket.deploy', ok: true, url: 'https://n8n.initech.example/wf/4' }, 'ticket.close']);

      await kit.advance(6 * DAY);
      await kit.send(d('D-2'), { type: 'deal.qualify' });
      await kit.send(d('D-3'), { type: 'deal.win' });
      await kit.send(d('D-4'), { type: 'deal.create', title: 'Shed', value: 1_000 });
      await kit.send(d('D-5'), { type: 'deal.lose', reason: 'budget cut' });
      await kit.send(kit.at('ticket', 'T-2'), { type: 'ticket.deploy', ok: false, error: 'timeout calling the ERP' });
      const failedAt = kit.now();
      await ticket(kit, 'T-3', { title: 'Portal', client: 'Globex', owner: 'brian' }, BUILD);
      await ticket(kit, 'T-5', { title: 'Chatbot', client: 'Globex' });

      const plan = await run(kit, job('ceo-morning-brief').check, 'ceo-morning-brief');
      expect(plan.findings).toEqual({
        pipeline: { openDeals: 3, value: { USD: 16_000 }, movedLast24h: ['D-2', 'D-4'], createdLast24h: ['D-4'], wonLast24h: ['D-3'], lostLast24h: ['D-5'] },
        buildQueue: { tickets: 5, building: 2, overdue: [{ ticketId: 'T-1', days: 6, owner: 'brian', client: 'Acme' }] },
        // T-2's first failure was 6 days ago: only the one of the last 24 hours.
        failedDeploys: [{ ticketId: 'T-2', at: failedAt, error: 'timeout calling the ERP' }],
        clientAlerts: [
          { client: 'Acme', overdueContacts: 2, longestOverdueDays: 3, orderExceptions: 0 },
          { client: 'C-7', overdueContacts: 0, longestOverdueDays: 0, orderExceptions: 1 },
        ],
        overdueContacts: 2,
        orderExceptions: 1,
        teamCapacity: { brian: 2, dan: 1, unassigned: 1 },
      });

      expect(plan.actions.map((a) => a.actionType)).toEqual(['notify.send']);
      const brief = notify(plan.actions[0]!);
      expect(brief).toMatchObject({ kind: 'brief', channel: 'leadership', severity: 'info' });
      expect(brief.title).toMatch(/^Morning brief \w{3} \d{4}-\d{2}-\d{2}$/);
      for (const text of [
        'Good morning. 4 items need your attention.',
        '*Pipeline*\n3 open deals worth USD 16,000. Last 24h: 2 moved (1 new), 1 won (USD 8,000), 1 lost.',
        '• Won D-3 "Pool": USD 8,000, ben',
        '*Build queue*\n2 tickets building, 1 overdue (more than 5 days).\n• T-1 "CRM sync" for Acme: 6 days building, brian',
        `*Deploys*\n1 failed deploy in the last 24h:\n• T-2 "Invoices" for Acme at ${failedAt.slice(11, 16)} UTC: timeout calling the ERP`,
        '• Acme: 2 contacts overdue for a touch (longest 3 days)',
        '• C-7: 1 order in exceptions',
        '*Team*\nOpen tickets: brian 2, dan 1, unassigned 1.',
      ]) {
        expect(brief.body).toContain(text);
      }
      expect(brief.body.split(/\s+/).length).toBeLessThan(300); // two minutes to read
    });

    it('a quiet morning: zeros everywhere, no tickets, and it says nothing needs attention', async () => {
      const kit = await kits();
      const plan = await run(kit, job('ceo-morning-brief').check, 'ceo-morning-brief');
      expect(plan.findings).toEqual({
        pipeline: { openDeals: 0, value: {}, movedLast24h: [], createdLast24h: [], wonLast24h: [], lostLast24h: [] },
        buildQueue: { tickets: 0, building: 0, overdue: [] },
        failedDeploys: [],
        clientAlerts: [],
        overdueContacts: 0,
        orderExceptions: 0,
        teamCapacity: {},
      });
      const brief = notify(plan.actions[0]!);
      expect(brief.body).toContain('Good morning. Nothing needs your attention today.');
      expect(brief.body).toContain('0 open deals worth USD 0.');
      expect(brief.body).toContain('No failed deploys in the last 24h.');
      expect(brief.body).toContain('Open tickets: no open tickets.');
    });
  });

  describe('weekly-ceo-report', () => {
    it('the last 7 days: deals, pipeline, tickets, revenue, team and risks, emailed to the owner and posted to #leadership', async () => {
      const kit = await kits();
      const d = (key: string) => kit.at('deal', key);
      await kit.send(d('D-OLD'), { type: 'deal.create', title: 'Old win', value: 50_000 });
      await kit.send(d('D-OLD'), { type: 'deal.win' });
      await kit.send(d('D-STALL'), { type: 'deal.create', title: 'Warehouse', value: 4_000, owner: 'ben' });
      await kit.send(kit.at('contact', 'C-1'), { type: 'contact.create', name: 'Ana Ruiz', email: 'ana@acme.example', account: 'Acme', cadenceDays: 3 });
      await ticket(kit, 'T-1', { title: 'CRM sync', client: 'Acme', owner: 'brian' }, BUILD);

      await kit.advance(8 * DAY); // D-STALL stalls on day 7; D-OLD and T-1's creation fall out of the week
      const now = kit.clock.now();
      await kit.send(d('D-NEW'), { type: 'deal.create', title: 'New roof', value: 20_000 });
      await kit.send(d('D-WON'), { type: 'deal.create', title: 'Kitchen', value: 15_000, owner: 'ben' });
      await kit.send(d('D-WON'), { type: 'deal.win' });
      await kit.send(d('D-LOST'), { type: 'deal.create', title: 'Garage', value: 2_000 });
      await kit.send(d('D-LOST'), { type: 'deal.lose', reason: 'price' });
      await ticket(kit, 'T-2', { title: 'Invoices', client: 'Initech', owner: 'dan' }, [...APPROVED, { type: 'ticket.deploy', ok: true, url: 'https://n8n.initech.example/wf/2' }, 'ticket.close']);
      await ticket(kit, 'T-3', { title: 'Chatbot', client: 'Globex' });

      const plan = await run(kit, job('weekly-ceo-report').check, 'weekly-ceo-report', { ownerEmail: 'dave@manageai.example' });
      expect(plan.findings).toMatchObject({
        period: { from: new Date(now - 7 * DAY).toISOString(), to: new Date(now).toISOString() },
        deals: { added: ['D-LOST', 'D-NEW', 'D-WON'], won: ['D-WON'], lost: ['D-LOST'], wonValue: { USD: 15_000 }, addedValue: { USD: 37_000 } },
        pipeline: { openDeals: 2, value: { USD: 24_000 }, addedThisWeek: { USD: 20_000 } },
        tickets: { total: 3, created: ['T-2', 'T-3'], completed: ['T-2'], deployed: ['T-2'] },
        teamCapacity: { brian: 1, unassigned: 1 },
        risks: {
          stalledDeals: ['D-STALL'],
          overdueBuilds: ['T-1'],
          failedDeploys: [],
          clientAlerts: [{ client: 'Acme', overdueContacts: 1, longestOverdueDays: 5, orderExceptions: 0 }],
        },
        ownerEmail: 'dave@manageai.example',
      });

      expect(plan.actions.map((a) => a.actionType)).toEqual(['email.send', 'notify.send']);
      const period = `${day(now - 7 * DAY)} to ${day(now)}`;
      const mail = email(plan.actions[0]!);
      expect(mail).toMatchObject({ to: 'dave@manageai.example', subject: `Weekly report: ${period}` });
      for (const text of [
        'DEALS\n3 deals added (USD 37,000), 1 won (USD 15,000), 1 lost.',
        'Open pipeline now: 2 deals worth USD 24,000, of which USD 20,000 was added this week.',
        '• D-WON "Kitchen": USD 15,000 (ben)',
        '• D-LOST "Garage": price',
        'REVENUE SIGNALS\nWon this week: USD 15,000.',
        'BUILDS\nTickets: 2 created, 1 completed, 1 deployed.\nDeployed:\n• T-2 "Invoices" for Initech',
        'TEAM\nOpen tickets per owner: brian 1, unassigned 1.',
        'Stalled deal D-STALL "Warehouse": USD 4,000',
        'Overdue build T-1 "CRM sync" for Acme: 8 days building, brian',
        'Client Acme: 1 contact overdue for a touch (longest 5 days)',
      ]) {
        expect(mail.body).toContain(text);
      }
      expect(mail.body).not.toContain('D-OLD');
      const report = notify(plan.actions[1]!);
      expect(report).toMatchObject({ kind: 'report', channel: 'leadership', title: `Weekly report ${period}` });
      expect(report.body).toContain('Risks:\n• Stalled deal D-STALL');
    });

    it('a quiet week goes to owner@<tenant>.example by default; a malformed ownerEmail is refused', async () => {
      const kit = await kits();
      const plan = await run(kit, job('weekly-ceo-report').check, 'weekly-ceo-report');
      expect(plan.findings).toMatchObject({
        deals: { added: [], won: [], lost: [] },
        pipeline: { openDeals: 0 },
        tickets: { total: 0, created: [], completed: [], deployed: [] },
        risks: { stalledDeals: [], overdueBuilds: [], failedDeploys: [], clientAlerts: [] },
        ownerEmail: `owner@${kit.tenant}.example`,
      });
      const mail = email(plan.actions[0]!);
      expect(mail.to).toBe(`owner@${kit.tenant}.example`);
      expect(mail.body).toContain('RISKS\nNo stalled deal, overdue build, failed deploy or client needing attention.');
      expect(ownerAddress('Acme_Corp', {})).toBe('owner@acme-corp.example');
      const bad = await run(kit, job('weekly-ceo-report').check, 'weekly-ceo-report', { ownerEmail: 'not an address' }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(CheckInputError);
      expect(bad).toMatchObject({ job: 'weekly-ceo-report', issues: [expect.stringMatching(/^input\.ownerEmail: /)] });
    });
  });

  describe('reactions', () => {
    it('automation.error: an urgent alert to #leadership', async () => {
      const kit = await kits();
      const plan = await run(kit, reaction('automation.error').check, 'react:automation.error', {
        platform: 'n8n',
        workflowId: 'wf-1',
        workflowName: 'Invoice sync',
        executionId: 'ex-9',
        errorMessage: '401 Unauthorized',
        node: 'HTTP Request',
        url: 'https://n8n.acme.example/execution/ex-9',
        mode: 'trigger',
      });
      expect(plan.actions.map((a) => [a.actionType, a.target])).toEqual([['notify.send', 'automation/wf-1']]);
      const alert = notify(plan.actions[0]!);
      expect(alert).toMatchObject({ kind: 'alert', channel: 'leadership', severity: 'urgent', topic: 'automation.error', title: 'Automation failing: Invoice sync (n8n)' });
      expect(alert.body).toBe('n8n workflow Invoice sync (wf-1) failed at node "HTTP Request" (started by trigger).\nError: 401 Unauthorized\nExecution: https://n8n.acme.example/execution/ex-9');
      const bad = await run(kit, reaction('automation.error').check, 'react:automation.error', { platform: 'n8n' }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(CheckInputError);
      expect(bad).toMatchObject({ job: 'react:automation.error', issues: expect.arrayContaining([expect.stringMatching(/^input\.workflowId: /)]) });
    });

    it('ticket.deployed: an info note naming what went live, read from the ticket', async () => {
      const kit = await kits();
      await ticket(kit, 'T-2', { title: 'Invoices', client: 'Acme', owner: 'dan' }, [...APPROVED, { type: 'ticket.deploy', ok: false, error: 'timeout' }, { type: 'ticket.deploy', ok: true }]);
      const plan = await run(kit, reaction('ticket.deployed').check, 'react:ticket.deployed', { ticketId: 'T-2', client: 'Acme', platform: 'n8n', deployUrl: 'https://n8n.acme.example/wf/2', value: 12_000 });
      const note = notify(plan.actions[0]!);
      expect(note).toMatchObject({ kind: 'alert', channel: 'leadership', severity: 'info', title: 'Deployed: T-2 "Invoices" for Acme', topic: 'ticket.deployed:T-2' });
      expect(note.body).toBe('T-2 "Invoices" is live for Acme on n8n (worth 12,000).\nBuilt by dan.\nIt took 1 failed deploy before this one.\nURL: https://n8n.acme.example/wf/2');
      expect(plan.findings).toMatchObject({ ticketId: 'T-2', known: true });

      const unknown = await run(kit, reaction('ticket.deployed').check, 'react:ticket.deployed', { ticketId: 'T-9', client: 'Globex', platform: 'make', deployUrl: null, value: 0 });
      expect(notify(unknown.actions[0]!).body).toBe('T-9 is live for Globex on make.');
      expect(unknown.findings).toMatchObject({ known: false });
    });

    it('client.churned: a warning to #leadership with the reason and the client’s contacts', async () => {
      const kit = await kits();
      await kit.send(kit.at('contact', 'C-1'), { type: 'contact.create', name: 'Ana Ruiz', email: 'ana@acme.example', account: 'Acme' });
      const plan = await run(kit, reaction('client.churned').check, 'react:client.churned', { client: 'Acme', reason: 'moved to a competitor' });
      const alert = notify(plan.actions[0]!);
      expect(alert).toMatchObject({ kind: 'alert', channel: 'leadership', severity: 'warning', title: 'Client churned: Acme' });
      expect(alert.body).toBe('Reason: moved to a competitor.\n1 contact of Acme on record: Ana Ruiz.');
      expect(plan.findings).toMatchObject({ contacts: ['C-1'] });
    });
  });
});
