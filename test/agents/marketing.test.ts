import { describe, expect, it } from 'vitest';
import { contentPipeline, marketingAgent, onLeadQualified, onTicketDeployed } from '../../agents/marketing/index.ts';
import { NotifyParams, SocialParams } from '../../agents/actions.ts';
import { Plan, type PlannedAction } from '../../agents/types.ts';
import { DomainEventEnvelope, DomainEvents } from '../../bus/index.ts';
import { dealEntity, orderEntity, ticketEntity } from '../../machines/index.ts';
import { ManualClock, type Runtime } from '../../runtime/index.ts';
import { planContext } from '../support/agents.ts';
import { eventually, makeEnv, useEnv } from '../support/runtime.ts';

const tenant = 'acme';
const at = (iso: string) => Date.parse(iso);

/**
 * The marketing agent's job and reactions on a real runtime (embedded: PGlite and
 * the in-process bus): tickets are walked to closed while the manual clock moves,
 * domain events are taken from the bus as the tickets published them, and each plan
 * is asserted: what it found and the drafts it asks for, with params validated by
 * the shared schemas.
 */

type Ev = { type: string; [k: string]: unknown };

async function send(rt: Runtime, key: string, ...events: Ev[]) {
  for (const e of events) expect(await rt.send.send({ tenant, kind: 'ticket', key }, e, { wait: true }), `ticket/${key} took ${e.type}`).toMatchObject({ ok: true });
}

