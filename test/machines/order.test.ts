import { describe, expect, it } from 'vitest';
import { orderEntity, RULES, type OrderContext } from '../../machines/order/index.ts';
import { OrderEvents } from '../../bus/events/order.ts';
import { DomainEvents } from '../../bus/catalogue.ts';
import { cancelled, gateEvents, PureActor, raised, type Ev, type Published } from '../support/pure.ts';
import { broken, catalogue, client, fixes, receive as order } from '../support/fixtures/order.ts';

const T0 = '2026-03-02T09:00:00.000Z';
const DAY = 86_400_000;
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

/**
 * One order actor, driven purely (test/support/pure.ts): before every event the
 * snapshot goes through the persisted JSON and back (the rehydration round trip),
 * outside events are parsed by the entity's schema as the runtime does, and every
 * action is checked the way the runtime would (published events against the
 * catalogue, nothing the runtime refuses); every published event is an order's.
 * Events are stamped with their `at` when given one; otherwise with the clock,
 * which starts at T0 and moves only when a timer fires (to its due time).
 */
class Order extends PureActor<OrderContext> {
  constructor(key = 'O-1') {
    super(orderEntity, {
      key,
      start: T0,
      check: (a) => {
        if (a.type === 'cadre.publish') expect((a.params as Published).entity).toBe('order');
      },
    });
  }
}

const { decided, settled, done, failed } = gateEvents({
  effectId: (gate, request) => `${gate}-x${request}`,
  approvalId: (_, request) => `ap-${request}`,
  level: 'semi_autonomous',
  by: 'ops@acme.example',
  result: () => ({ ok: true }),
  error: () => 'SMTP 554',
});

/** Walks a received order up to delivered; returns the order and the delivery's feedback timer. */
function delivered(receive: Ev = order) {
  const o = new Order();
  o.send(receive);
  expect(o.value).toBe('accepted');
  o.send({ type: 'order.start' }, plus(T0, DAY));
  o.send({ type: 'order.deliver' }, plus(T0, 3 * DAY));
  expect(o.value).toBe('delivered');
  const [timer] = raised(o.last);
  expect(timer).toBeDefined();
  return { o, timer: timer!, deliveredAt: plus(T0, 3 * DAY) };
}

