import type { EmailParams, NotifyParams } from '../actions.ts';
import { emptyPlan, type Plan, type PlanContext, type PlannedAction } from '../types.ts';
import { ago, bullets, clip, dayLabel, dealName, firstName, isEmail, isoDay, joinAnd, money, moneyTotals, ms, plural } from '../kit/index.ts';
import { answeredBy, daysSinceMove, followUpOf, notWritable, openDeals, priorDrafts, resolveRecipients, type DealView, type Recipient, type Stage } from './read.ts';

/** Days without movement after which a deal needs a follow-up. */
export const STALE_AFTER_DAYS = 7;
/** Follow-up drafts per review at most (the oldest stalls first); the rest are left for the next review. */
export const MAX_FOLLOW_UP_DRAFTS = 20;

/**
 * How much a stage weighs in the chance to close soon. A deal in negotiation is
 * far closer to a signature than a lead.
 */
export const STAGE_WEIGHT: Readonly<Record<Stage, number>> = Object.freeze({ lead: 0.1, qualified: 0.3, proposal: 0.6, negotiation: 0.9 });

/**
 * The "likely to close this week" score of an open deal:
 *
 *   score = STAGE_WEIGHT[stage] × recency,   recency = 1 / (1 + daysSinceMove / 7)
 *
 * rounded to 3 decimals. Recency is 1 for a deal that moved today, 0.5 after a
 * week without movement, 0.33 after two: a deal in negotiation that moved
 * yesterday (0.79) beats one in proposal that moved today (0.6), which beats a
 * negotiation silent for three weeks (0.23). Ties go to the larger value, then
 * to the key.
 */
export function closeScore(d: DealView, now: number): number {
  if (d.stage === null) return 0;
  const recency = 1 / (1 + daysSinceMove(d, now) / 7);
  return Math.round(STAGE_WEIGHT[d.stage] * recency * 1000) / 1000;
}

/** The `n` open deals most likely to close this week (see `closeScore`). */
export function likelyToClose(deals: DealView[], now: number, n = 3): { deal: DealView; score: number }[] {
  return deals
    .map((deal) => ({ deal, score: closeScore(deal, now) }))
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || b.deal.value - a.deal.value || (a.deal.key < b.deal.key ? -1 : a.deal.key > b.deal.key ? 1 : 0))
    .slice(0, n);
}

/** The follow-up email to a stalled deal's contact, in the words a deal owner would use at that stage. */
export function followUpEmail(d: DealView, to: Recipient & { email: string }): EmailParams {
  const about = d.title && d.title !== d.key ? `"${d.title}"` : 'our conversation';
  const text: Record<Stage, string> = {
    lead: `I wanted to follow up on ${about}. Would a short call this week be useful to talk through what you need? I'm happy to work around your schedule.`,
    qualified: `I'm following up on ${about}. I'd like to put together a proposal that fits what you described: is there anything you would add or change first, or a good time this week for a quick call?`,
    proposal: `I wanted to check whether you've had a chance to review our proposal for ${about}. I'm glad to walk you through it, or to adjust anything that doesn't quite fit.`,
    negotiation: `I'm following up on ${about}. Are there any open points on the terms I can help resolve so we can move forward? I can set up a short call this week if that helps.`,
  };
  const hello = firstName(to.name) ? `Hi ${firstName(to.name)},` : 'Hello,';
  const sign = d.owner ? `\n\nBest regards,\n${d.owner}` : '\n\nBest regards';
  return {
    to: to.email,
    subject: clip(d.title && d.title !== d.key ? `Following up: ${d.title}` : 'Following up', 300),
    body: `${hello}\n\n${text[d.stage ?? 'lead']}${sign}`,
    ...(isEmail(d.owner) ? { replyTo: d.owner } : {}),
    related: `deal/${d.key}`,
  };
}

