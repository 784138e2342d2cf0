import { compareContacts, contactPriority, overdueDaysAt } from '../../machines/contact/index.ts';
import type { ReadItem } from '../../runtime/read/index.ts';
import type { DelegateParams, EmailParams } from '../actions.ts';
import type { Plan, PlanContext, PlannedAction } from '../types.ts';
import { clip, collect, firstName, isEmail, isoDay, joinAnd, ms, num, plural, str } from '../kit/index.ts';
import { answeredBy, openDeals, priorDrafts, type PriorDraft } from './read.ts';

/** Overdue contacts touched per hour at most; the rest wait for the next hour (no bursts: the no-spam rule). */
export const TOUCHES_PER_HOUR = 5;
/** Fewer open deals than this is a thin pipeline, which allows research once no engagement is overdue. */
export const THIN_PIPELINE = 5;
/** How long the delivery agent has to answer the `order-exceptions` delegation. */
export const ORDER_EXCEPTIONS_DEADLINE_MS = 30 * 60 * 1000;

/** An overdue contact, with its priority recomputed as of the run. */
export interface OverdueContact {
  key: string;
  name: string;
  email: string | null;
  account: string | null;
  role: string | null;
  owner: string | null;
  nextTouchDue: string | null;
  lastTouchAt: string | null;
  overdueDays: number;
  /** machines/contact/priority.ts as of `ctx.now` (the committed one is as of the contact's last event). */
  priority: number;
}

/**
 * An overdue contact as of `now`. The committed `priority` is as of the contact's
 * last event (a contact whose due date passed before its timer fired still has its
 * compliant score), so it is recomputed with the machine's own formula.
 */
export function overdueContact(i: ReadItem, now: number): OverdueContact {
  const c = i.context;
  const at = new Date(now).toISOString();
  const nextTouchDue = str(c, 'nextTouchDue');
  const lastTouch = (c.lastTouch ?? null) as { at?: unknown } | null;
  const lastTouchAt = typeof lastTouch?.at === 'string' ? lastTouch.at : null;
  const overdueDays = overdueDaysAt(nextTouchDue, at);
  const priority = contactPriority({
    now: at,
    lastTouchAt,
    createdAt: str(c, 'createdAt'),
    cadenceDays: num(c, 'cadenceDays') ?? 21,
    overdue: true,
    overdueDays,
    importance: num(c, 'importance') ?? 3,
    accountValue: num(c, 'accountValue') ?? 0,
    role: str(c, 'role'),
    optedOut: false,
  });
  return { key: i.key, name: str(c, 'name') ?? i.key, email: str(c, 'email'), account: str(c, 'account'), role: str(c, 'role'), owner: str(c, 'owner'), nextTouchDue, lastTouchAt, overdueDays, priority };
}

/** The engagement touch to an overdue contact: a short, personal check-in. */
export function touchEmail(c: OverdueContact & { email: string }): EmailParams {
  const hello = firstName(c.name) ? `Hi ${firstName(c.name)},` : 'Hello,';
  const where = c.account ? ` and hear how things are going at ${c.account}` : ' and hear how things are going';
  const sign = c.owner ? `\n\nBest regards,\n${c.owner}` : '\n\nBest regards';
  return {
    to: c.email,
    subject: c.account ? `Checking in with ${c.account}` : 'Checking in',
    body:
      `${hello}\n\nIt has been a little while since we last spoke, so I wanted to check in${where}. ` +
      `Is there anything coming up where we could help, or anything you need from us right now?\n\n` +
      `If a quick call is easier, just reply with a time that suits you.${sign}`,
    related: `contact/${c.key}`,
  };
}