describe('order machine (pure, with a persist/restore round trip before every event)', () => {
  it('takes a clean order from received to closed with positive feedback', () => {
    const { o, timer, deliveredAt } = delivered();
    expect(o.ctx).toMatchObject({ receivedAt: T0, acceptedAt: T0, startedAt: plus(T0, DAY), deliveredAt, exceptions: [], fixes: [], inspection: true });

    // Seven days after delivery: the feedback request, through the email.send gate.
    expect(timer).toMatchObject({ id: 'xstate.after.feedback.order.delivered', delay: 7 * DAY, event: { type: 'xstate.after.feedback.order.delivered' } });
    o.fire(timer.id);
    expect(o.value).toEqual({ requestingFeedback: { email: 'deciding' } });
    const [email] = o.effects();
    expect(email).toMatchObject({
      actionType: 'email.send',
      params: { to: 'ana@home.example', orderId: 'O-1', subject: expect.stringContaining('O-1'), body: expect.stringContaining('Ana Ruiz') },
      gate: { name: 'feedback_request', request: 1, agent: 'delivery', preview: expect.stringContaining('ana@home.example') },
    });
    const dueAt = plus(deliveredAt, 7 * DAY);
    o.send(decided('feedback_request', 1, 'auto'), dueAt);
    o.send(done('feedback_request', 1, { messageId: 'm-1' }), dueAt);
    expect(o.value).toBe('awaitingFeedback');
    expect(o.ctx.feedbackRequest).toEqual({ status: 'sent', reason: null, to: 'ana@home.example', at: dueAt });
    expect(o.ctx.gates.feedback_request).toMatchObject({ status: 'done', result: { messageId: 'm-1' } });

    o.send({ type: 'order.feedback', rating: 5, comment: 'Fast and clear' }, plus(dueAt, DAY));
    expect(o.value).toBe('closed');
    expect(o.ctx.feedback).toEqual({ rating: 5, sentiment: 'positive', comment: 'Fast and clear', at: plus(dueAt, DAY) });
    expect(o.ctx.closedAt).toBe(plus(dueAt, DAY));
    expect(o.published().map((p) => p.name)).toEqual(['received', 'accepted', 'started', 'delivered', 'feedback_requested', 'feedback_received', 'closed']);
    expect(o.published('delivered')[0]!.data).toMatchObject({ orderId: 'O-1', deliveredAt, feedbackDueAt: dueAt });
    expect(o.published('closed')[0]!.data).toMatchObject({ orderId: 'O-1', clientId: 'C-7', rating: 5, sentiment: 'positive', total: 475 });
  });

  it('a neutral rating closes too; the feedback request goes to the client when the borrower has no email', () => {
    const { o, timer, deliveredAt } = delivered({ ...order, borrower: { name: 'Ana Ruiz', phone: '555-0199' } });
    o.fire(timer.id);
    expect(o.effects()[0]!.params.to).toBe('ap@lender.example');
    o.send(decided('feedback_request', 1, 'auto'));
    o.send(done('feedback_request', 1));
    o.send({ type: 'order.feedback', rating: 3 });
    expect(o.value).toBe('closed');
    expect(o.ctx.feedback).toMatchObject({ rating: 3, sentiment: 'neutral', comment: null });
  });

  it('with no address to write to, goes on without the request and records why', () => {
    const { o, timer, deliveredAt } = delivered({ ...order, paymentMethod: 'card', borrower: { name: 'Ana Ruiz', phone: '555-0199' }, client: { ...client, email: undefined } });
    o.fire(timer.id);
    expect(o.value).toBe('awaitingFeedback');
    expect(o.effects()).toEqual([]);
    expect(o.ctx.feedbackRequest).toEqual({ status: 'skipped', reason: 'no_address', to: null, at: plus(deliveredAt, 7 * DAY) });
    expect(o.published('feedback_skipped')[0]!.data).toEqual({ orderId: 'O-1', reason: 'no_address', openCases: [] });
    o.send({ type: 'order.feedback', rating: 4 });
    expect(o.value).toBe('closed');
  });

  describe('validation: each failure names its field and rule', () => {
    const cases: [string, Record<string, unknown>, { field: string; rule: string; fixable: boolean }][] = [
      ['fee > 0', { fee: 0, total: 25 }, { field: 'fee', rule: RULES.feePositive, fixable: false }],
      ['total ≥ fee', { total: 400 }, { field: 'total', rule: RULES.totalAtLeastFee, fixable: true }],
      ['techFee ≥ 0', { techFee: -5, total: 445 }, { field: 'techFee', rule: RULES.techFeeNonNegative, fixable: true }],
      ['product in the catalogue', { catalogue: null }, { field: 'productCode', rule: RULES.inCatalogue, fixable: false }],
      ['catalogue entry of another product', { catalogue: { ...catalogue, productCode: 'APPR-2055' } }, { field: 'productCode', rule: RULES.inCatalogue, fixable: false }],
      ['fee is the catalogue fee', { fee: 400, total: 425 }, { field: 'fee', rule: RULES.feeMatchesCatalogue, fixable: false }],
      ['techFee is the catalogue techFee', { techFee: 30, total: 480 }, { field: 'techFee', rule: RULES.techFeeMatchesCatalogue, fixable: true }],
      ['total = fee + techFee', { total: 500 }, { field: 'total', rule: RULES.totalIsFeePlusTechFee, fixable: true }],
      ['bill: client known', { client: null }, { field: 'clientId', rule: RULES.clientKnown, fixable: false }],
      ['bill: client facts of another client', { client: { ...client, id: 'C-8' } }, { field: 'clientId', rule: RULES.clientKnown, fixable: false }],
      ['bill: client active', { client: { ...client, active: false } }, { field: 'clientId', rule: RULES.clientActive, fixable: false }],
      ['bill: creditLimit − outstandingBalance ≥ total', { client: { ...client, outstandingBalance: 9_600 } }, { field: 'total', rule: RULES.creditAvailable, fixable: false }],
      ['property address present', { propertyAddress: '  ' }, { field: 'propertyAddress', rule: RULES.required, fixable: false }],
      ['property address given at all', { propertyAddress: null }, { field: 'propertyAddress', rule: RULES.required, fixable: false }],
      ['borrower present', { borrower: null }, { field: 'borrower', rule: RULES.required, fixable: false }],
      ['borrower name', { borrower: { name: '', email: 'ana@home.example' } }, { field: 'borrower.name', rule: RULES.required, fixable: false }],
      ['borrower email or phone', { borrower: { name: 'Ana Ruiz' } }, { field: 'borrower', rule: RULES.emailOrPhone, fixable: false }],
      ['borrower email shape', { borrower: { name: 'Ana Ruiz', email: 'ana-at-home' } }, { field: 'borrower.email', rule: RULES.emailFormat, fixable: false }],
      ['property contact for an inspection', { propertyContact: null }, { field: 'propertyContact', rule: RULES.requiredForInspection, fixable: false }],
      ['property contact reachable', { propertyContact: { name: 'Bo Lane' } }, { field: 'propertyContact', rule: RULES.emailOrPhone, fixable: false }],
    ];
    it.each(cases)('%s', (_, patch, failure) => {
      const o = new Order();
      o.send({ ...order, ...patch });
      expect(o.ctx.exceptions).toContainEqual(expect.objectContaining(failure));
      for (const f of o.ctx.exceptions) expect(f.message).toEqual(expect.any(String));
      expect((o.value as { exceptions: unknown }).exceptions).toBeDefined();
      const [ev] = o.published('exceptions');
      expect(ev!.data).toMatchObject({ orderId: 'O-1', clientId: 'C-7', exceptions: o.ctx.exceptions });
      // Only an all-fixable set goes to the autofix gate; anything else waits for an amend.
      const allFixable = o.ctx.exceptions.every((f) => f.fixable);
      expect(ev!.data.autofixable).toBe(allFixable);
      expect(o.value).toEqual({ exceptions: allFixable ? { autofix: 'deciding' } : 'awaitingAmend' });
      expect(o.ctx.acceptedAt).toBeNull();
    });

    it('the credit rules apply to bill orders only', () => {
      for (const paymentMethod of ['card', 'prepaid']) {
        const o = new Order();
        o.send({ ...order, paymentMethod, client: null });
        expect(o.value).toBe('accepted');
      }
    });

    it('no property contact is needed when the product needs no inspection', () => {
      const o = new Order();
      o.send({ ...order, propertyContact: null, catalogue: { ...catalogue, inspection: false } });
      expect(o.value).toBe('accepted');
      expect(o.ctx.inspection).toBe(false);
    });

    it('amounts compare in cents', () => {
      const o = new Order();
      o.send({ ...order, fee: 450.1, techFee: 25.2, total: 475.3, catalogue: { ...catalogue, fee: 450.1, techFee: 25.2 } });
      expect(o.value).toBe('accepted');
    });

    it('a wrong fee makes the pricing unfixable even with fixable failures beside it', () => {
      const o = new Order();
      o.send({ ...order, fee: 400, techFee: -1, total: 399 });
      expect(o.ctx.exceptions.map((f) => `${f.field}:${f.rule}`)).toEqual(
        expect.arrayContaining(['fee:fee_matches_catalogue', 'techFee:tech_fee_non_negative', 'techFee:tech_fee_matches_catalogue', 'total:total_at_least_fee']),
      );
      expect(o.value).toEqual({ exceptions: 'awaitingAmend' });
      expect(o.effects()).toEqual([]);
    });
  });

  describe('autofix through the order.autofix gate', () => {
    // `broken`: a negative tech fee and a total that follows it, both safely fixable from the catalogue (`fixes`).
    const fixing = () => {
      const o = new Order();
      o.send(broken);
      expect(o.value).toEqual({ exceptions: { autofix: 'deciding' } });
      return o;
    };
    const expectFixed = (o: Order, at = T0) => {
      expect(o.value).toBe('accepted');
      expect(o.ctx).toMatchObject({ techFee: 25, total: 475, exceptions: [], acceptedAt: at });
      expect(o.ctx.fixes).toEqual(fixes.map((f) => ({ ...f, at })));
      expect(o.ctx.gates.autofix).toMatchObject({ status: 'done' });
      expect(o.published('autofixed')[0]!.data).toEqual({ orderId: 'O-1', fixes, fee: 450, techFee: 25, total: 475 });
      expect(o.published().map((p) => p.name)).toEqual(['received', 'exceptions', 'autofixed', 'accepted']);
      expect(o.published('accepted')[0]!.data).toMatchObject({ total: 475, fixes: 2 });
    };

    it('proposes the fixes with a preview line', () => {
      const o = fixing();
      const [fx] = o.effects();
      expect(fx).toEqual({
        actionType: 'order.autofix',
        params: { orderId: 'O-1', fixes },
        gate: { name: 'autofix', request: 1, agent: 'delivery', preview: expect.stringMatching(/techFee -25 → 25.*total 425 → 475/) },
      });
      expect(o.published('exceptions')[0]!.data.autofixable).toBe(true);
    });

    it('decided auto: applies the fixes, publishes order.autofixed and validates again', () => {
      const o = fixing();
      o.send(decided('autofix', 1, 'auto'));
      expect(o.value).toEqual({ exceptions: { autofix: 'approved' } });
      o.send(done('autofix', 1));
      expectFixed(o);
    });

    it('approval, then approved', () => {
      const o = fixing();
      o.send(decided('autofix', 1, 'approval', { approvalId: 'ap-1', until: plus(T0, 2 * DAY) }));
      expect(o.value).toEqual({ exceptions: { autofix: 'awaitingApproval' } });
      expect(o.ctx.gates.autofix).toMatchObject({ status: 'awaiting_approval', until: plus(T0, 2 * DAY) });
      // An event of another request changes nothing.
      expect(o.takes(settled('approved', 'autofix', 2))).toBe(false);
      o.send(settled('approved', 'autofix', 1), plus(T0, 3_600_000));
      o.send(done('autofix', 1), plus(T0, 3_600_000));
      expectFixed(o, plus(T0, 3_600_000));
      expect(o.ctx.gates.autofix).toMatchObject({ decidedBy: 'ops@acme.example' });
    });

    it('approval, then rejected: stays in exceptions for an amend or a retry', () => {
      const o = fixing();
      o.send(decided('autofix', 1, 'approval', { approvalId: 'ap-1' }));
      o.send(settled('rejected', 'autofix', 1, 'call the client first'));
      expect(o.value).toEqual({ exceptions: { autofix: 'rejected' } });
      expect(o.ctx).toMatchObject({ techFee: -25, total: 425, fixes: [] });
      expect(o.ctx.gates.autofix).toMatchObject({ status: 'rejected', reason: 'call the client first' });
      expect(o.published('autofixed')).toEqual([]);
      // Retry asks again: request 2, decided afresh.
      o.send({ type: 'gate.retry', gate: 'autofix' });
      expect(o.value).toEqual({ exceptions: { autofix: 'deciding' } });
      expect(o.effects().map((e) => e.gate.request)).toEqual([1, 2]);
      o.send(decided('autofix', 2, 'auto'));
      o.send(done('autofix', 2));
      expect(o.value).toBe('accepted');
    });

    it('approval, then expired: waits for an amend, which validates again', () => {
      const o = fixing();
      o.send(decided('autofix', 1, 'approval', { approvalId: 'ap-1' }));
      o.send(settled('expired', 'autofix', 1));
      expect(o.value).toEqual({ exceptions: { autofix: 'expired' } });
      o.send({ type: 'order.amend', techFee: 25, total: 475 });
      expect(o.value).toBe('accepted');
      expect(o.ctx.fixes).toEqual([]);
      expect(o.ctx.gates.autofix!.status).toBe('expired');
    });

    it('blocked by a policy: stays in exceptions', () => {
      const o = fixing();
      o.send(decided('autofix', 1, 'blocked', { policy: 'kill_switch', reason: 'tenant paused' }));
      expect(o.value).toEqual({ exceptions: { autofix: 'blocked' } });
      expect(o.ctx.gates.autofix).toMatchObject({ status: 'blocked', policy: 'kill_switch' });
      expect(o.takes({ type: 'order.start' })).toBe(false);
      expect(o.takes({ type: 'order.amend' })).toBe(true);
    });

    it('failed when run, or blocked at execution: stays in exceptions', () => {
      const o = fixing();
      o.send(decided('autofix', 1, 'auto'));
      o.send(failed('autofix', 1, 'failed', 'order system down'));
      expect(o.value).toEqual({ exceptions: { autofix: 'failed' } });
      o.send({ type: 'gate.retry', gate: 'autofix' });
      o.send(decided('autofix', 2, 'auto'));
      o.send(failed('autofix', 2, 'blocked', 'kill switch'));
      expect(o.value).toEqual({ exceptions: { autofix: 'blocked' } });
    });

    it('held, then decided auto the next day', () => {
      const o = fixing();
      o.send(decided('autofix', 1, 'held', { policy: 'daily_rate_limit', until: plus(T0, DAY) }));
      expect(o.value).toEqual({ exceptions: { autofix: 'held' } });
      expect(o.ctx.gates.autofix).toMatchObject({ status: 'held', until: plus(T0, DAY) });
      o.send(decided('autofix', 1, 'auto'), plus(T0, DAY));
      o.send(done('autofix', 1), plus(T0, DAY));
      expectFixed(o, plus(T0, DAY));
    });

    it('a fixed price that still fails (credit) waits for an amend after the autofix', () => {
      const o = new Order();
      o.send({ ...broken, client: { ...client, creditLimit: 2_450 } }); // 450 available: the fixed total 475 is over
      expect(o.value).toEqual({ exceptions: { autofix: 'deciding' } });
      o.send(decided('autofix', 1, 'auto'));
      o.send(done('autofix', 1));
      expect(o.value).toEqual({ exceptions: 'awaitingAmend' });
      expect(o.ctx.exceptions).toEqual([expect.objectContaining({ field: 'total', rule: RULES.creditAvailable })]);
      expect(o.ctx.total).toBe(475);
      o.send({ type: 'order.amend', client: { ...client, creditLimit: 5_000 } });
      expect(o.value).toBe('accepted');
    });

    it('an amend while the autofix waits for approval withdraws it', () => {
      const o = fixing();
      o.send(decided('autofix', 1, 'approval', { approvalId: 'ap-1' }));
      o.send({ type: 'order.amend', techFee: 25, total: 475 });
      expect(o.value).toBe('accepted');
      expect(o.ctx.gates.autofix!.status).toBe('withdrawn');
    });
  });

  describe('amend from exceptions', () => {
    it('fixes unfixable failures with new fields and fresh facts, and validates again', () => {
      const o = new Order();
      o.send({ ...order, propertyAddress: null, client: { ...client, active: false } });
      expect(o.ctx.exceptions.map((f) => f.rule)).toEqual([RULES.clientActive, RULES.required]);
      o.send({ type: 'order.amend', propertyAddress: '12 Elm St, Springfield' });
      expect(o.value).toEqual({ exceptions: 'awaitingAmend' });
      expect(o.ctx.exceptions).toEqual([expect.objectContaining({ field: 'clientId', rule: RULES.clientActive })]);
      o.send({ type: 'order.amend', client }, plus(T0, DAY));
      expect(o.value).toBe('accepted');
      expect(o.ctx).toMatchObject({ propertyAddress: '12 Elm St, Springfield', acceptedAt: plus(T0, DAY), exceptions: [] });
      expect(o.published('exceptions')).toHaveLength(2);
    });

    it('a new product with its catalogue entry brings its inspection rule', () => {
      const o = new Order();
      o.send({ ...order, productCode: 'DESK-1', catalogue: null, propertyContact: null });
      expect(o.ctx.exceptions.map((f) => f.rule)).toEqual([RULES.inCatalogue]);
      o.send({ type: 'order.amend', productCode: 'APPR-1004', catalogue });
      expect(o.ctx.exceptions).toEqual([expect.objectContaining({ field: 'propertyContact', rule: RULES.requiredForInspection })]);
      o.send({ type: 'order.amend', propertyContact: { name: 'Bo Lane', email: 'bo@home.example' } });
      expect(o.value).toBe('accepted');
    });

    it('is only taken in exceptions', () => {
      const o = new Order();
      expect(o.takes({ type: 'order.amend', fee: 1 })).toBe(false);
      o.send(order);
      expect(o.takes({ type: 'order.amend', fee: 1 })).toBe(false);
    });
  });

  describe('the feedback timer', () => {
    it('arms seven days on delivery and cancels it when feedback comes earlier', () => {
      const { o, timer } = delivered();
      expect(timer).toEqual(expect.objectContaining({ id: 'xstate.after.feedback.order.delivered', delay: 7 * 86_400_000 }));
      o.send({ type: 'order.feedback', rating: 4, comment: 'Great' }, plus(T0, 4 * DAY));
      expect(o.value).toBe('closed');
      expect(cancelled(o.last)).toEqual(['xstate.after.feedback.order.delivered']);
      expect(o.effects()).toEqual([]);
    });

    it('a case opened after delivery keeps the timer running (no re-arm)', () => {
      const { o } = delivered();
      o.send({ type: 'order.open_case', reason: 'Report has a typo' }, plus(T0, 4 * DAY));
      expect(o.value).toBe('delivered');
      expect(raised(o.last)).toEqual([]);
      expect(cancelled(o.last)).toEqual([]);
    });

    it('a case open at the seven-day mark: no feedback request; resolving it closes the order', () => {
      const { o, timer, deliveredAt } = delivered();
      o.send({ type: 'order.open_case', reason: 'Comparable sales questioned', caseId: 'CS-88' }, plus(T0, 5 * DAY));
      expect(o.published('case_opened')[0]!.data).toMatchObject({ orderId: 'O-1', caseId: 'CS-88', source: 'manual', openCases: 1 });
      o.fire(timer.id);
      expect(o.value).toBe('caseOpen');
      expect(o.effects()).toEqual([]);
      expect(o.ctx.feedbackRequest).toEqual({ status: 'skipped', reason: 'case_open', to: null, at: plus(deliveredAt, 7 * DAY) });
      expect(o.published('feedback_skipped')[0]!.data).toEqual({ orderId: 'O-1', reason: 'case_open', openCases: ['CS-88'] });
      expect(o.takes({ type: 'order.resolve_case', caseId: 'CS-99' })).toBe(false);
      o.send({ type: 'order.resolve_case', caseId: 'CS-88', resolution: 'Explained the comparables' }, plus(T0, 12 * DAY));
      expect(o.value).toBe('closed');
      expect(o.ctx).toMatchObject({ openCases: [], closedAt: plus(T0, 12 * DAY), feedback: null });
      expect(o.published('case_resolved')[0]!.data).toEqual({ orderId: 'O-1', caseId: 'CS-88', resolution: 'Explained the comparables', resolvedAt: plus(T0, 12 * DAY), openCases: 0 });
      expect(o.published('closed')[0]!.data).toMatchObject({ rating: null, sentiment: null });
    });

    it('a case opened and resolved before delivery does not hold the request', () => {
      const o = new Order();
      o.send(order);
      o.send({ type: 'order.open_case', reason: 'Rush request' });
      expect(o.ctx.openCases).toEqual([{ caseId: 'O-1-C1', reason: 'Rush request', source: 'manual', openedAt: T0 }]);
      o.send({ type: 'order.start' });
      o.send({ type: 'order.resolve_case', caseId: 'O-1-C1' });
      expect(o.value).toBe('inProgress');
      o.send({ type: 'order.deliver' }, plus(T0, DAY));
      const [timer] = raised(o.last);
      o.fire(timer!.id);
      expect(o.value).toEqual({ requestingFeedback: { email: 'deciding' } });
    });

    it('a case opened while the request awaits approval withdraws the request', () => {
      const { o, timer, deliveredAt } = delivered();
      o.fire(timer.id);
      o.send(decided('feedback_request', 1, 'approval', { approvalId: 'ap-9' }));
      o.send({ type: 'order.open_case', reason: 'Client called: late report' });
      expect(o.value).toBe('caseOpen');
      expect(o.ctx.gates.feedback_request!.status).toBe('withdrawn');
      expect(o.ctx.feedbackRequest).toMatchObject({ status: 'skipped', reason: 'case_open' });
    });

    it('a rejected feedback request stays visible and can be retried', () => {
      const { o, timer, deliveredAt } = delivered();
      o.fire(timer.id);
      o.send(decided('feedback_request', 1, 'approval', { approvalId: 'ap-9' }));
      o.send(settled('rejected', 'feedback_request', 1, 'client asked for no email'));
      expect(o.value).toEqual({ requestingFeedback: { email: 'rejected' } });
      o.send({ type: 'gate.retry', gate: 'feedback_request' });
      expect(o.ctx.gates.feedback_request!.request).toBe(2);
      // Feedback that comes anyway is taken.
      o.send({ type: 'order.feedback', rating: 5 });
      expect(o.value).toBe('closed');
      expect(o.ctx.gates.feedback_request!.status).toBe('withdrawn');
    });
  });

  describe('cases', () => {
    it('negative feedback opens a case; resolving it closes the order', () => {
      const { o, timer, deliveredAt } = delivered();
      o.fire(timer.id);
      o.send(decided('feedback_request', 1, 'auto'));
      o.send(done('feedback_request', 1));
      o.send({ type: 'order.feedback', rating: 2, comment: 'The inspector was late' }, plus(T0, 11 * DAY));
      expect(o.value).toBe('caseOpen');
      expect(o.ctx.feedback).toMatchObject({ rating: 2, sentiment: 'negative' });
      expect(o.ctx.openCases).toEqual([{ caseId: 'O-1-C1', reason: 'Negative feedback (rating 2/5): The inspector was late', source: 'feedback', openedAt: plus(T0, 11 * DAY) }]);
      expect(o.published('feedback_received')[0]!.data).toMatchObject({ rating: 2, sentiment: 'negative', comment: 'The inspector was late' });
      expect(o.published('case_opened')[0]!.data).toMatchObject({ caseId: 'O-1-C1', source: 'feedback', clientId: 'C-7' });
      // A second case: resolving the first one does not close the order.
      o.send({ type: 'order.open_case', reason: 'Refund asked' });
      expect(o.ctx.caseCount).toBe(2);
      o.send({ type: 'order.resolve_case', caseId: 'O-1-C1' });
      expect(o.value).toBe('caseOpen');
      o.send({ type: 'order.resolve_case', caseId: 'O-1-C2', resolution: 'Refunded the tech fee' }, plus(T0, 14 * DAY));
      expect(o.value).toBe('closed');
      expect(o.ctx.closedAt).toBe(plus(T0, 14 * DAY));
      expect(o.published().map((p) => p.name).slice(-6)).toEqual(['feedback_received', 'case_opened', 'case_opened', 'case_resolved', 'case_resolved', 'closed']);
    });

    it('positive feedback while a case is open waits on the case', () => {
      const { o, timer, deliveredAt } = delivered({ ...order, borrower: { name: 'Ana', phone: '1' }, client: { ...client, email: undefined } });
      o.fire(timer.id);
      expect(o.value).toBe('awaitingFeedback');
      o.send({ type: 'order.open_case', reason: 'Invoice address' });
      expect(o.value).toBe('awaitingFeedback');
      o.send({ type: 'order.feedback', rating: 5 });
      expect(o.value).toBe('caseOpen');
      o.send({ type: 'order.resolve_case', caseId: 'O-1-C1' });
      expect(o.value).toBe('closed');
    });

    it('cannot be opened before acceptance, nor twice under one id', () => {
      const o = new Order();
      expect(o.takes({ type: 'order.open_case', reason: 'x' })).toBe(false);
      o.send({ ...order, fee: 0 });
      expect(o.takes({ type: 'order.open_case', reason: 'x' })).toBe(false);
      o.send({ type: 'order.amend', fee: 450 });
      expect(o.value).toBe('accepted');
      o.send({ type: 'order.open_case', reason: 'x', caseId: 'CS-1' });
      expect(o.takes({ type: 'order.open_case', reason: 'y', caseId: 'CS-1' })).toBe(false);
    });

    it('a case opened on a closed order reopens it until resolved', () => {
      const { o } = delivered();
      o.send({ type: 'order.feedback', rating: 4 });
      o.send({ type: 'order.open_case', reason: 'Lender found an error' });
      expect(o.value).toBe('caseOpen');
      o.send({ type: 'order.resolve_case', caseId: 'O-1-C1' });
      expect(o.value).toBe('closed');
      expect(o.published('closed')).toHaveLength(2);
    });
  });

  describe('cancel and paid', () => {
    it('cancels from every state before delivery, withdrawing a waiting gate', () => {
      const states: [string, Ev[]][] = [
        ['new', []],
        ['exceptions', [{ ...order, techFee: -25, total: 425 }, decided('autofix', 1, 'approval', { approvalId: 'ap-1' })]],
        ['accepted', [order]],
        ['inProgress', [order, { type: 'order.start' }]],
      ];
      for (const [from, events] of states) {
        const o = new Order();
        for (const e of events) o.send(e);
        o.send({ type: 'order.cancel', reason: 'Client withdrew' }, plus(T0, DAY));
        expect(o.value).toBe('cancelled');
        expect(o.snapshot.status).toBe('done');
        expect(o.ctx).toMatchObject({ cancelledAt: plus(T0, DAY), cancelReason: 'Client withdrew' });
        expect(o.published('cancelled')[0]!.data).toMatchObject({ orderId: 'O-1', from, reason: 'Client withdrew', cancelledAt: plus(T0, DAY) });
        if (from === 'exceptions') expect(o.ctx.gates.autofix!.status).toBe('withdrawn');
      }
    });

    it('cannot cancel after delivery', () => {
      const { o } = delivered();
      expect(o.takes({ type: 'order.cancel', reason: 'late' })).toBe(false);
    });

    it('order.paid records paidAt without changing state, also on a closed order', () => {
      const o = new Order();
      o.send(order);
      o.send({ type: 'order.paid', amount: 475 }, plus(T0, DAY));
      expect(o.value).toBe('accepted');
      expect(o.ctx).toMatchObject({ paidAt: plus(T0, DAY), paidAmount: 475 });
      expect(o.published('paid')[0]!.data).toEqual({ orderId: 'O-1', clientId: 'C-7', amount: 475, paidAt: plus(T0, DAY) });

      const { o: closed } = delivered();
      closed.send({ type: 'order.feedback', rating: 5 });
      closed.send({ type: 'order.paid', paidAt: '2026-04-01T10:00:00.000Z' });
      expect(closed.value).toBe('closed');
      expect(closed.ctx.paidAt).toBe('2026-04-01T10:00:00.000Z');
    });
  });

  it('publishes only events of the order catalogue, each matching its schema', () => {
    // Every walk above checks each published event against bus/catalogue.ts; here, that the catalogue holds them all.
    for (const name of ['received', 'exceptions', 'autofixed', 'accepted', 'started', 'delivered', 'feedback_requested', 'feedback_skipped', 'feedback_received', 'case_opened', 'case_resolved', 'closed', 'cancelled', 'paid']) {
      expect(OrderEvents).toHaveProperty(`order.${name}`);
      expect(DomainEvents).toHaveProperty(`order.${name}`);
    }
    const { o } = delivered();
    for (const p of o.published()) expect(() => OrderEvents[`order.${p.name}` as keyof typeof OrderEvents].parse(p.data)).not.toThrow();
  });

  it('the events schema refuses what the machine must never see', () => {
    const bad: Ev[] = [
      { ...order, paymentMethod: 'cash' },
      { ...order, clientId: '' },
      { ...order, fee: 2e9 },
      { ...order, fee: Number.NaN },
      { ...order, currency: 'usd' },
      { ...order, propertyAddress: 'x'.repeat(501) },
      { ...order, catalogue: { ...catalogue, fee: -1 } },
      { ...order, client: { ...client, creditLimit: -5 } },
      { ...order, client: { ...client, email: 'nope' } },
      { ...order, borrower: { name: 'x'.repeat(201) } },
      { type: 'order.feedback', rating: 0 },
      { type: 'order.feedback', rating: 6 },
      { type: 'order.feedback', rating: 4.5 },
      { type: 'order.open_case', reason: '' },
      { type: 'order.resolve_case' },
      { type: 'order.cancel' },
      { type: 'order.paid', paidAt: 'yesterday' },
      { type: 'order.paid', amount: -1 },
      { type: 'gate.retry' },
      { type: 'cadre.gate.done', gate: 'autofix', request: 1, effectId: 'x', result: null },
    ];
    for (const e of bad) expect(orderEntity.events.safeParse(e).success, JSON.stringify(e).slice(0, 120)).toBe(false);
    const parsed = orderEntity.events.parse({ type: 'order.receive', clientId: 'C-1', paymentMethod: 'card', productCode: 'P', fee: 1, total: 1 });
    expect(parsed).toMatchObject({ techFee: 0, currency: 'USD', catalogue: null, client: null, borrower: null, propertyAddress: null });
  });
});
