import { assign, setup } from 'xstate';
import { publisher, runtimeActions } from '../effects.ts';
import { gate, type GateContext, type GateMachineEvent } from '../gate.ts';
import type { Stamped } from '../entity.ts';
import type { OrderEvent } from './events.ts';
import { isEmail, planFixes, validateOrder, type Fix, type OrderFacts, type ValidationFailure } from './validate.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Feedback is asked for this long after delivery (policy P1.3). */
export const FEEDBACK_AFTER_DAYS = 7;

/** A case (complaint, service recovery) open on the order. */
export interface OrderCase {
  caseId: string;
  reason: string;
  /** Opened by negative feedback, or by `order.open_case`. */
  source: 'feedback' | 'manual';
  openedAt: string;
}

/** Feedback the client gave. */
export interface OrderFeedback {
  rating: number;
  sentiment: 'negative' | 'neutral' | 'positive';
  comment: string | null;
  at: string;
}

/** What became of the feedback request at the seven-day mark. */
export interface FeedbackRequest {
  status: 'sent' | 'skipped';
  /** Why it was skipped: a case was open, or nobody to write to. */
  reason: 'case_open' | 'no_address' | null;
  to: string | null;
  at: string;
}

/** An applied autofix. */
export interface AppliedFix extends Fix {
  at: string;
}

/** An order's context. */
export interface OrderContext extends GateContext, OrderFacts {
  tenant: string;
  /** The order id. */
  key: string;
  currency: string;
  /** Autofixes proposed through the `autofix` gate, waiting for its outcome. */
  proposedFixes: Fix[];
  /** The latest validation's failures (empty once accepted). */
  exceptions: ValidationFailure[];
  /** Autofixes applied, oldest first. */
  fixes: AppliedFix[];
  receivedAt: string | null;
  acceptedAt: string | null;
  startedAt: string | null;
  deliveredAt: string | null;
  paidAt: string | null;
  paidAmount: number | null;
  openCases: OrderCase[];
  /** Cases opened so far (resolved ones included); numbers generated case ids. */
  caseCount: number;
  feedbackRequest: FeedbackRequest | null;
  feedback: OrderFeedback | null;
  closedAt: string | null;
  cancelledAt: string | null;
  cancelReason: string | null;
}

type Ev = Stamped<OrderEvent | GateMachineEvent>;
type Args = { context: OrderContext; event: Ev };

const sentimentOf = (rating: number): OrderFeedback['sentiment'] => (rating <= 2 ? 'negative' : rating >= 4 ? 'positive' : 'neutral');

/** Whom the feedback request goes to: the borrower, else the client's account email. */
export function feedbackAddress(c: OrderContext): string | null {
  if (isEmail(c.borrower?.email)) return c.borrower!.email!.trim();
  if (isEmail(c.client?.email)) return c.client!.email!;
  return null;
}

function facts(c: OrderContext): OrderFacts {
  return {
    clientId: c.clientId,
    paymentMethod: c.paymentMethod,
    productCode: c.productCode,
    fee: c.fee,
    techFee: c.techFee,
    total: c.total,
    propertyAddress: c.propertyAddress,
    borrower: c.borrower,
    propertyContact: c.propertyContact,
    inspection: c.inspection,
    catalogue: c.catalogue,
    client: c.client,
  };
}

/** The order and its client, as every domain event of the order names them. */
const ids = (c: OrderContext) => ({ orderId: c.key, clientId: c.clientId });

/** The order's terms, as `order.received` and `order.accepted` publish them. */
function terms(c: OrderContext) {
  return {
    ...ids(c),
    paymentMethod: c.paymentMethod,
    productCode: c.productCode,
    fee: c.fee,
    techFee: c.techFee,
    total: c.total,
    currency: c.currency,
    inspection: c.inspection,
  };
}

/** The proposed fixes, as the autofix gate requests them and `order.autofixed` publishes them. */
const proposed = (c: OrderContext) => c.proposedFixes.map(({ field, from, to, rule }) => ({ field, from, to, rule }));

const publish = publisher<Args>('order');

const describeFix = (f: Fix) => `${f.field} ${f.from} → ${f.to}`;

