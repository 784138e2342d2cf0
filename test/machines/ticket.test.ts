import { describe, expect, it } from 'vitest';
import { ticketEntity, DEPLOYMENTS_KEPT, type TicketContext } from '../../machines/ticket/index.ts';
import { TicketEvents } from '../../bus/events/ticket.ts';
import { stateString } from '../../runtime/host/kind.ts';
import { effectsIn, iso, PureActor } from '../support/pure.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-01-05T09:00:00.000Z');

/**
 * A ticket walked purely through `Kind`, as the runtime does (test/support/pure.ts):
 * a persist/restore round trip before every event, every event stamped with `at`
 * and refused unless the state takes it, every published domain event checked
 * against the catalogue. The ticket never requests effects.
 */
const ticket = (key = 'T-1') =>
  new PureActor<TicketContext>(ticketEntity, {
    key,
    start: START,
    check: (a) => expect(a.type, 'a ticket requests no effects and sends nothing').not.toMatch(/^cadre\.(effect|send)$/),
  });
type Ticket = PureActor<TicketContext>;

const create = {
  type: 'ticket.create',
  title: 'Invoice intake to QuickBooks',
  client: 'Cornerstone Realty',
  clientContact: 'ops@cornerstone.example',
  platform: 'make',
  dealId: 'D-7',
  owner: 'brian',
  reviewer: 'dana@manageai.example',
  value: 12_000,
};

const state = (t: Ticket) => stateString(t.value);

/** Created and walked to `approved`, a day per step. */
function approved(): Ticket {
  const t = ticket().send(create);
  for (const e of [{ type: 'ticket.analyze' }, { type: 'ticket.start_build' }, { type: 'ticket.submit_review' }, { type: 'ticket.approve', by: 'dana' }]) {
    t.advance(DAY).send(e);
  }
  return t;
}

