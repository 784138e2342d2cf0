import { assign, setup } from 'xstate';
import { publisher, runtimeActions } from '../effects.ts';
import type { Stamped } from '../entity.ts';
import type { Platform, TicketEvent } from './events.ts';

/** How many deployment attempts a ticket keeps (the most recent ones). */
export const DEPLOYMENTS_KEPT = 20;

/** One deployment attempt. */
export interface Deployment {
  at: string;
  ok: boolean;
  /** Why it failed; null when it succeeded. */
  error: string | null;
}

/** A build ticket's context. */
export interface TicketContext {
  tenant: string;
  key: string;
  title: string;
  /** The client's company name. */
  client: string;
  /** Who to write to at the client. */
  clientContact: string | null;
  platform: Platform;
  /** The won deal the build came from. */
  dealId: string | null;
  /** The engineer building it. */
  owner: string | null;
  /** Who reviews it: a name or an email address. */
  reviewer: string | null;
  value: number;
  createdAt: string | null;
  /** When the current state was entered: ages such as "building for more than 3 days" count from it. */
  stateSince: string | null;
  /** When the analysis started (`ticket.analyze`); null while submitted. */
  analyzedAt: string | null;
  /** The reviewer's approval. */
  approvedBy: string | null;
  approvedAt: string | null;
  /** Times the reviewer sent the build back (`ticket.request_changes`). */
  revisions: number;
  /** The last successful deployment, and where it lives. */
  deployedAt: string | null;
  deployUrl: string | null;
  closedAt: string | null;
  /** Failed deployment attempts, all time. */
  failedDeploys: number;
  /** The last `DEPLOYMENTS_KEPT` deployment attempts, oldest first. */
  deployments: Deployment[];
  /** When the ticket last took an event (any event). */
  lastActivityAt: string | null;
}

type Ev = Stamped<TicketEvent>;
type Args = { context: TicketContext; event: Ev };

const publish = publisher<Args>('ticket');

/** The domain events (bus/events/ticket.ts). */
const publishCreated = publish('created', ({ context }) => ({
  ticketId: context.key,
  title: context.title,
  client: context.client,
  platform: context.platform,
  dealId: context.dealId,
  owner: context.owner,
  value: context.value,
}));
const publishApproved = publish('approved', ({ context }) => ({
  ticketId: context.key,
  client: context.client,
  platform: context.platform,
  by: context.approvedBy ?? '',
  value: context.value,
}));
const publishDeployed = publish('deployed', ({ context }) => ({
  ticketId: context.key,
  client: context.client,
  platform: context.platform,
  deployUrl: context.deployUrl,
  value: context.value,
}));
const publishFailed = publish('failed', ({ context, event }) => ({
  ticketId: context.key,
  client: context.client,
  platform: context.platform,
  error: failure(event.type === 'ticket.deploy' ? event.error : undefined),
  failedDeploys: context.failedDeploys,
}));
const publishClosed = publish('closed', ({ context }) => ({
  ticketId: context.key,
  client: context.client,
  platform: context.platform,
  value: context.value,
  deployedAt: context.deployedAt,
  closedAt: context.closedAt ?? '',
}));

/** A ticket's states, in lifecycle order (the read side's `state` filter takes these names). */
export const TICKET_STATES = ['new', 'submitted', 'analyzing', 'building', 'review_pending', 'approved', 'deployed', 'failed', 'closed'] as const;
/** A ticket's state. */
export type TicketState = (typeof TICKET_STATES)[number];

/**
 * The build ticket lifecycle (the engineering department's work item):
 *
 *   new ─ ticket.create ─► submitted ─ ticket.analyze ─► analyzing ─ ticket.start_build ─► building
 *   building ─ ticket.submit_review ─► review_pending ─┬─ ticket.approve ─► approved
 *                                                      └─ ticket.request_changes ─► building (revisions + 1)
 *   approved / failed / deployed ─ ticket.deploy ─┬─ ok ─► deployed   (publishes ticket.deployed)
 *                                                 └─ not ok ─► failed (failedDeploys + 1, publishes ticket.failed)
 *   deployed ─ ticket.close ─► closed (final)
 *
 * A failed ticket can be deployed again; a deployed one can be redeployed (a new
 * version), and a failed redeploy moves it to failed. Every attempt is recorded in
 * `deployments` (the last 20). `ticket.update` is taken in every state between
 * created and closed. `stateSince` is when the current state was entered (a
 * redeploy of a deployed ticket, or another failure of a failed one, does not
 * re-enter it); `lastActivityAt` is the time of the last event of any kind. The
 * ticket requests no effects: its domain events are what the agents react to.
 */