/** What became of one deal without movement. */
type Stale =
  | { deal: DealView; days: number; outcome: 'drafted'; to: string }
  /** Followed up during this stall: by the deal's own follow-up region, or by an earlier draft of ours. */
  | { deal: DealView; days: number; outcome: 'followed_up'; by: 'deal' | 'sales'; status: string; at: string | null }
  | { deal: DealView; days: number; outcome: 'no_contact' }
  | { deal: DealView; days: number; outcome: 'not_contactable'; why: string }
  | { deal: DealView; days: number; outcome: 'deferred' };

/**
 * `sales-pipeline-review` (weekdays 08:00): reads every open deal and plans
 *
 * 1. a follow-up email draft (`email.send`) for each deal without movement for
 *    `STALE_AFTER_DAYS`+ days that has a contact to write to, unless the deal's
 *    own follow-up region already asked for or sent one during this stall (then it
 *    is listed as followed up); deals without a contact, or whose contact opted
 *    out or has no address, are listed; at most `MAX_FOLLOW_UP_DRAFTS`, the
 *    longest silent first;
 * 2. flags deals whose `expectedCloseDate` has passed;
 * 3. lists open deals valued 0;
 * 4. names the 3 deals most likely to close this week (`closeScore`);
 *
 * and one summary for the `sales` channel (`notify.send`, kind summary).
 */
export async function pipelineReview(ctx: PlanContext): Promise<Plan> {
  const now = ctx.now;
  const { deals, truncated } = await openDeals(ctx);
  if (deals.length === 0) return emptyPlan('Pipeline review: there are no open deals, so nothing to follow up, flag or rank.', { openDeals: 0 }, ['The pipeline is empty: the hourly cycle researches new prospects once no engagement is overdue.']);

  const { stale, actions } = await followUps(ctx, deals, now);
  const pastClose = pastExpectedClose(deals, now);
  const zero = deals.filter((d) => d.value === 0);
  const top = likelyToClose(deals, now);

  const findings = {
    openDeals: deals.length,
    pipelineValue: totalsByCurrency(deals),
    stale: stale.map((s) => s.deal.key),
    followUpDrafted: stale.filter((s) => s.outcome === 'drafted').map((s) => s.deal.key),
    alreadyFollowedUp: stale.flatMap((s) => (s.outcome === 'followed_up' ? [{ dealId: s.deal.key, by: s.by, status: s.status, at: s.at }] : [])),
    staleWithoutContact: stale.filter((s) => s.outcome === 'no_contact').map((s) => s.deal.key),
    staleNotContactable: stale.flatMap((s) => (s.outcome === 'not_contactable' ? [{ dealId: s.deal.key, reason: s.why }] : [])),
    followUpsDeferred: stale.filter((s) => s.outcome === 'deferred').map((s) => s.deal.key),
    pastExpectedClose: pastClose.map((p) => ({ dealId: p.deal.key, expectedCloseDate: p.deal.expectedCloseDate, daysLate: p.daysLate, owner: p.deal.owner })),
    zeroValue: zero.map((d) => d.key),
    likelyToClose: top.map((t) => ({ dealId: t.deal.key, stage: t.deal.stage, score: t.score, value: t.deal.value, daysSinceMove: daysSinceMove(t.deal, now) })),
    truncated,
  };

  const body = summaryBody(deals, stale, pastClose, zero, top, now);
  const title = `Pipeline review ${dayLabel(now)}: ${plural(deals.length, 'open deal')}, ${moneyTotals(deals)}`;
  const notify: NotifyParams = { kind: 'summary', channel: 'sales', severity: 'info', title: clip(title, 300), body: clip(body, 40_000), topic: 'sales-pipeline-review' };
  actions.push({ actionType: 'notify.send', params: notify, preview: clip(`Post the pipeline review to #sales: ${title}`, 2000) });

  const hints = hintsOf(findings, pastClose.map((p) => p.deal.key), truncated);

  const drafted = findings.followUpDrafted.length;
  const summary =
    `Reviewed ${plural(deals.length, 'open deal')} (${moneyTotals(deals)}). ` +
    `${plural(stale.length, 'deal')} without movement for ${STALE_AFTER_DAYS}+ days: ${plural(drafted, 'follow-up')} drafted, ${findings.alreadyFollowedUp.length} already followed up, ` +
    `${findings.staleWithoutContact.length + findings.staleNotContactable.length} with nobody to write to. ` +
    `${plural(pastClose.length, 'deal')} past the expected close date, ${zero.length} valued 0. ` +
    (top.length ? `Most likely to close this week: ${joinAnd(top.map((t) => t.deal.key))}.` : 'No deal is likely to close this week.');
  return { summary, findings, actions, hints: hints.slice(0, 20) };
}

