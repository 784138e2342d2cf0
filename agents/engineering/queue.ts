import type { JobDefinition, Plan, PlanContext, PlannedAction } from '../types.ts';
import { bullets, daysSince, emailAction, isEmail, notifyAction, plural, sendAction } from '../kit/index.ts';
import { platformName, ticketName } from './names.ts';
import { inStateLongerThan, readTickets, type TicketView } from './tickets.ts';

/** A build in `building` longer than this many days is at risk. */
export const BUILD_AT_RISK_DAYS = 3;
/** A ticket `submitted` and not analysed for longer than this many days gets its analysis started. */
export const ANALYSIS_STUCK_DAYS = 1;
/** A ticket in `review_pending` longer than this many days gets its reviewer nudged. */
export const REVIEW_NUDGE_DAYS = 2;

/**
 * `build-queue-check` (weekdays 09:00): the build queue from the read side.
 *
 * - tickets in `building` whose state is older than 3 days are at risk: one alert to #builds lists them;
 * - tickets `submitted` for more than a day and not analysed get `ticket.analyze` (`agent.send`);
 * - tickets in `review_pending` for more than 2 days: the reviewer is nudged, by email when the
 *   reviewer is an email address, else by an alert to #builds naming them (or saying nobody is assigned);
 * - a summary to #builds: "X builds in progress, Y at risk, Z waiting review", sent every run.
 */
export async function buildQueueCheck(ctx: PlanContext): Promise<Plan> {
  const now = ctx.now;
  const byAge = { orderBy: { field: 'stateSince', dir: 'asc' as const } };
  const [building, atRisk, stuck, waiting, overdue] = await Promise.all([
    readTickets(ctx, { state: 'building', ...byAge }),
    readTickets(ctx, { state: 'building', where: [inStateLongerThan(BUILD_AT_RISK_DAYS, now)], ...byAge }),
    readTickets(ctx, { state: 'submitted', where: [inStateLongerThan(ANALYSIS_STUCK_DAYS, now), { field: 'analyzedAt', op: 'exists', value: false }], ...byAge }),
    readTickets(ctx, { state: 'review_pending', ...byAge }),
    readTickets(ctx, { state: 'review_pending', where: [inStateLongerThan(REVIEW_NUDGE_DAYS, now)], ...byAge }),
  ]);
  const days = (t: TicketView) => daysSince(t.stateSince, now);
  const actions: PlannedAction[] = [];

  for (const t of stuck.tickets) {
    actions.push(
      sendAction(
        { to: { kind: 'ticket', key: t.key }, event: { type: 'ticket.analyze' } },
        `Start the analysis of ${ticketName(t)}: submitted ${plural(days(t), 'day')} ago and not analysed yet`,
      ),
    );
  }
  for (const t of overdue.tickets) actions.push(nudge(t, days(t)));

  if (atRisk.tickets.length > 0) actions.push(atRiskAlert(atRisk.tickets, days));
  const headline = `${plural(building.tickets.length, 'build')} in progress, ${atRisk.tickets.length} at risk, ${waiting.tickets.length} waiting review`;
  actions.push(summaryNote(headline, { building: building.tickets, atRisk: atRisk.tickets, waiting: waiting.tickets, stuck: stuck.tickets }, days));

  const hints: string[] = [];
  const noReviewer = waiting.tickets.filter((t) => t.reviewer === null).map((t) => t.key);
  if (noReviewer.length) hints.push(`No reviewer assigned on ${noReviewer.join(', ')}: set one with ticket.update so reviews can be nudged.`);
  const long = atRisk.tickets.filter((t) => days(t) > 3 * BUILD_AT_RISK_DAYS).map((t) => t.key);
  if (long.length) hints.push(`${long.join(', ')} ${long.length === 1 ? 'has' : 'have'} been building for more than ${3 * BUILD_AT_RISK_DAYS} days: consider splitting or reassigning.`);
  if ([building, atRisk, stuck, waiting, overdue].some((r) => r.truncated)) hints.push('The queue was larger than one read allows: counts are lower bounds.');

  return {
    summary: `${headline}. ${stuck.tickets.length ? `Analysis started for ${plural(stuck.tickets.length, 'ticket')}. ` : ''}${overdue.tickets.length ? `${plural(overdue.tickets.length, 'reviewer')} nudged.` : ''}`.trim(),
    findings: {
      inProgress: building.tickets.map((t) => t.key),
      atRisk: atRisk.tickets.map((t) => t.key),
      analysisTriggered: stuck.tickets.map((t) => t.key),
      waitingReview: waiting.tickets.map((t) => t.key),
      reviewNudged: overdue.tickets.map((t) => t.key),
      ages: Object.fromEntries([...building.tickets, ...waiting.tickets, ...stuck.tickets].map((t) => [t.key, days(t)])),
    },
    actions,
    hints,
  };
}