/** What the cycle read about open bids: the bid machines follow up on their own. */
function bidFindings(items: ReadItem[], now: number) {
  const due: { bidId: string; client: string | null; nextFollowUpAt: string | null; requested: boolean }[] = [];
  const exhausted: string[] = [];
  for (const i of items) {
    if (i.status === 'stopped') continue;
    const next = str(i.context, 'nextFollowUpAt');
    const requested = /(^|\|)open\.submitted\.following\.sending(\.|$|\|)/.test(i.state);
    const nextMs = ms(next);
    if (requested || (nextMs !== null && nextMs <= now)) due.push({ bidId: i.key, client: str(i.context, 'client'), nextFollowUpAt: next, requested });
    if (/(^|\|)open\.submitted\.exhausted(\.|$|\|)/.test(i.state)) exhausted.push(i.key);
  }
  return { due, exhausted };
}

/**
 * `hourly-cycle` (every hour): the Plan step of Plan → Act → React → Reflect for
 * the commercial side (reference/hourly-cycle-and-policies.md), from the read side:
 *
 * - overdue contacts (the 21-day engagement clock), by priority as of now: an
 *   engagement touch (`email.send`) to the top `TOUCHES_PER_HOUR` with an email
 *   address whose touch was not already drafted in this overdue period (a draft
 *   still waiting, sent or turned down: see `answeredBy`); the others are a hint
 *   for the next hour, those without an address are listed;
 * - open bids without an outcome whose follow-up is due (its time passed, or its
 *   request waits in the gate) are listed only: each bid machine sends its own
 *   follow-ups, so none is drafted here;
 * - orders in exceptions: delegated to delivery (`order-exceptions`, input
 *   `{ count }`, 30 minutes);
 * - research (`research.run`) only when no engagement is overdue and fewer than
 *   `THIN_PIPELINE` deals are open; otherwise a hint says why not.
 *
 * Never a human task (`task.create`): only a client's explicit request allows one,
 * and neither contacts nor deals carry such a request.
 */