/**
 * The deals without movement for `STALE_AFTER_DAYS`+ days, the longest silent
 * first, each with what becomes of it, and the follow-up drafts planned for them.
 */
async function followUps(ctx: PlanContext, deals: DealView[], now: number): Promise<{ stale: Stale[]; actions: PlannedAction[] }> {
  const staleDeals = deals
    .map((deal) => ({ deal, days: daysSinceMove(deal, now) }))
    .filter((s) => s.days >= STALE_AFTER_DAYS)
    .sort((a, b) => b.days - a.days || (a.deal.key < b.deal.key ? -1 : 1));
  const recipients = await resolveRecipients(ctx, staleDeals.flatMap((s) => (s.deal.contact ? [s.deal.contact] : [])));
  const drafts = await priorDrafts(ctx, 'email.send', staleDeals.map((s) => `deal/${s.deal.key}`));

  const stale: Stale[] = [];
  const actions: PlannedAction[] = [];
  for (const { deal, days } of staleDeals) {
    const done = followUpOf(deal);
    if (done) {
      stale.push({ deal, days, outcome: 'followed_up', by: 'deal', status: done.status, at: done.at });
      continue;
    }
    const ours = answeredBy(drafts.get(`deal/${deal.key}`), ms(deal.lastMovedAt));
    if (ours) {
      stale.push({ deal, days, outcome: 'followed_up', by: 'sales', status: ours.status, at: ours.settledAt });
      continue;
    }
    if (deal.contact === null) {
      stale.push({ deal, days, outcome: 'no_contact' });
      continue;
    }
    const r = recipients.get(deal.contact);
    const why = notWritable(deal.contact, r);
    if (why !== null || !r?.email) {
      stale.push({ deal, days, outcome: 'not_contactable', why: why ?? `contact ${deal.contact} has no email address` });
      continue;
    }
    if (actions.length >= MAX_FOLLOW_UP_DRAFTS) {
      stale.push({ deal, days, outcome: 'deferred' });
      continue;
    }
    const email = followUpEmail(deal, { ...r, email: r.email });
    actions.push({
      actionType: 'email.send',
      params: email,
      preview: clip(`Follow-up draft to ${r.email} on deal ${dealName(deal)} (${deal.stage ?? 'open'}, no movement for ${plural(days, 'day')}${deal.owner ? `, owner ${deal.owner}` : ''})`, 2000),
      target: `deal/${deal.key}`,
    });
    stale.push({ deal, days, outcome: 'drafted', to: r.email });
  }
  return { stale, actions };
}

/** Open deals whose expected close date is before today (UTC), the longest overdue first. */
function pastExpectedClose(deals: DealView[], now: number): { deal: DealView; daysLate: number }[] {
  const today = isoDay(now);
  return deals
    .filter((d) => d.expectedCloseDate !== null && d.expectedCloseDate < today)
    .sort((a, b) => (a.expectedCloseDate! < b.expectedCloseDate! ? -1 : a.expectedCloseDate! > b.expectedCloseDate! ? 1 : a.key < b.key ? -1 : 1))
    .map((deal) => ({ deal, daysLate: Math.max(1, Math.round((Date.parse(today) - Date.parse(deal.expectedCloseDate!)) / 86_400_000)) }));
}