describe('ticket machine (pure, with a persist/restore round trip before every event)', () => {
  it('submitted → analyzing → building → review_pending → approved → deployed → closed, publishing created, approved, deployed, closed', () => {
    const t = ticket();
    expect(state(t)).toBe('new');
    t.send(create);
    expect(state(t)).toBe('submitted');
    expect(t.ctx).toMatchObject({
      key: 'T-1',
      tenant: 'acme',
      title: create.title,
      client: 'Cornerstone Realty',
      clientContact: 'ops@cornerstone.example',
      platform: 'make',
      dealId: 'D-7',
      owner: 'brian',
      reviewer: 'dana@manageai.example',
      value: 12_000,
      createdAt: iso(START),
      stateSince: iso(START),
      lastActivityAt: iso(START),
      analyzedAt: null,
      failedDeploys: 0,
      deployments: [],
    });
    expect(t.published('ticket.created')[0]!.data).toEqual({
      ticketId: 'T-1',
      title: create.title,
      client: 'Cornerstone Realty',
      platform: 'make',
      dealId: 'D-7',
      owner: 'brian',
      value: 12_000,
    });

    t.advance(DAY).send({ type: 'ticket.analyze' });
    expect(state(t)).toBe('analyzing');
    expect(t.ctx).toMatchObject({ analyzedAt: iso(START + DAY), stateSince: iso(START + DAY) });
    t.advance(DAY).send({ type: 'ticket.start_build' });
    expect(state(t)).toBe('building');
    expect(t.ctx.stateSince).toBe(iso(START + 2 * DAY));
    t.advance(3 * DAY).send({ type: 'ticket.submit_review' });
    expect(state(t)).toBe('review_pending');
    t.advance(DAY).send({ type: 'ticket.approve', by: 'dana' });
    expect(state(t)).toBe('approved');
    expect(t.ctx).toMatchObject({ approvedBy: 'dana', approvedAt: iso(START + 6 * DAY), stateSince: iso(START + 6 * DAY) });
    expect(t.published('ticket.approved')[0]!.data).toEqual({ ticketId: 'T-1', client: 'Cornerstone Realty', platform: 'make', by: 'dana', value: 12_000 });

    t.advance(HOUR).send({ type: 'ticket.deploy', ok: true, url: 'https://eu1.make.com/scenarios/42' });
    expect(state(t)).toBe('deployed');
    const deployedAt = iso(START + 6 * DAY + HOUR);
    expect(t.ctx).toMatchObject({ deployedAt, deployUrl: 'https://eu1.make.com/scenarios/42', deployments: [{ at: deployedAt, ok: true, error: null }] });
    expect(t.published('ticket.deployed')[0]!.data).toEqual({
      ticketId: 'T-1',
      client: 'Cornerstone Realty',
      platform: 'make',
      deployUrl: 'https://eu1.make.com/scenarios/42',
      value: 12_000,
    });

    t.advance(2 * DAY).send({ type: 'ticket.close' });
    expect(state(t)).toBe('closed');
    expect(t.status).toBe('done');
    const closedAt = iso(START + 8 * DAY + HOUR);
    expect(t.ctx).toMatchObject({ closedAt, stateSince: closedAt, lastActivityAt: closedAt });
    expect(t.published('ticket.closed')[0]!.data).toEqual({ ticketId: 'T-1', client: 'Cornerstone Realty', platform: 'make', value: 12_000, deployedAt, closedAt });
    expect(t.published().map((p) => p.name)).toEqual(['created', 'approved', 'deployed', 'closed']);
    expect(effectsIn(t.actions)).toEqual([]);
  });

  it('steps are taken in order only: no skipping, no closing before a deployment, nothing after closed', () => {
    const t = ticket();
    expect(t.refuses({ type: 'ticket.analyze' })).toBe(true);
    expect(t.refuses({ type: 'ticket.update', title: 'x' })).toBe(true);
    t.send(create);
    expect(t.refuses({ type: 'ticket.create', title: 'again', client: 'x' })).toBe(true);
    expect(t.refuses({ type: 'ticket.start_build' })).toBe(true);
    expect(t.refuses({ type: 'ticket.approve', by: 'dana' })).toBe(true);
    expect(t.refuses({ type: 'ticket.deploy', ok: true })).toBe(true);
    expect(t.refuses({ type: 'ticket.close' })).toBe(true);
    const a = approved();
    expect(a.refuses({ type: 'ticket.close' })).toBe(true);
    expect(a.refuses({ type: 'ticket.request_changes' })).toBe(true);
    a.send({ type: 'ticket.deploy', ok: true }).send({ type: 'ticket.close' });
    for (const e of [{ type: 'ticket.update', title: 'late' }, { type: 'ticket.deploy', ok: true }, { type: 'ticket.close' }]) expect(a.refuses(e)).toBe(true);
  });

  it('request_changes sends the build back to building, counting the revision and restarting its age', () => {
    const t = ticket().send(create).send({ type: 'ticket.analyze' }).send({ type: 'ticket.start_build' });
    t.advance(4 * DAY).send({ type: 'ticket.submit_review' });
    t.advance(DAY).send({ type: 'ticket.request_changes', by: 'dana', reason: 'no error branch on the HTTP module' });
    expect(state(t)).toBe('building');
    expect(t.ctx).toMatchObject({ revisions: 1, stateSince: iso(START + 5 * DAY) });
    t.advance(DAY).send({ type: 'ticket.submit_review' }).advance(DAY).send({ type: 'ticket.approve', by: 'dana' });
    expect(state(t)).toBe('approved');
    expect(t.ctx.revisions).toBe(1);
  });

  it('a failed deploy goes to failed and publishes ticket.failed; a redeploy counts failedDeploys and may succeed', () => {
    const t = approved();
    t.advance(HOUR).send({ type: 'ticket.deploy', ok: false, error: 'Make.com: connection "QuickBooks" is not authorised' });
    expect(state(t)).toBe('failed');
    const first = iso(t.now);
    expect(t.ctx).toMatchObject({ failedDeploys: 1, stateSince: first, deployedAt: null, deployments: [{ at: first, ok: false, error: 'Make.com: connection "QuickBooks" is not authorised' }] });
    expect(t.published('ticket.failed')[0]!.data).toEqual({
      ticketId: 'T-1',
      client: 'Cornerstone Realty',
      platform: 'make',
      error: 'Make.com: connection "QuickBooks" is not authorised',
      failedDeploys: 1,
    });

    // Another failure without an error: still failed (not re-entered), counted, with a default error.
    t.advance(HOUR).send({ type: 'ticket.deploy', ok: false });
    expect(state(t)).toBe('failed');
    expect(t.ctx).toMatchObject({ failedDeploys: 2, stateSince: first, lastActivityAt: iso(t.now) });
    expect(t.published('ticket.failed')[1]!.data).toMatchObject({ error: 'deployment failed (no error given)', failedDeploys: 2 });

    t.advance(HOUR).send({ type: 'ticket.deploy', ok: true, url: 'https://eu1.make.com/scenarios/42' });
    expect(state(t)).toBe('deployed');
    expect(t.ctx.deployments.map((d) => d.ok)).toEqual([false, false, true]);
    expect(t.ctx).toMatchObject({ failedDeploys: 2, deployedAt: iso(t.now) });

    // A redeploy of a deployed ticket that fails moves it to failed; the last URL is kept.
    t.advance(DAY).send({ type: 'ticket.deploy', ok: false, error: 'timeout' });
    expect(state(t)).toBe('failed');
    expect(t.ctx).toMatchObject({ failedDeploys: 3, deployUrl: 'https://eu1.make.com/scenarios/42' });
  });

  it(`keeps the last ${DEPLOYMENTS_KEPT} deployment attempts`, () => {
    const t = approved();
    for (let i = 0; i < DEPLOYMENTS_KEPT + 5; i++) t.advance(HOUR).send({ type: 'ticket.deploy', ok: i % 2 === 1, error: i % 2 === 1 ? undefined : `attempt ${i}` });
    expect(t.ctx.deployments).toHaveLength(DEPLOYMENTS_KEPT);
    // Attempts 0 to 24: the first five are dropped, the oldest kept is attempt 5 (a success).
    expect(t.ctx.deployments.slice(0, 2).map((d) => [d.ok, d.error])).toEqual([[true, null], [false, 'attempt 6']]);
    expect(t.ctx.deployments.at(-1)!.error).toBe('attempt 24');
    expect(t.ctx.failedDeploys).toBe(13);
  });

  it('update changes fields in any open state (null clears), keeps the state and its age, and counts as activity', () => {
    const t = ticket().send(create).send({ type: 'ticket.analyze' }).send({ type: 'ticket.start_build' });
    t.advance(2 * DAY).send({ type: 'ticket.update', value: 15_000, reviewer: null, clientContact: null, platform: 'n8n' });
    expect(state(t)).toBe('building');
    expect(t.ctx).toMatchObject({
      value: 15_000,
      reviewer: null,
      clientContact: null,
      platform: 'n8n',
      owner: 'brian',
      title: create.title,
      stateSince: iso(START),
      lastActivityAt: iso(START + 2 * DAY),
    });
  });

  it('create fills defaults: platform other, value 0, no contact, deal, owner or reviewer', () => {
    const t = ticket().send({ type: 'ticket.create', title: 'Lead routing', client: 'Acme' });
    expect(t.ctx).toMatchObject({ platform: 'other', value: 0, clientContact: null, dealId: null, owner: null, reviewer: null });
  });

  it('the events schema refuses malformed events', () => {
    const bad = [
      { type: 'ticket.create', title: '', client: 'Acme' },
      { type: 'ticket.create', title: 'x' },
      { type: 'ticket.create', title: 'x', client: 'Acme', platform: 'airtable' },
      { type: 'ticket.create', title: 'x', client: 'Acme', clientContact: 'not an email' },
      { type: 'ticket.create', title: 'x', client: 'Acme', value: -1 },
      { type: 'ticket.approve' },
      { type: 'ticket.deploy' },
      { type: 'ticket.deploy', ok: 'yes' },
      { type: 'ticket.update', value: 'lots' },
      { type: 'ticket.reopen' },
    ];
    for (const e of bad) expect(ticketEntity.events.safeParse(e).success, JSON.stringify(e)).toBe(false);
    expect(ticketEntity.events.safeParse({ type: 'ticket.deploy', ok: false, error: 'boom' }).success).toBe(true);
  });

  it('the catalogue has every event the ticket publishes', () => {
    expect(Object.keys(TicketEvents).sort()).toEqual(['ticket.approved', 'ticket.closed', 'ticket.created', 'ticket.deployed', 'ticket.failed']);
  });
});