const publishFeedback = publish('feedback_received', ({ context }) => ({
  ...ids(context),
  rating: context.feedback!.rating,
  sentiment: context.feedback!.sentiment,
  comment: context.feedback!.comment,
  openCases: context.openCases.length,
}));
const publishCaseOpened = publish('case_opened', ({ context }) => {
  const c = context.openCases[context.openCases.length - 1]!;
  return { ...ids(context), caseId: c.caseId, reason: c.reason, source: c.source, openedAt: c.openedAt, openCases: context.openCases.length };
});
const publishCaseResolved = publish('case_resolved', ({ context, event }) => {
  const e = event as Extract<Ev, { type: 'order.resolve_case' }>;
  return { orderId: context.key, caseId: e.caseId, resolution: e.resolution ?? null, resolvedAt: e.at, openCases: context.openCases.length };
});
const publishFeedbackSkipped = publish('feedback_skipped', ({ context }) => ({
  orderId: context.key,
  reason: context.feedbackRequest!.reason!,
  openCases: context.openCases.map((c) => c.caseId),
}));

/**
 * The order lifecycle (policies P0.5 order processing, P1.3 feedback automation):
 *
 *   new ─receive─► validating ─┬─ all rules pass ─► accepted ─start─► inProgress ─deliver─► delivered
 *                    ▲         └─ failures ─► exceptions ─┬─ all safely fixable ─► autofix (gate `order.autofix`)
 *                    │                                    └─ otherwise ─► awaitingAmend
 *                    └──── autofix done, or `order.amend` ◄┘
 *
 *   delivered ─7 days─┬─ a case open ─► caseOpen (no feedback request)
 *                     ├─ no address ─► awaitingFeedback (request skipped, recorded)
 *                     └─► requestingFeedback (gate `email.send`) ─done─► awaitingFeedback
 *   feedback ≤ 2 ─► caseOpen (a case opened) ; otherwise ─► closed (or caseOpen while a case is open)
 *   caseOpen ─ last case resolved ─► closed
 *
 * `order.open_case` works any time after acceptance, `order.cancel` in any state
 * before delivery, `order.paid` in any state but cancelled (it records paidAt).
 * `closed` is not final: a bill order may be paid after it closed, and a case may
 * be opened on it (it then waits on the case and closes again).
 */