/** What the next review should look at. */
function hintsOf(findings: { followUpsDeferred: string[]; staleWithoutContact: string[]; zeroValue: string[] }, pastClose: string[], truncated: boolean): string[] {
  const hints: string[] = [];
  if (findings.followUpsDeferred.length) hints.push(clip(`${plural(findings.followUpsDeferred.length, 'stalled deal')} still need a follow-up draft (cap of ${MAX_FOLLOW_UP_DRAFTS} per review): ${findings.followUpsDeferred.join(', ')}`, 1000));
  if (findings.staleWithoutContact.length) hints.push(clip(`Stalled deals without a contact cannot be followed up until one is added: ${findings.staleWithoutContact.join(', ')}`, 1000));
  if (pastClose.length) hints.push(clip(`Expected close dates have passed on ${pastClose.join(', ')}: check whether the owners updated them`, 1000));
  if (findings.zeroValue.length) hints.push(clip(`Deals valued 0: ${findings.zeroValue.join(', ')}`, 1000));
  if (truncated) hints.push('Only the first 5,000 open deals were reviewed.');
  return hints;
}

/** How a stall was already answered, for the summary. */
function followedUpText(s: Extract<Stale, { outcome: 'followed_up' }>): string {
  const on = s.at && ms(s.at) !== null ? ` on ${isoDay(ms(s.at)!)}` : '';
  if (s.status === 'done') return `already followed up${on}`;
  if (s.by === 'deal') return `the deal's own follow-up is ${s.status.replace(/_/g, ' ')}`;
  return s.status === 'pending' ? 'a follow-up drafted earlier is still waiting for approval' : `a follow-up drafted earlier was ${s.status}${on}`;
}

function totalsByCurrency(deals: DealView[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of deals) out[d.currency] = (out[d.currency] ?? 0) + d.value;
  return out;
}

function summaryBody(
  deals: DealView[],
  stale: Stale[],
  pastClose: { deal: DealView; daysLate: number }[],
  zero: DealView[],
  top: { deal: DealView; score: number }[],
  now: number,
): string {
  const parts: string[] = [`${plural(deals.length, 'open deal')} worth ${moneyTotals(deals)}.`];
  if (stale.length) {
    const line = (s: Stale): string => {
      const head = `${dealName(s.deal)} (${s.deal.stage ?? 'open'}, ${plural(s.days, 'day')}${s.deal.owner ? `, ${s.deal.owner}` : ''}): `;
      switch (s.outcome) {
        case 'drafted':
          return `${head}follow-up to ${s.to} drafted, waiting in the approval queue`;
        case 'followed_up':
          return `${head}${followedUpText(s)}`;
        case 'no_contact':
          return `${head}no contact on the deal; add one so it can be followed up`;
        case 'not_contactable':
          return `${head}not drafted: ${s.why}`;
        case 'deferred':
          return `${head}left for the next review (draft limit reached)`;
      }
    };
    parts.push(`No movement for ${STALE_AFTER_DAYS}+ days (${stale.length}):\n${bullets(stale.map(line), 15)}`);
  }
  if (pastClose.length) {
    parts.push(
      `Expected close date passed (${pastClose.length}), update the date or close the deal:\n` +
        bullets(pastClose.map((p) => `${dealName(p.deal)} expected ${p.deal.expectedCloseDate} (${plural(p.daysLate, 'day')} ago)${p.deal.owner ? `, ${p.deal.owner}` : ''}`)),
    );
  }
  if (zero.length) parts.push(`Valued 0 (${zero.length}), add a value:\n${bullets(zero.map((d) => `${dealName(d)} (${d.stage ?? 'open'}${d.owner ? `, ${d.owner}` : ''})`))}`);
  if (top.length) {
    parts.push(
      `Most likely to close this week (stage × recency):\n` +
        top.map((t, i) => `${i + 1}. ${dealName(t.deal)}: ${t.deal.stage}, moved ${ago(daysSinceMove(t.deal, now))}, ${money(t.deal.value, t.deal.currency)} (score ${t.score})`).join('\n'),
    );
  }
  if (!stale.length && !pastClose.length && !zero.length) parts.push('Every open deal moved in the last week, is valued and within its expected close date.');
  return parts.join('\n\n');
}
