import { z } from 'zod';

const Id = z.string().min(1).max(200);
const Amount = z.number();
const At = z.string();
const Sentiment = z.enum(['negative', 'neutral', 'positive']);
const Failure = z.object({ field: z.string(), rule: z.string(), message: z.string(), fixable: z.boolean() });
const Fix = z.object({ field: z.enum(['techFee', 'total']), from: Amount, to: Amount, rule: z.string() });

/** The order's terms, in `order.received` and `order.accepted`. */
const Terms = {
  orderId: Id,
  clientId: Id,
  paymentMethod: z.enum(['bill', 'card', 'prepaid']),
  productCode: z.string(),
  fee: Amount,
  techFee: Amount,
  total: Amount,
  currency: z.string(),
  inspection: z.boolean(),
};

/** Domain events of orders: `<prefix>.<tenant>.events.order.<name>`. */
export const OrderEvents = {
  'order.received': z.object({ ...Terms, receivedAt: At }),
  /** Validation failed: the order waits for an autofix or an amend. */
  'order.exceptions': z.object({
    orderId: Id,
    clientId: Id.nullable(),
    exceptions: z.array(Failure).min(1),
    /** Every failure is a safe pricing correction; the machine proposes it through the `order.autofix` gate. */
    autofixable: z.boolean(),
  }),
  'order.autofixed': z.object({ orderId: Id, fixes: z.array(Fix).min(1), fee: Amount, techFee: Amount, total: Amount }),
  'order.accepted': z.object({
    ...Terms,
    /** Autofixes applied on the way. */
    fixes: z.number().int(),
    acceptedAt: At,
  }),
  'order.started': z.object({ orderId: Id, clientId: Id, productCode: z.string(), startedAt: At }),
  'order.delivered': z.object({ orderId: Id, clientId: Id, productCode: z.string(), deliveredAt: At, feedbackDueAt: At }),
  'order.feedback_requested': z.object({ orderId: Id, clientId: Id, to: z.string(), deliveredAt: At, requestedAt: At }),
  /** No feedback request at the seven-day mark: a case was open, or there was nobody to write to. */
  'order.feedback_skipped': z.object({ orderId: Id, reason: z.enum(['case_open', 'no_address']), openCases: z.array(z.string()) }),
  'order.feedback_received': z.object({
    orderId: Id,
    clientId: Id,
    rating: z.number().int().min(1).max(5),
    sentiment: Sentiment,
    comment: z.string().nullable(),
    openCases: z.number().int(),
  }),
  'order.case_opened': z.object({
    orderId: Id,
    clientId: Id,
    caseId: Id,
    reason: z.string(),
    source: z.enum(['feedback', 'manual']),
    openedAt: At,
    /** Cases open on the order now, this one included. */
    openCases: z.number().int(),
  }),
  'order.case_resolved': z.object({ orderId: Id, caseId: Id, resolution: z.string().nullable(), resolvedAt: At, openCases: z.number().int() }),
  'order.closed': z.object({
    orderId: Id,
    clientId: Id,
    total: Amount,
    deliveredAt: At,
    rating: z.number().int().nullable(),
    sentiment: Sentiment.nullable(),
    closedAt: At,
  }),
  'order.cancelled': z.object({
    orderId: Id,
    clientId: Id.nullable(),
    /** The state it was cancelled in. */
    from: z.enum(['new', 'exceptions', 'accepted', 'inProgress']),
    reason: z.string(),
    cancelledAt: At,
  }),
  'order.paid': z.object({ orderId: Id, clientId: Id.nullable(), amount: Amount.nullable(), paidAt: At }),
} as const satisfies Record<string, z.ZodType>;