export const ticketMachine = setup({
  types: {
    context: {} as TicketContext,
    events: {} as Ev,
    input: {} as { tenant: string; key: string },
  },
  actions: {
    ...runtimeActions,
    entered: assign({ stateSince: ({ context, event }) => (event as { at?: string }).at ?? context.stateSince }),
    touched: assign({ lastActivityAt: ({ event }) => event.at }),
    applyCreate: assign(({ event }) => {
      if (event.type !== 'ticket.create') return {};
      return {
        title: event.title,
        client: event.client,
        clientContact: event.clientContact ?? null,
        platform: event.platform,
        dealId: event.dealId ?? null,
        owner: event.owner ?? null,
        reviewer: event.reviewer ?? null,
        value: event.value,
        createdAt: event.at,
      };
    }),
    applyUpdate: assign(({ context, event }) => {
      if (event.type !== 'ticket.update') return {};
      const keep = <T>(v: T | undefined, old: T): T => (v === undefined ? old : v);
      return {
        title: keep(event.title, context.title),
        client: keep(event.client, context.client),
        clientContact: keep(event.clientContact, context.clientContact),
        platform: keep(event.platform, context.platform),
        dealId: keep(event.dealId, context.dealId),
        owner: keep(event.owner, context.owner),
        reviewer: keep(event.reviewer, context.reviewer),
        value: keep(event.value, context.value),
      };
    }),
    markAnalyzed: assign({ analyzedAt: ({ event }) => event.at }),
    markApproved: assign(({ event }) => (event.type === 'ticket.approve' ? { approvedBy: event.by, approvedAt: event.at } : {})),
    countRevision: assign({ revisions: ({ context }) => context.revisions + 1 }),
    recordDeploy: assign(({ context, event }) => {
      if (event.type !== 'ticket.deploy') return {};
      const attempt: Deployment = { at: event.at, ok: event.ok, error: event.ok ? null : failure(event.error) };
      const deployments = [...context.deployments, attempt].slice(-DEPLOYMENTS_KEPT);
      if (event.ok) return { deployments, deployedAt: event.at, deployUrl: event.url ?? context.deployUrl };
      return { deployments, failedDeploys: context.failedDeploys + 1 };
    }),
    markClosed: assign({ closedAt: ({ event }) => event.at }),
  },
  guards: {
    deployOk: ({ event }) => event.type === 'ticket.deploy' && event.ok,
  },
}).createMachine({
  id: 'ticket',
  context: ({ input }) => ({
    tenant: input.tenant,
    key: input.key,
    title: '',
    client: '',
    clientContact: null,
    platform: 'other',
    dealId: null,
    owner: null,
    reviewer: null,
    value: 0,
    createdAt: null,
    stateSince: null,
    analyzedAt: null,
    approvedBy: null,
    approvedAt: null,
    revisions: 0,
    deployedAt: null,
    deployUrl: null,
    closedAt: null,
    failedDeploys: 0,
    deployments: [],
    lastActivityAt: null,
  }),
  initial: 'new',
  states: {
    new: {
      on: { 'ticket.create': { target: 'submitted', actions: ['applyCreate', 'touched', publishCreated] } },
    },
    submitted: {
      entry: 'entered',
      on: { 'ticket.analyze': { target: 'analyzing', actions: ['markAnalyzed', 'touched'] }, ...update() },
    },
    analyzing: {
      entry: 'entered',
      on: { 'ticket.start_build': { target: 'building', actions: 'touched' }, ...update() },
    },
    building: {
      entry: 'entered',
      on: { 'ticket.submit_review': { target: 'review_pending', actions: 'touched' }, ...update() },
    },
    review_pending: {
      entry: 'entered',
      on: {
        'ticket.approve': { target: 'approved', actions: ['markApproved', 'touched', publishApproved] },
        'ticket.request_changes': { target: 'building', actions: ['countRevision', 'touched'] },
        ...update(),
      },
    },
    approved: { entry: 'entered', on: { ...deploy(), ...update() } },
    deployed: {
      entry: 'entered',
      on: { ...deploy(), 'ticket.close': { target: 'closed', actions: ['markClosed', 'touched', publishClosed] }, ...update() },
    },
    failed: { entry: 'entered', on: { ...deploy(), ...update() } },
    closed: { type: 'final', entry: 'entered' },
  },
});

/** `ticket.update` in an open state: fields change, the state stays. */
function update() {
  return { 'ticket.update': { actions: ['applyUpdate' as const, 'touched' as const] } };
}

/** One deployment attempt: recorded, then deployed or failed. */
function deploy() {
  return {
    'ticket.deploy': [
      { guard: 'deployOk' as const, target: 'deployed', actions: ['recordDeploy' as const, 'touched' as const, publishDeployed] },
      { target: 'failed', actions: ['recordDeploy' as const, 'touched' as const, publishFailed] },
    ],
  };
}

/** The error of a failed attempt, as recorded and published. */
function failure(error: string | undefined): string {
  return error ?? 'deployment failed (no error given)';
}