const create = (client: string, title: string, value: number, platform = 'make') => ({ type: 'ticket.create', title, client, platform, owner: 'brian', value, clientContact: 'ops@client.example' });
const toDeployed: Ev[] = [{ type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' }, { type: 'ticket.approve', by: 'dana' }, { type: 'ticket.deploy', ok: true }];
const close: Ev = { type: 'ticket.close' };

function validated(plan: Plan): Plan {
  const p = Plan.parse(plan);
  for (const a of p.actions) {
    if (a.actionType === 'notify.send') NotifyParams.parse(a.params);
    else if (a.actionType === 'social.publish') expect(SocialParams.parse(a.params).network).toBe('linkedin');
    else throw new Error(`unexpected action type ${a.actionType}`);
  }
  return p;
}

const params = <T>(a: PlannedAction) => a.params as T;
const titles = (p: Plan) => p.actions.map((a) => (a.actionType === 'notify.send' ? `${params<NotifyParams>(a).kind}: ${params<NotifyParams>(a).title}` : `${a.actionType} ${a.target}`));

describe('marketing agent definition', () => {
  it('one weekly job on Mondays at 10, two reactions, tool names', () => {
    expect(marketingAgent.jobs.map((j) => [j.name, j.cron, j.missed])).toEqual([['marketing-content-pipeline', '0 10 * * 1', 'skip']]);
    expect(marketingAgent.reactions.map((r) => r.event)).toEqual(['ticket.deployed', 'lead.qualified']);
    expect(marketingAgent.tools).toEqual(expect.arrayContaining(['publish_social_post', 'notify_team']));
  });
});

describe('marketing agent on seeded data', () => {
  const env = useEnv(() => makeEnv('embedded'));
  const ctx = (rt: Runtime, job: string, input: Record<string, unknown> = {}) => planContext(rt, { tenant, agent: 'marketing', job, input });

  it('marketing-content-pipeline: an outline per build closed last week, 3 LinkedIn posts from the most valuable, a blog idea, the summary', async () => {
    const clock = new ManualClock(at('2026-01-05T09:00:00Z'));
    const rt = await env.start({ entities: [ticketEntity, dealEntity, orderEntity], clock });
    const closeOn = async (iso: string, key: string, client: string, title: string, value: number, platform = 'make') => {
      clock.set(at(iso));
      await send(rt, key, create(client, title, value, platform), ...toDeployed, close);
    };
    await closeOn('2026-01-09T09:00:00Z', 'M-0', 'Early Co', 'Old build', 9000); // the week before
    await closeOn('2026-01-12T10:00:00Z', 'M-1', 'Cornerstone Realty', 'Invoice intake to QuickBooks', 12_000);
    await closeOn('2026-01-14T09:00:00Z', 'M-2', 'Beta GmbH', 'Lead routing', 5000, 'n8n');
    await closeOn('2026-01-15T09:00:00Z', 'M-3', 'Acme Facilities', 'Work order triage', 20_000, 'zapier');
    await closeOn('2026-01-16T09:00:00Z', 'M-4', 'Delta LLP', 'Timesheet reminders', 1000, 'n8n');
    clock.set(at('2026-01-17T09:00:00Z'));
    await send(rt, 'M-5', create('Echo Inc', 'Not closed yet', 50_000), ...toDeployed);
    clock.set(at('2026-01-19T10:00:00Z')); // Monday 10:00

    const plan = validated(await contentPipeline(ctx(rt, 'marketing-content-pipeline')));
    expect(plan.findings).toEqual({
      closedLastWeek: ['M-3', 'M-1', 'M-2', 'M-4'],
      caseStudies: ['M-3', 'M-1', 'M-2', 'M-4'],
      linkedInPosts: ['M-3', 'M-1', 'M-2'],
      blog: { title: '4 automations, ~40 hours a month: what we learned building on Zapier, Make.com and n8n', basedOn: ['M-3', 'M-1', 'M-2', 'M-4'] },
      pieces: 8,
    });
    expect(titles(plan)).toEqual([
      'draft: Case study outline: Acme Facilities (Work order triage)',
      'draft: Case study outline: Cornerstone Realty (Invoice intake to QuickBooks)',
      'draft: Case study outline: Beta GmbH (Lead routing)',
      'draft: Case study outline: Delta LLP (Timesheet reminders)',
      'social.publish ticket/M-3',
      'social.publish ticket/M-1',
      'social.publish ticket/M-2',
      'draft: Blog idea: 4 automations, ~40 hours a month: what we learned building on Zapier, Make.com and n8n',
      'summary: 8 content pieces ready for review',
    ]);
    for (const a of plan.actions.filter((x) => x.actionType === 'notify.send')) expect(params<NotifyParams>(a).channel).toBe('marketing');
    const outline = params<NotifyParams>(plan.actions[1]!).body;
    for (const part of ['Company type: Cornerstone Realty', 'Problem: the manual work behind "Invoice intake to QuickBooks"', 'Solution: a Make.com automation built by brian, reviewed by dana, live since 2026-01-12', 'Automation built: "Invoice intake to QuickBooks" (ticket M-1)', 'Expected ROI: ~300 tasks a month', 'the build (12,000) pays back in ~24 months']) {
      expect(outline).toContain(part);
    }
    const posts = plan.actions.filter((a) => a.actionType === 'social.publish').map((a) => params<SocialParams>(a).text);
    expect(new Set(posts).size).toBe(3);
    expect(posts[0]).toContain('"Work order triage"');
    for (const [i, client] of ['Acme Facilities', 'Cornerstone Realty', 'Beta GmbH'].entries()) expect(posts[i]).not.toContain(client);
    expect(plan.hints).toEqual([]);
  });

  it('fewer builds, fewer posts; no build last week: only a blog idea from older builds; none ever: nothing, with hints', async () => {
    const clock = new ManualClock(at('2026-01-05T09:00:00Z'));
    const rt = await env.start({ entities: [ticketEntity, dealEntity, orderEntity], clock });
    const none = validated(await contentPipeline(ctx(rt, 'marketing-content-pipeline')));
    expect(none.actions).toEqual([]);
    expect(none.findings).toEqual({ closedLastWeek: [], caseStudies: [], linkedInPosts: [], blog: null, pieces: 0 });
    expect(none.hints).toEqual([
      'No build closed last week: no case study or LinkedIn post this week. Consider a post from an older success or the blog idea.',
      'No build has ever been closed: nothing to write about yet.',
    ]);

    await send(rt, 'O-1', create('Early Co', 'Contract drafting', 9000), ...toDeployed, close);
    clock.set(at('2026-01-19T10:00:00Z'));
    const older = validated(await contentPipeline(ctx(rt, 'marketing-content-pipeline')));
    expect(titles(older)).toEqual(['draft: Blog idea: What automating "Contract drafting" taught us about Make.com', 'summary: 1 content piece ready for review']);
    expect(older.findings).toMatchObject({ closedLastWeek: [], linkedInPosts: [], blog: { basedOn: ['O-1'] }, pieces: 1 });
    expect(older.hints).toEqual(['No build closed last week: no case study or LinkedIn post this week. Consider a post from an older success or the blog idea.']);

    clock.set(at('2026-01-22T09:00:00Z'));
    await send(rt, 'N-1', create('New Co', 'Lead scoring', 4000, 'n8n'), ...toDeployed, close);
    clock.set(at('2026-01-26T10:00:00Z'));
    const one = validated(await contentPipeline(ctx(rt, 'marketing-content-pipeline')));
    expect(one.findings).toMatchObject({ closedLastWeek: ['N-1'], linkedInPosts: ['N-1'], blog: { basedOn: ['N-1'] }, pieces: 3 });
    expect(one.actions.map((a) => a.actionType)).toEqual(['notify.send', 'social.publish', 'notify.send', 'notify.send']);
  });

  it('ticket.deployed: a case study draft from the deployed ticket; lead.qualified: add to nurture', async () => {
    const rt = await env.start({ entities: [ticketEntity, dealEntity, orderEntity] });
    const seen: DomainEventEnvelope[] = [];
    rt.bus.subscribe(`${rt.subjects.prefix}.${tenant}.events.>`, (_s, data) => seen.push(DomainEventEnvelope.parse(JSON.parse(new TextDecoder().decode(data)))));
    await send(rt, 'T-1', create('Cornerstone Realty', 'Invoice intake', 12_000), ...toDeployed);
    const deployed = await eventually(async () => seen.find((e) => e.name === 'deployed'));

    const plan = validated(await onTicketDeployed(ctx(rt, 'react:ticket.deployed', deployed.data)));
    expect(plan.findings).toEqual({ ticketId: 'T-1', client: 'Cornerstone Realty' });
    expect(plan.actions).toHaveLength(1);
    const draft = params<NotifyParams>(plan.actions[0]!);
    expect(draft).toMatchObject({ kind: 'draft', channel: 'marketing', title: 'Case study draft: Cornerstone Realty (Invoice intake)', related: 'ticket/T-1' });
    expect(draft.body).toContain('Solution: a Make.com automation built by brian, reviewed by dana, live since 2026-01-05');
    expect(draft.body).toContain('collect two to four weeks of results before publishing');

    const lead = DomainEvents['lead.qualified'].parse({ name: 'Rita Gomez', email: 'rita@northwind.example', company: 'Northwind', phone: null, message: 'We spend hours copying invoices.', source: 'website-contact' });
    const nurture = validated(await onLeadQualified(ctx(rt, 'react:lead.qualified', lead)));
    expect(nurture.findings).toEqual({ email: 'rita@northwind.example', source: 'website-contact', company: 'Northwind' });
    expect(nurture.actions).toHaveLength(1);
    expect(nurture.actions[0]!.params).toMatchObject({ kind: 'brief', channel: 'marketing', title: 'Add to nurture: Rita Gomez (Northwind)', related: 'lead/rita@northwind.example' });
    expect(params<NotifyParams>(nurture.actions[0]!).body).toContain('Their message: "We spend hours copying invoices."');
  });
});