export const orderMachine = setup({
  types: {
    context: {} as OrderContext,
    events: {} as Ev,
    input: {} as { tenant: string; key: string },
  },
  actions: {
    ...runtimeActions,
    /** Runs the rules; records the failures and, when all are safely fixable, the fixes to propose. */
    validate: assign(({ context }) => {
      const exceptions = validateOrder(facts(context));
      return { exceptions, proposedFixes: planFixes(facts(context), exceptions) };
    }),
    applyFixes: assign(({ context, event }) => {
      const at = (event as { at: string }).at;
      const patch: Partial<OrderContext> = {};
      for (const f of context.proposedFixes) patch[f.field] = f.to;
      return { ...patch, fixes: [...context.fixes, ...context.proposedFixes.map((f) => ({ ...f, at }))] };
    }),
    applyAmend: assign(({ context, event }) => {
      if (event.type !== 'order.amend') return {};
      const catalogue = event.catalogue !== undefined ? event.catalogue : context.catalogue;
      const productCode = event.productCode ?? context.productCode;
      const entry = catalogue && catalogue.productCode === productCode ? catalogue : null;
      return {
        clientId: event.clientId ?? context.clientId,
        paymentMethod: event.paymentMethod ?? context.paymentMethod,
        productCode,
        fee: event.fee ?? context.fee,
        techFee: event.techFee ?? context.techFee,
        total: event.total ?? context.total,
        currency: event.currency ?? context.currency,
        propertyAddress: event.propertyAddress !== undefined ? event.propertyAddress : context.propertyAddress,
        borrower: event.borrower !== undefined ? event.borrower : context.borrower,
        propertyContact: event.propertyContact !== undefined ? event.propertyContact : context.propertyContact,
        inspection: entry?.inspection ?? event.inspection ?? context.inspection,
        catalogue,
        client: event.client !== undefined ? event.client : context.client,
      };
    }),
    recordFeedback: assign(({ event }) => {
      if (event.type !== 'order.feedback') return {};
      return { feedback: { rating: event.rating, sentiment: sentimentOf(event.rating), comment: event.comment ?? null, at: event.at } };
    }),
    /** Opens a case: from `order.open_case`, or from negative feedback. */
    openCase: assign(({ context, event }) => {
      const n = context.caseCount + 1;
      const c: OrderCase =
        event.type === 'order.open_case'
          ? { caseId: event.caseId ?? `${context.key}-C${n}`, reason: event.reason, source: 'manual', openedAt: event.at }
          : {
              caseId: `${context.key}-C${n}`,
              reason: `Negative feedback (rating ${context.feedback?.rating ?? '?'}/5)${context.feedback?.comment ? `: ${context.feedback.comment.slice(0, 900)}` : ''}`,
              source: 'feedback',
              openedAt: event.at,
            };
      return { openCases: [...context.openCases, c], caseCount: n };
    }),
    resolveCase: assign(({ context, event }) => {
      if (event.type !== 'order.resolve_case') return {};
      return { openCases: context.openCases.filter((c) => c.caseId !== event.caseId) };
    }),
    skipFeedback: assign(({ context, event }) => ({
      feedbackRequest: {
        status: 'skipped' as const,
        reason: context.openCases.length > 0 ? ('case_open' as const) : ('no_address' as const),
        to: null,
        at: event.at,
      },
    })),
    cancel: assign(({ event }) => {
      if (event.type !== 'order.cancel') return {};
      return { cancelledAt: event.at, cancelReason: event.reason };
    }),
  },
  guards: {
    valid: ({ context }) => context.exceptions.length === 0,
    autofixable: ({ context }) => context.proposedFixes.length > 0,
    caseOpen: ({ context }) => context.openCases.length > 0,
    noAddress: ({ context }) => feedbackAddress(context) === null,
    negative: ({ event }) => event.type === 'order.feedback' && sentimentOf(event.rating) === 'negative',
    newCase: ({ context, event }) => event.type !== 'order.open_case' || !event.caseId || !context.openCases.some((c) => c.caseId === event.caseId),
    knownCase: ({ context, event }) => event.type === 'order.resolve_case' && context.openCases.some((c) => c.caseId === event.caseId),
    lastCase: ({ context, event }) =>
      event.type === 'order.resolve_case' && context.openCases.length === 1 && context.openCases[0]!.caseId === event.caseId,
  },
  delays: {
    feedback: FEEDBACK_AFTER_DAYS * DAY_MS,
  },
}).createMachine({
  id: 'order',
  context: ({ input }) => ({
    tenant: input.tenant,
    key: input.key,
    gates: {},
    clientId: null,
    paymentMethod: null,
    productCode: null,
    fee: 0,
    techFee: 0,
    total: 0,
    currency: 'USD',
    propertyAddress: null,
    borrower: null,
    propertyContact: null,
    inspection: false,
    catalogue: null,
    client: null,
    proposedFixes: [],
    exceptions: [],
    fixes: [],
    receivedAt: null,
    acceptedAt: null,
    startedAt: null,
    deliveredAt: null,
    paidAt: null,
    paidAmount: null,
    openCases: [],
    caseCount: 0,
    feedbackRequest: null,
    feedback: null,
    closedAt: null,
    cancelledAt: null,
    cancelReason: null,
  }),
  initial: 'new',
  on: {
    'order.paid': {
      actions: [
        assign({ paidAt: ({ event }) => event.paidAt ?? event.at, paidAmount: ({ context, event }) => event.amount ?? context.paidAmount }),
        publish('paid', ({ context }) => ({ ...ids(context), amount: context.paidAmount, paidAt: context.paidAt })),
      ],
    },
  },
  states: {
    new: {
      on: {
        'order.receive': {
          target: 'validating',
          actions: [
            assign(({ event }) => {
              const entry = event.catalogue && event.catalogue.productCode === event.productCode ? event.catalogue : null;
              return {
                clientId: event.clientId,
                paymentMethod: event.paymentMethod,
                productCode: event.productCode,
                fee: event.fee,
                techFee: event.techFee,
                total: event.total,
                currency: event.currency,
                propertyAddress: event.propertyAddress,
                borrower: event.borrower,
                propertyContact: event.propertyContact,
                inspection: entry?.inspection ?? event.inspection ?? false,
                catalogue: event.catalogue,
                client: event.client,
                receivedAt: event.at,
              };
            }),
            publish('received', ({ context }) => ({ ...terms(context), receivedAt: context.receivedAt })),
          ],
        },
        'order.cancel': cancelFrom('new'),
      },
    },
    /** Transient: runs the rules and moves on. */
    validating: {
      entry: 'validate',
      always: [{ guard: 'valid', target: 'accepted' }, { target: 'exceptions' }],
    },
    exceptions: {
      entry: publish('exceptions', ({ context }) => ({
        ...ids(context),
        exceptions: context.exceptions,
        autofixable: context.proposedFixes.length > 0,
      })),
      initial: 'triage',
      on: {
        'order.amend': { target: 'validating', actions: 'applyAmend' },
        'order.cancel': cancelFrom('exceptions'),
      },
      states: {
        triage: {
          always: [{ guard: 'autofixable', target: 'autofix' }, { target: 'awaitingAmend' }],
        },
        autofix: gate<OrderContext>({
          name: 'autofix',
          actionType: 'order.autofix',
          agent: 'delivery',
          params: ({ context }) => ({ orderId: context.key, fixes: proposed(context) }),
          preview: ({ context }) => `Fix the pricing of order ${context.key}: ${context.proposedFixes.map(describeFix).join('; ')} (catalogue ${context.productCode})`,
          targets: { done: '#order.validating' },
          onDone: [
            'applyFixes',
            publish('autofixed', ({ context }) => ({
              orderId: context.key,
              fixes: proposed(context),
              fee: context.fee,
              techFee: context.techFee,
              total: context.total,
            })),
          ],
        }),
        /** Not fixable by the machine: waits for `order.amend`. */
        awaitingAmend: {},
      },
    },
    accepted: {
      entry: [
        assign({ acceptedAt: ({ event }) => event.at, exceptions: [], proposedFixes: [] }),
        publish('accepted', ({ context }) => ({ ...terms(context), fixes: context.fixes.length, acceptedAt: context.acceptedAt })),
      ],
      on: {
        'order.start': {
          target: 'inProgress',
          actions: [
            assign({ startedAt: ({ event }) => event.at }),
            publish('started', ({ context }) => ({ ...ids(context), productCode: context.productCode, startedAt: context.startedAt })),
          ],
        },
        'order.cancel': cancelFrom('accepted'),
        ...caseEvents(),
      },
    },
    inProgress: {
      on: {
        'order.deliver': {
          target: 'delivered',
          actions: [
            assign({ deliveredAt: ({ event }) => event.at }),
            publish('delivered', ({ context }) => ({
              ...ids(context),
              productCode: context.productCode,
              deliveredAt: context.deliveredAt,
              feedbackDueAt: new Date(Date.parse(context.deliveredAt!) + FEEDBACK_AFTER_DAYS * DAY_MS).toISOString(),
            })),
          ],
        },
        'order.cancel': cancelFrom('inProgress'),
        ...caseEvents(),
      },
    },
    delivered: {
      after: {
        feedback: [
          { guard: 'caseOpen', target: 'caseOpen', actions: ['skipFeedback', publishFeedbackSkipped] },
          { guard: 'noAddress', target: 'awaitingFeedback', actions: ['skipFeedback', publishFeedbackSkipped] },
          { target: 'requestingFeedback' },
        ],
      },
      on: { ...feedbackEvents(), ...caseEvents() },
    },
    requestingFeedback: {
      on: {
        ...feedbackEvents(),
        // A complaint before the request went out: no feedback request (it is withdrawn).
        'order.open_case': {
          guard: 'newCase',
          target: 'caseOpen',
          actions: ['openCase', publishCaseOpened, 'skipFeedback', publishFeedbackSkipped],
        },
        'order.resolve_case': { guard: 'knownCase', actions: ['resolveCase', publishCaseResolved] },
      },
      initial: 'email',
      states: {
        email: gate<OrderContext>({
          name: 'feedback_request',
          actionType: 'email.send',
          agent: 'delivery',
          params: ({ context }) => ({
            to: feedbackAddress(context),
            subject: `How did we do? Your feedback on order ${context.key}`,
            body: feedbackBody(context),
            orderId: context.key,
          }),
          preview: ({ context }) => `Feedback request for order ${context.key} to ${feedbackAddress(context)}`,
          targets: { done: '#order.awaitingFeedback' },
          onDone: [
            assign(({ context, event }: Args) => ({
              feedbackRequest: { status: 'sent' as const, reason: null, to: feedbackAddress(context), at: event.at },
            })),
            publish('feedback_requested', ({ context }) => ({
              ...ids(context),
              to: context.feedbackRequest!.to,
              deliveredAt: context.deliveredAt,
              requestedAt: context.feedbackRequest!.at,
            })),
          ],
        }),
      },
    },
    awaitingFeedback: {
      on: { ...feedbackEvents(), ...caseEvents() },
    },
    /** The order waits on its open cases; resolving the last one closes it. */
    caseOpen: {
      on: {
        'order.open_case': { guard: 'newCase', actions: ['openCase', publishCaseOpened] },
        'order.resolve_case': [
          { guard: 'lastCase', target: 'closed', actions: ['resolveCase', publishCaseResolved] },
          { guard: 'knownCase', actions: ['resolveCase', publishCaseResolved] },
        ],
      },
    },
    closed: {
      entry: [
        assign({ closedAt: ({ event }) => event.at }),
        publish('closed', ({ context }) => ({
          ...ids(context),
          total: context.total,
          deliveredAt: context.deliveredAt,
          rating: context.feedback?.rating ?? null,
          sentiment: context.feedback?.sentiment ?? null,
          closedAt: context.closedAt,
        })),
      ],
      on: {
        'order.open_case': { guard: 'newCase', target: 'caseOpen', actions: ['openCase', publishCaseOpened] },
      },
    },
    cancelled: { type: 'final' },
  },
});