export async function hourlyCycle(ctx: PlanContext): Promise<Plan> {
  const now = ctx.now;
  const actions: PlannedAction[] = [];
  const hints: string[] = [];

  const { overdue, touchNow, inHand, touchLater, noEmail, truncated } = await touchPlan(ctx);
  actions.push(...touchNow.map(touchAction));
  if (touchLater.length) hints.push(clip(`${plural(touchLater.length, 'more overdue contact')} to touch next hour, in this order: ${touchLater.slice(0, 30).map((c) => c.key).join(', ')}`, 1000));
  if (noEmail.length) hints.push(clip(`Overdue contacts without an email address (a call or an address is needed): ${noEmail.slice(0, 30).map((c) => c.key).join(', ')}`, 1000));

  const bids = bidFindings((await collect(ctx, (p) => ctx.read.openBids(ctx.tenant, p))).items, now);
  if (bids.due.length) hints.push(clip(`Bid follow-ups due, handled by the bids themselves (check their approvals): ${bids.due.map((b) => b.bidId).join(', ')}`, 1000));
  if (bids.exhausted.length) hints.push(clip(`Bids out of follow-ups, still without an outcome: ${bids.exhausted.join(', ')}`, 1000));

  const exceptions = (await collect(ctx, (p) => ctx.read.orderExceptions(ctx.tenant, p), { cap: 1000 })).items;
  const asked = exceptions.length ? await recentDelegation(ctx, 'delivery', 'order-exceptions') : null;
  if (asked) hints.push(`Order exceptions: delivery was asked at ${asked} already; asking again after ${REDELEGATE_AFTER_MS / 3_600_000} h if they remain.`);
  if (exceptions.length && !asked) {
    const params: DelegateParams = { to: 'delivery', task: 'order-exceptions', input: { count: exceptions.length }, deadlineMs: ORDER_EXCEPTIONS_DEADLINE_MS };
    actions.push({
      actionType: 'agent.delegate',
      params,
      preview: `Ask delivery to work ${plural(exceptions.length, 'order')} in exceptions (${exceptions.slice(0, 5).map((o) => o.key).join(', ')}${exceptions.length > 5 ? ', …' : ''}), within 30 minutes`,
      target: 'agent/delivery',
    });
  }

  const { deals } = await openDeals(ctx);
  let research: string;
  if (overdue.length > 0) {
    research = 'skipped: engagement overdue';
    hints.push(`No research this hour: ${plural(overdue.length, 'contact')} overdue for a touch come first (research waits until the engagement list is exhausted).`);
  } else if (deals.length >= THIN_PIPELINE) {
    research = 'skipped: pipeline not thin';
    hints.push(`No research this hour: the pipeline has ${plural(deals.length, 'open deal')} (${THIN_PIPELINE} or more).`);
  } else {
    research = 'planned';
    actions.push(await researchAction(ctx, deals.length));
  }

  const findings = {
    overdueContacts: overdue.length,
    touched: touchNow.map((c) => c.key),
    touchPriorities: Object.fromEntries(touchNow.map((c) => [c.key, c.priority])),
    touchNextHour: touchLater.slice(0, 100).map((c) => c.key),
    touchAlreadyDrafted: inHand.map((h) => ({ contactId: h.contact.key, task: h.draft.task, status: h.draft.status })),
    overdueWithoutEmail: noEmail.slice(0, 100).map((c) => c.key),
    bidsFollowUpDue: bids.due,
    bidsExhausted: bids.exhausted,
    orderExceptions: exceptions.length,
    orderExceptionIds: exceptions.slice(0, 100).map((o) => o.key),
    openDeals: deals.length,
    research,
    truncated,
  };
  const summary = [
    overdue.length
      ? `${plural(overdue.length, 'contact')} overdue for a touch: ${touchNow.length ? `drafted ${plural(touchNow.length, 'touch', 'touches')} (${joinAnd(touchNow.map((c) => c.key))})` : 'no new touch drafted'}` +
        `${inHand.length ? `, ${inHand.length} already drafted earlier` : ''}${touchLater.length ? `, ${touchLater.length} left for the next hour` : ''}` +
        `${noEmail.length ? `, ${noEmail.length} without an email address` : ''}.`
      : 'No contact is overdue for a touch.',
    bids.due.length ? `${plural(bids.due.length, 'bid follow-up')} due, sent by the bids themselves.` : 'No bid follow-up is due.',
    exceptions.length ? `${plural(exceptions.length, 'order')} in exceptions, ${asked ? 'already with delivery' : 'delegated to delivery'}.` : 'No order in exceptions.',
    research === 'planned' ? `Pipeline thin (${plural(deals.length, 'open deal')}): research planned.` : `No research (${research.replace('skipped: ', '')}).`,
  ].join(' ');
  return { summary, findings, actions, hints: hints.slice(0, 20) };
}

/** How long after asking delivery about order exceptions the cycle may ask again (while they remain): once a day. */
export const REDELEGATE_AFTER_MS = 24 * 3_600_000;

/**
 * When this agent last asked `to` for `task`, if that delegation is still open or
 * younger than `REDELEGATE_AFTER_MS`: the agent actor's own record of its
 * delegations (agents/machine.ts), read from its committed snapshot.
 */
async function recentDelegation(ctx: PlanContext, to: string, task: string): Promise<string | null> {
  const me = (await ctx.read.query(ctx.tenant, { kind: 'agent', where: [{ field: 'key', op: 'eq', value: ctx.agent }] })).items[0];
  const delegations = Object.values((me?.context.delegations ?? {}) as Record<string, { direction: string; to: string; task: string; status: string; requestedAt: string }>);
  const recent = delegations
    .filter((d) => d.direction === 'outgoing' && d.to === to && d.task === task)
    .filter((d) => d.status === 'requested' || d.status === 'accepted' || ctx.now - Date.parse(d.requestedAt) < REDELEGATE_AFTER_MS)
    .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
  return recent[0]?.requestedAt ?? null;
}

