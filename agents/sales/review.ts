import { z } from 'zod';
import type { Plan, PlanContext, PlannedAction } from '../types.ts';
import { clip, dealName, isoDay, money, ms, parseInput, plural } from '../kit/index.ts';
import { closeScore, followUpEmail, STALE_AFTER_DAYS } from './pipeline.ts';
import { answeredBy, dealByKey, daysSinceMove, followUpOf, notWritable, priorDrafts, resolveRecipients } from './read.ts';

/** The input of the `deal-review` task: which deal. */
export const DealReviewInput = z.object({ dealId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be a deal key') }).strict();

/** What the review says about the deal's follow-up. */
export type FollowUpVerdict = 'drafted' | 'not_stalled' | 'closed' | 'already_followed_up' | 'no_contact' | 'not_contactable';

/**
 * The `deal-review` task other agents delegate (input `{ dealId }`): the deal's
 * facts from its committed snapshot (stage, value, movement, stall, follow-up,
 * expected close, the close score of the pipeline review), and, when it has not
 * moved for `STALE_AFTER_DAYS`+ days (or the deal marked itself stalled) and
 * nobody followed up during this stall (neither the deal's own follow-up region
 * nor an earlier draft of ours), a follow-up email draft to its contact.
 * An unknown deal is answered with `found: false`, not an error.
 */
export async function dealReview(ctx: PlanContext): Promise<Plan> {
  const { dealId } = parseInput('deal-review', DealReviewInput, ctx.input);
  const deal = await dealByKey(ctx, dealId);
  if (!deal) return { summary: `There is no deal ${dealId}.`, findings: { dealId, found: false }, actions: [], hints: [] };

  const open = deal.stage !== null;
  const days = daysSinceMove(deal, ctx.now);
  const stalled = open && (days >= STALE_AFTER_DAYS || deal.stalledSince !== null);
  const done = followUpOf(deal) ?? answeredBy((await priorDrafts(ctx, 'email.send', [`deal/${deal.key}`])).get(`deal/${deal.key}`), ms(deal.lastMovedAt));
  const actions: PlannedAction[] = [];
  let verdict: FollowUpVerdict;
  let why: string | null = null;
  if (!open) verdict = 'closed';
  else if (!stalled) verdict = 'not_stalled';
  else if (done) verdict = 'already_followed_up';
  else if (deal.contact === null) verdict = 'no_contact';
  else {
    const r = (await resolveRecipients(ctx, [deal.contact])).get(deal.contact);
    why = notWritable(deal.contact, r);
    if (why !== null || !r?.email) {
      verdict = 'not_contactable';
      why ??= `contact ${deal.contact} has no email address`;
    } else {
      verdict = 'drafted';
      actions.push({
        actionType: 'email.send',
        params: followUpEmail(deal, { ...r, email: r.email }),
        preview: clip(`Follow-up draft to ${r.email} on deal ${dealName(deal)} (${deal.stage}, no movement for ${plural(days, 'day')}${deal.owner ? `, owner ${deal.owner}` : ''})`, 2000),
        target: `deal/${deal.key}`,
      });
    }
  }

  const today = isoDay(ctx.now);
  const facts = {
    dealId: deal.key,
    found: true,
    title: deal.title,
    state: deal.state,
    stage: deal.stage,
    open,
    value: deal.value,
    currency: deal.currency,
    contact: deal.contact,
    owner: deal.owner,
    expectedCloseDate: deal.expectedCloseDate,
    pastExpectedClose: open && deal.expectedCloseDate !== null && deal.expectedCloseDate < today,
    createdAt: deal.createdAt,
    lastMovedAt: deal.lastMovedAt,
    daysSinceMove: days,
    stalled,
    stalledSince: deal.stalledSince,
    followedUpAt: deal.followedUpAt,
    followUpState: deal.followUp,
    closedAt: deal.closedAt,
    closeScore: closeScore(deal, ctx.now),
    followUp: verdict,
    ...(why ? { notDrafted: why } : {}),
  };
  const verdictText: Record<FollowUpVerdict, string> = {
    drafted: 'a follow-up email is drafted for approval',
    not_stalled: 'no follow-up needed',
    closed: 'the deal is closed',
    already_followed_up: 'this stall was already followed up (by the deal, or a draft of ours that is waiting, went out or was turned down)',
    no_contact: 'stalled, but there is no contact to follow up with',
    not_contactable: `stalled, but not followed up: ${why}`,
  };
  const summary =
    `${dealName(deal)}: ${open ? deal.stage : deal.state}, ${money(deal.value, deal.currency)}${deal.owner ? `, owner ${deal.owner}` : ''}, ` +
    `last moved ${plural(days, 'day')} ago${facts.pastExpectedClose ? `, expected to close ${deal.expectedCloseDate} (passed)` : ''}; ${verdictText[verdict]}.`;
  return { summary, findings: facts, actions, hints: [] };
}