/** `T-1 "Invoice intake" (Cornerstone): building for 5 days, owner brian, on Make.com`. */
function riskLine(t: TicketView, days: number): string {
  return `${ticketName(t)}: building for ${plural(days, 'day')}, owner ${t.owner ?? 'unassigned'}, on ${platformName(t.platform)}`;
}

/** One alert to #builds listing the builds at risk. */
function atRiskAlert(tickets: TicketView[], days: (t: TicketView) => number): PlannedAction {
  return notifyAction(
    {
      kind: 'alert',
      channel: 'builds',
      severity: 'warning',
      title: `${plural(tickets.length, 'build')} at risk: building for more than ${BUILD_AT_RISK_DAYS} days`,
      body: `${bullets(tickets.map((t) => riskLine(t, days(t))), 15)}\n\nCheck with each owner what blocks the build, and split or reassign it if needed.`,
      topic: 'build.at_risk',
    },
    `Alert #builds: ${tickets.map((t) => t.key).join(', ')} at risk (building > ${BUILD_AT_RISK_DAYS} days)`,
  );
}

/** The queue's summary to #builds, sent every run. */
function summaryNote(headline: string, q: { building: TicketView[]; atRisk: TicketView[]; waiting: TicketView[]; stuck: TicketView[] }, days: (t: TicketView) => number): PlannedAction {
  const sections = [
    q.building.length ? `In progress:\n${bullets(q.building.map((t) => `${ticketName(t)}, ${plural(days(t), 'day')} in build, owner ${t.owner ?? 'unassigned'}`), 15)}` : 'Nothing in build.',
    q.atRisk.length ? `At risk (> ${BUILD_AT_RISK_DAYS} days):\n${bullets(q.atRisk.map((t) => riskLine(t, days(t))), 15)}` : null,
    q.waiting.length ? `Waiting review:\n${bullets(q.waiting.map((t) => `${ticketName(t)}, ${plural(days(t), 'day')}, reviewer ${t.reviewer ?? 'none assigned'}`), 15)}` : null,
    q.stuck.length ? `Analysis started for tickets waiting more than ${plural(ANALYSIS_STUCK_DAYS, 'day')}: ${q.stuck.map((t) => t.key).join(', ')}.` : null,
  ].filter((s): s is string => s !== null);
  return notifyAction({ kind: 'summary', channel: 'builds', severity: 'info', title: headline, body: sections.join('\n\n') }, `Summary to #builds: ${headline}`);
}

/** A nudge to the reviewer of a ticket waiting review: an email when the reviewer is an address, else an alert to #builds. */
function nudge(t: TicketView, days: number): PlannedAction {
  const waited = `waiting for review for ${plural(days, 'day')}`;
  if (isEmail(t.reviewer)) {
    return emailAction(
      {
        to: t.reviewer,
        subject: `Review waiting: ${t.title} (${t.key})`,
        body:
          `Hello,\n\nThe build ${ticketName(t)} on ${platformName(t.platform)} has been ${waited}.` +
          `${t.owner ? ` ${t.owner} built it.` : ''}\n\nCould you approve it or request changes today? ` +
          `The client is waiting for the deployment.\n\nThanks,\nEngineering`,
        related: `ticket/${t.key}`,
      },
      `Nudge reviewer ${t.reviewer}: ${ticketName(t)} ${waited}`,
      `ticket/${t.key}`,
    );
  }
  const who = t.reviewer ? `Reviewer: ${t.reviewer}.` : 'No reviewer is assigned: assign one (ticket.update) so the review happens.';
  return notifyAction(
    {
      kind: 'alert',
      channel: 'builds',
      severity: 'info',
      title: `Review waiting ${plural(days, 'day')}: ${t.key} ${t.title}`,
      body: `${ticketName(t)} has been ${waited}. ${who}`,
      topic: `review.nudge:${t.key}`,
      related: `ticket/${t.key}`,
    },
    `Nudge in #builds: ${ticketName(t)} ${waited}${t.reviewer ? ` (reviewer ${t.reviewer})` : ', no reviewer'}`,
    `ticket/${t.key}`,
  );
}

/** The job. */
export const buildQueueJob: JobDefinition = {
  name: 'build-queue-check',
  cron: '0 9 * * 1-5',
  description:
    'Check the build queue: tickets building for more than 3 days are at risk; tickets submitted and not analysed for more than a day get their analysis started; ' +
    'tickets waiting review for more than 2 days get their reviewer nudged; post "X builds in progress, Y at risk, Z waiting review" to #builds.',
  missed: 'skip',
  check: buildQueueCheck,
};