/** Who gets a touch this hour, who already got one drafted, who waits, who has no address. */
interface TouchPlan {
  /** Every overdue contact, by priority as of now. */
  overdue: OverdueContact[];
  touchNow: (OverdueContact & { email: string })[];
  inHand: { contact: OverdueContact; draft: PriorDraft }[];
  touchLater: OverdueContact[];
  noEmail: OverdueContact[];
  truncated: boolean;
}

/**
 * The overdue contacts, highest priority (as of now) first. A contact whose touch
 * was already drafted in this overdue period (still waiting, sent, or turned
 * down: `answeredBy`) is not drafted again and takes no slot; drafts are looked up
 * 25 contacts at a time until `TOUCHES_PER_HOUR` are chosen.
 */
async function touchPlan(ctx: PlanContext): Promise<TouchPlan> {
  const read = await collect(ctx, (p) => ctx.read.overdueContacts(ctx.tenant, ctx.now, p), { cap: 2000 });
  const overdue = read.items
    .filter((i) => i.status !== 'stopped')
    .map((i) => overdueContact(i, ctx.now))
    .sort(compareContacts);
  const reachable = overdue.filter((c): c is OverdueContact & { email: string } => isEmail(c.email));
  const touchNow: TouchPlan['touchNow'] = [];
  const inHand: TouchPlan['inHand'] = [];
  let next = 0;
  while (next < reachable.length && touchNow.length < TOUCHES_PER_HOUR) {
    const chunk = reachable.slice(next, next + 25);
    const drafts = await priorDrafts(ctx, 'email.send', chunk.map((c) => `contact/${c.key}`));
    for (const c of chunk) {
      if (touchNow.length >= TOUCHES_PER_HOUR) break;
      next += 1;
      const prior = answeredBy(drafts.get(`contact/${c.key}`), ms(c.nextTouchDue));
      if (prior) inHand.push({ contact: c, draft: prior });
      else touchNow.push(c);
    }
  }
  return { overdue, touchNow, inHand, touchLater: reachable.slice(next), noEmail: overdue.filter((c) => !isEmail(c.email)), truncated: read.truncated };
}

/** The engagement touch of one contact, as a planned action. */
function touchAction(c: OverdueContact & { email: string }): PlannedAction {
  return {
    actionType: 'email.send',
    params: touchEmail(c),
    preview: clip(
      `Engagement touch to ${c.name} <${c.email}>${c.account ? ` (${c.account}${c.role ? `, ${c.role}` : ''})` : ''}: ` +
        `${plural(c.overdueDays, 'day')} overdue, last touch ${c.lastTouchAt ? isoDay(ms(c.lastTouchAt)!) : 'never'}, priority ${c.priority}`,
      2000,
    ),
    target: `contact/${c.key}`,
    // Once sent, the email is the touch the 21-day clock waits for.
    onDone: { to: { kind: 'contact', key: c.key }, event: { type: 'contact.touch', activity: 'email', by: 'sales' } },
  };
}

/** The research request when the pipeline is thin: prospects like the latest wins, when there are any. */
async function researchAction(ctx: PlanContext, open: number): Promise<PlannedAction> {
  const won = await ctx.read.query(ctx.tenant, { kind: 'deal', state: 'won', orderBy: { field: 'closedAt', dir: 'desc' }, limit: 3 });
  const titles = won.items.map((i) => str(i.context, 'title') ?? i.key);
  const query = titles.length
    ? `New prospects similar to our recent wins (${titles.map((t) => `"${t}"`).join(', ')}): companies with the same need, a named decision maker and a reason to reach out now`
    : 'New prospects: companies likely to need what we sell, with a named decision maker and a reason to reach out now';
  const reason = `The pipeline is thin (${plural(open, 'open deal')}, fewer than ${THIN_PIPELINE}) and no engagement is overdue.`;
  return { actionType: 'research.run', params: { query: clip(query, 1000), reason }, preview: clip(`Research: ${query}. Why: ${reason}`, 2000) };
}