type StateName = 'new' | 'exceptions' | 'accepted' | 'inProgress';

/** `order.cancel` before delivery: recorded and published; a gate waiting in the state left is withdrawn. */
function cancelFrom(from: StateName) {
  return {
    target: '#order.cancelled',
    actions: [
      'cancel' as const,
      publish('cancelled', ({ context }) => ({ ...ids(context), from, reason: context.cancelReason, cancelledAt: context.cancelledAt })),
    ],
  };
}

/** Cases opened and resolved while the order goes on (targetless: a running timer keeps running). */
function caseEvents() {
  return {
    'order.open_case': { guard: 'newCase' as const, actions: ['openCase' as const, publishCaseOpened] },
    'order.resolve_case': { guard: 'knownCase' as const, actions: ['resolveCase' as const, publishCaseResolved] },
  };
}

/** Feedback after delivery: negative opens a case; otherwise the order closes, unless a case is still open. */
function feedbackEvents() {
  return {
    'order.feedback': [
      { guard: 'negative' as const, target: '#order.caseOpen', actions: ['recordFeedback' as const, publishFeedback, 'openCase' as const, publishCaseOpened] },
      { guard: 'caseOpen' as const, target: '#order.caseOpen', actions: ['recordFeedback' as const, publishFeedback] },
      { target: '#order.closed', actions: ['recordFeedback' as const, publishFeedback] },
    ],
  };
}

function feedbackBody(c: OrderContext): string {
  const name = c.borrower?.name?.trim() || 'there';
  return [
    `Hello ${name},`,
    '',
    `Order ${c.key}${c.propertyAddress ? ` for ${c.propertyAddress}` : ''} was delivered a week ago. How did we do?`,
    'Please reply with a rating from 1 (poor) to 5 (excellent) and any comments.',
    '',
    'Thank you.',
  ].join('\n');
}
