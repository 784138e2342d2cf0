import { describe, expect, it } from 'vitest';
import { orderEntity, RULES } from '../../../machines/order/index.ts';
import { ApprovalError } from '../../../runtime/index.ts';
import { runtimeBackends } from '../../support/runtime.ts';
import { DAY, gateOf, HOUR, LEVELS, needsApproval, useEntityKits, walk, type EntityKit, type Level } from '../../support/entities.ts';
import { broken, client, fields, fixes, receive } from '../../support/fixtures/order.ts';

/**
 * The order entity end to end through the runtime (P0.5 order processing, P1.3
 * feedback automation): every path, each gate under each autonomy level, on the
 * controllable clock, each with a restart from the database in the middle.
 */

const iso = (ms: number) => new Date(ms).toISOString();

describe.each(runtimeBackends)('order entity on $name', ({ make }) => {
  const kits = useEntityKits(make, { entities: [orderEntity] });
  /** A kit on a fresh tenant, with the delivery agent's levels. */
  const start = (levels: { actionType: string; level: Level }[] = []) => kits(levels.map((l) => ({ agent: 'delivery', ...l })));

  /** Receives a clean order and takes it to delivered. */
  async function deliver(kit: EntityKit, key: string, patch: Record<string, unknown> = {}) {
    const o = kit.at('order', key);
    expect(await kit.send(o, { ...receive, ...patch })).toMatchObject({ state: 'accepted' });
    expect(await kit.send(o, { type: 'order.start' })).toMatchObject({ state: 'inProgress' });
    expect(await kit.send(o, { type: 'order.deliver' })).toMatchObject({ state: 'delivered' });
    return o;
  }

  it.each(LEVELS)('received → accepted → in progress → delivered → (7 days, a restart between) gated feedback request → feedback → closed, under %s', async (level) => {
    const kit = await start([{ actionType: 'email.send', level }]);
    const o = await deliver(kit, 'O-1');
    const deliveredAt = kit.clock.now();
    const delivered = await kit.actor(o);
    expect(delivered.context).toMatchObject({ deliveredAt: iso(deliveredAt), exceptions: [], fixes: [], feedbackRequest: null });
    expect(delivered.timers).toEqual([expect.objectContaining({ due_at: new Date(deliveredAt + 7 * DAY) })]);

    // Three days on, a restart that is down for two more; then up to a minute before the seventh day.
    await kit.advance(3 * DAY);
    await kit.restart({ whileDown: 2 * DAY });
    await kit.advance(2 * DAY - 60_000);
    expect(await kit.actor(o)).toMatchObject({ state: 'delivered' });
    expect(kit.calls()).toEqual([]);

    await kit.advance(60_000);
    const requested = await kit.untilGate(o, 'feedback_request', needsApproval(level, 'high') ? 'awaiting_approval' : 'done');
    expect(requested.state).toMatch(/^requestingFeedback\.email\.|^awaitingFeedback$/);
    if (needsApproval(level, 'high')) {
      expect(requested.state).toBe('requestingFeedback.email.awaitingApproval');
      const [p] = await kit.approvals(o);
      expect(p).toMatchObject({
        status: 'pending', agent: 'delivery', action_type: 'email.send', risk: 'high', level,
        preview: 'Feedback request for order O-1 to ana@home.example',
        params: { to: 'ana@home.example', orderId: 'O-1' },
      });
      expect(new Date(p!.expires_at).getTime()).toBe(deliveredAt + 7 * DAY + 48 * HOUR);
      expect(kit.calls()).toEqual([]); // nothing runs before a person approves
      await kit.approve(o, 'feedback_request', 'ana@acme.example', 'looks fine');
    }
    const sentAt = kit.now();
    const waiting = await kit.until(o, 'awaitingFeedback');
    expect(waiting.context).toMatchObject({ feedbackRequest: { status: 'sent', reason: null, to: 'ana@home.example', at: sentAt } });
    expect(gateOf(waiting, 'feedback_request')).toMatchObject({
      request: 1, actionType: 'email.send', status: 'done', level, risk: 'high',
      decidedBy: needsApproval(level, 'high') ? 'ana@acme.example' : 'gate',
      result: { accepted: true, to: 'ana@home.example' },
    });

    const [email] = kit.calls('email.send', o);
    expect(kit.calls()).toHaveLength(1);
    expect(email!.params).toMatchObject({ to: 'ana@home.example', orderId: 'O-1', subject: expect.stringContaining('O-1'), body: expect.stringContaining('Ana Ruiz') });
    const rows = await kit.effectRows(o);
    expect(rows).toEqual([
      expect.objectContaining({ id: email!.id, action_type: 'email.send', status: 'succeeded', attempts: 1, level, risk: 'high', agent: 'delivery', approval_id: needsApproval(level, 'high') ? expect.any(String) : null }),
    ]);
    expect(await kit.auditTrail(o)).toEqual(
      needsApproval(level, 'high') ? ['decision:approval', 'approval:approved', 'execution:executed'] : ['decision:auto', 'execution:executed'],
    );

    expect(await kit.send(o, { type: 'order.feedback', rating: 5, comment: 'Fast and clear' })).toMatchObject({ state: 'closed' });
    const closed = await kit.actor(o);
    expect(closed.context).toMatchObject({ feedback: { rating: 5, sentiment: 'positive', comment: 'Fast and clear' }, closedAt: kit.now(), openCases: [] });
    expect(closed.timers).toEqual([]);
    await kit.untilEvent(o, 'order.closed');
    expect(kit.eventNames(o)).toEqual([
      'order.received', 'order.accepted', 'order.started', 'order.delivered', 'order.feedback_requested', 'order.feedback_received', 'order.closed',
    ]);
    expect(kit.events(o, 'order.delivered')[0]!.data).toMatchObject({ feedbackDueAt: iso(deliveredAt + 7 * DAY) });
    expect(await kit.timerFires(o)).toBe(1);
  });

  it('each validation failure lands in exceptions naming its field and rule; amended after a restart, each is accepted', async () => {
    const cases: [string, Record<string, unknown>, { field: string; rule: string; fixable: boolean }][] = [
      ['fee-positive', { fee: 0, total: 25 }, { field: 'fee', rule: RULES.feePositive, fixable: false }],
      ['total-at-least-fee', { total: 400 }, { field: 'total', rule: RULES.totalAtLeastFee, fixable: true }],
      ['tech-fee-non-negative', { techFee: -5, total: 445 }, { field: 'techFee', rule: RULES.techFeeNonNegative, fixable: true }],
      ['in-catalogue', { catalogue: null }, { field: 'productCode', rule: RULES.inCatalogue, fixable: false }],
      ['fee-matches-catalogue', { fee: 400, total: 425 }, { field: 'fee', rule: RULES.feeMatchesCatalogue, fixable: false }],
      ['tech-fee-matches-catalogue', { techFee: 30, total: 480 }, { field: 'techFee', rule: RULES.techFeeMatchesCatalogue, fixable: true }],
      ['total-is-fee-plus-tech-fee', { total: 500 }, { field: 'total', rule: RULES.totalIsFeePlusTechFee, fixable: true }],
      ['client-known', { client: null }, { field: 'clientId', rule: RULES.clientKnown, fixable: false }],
      ['client-active', { client: { ...client, active: false } }, { field: 'clientId', rule: RULES.clientActive, fixable: false }],
      ['credit-available', { client: { ...client, outstandingBalance: 9_600 } }, { field: 'total', rule: RULES.creditAvailable, fixable: false }],
      ['property-address', { propertyAddress: null }, { field: 'propertyAddress', rule: RULES.required, fixable: false }],
      ['borrower', { borrower: null }, { field: 'borrower', rule: RULES.required, fixable: false }],
      ['borrower-name', { borrower: { name: '', email: 'ana@home.example' } }, { field: 'borrower.name', rule: RULES.required, fixable: false }],
      ['borrower-reachable', { borrower: { name: 'Ana Ruiz' } }, { field: 'borrower', rule: RULES.emailOrPhone, fixable: false }],
      ['borrower-email', { borrower: { name: 'Ana Ruiz', email: 'ana-at-home' } }, { field: 'borrower.email', rule: RULES.emailFormat, fixable: false }],
      ['property-contact', { propertyContact: null }, { field: 'propertyContact', rule: RULES.requiredForInspection, fixable: false }],
      ['property-contact-reachable', { propertyContact: { name: 'Bo Lane' } }, { field: 'propertyContact', rule: RULES.emailOrPhone, fixable: false }],
    ];
    const kit = await start(); // supervised: a fixable set waits for approval in the autofix gate
    for (const [key, patch, failure] of cases) {
      const o = kit.at('order', `V-${key}`);
      const r = await kit.send(o, { ...receive, ...patch });
      const v = await kit.actor(o);
      expect(v.context.exceptions, key).toContainEqual(expect.objectContaining({ ...failure, message: expect.any(String) }));
      const allFixable = (v.context.exceptions as { fixable: boolean }[]).every((f) => f.fixable);
      expect(r.state, key).toBe(allFixable ? 'exceptions.autofix.deciding' : 'exceptions.awaitingAmend');
      expect(v.context.acceptedAt).toBeNull();
      if (allFixable) await kit.pendingApproval(o, 'autofix');
    }

    await kit.restart({ whileDown: HOUR });

    for (const [key, , failure] of cases) {
      const o = kit.at('order', `V-${key}`);
      const before = await kit.actor(o);
      expect(before.state, key).toBe(failure.fixable ? 'exceptions.autofix.awaitingApproval' : 'exceptions.awaitingAmend');
      const [exceptions] = kit.events(o, 'order.exceptions');
      expect(exceptions!.data).toMatchObject({ orderId: `V-${key}`, exceptions: before.context.exceptions, autofixable: failure.fixable });
      // A person corrects the order: it validates again and is accepted.
      expect(await kit.send(o, { type: 'order.amend', ...fields }), key).toMatchObject({ state: 'accepted' });
      expect((await kit.actor(o)).context).toMatchObject({ exceptions: [], proposedFixes: [], techFee: 25, total: 475 });
      if (failure.fixable) {
        // Leaving the gate withdrew its request: approving it now is refused, and nothing runs.
        const [p] = await kit.approvals(o);
        const err = await kit.rt.approvals.approve(kit.tenant, p!.id, 'ana@acme.example').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ApprovalError);
        expect((err as ApprovalError).code).toBe('withdrawn');
        expect(gateOf(await kit.actor(o), 'autofix')).toMatchObject({ status: 'withdrawn' });
      }
    }
    await kit.rt.settle();
    expect(kit.calls()).toEqual([]);
  });

  it.each(LEVELS)('autofix under %s: the pricing is fixed through the order.autofix gate (medium risk) and the order accepted; a restart in the middle', async (level) => {
    const kit = await start([{ actionType: 'order.autofix', level }]);
    const o = kit.at('order', 'F-1');
    expect(await kit.send(o, broken)).toMatchObject({ state: 'exceptions.autofix.deciding' });
    const ask = needsApproval(level, 'medium');
    expect(ask).toBe(level !== 'autonomous');
    if (ask) {
      const p = await kit.pendingApproval(o, 'autofix');
      expect(p).toMatchObject({ action_type: 'order.autofix', risk: 'medium', level, agent: 'delivery', params: { orderId: 'F-1', fixes } });
      expect(p.preview).toMatch(/techFee -25 → 25.*total 425 → 475/);
      expect((await kit.actor(o)).state).toBe('exceptions.autofix.awaitingApproval');
      // The approval waits across a restart.
      await kit.restart({ whileDown: 6 * HOUR });
      expect((await kit.actor(o)).state).toBe('exceptions.autofix.awaitingApproval');
      expect(kit.calls()).toEqual([]);
      await kit.approve(o, 'autofix', 'ops@acme.example');
    }
    const fixedAt = kit.now();
    const accepted = await kit.until(o, 'accepted');
    expect(accepted.context).toMatchObject({ techFee: 25, total: 475, exceptions: [], proposedFixes: [], acceptedAt: fixedAt });
    expect(accepted.context.fixes).toEqual(fixes.map((f) => ({ ...f, at: fixedAt })));
    expect(gateOf(accepted, 'autofix')).toMatchObject({ status: 'done', level, risk: 'medium', decidedBy: ask ? 'ops@acme.example' : 'gate' });
    if (!ask) await kit.restart({ whileDown: HOUR }); // after the fix: it is not run again
    expect(await kit.send(o, { type: 'order.start' })).toMatchObject({ state: 'inProgress' });
    await kit.rt.settle();

    expect(kit.calls('order.autofix', o)).toHaveLength(1);
    expect(kit.calls()[0]!.params).toEqual({ orderId: 'F-1', fixes });
    expect(await kit.effectRows(o)).toEqual([expect.objectContaining({ action_type: 'order.autofix', status: 'succeeded', level, risk: 'medium', result: { orderId: 'F-1', applied: fixes } })]);
    expect(await kit.auditTrail(o)).toEqual(ask ? ['decision:approval', 'approval:approved', 'execution:executed'] : ['decision:auto', 'execution:executed']);
    await kit.untilEvent(o, 'order.started');
    expect(kit.eventNames(o)).toEqual(['order.received', 'order.exceptions', 'order.autofixed', 'order.accepted', 'order.started']);
    expect(kit.events(o, 'order.autofixed')[0]!.data).toEqual({ orderId: 'F-1', fixes, fee: 450, techFee: 25, total: 475 });
  });

  it('autofix approval rejected: the order stays in exceptions (rejected), survives a restart, and is accepted after an amend; nothing ran', async () => {
    const kit = await start([{ actionType: 'order.autofix', level: 'supervised' }]);
    const o = kit.at('order', 'F-2');
    await kit.send(o, broken);
    await kit.reject(o, 'autofix', 'ops@acme.example', 'check with the client first');
    const rejected = await kit.until(o, 'exceptions.autofix.rejected');
    expect(gateOf(rejected, 'autofix')).toMatchObject({ status: 'rejected', decidedBy: 'ops@acme.example', reason: 'check with the client first' });
    expect(rejected.context).toMatchObject({ techFee: -25, total: 425, fixes: [], acceptedAt: null });

    await kit.restart({ whileDown: DAY });
    expect((await kit.actor(o)).state).toBe('exceptions.autofix.rejected');
    expect(await kit.approvals(o)).toEqual([expect.objectContaining({ status: 'rejected', decided_by: 'ops@acme.example', note: 'check with the client first' })]);
    expect(await kit.effectRows(o)).toEqual([expect.objectContaining({ status: 'rejected' })]);

    expect(await kit.send(o, { type: 'order.amend', techFee: 25, total: 475 })).toMatchObject({ state: 'accepted' });
    expect((await kit.actor(o)).context).toMatchObject({ techFee: 25, total: 475, fixes: [] });
    await kit.rt.settle();
    expect(kit.calls()).toEqual([]);
    expect(await kit.auditTrail(o)).toEqual(['decision:approval', 'approval:rejected']);
    expect((await kit.audit(o))[1]).toMatchObject({ decided_by: 'ops@acme.example', reason: 'check with the client first', level: 'supervised', risk: 'medium' });
  });

  it('autofix approval expired while no process ran: expired once at the next start, approving is refused; gate.retry asks again and is approved', async () => {
    const kit = await start([{ actionType: 'order.autofix', level: 'supervised' }]);
    const o = kit.at('order', 'F-3');
    await kit.send(o, broken);
    const first = await kit.pendingApproval(o, 'autofix');
    expect(new Date(first.expires_at).getTime()).toBe(kit.clock.now() + 48 * HOUR);

    // Down across the deadline.
    await kit.restart({ whileDown: 48 * HOUR + 1 });
    const expired = await kit.until(o, 'exceptions.autofix.expired');
    expect(gateOf(expired, 'autofix')).toMatchObject({ request: 1, status: 'expired', decidedBy: 'expiry' });
    expect(await kit.rt.approvals.get(kit.tenant, first.id)).toMatchObject({ status: 'expired', decided_by: 'expiry' });
    const late = await kit.rt.approvals.approve(kit.tenant, first.id, 'ops@acme.example').catch((e: unknown) => e);
    expect((late as ApprovalError).code).toBe('conflict');
    await kit.restart(); // expired once: no second expiry
    expect((await kit.history(o)).filter((h) => (h.event as { type?: string }).type === 'cadre.gate.expired')).toHaveLength(1);

    // Asked again: a new request, a new approval.
    expect(await kit.send(o, { type: 'gate.retry', gate: 'autofix' })).toMatchObject({ state: 'exceptions.autofix.deciding' });
    const second = await kit.pendingApproval(o, 'autofix');
    expect(second.id).not.toBe(first.id);
    expect(gateOf(await kit.actor(o), 'autofix')).toMatchObject({ request: 2 });
    await kit.approve(o, 'autofix');
    expect((await kit.until(o, 'accepted')).context).toMatchObject({ techFee: 25, total: 475 });
    expect(kit.calls('order.autofix')).toHaveLength(1);
    expect(await kit.auditTrail(o)).toEqual(['decision:approval', 'approval:expired', 'decision:approval', 'approval:approved', 'execution:executed']);
  });

  it('feedback request approval expires on the running clock: no email; the client may still answer and the order closes', async () => {
    const kit = await start([{ actionType: 'email.send', level: 'supervised' }]);
    const o = await deliver(kit, 'O-2');
    await kit.advance(7 * DAY);
    const p = await kit.pendingApproval(o, 'feedback_request');
    await kit.restart({ whileDown: 47 * HOUR }); // not yet due
    expect((await kit.actor(o)).state).toBe('requestingFeedback.email.awaitingApproval');
    await kit.advance(HOUR);
    const expired = await kit.until(o, 'requestingFeedback.email.expired');
    expect(expired.context).toMatchObject({ feedbackRequest: null });
    expect(await kit.rt.approvals.get(kit.tenant, p.id)).toMatchObject({ status: 'expired' });
    expect(await kit.send(o, { type: 'order.feedback', rating: 4 })).toMatchObject({ state: 'closed' });
    expect(kit.calls()).toEqual([]);
    expect(await kit.auditTrail(o)).toEqual(['decision:approval', 'approval:expired']);
  });

  it('the feedback email fails at the provider: failed and visible (across a restart); gate.retry sends it', async () => {
    const kit = await start([{ actionType: 'email.send', level: 'autonomous' }]);
    const o = await deliver(kit, 'O-5');
    kit.failNext('email.send');
    await kit.advance(7 * DAY);
    const failed = await kit.until(o, 'requestingFeedback.email.failed');
    expect(gateOf(failed, 'feedback_request')).toMatchObject({ request: 1, status: 'failed', reason: expect.stringContaining('email.send failed on purpose') });
    await kit.restart({ whileDown: HOUR });
    expect((await kit.actor(o)).state).toBe('requestingFeedback.email.failed');
    expect(await kit.send(o, { type: 'gate.retry', gate: 'feedback_request' })).toMatchObject({ state: 'requestingFeedback.email.deciding' });
    const sent = await kit.until(o, 'awaitingFeedback');
    expect(gateOf(sent, 'feedback_request')).toMatchObject({ request: 2, status: 'done' });
    expect(kit.calls('email.send', o)).toHaveLength(2);
    expect((await kit.effectRows(o)).map((r) => `${r.gate!.request}:${r.status}`)).toEqual(['1:failed', '2:succeeded']);
    expect(await kit.auditTrail(o)).toEqual(['decision:auto', 'execution:failed', 'decision:auto', 'execution:executed']);
  });

  it('the feedback email to an opted-out borrower is blocked by the policy (across a restart); nothing is sent; feedback still closes the order', async () => {
    const kit = await start([{ actionType: 'email.send', level: 'autonomous' }]);
    await kit.rt.gate.settings.suppress(kit.tenant, { address: 'Ana@Home.example', kind: 'opt_out', reason: 'unsubscribed' }, 'test');
    const o = await deliver(kit, 'O-6');
    await kit.advance(7 * DAY);
    const blocked = await kit.until(o, 'requestingFeedback.email.blocked');
    expect(gateOf(blocked, 'feedback_request')).toMatchObject({ status: 'blocked', policy: 'opt_out', reason: 'ana@home.example opted out of messages', level: 'autonomous' });
    await kit.restart({ whileDown: DAY });
    expect((await kit.actor(o)).state).toBe('requestingFeedback.email.blocked');
    expect((await kit.audit(o)).map((r) => `${r.entry}:${r.outcome}:${r.policy}`)).toEqual(['decision:blocked:opt_out']);
    expect(await kit.send(o, { type: 'order.feedback', rating: 4 })).toMatchObject({ state: 'closed' });
    expect(kit.calls()).toEqual([]);
  });

  it('a case open at day 7: no feedback request (skipped, case_open); resolving the case closes the order', async () => {
    const kit = await start([{ actionType: 'email.send', level: 'autonomous' }]);
    const o = await deliver(kit, 'O-3');
    const deliveredAt = kit.clock.now();
    expect(await kit.send(o, { type: 'order.open_case', reason: 'Report has the wrong parcel number', caseId: 'CS-9' })).toMatchObject({ state: 'delivered' });
    await walk(kit, o, [
      { advance: 4 * DAY },
      { restart: true, whileDown: 4 * DAY }, // the seventh day passes while nothing runs
      { until: 'caseOpen', context: { feedbackRequest: { status: 'skipped', reason: 'case_open', to: null, at: iso(deliveredAt + 8 * DAY) } } },
    ]);
    expect(await kit.timerFires(o)).toBe(1);
    await kit.untilEvent(o, 'order.feedback_skipped');
    expect(kit.events(o, 'order.feedback_skipped')[0]!.data).toEqual({ orderId: 'O-3', reason: 'case_open', openCases: ['CS-9'] });
    expect(await kit.send(o, { type: 'order.resolve_case', caseId: 'CS-9', resolution: 'Corrected and re-sent' })).toMatchObject({ state: 'closed' });
    await kit.rt.settle();
    expect(kit.calls()).toEqual([]);
    expect(await kit.effectRows(o)).toEqual([]);
    expect(await kit.approvals(o)).toEqual([]);
    await kit.untilEvent(o, 'order.closed');
    expect(kit.eventNames(o).slice(3)).toEqual(['order.delivered', 'order.case_opened', 'order.feedback_skipped', 'order.case_resolved', 'order.closed']);
  });

  it('negative feedback opens a case (a restart while it is open); resolving it closes the order', async () => {
    const kit = await start([{ actionType: 'email.send', level: 'autonomous' }]);
    const o = await deliver(kit, 'O-4');
    await kit.advance(7 * DAY);
    await kit.until(o, 'awaitingFeedback');
    expect(await kit.send(o, { type: 'order.feedback', rating: 1, comment: 'Late and incomplete' })).toMatchObject({ state: 'caseOpen' });
    await kit.restart({ whileDown: 3 * DAY });
    const open = await kit.actor(o);
    expect(open.state).toBe('caseOpen');
    expect(open.context).toMatchObject({
      feedback: { rating: 1, sentiment: 'negative', comment: 'Late and incomplete' },
      openCases: [{ caseId: 'O-4-C1', source: 'feedback', reason: 'Negative feedback (rating 1/5): Late and incomplete' }],
      closedAt: null,
    });
    expect(await kit.send(o, { type: 'order.resolve_case', caseId: 'O-4-C1', resolution: 'Refunded the tech fee' })).toMatchObject({ state: 'closed' });
    expect((await kit.actor(o)).context).toMatchObject({ openCases: [], caseCount: 1, closedAt: kit.now() });
    await kit.untilEvent(o, 'order.closed');
    expect(kit.eventNames(o).slice(4)).toEqual(['order.feedback_requested', 'order.feedback_received', 'order.case_opened', 'order.case_resolved', 'order.closed']);
    expect(kit.events(o, 'order.feedback_received')[0]!.data).toMatchObject({ rating: 1, sentiment: 'negative', comment: 'Late and incomplete' });
    expect(kit.calls('email.send', o)).toHaveLength(1);
  });
});
