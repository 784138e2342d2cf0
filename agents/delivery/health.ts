import { readTickets, ticketName, type TicketView } from '../engineering/index.ts';
import { bullets, DAY_MS, daysSince, isoDay, ms, notifyAction, plural, publishAction } from '../kit/index.ts';
import type { JobDefinition, Plan, PlanContext, PlannedAction } from '../types.ts';

/** Deployments looked at: those of the last 30 days. */
export const DEPLOYMENT_WINDOW_DAYS = 30;
/** A client whose tickets had no activity for this many days is a churn risk. */
export const CHURN_QUIET_DAYS = 30;
/** A client with this many failed deployments in the window is flagged. */
export const FAILED_DEPLOYS_FLAG = 2;

/**
 * How far back the previous scheduled run of a weekday job is: three days on a
 * Monday (over the weekend), two on a Sunday, else one. A client is flagged
 * (`client.at_risk`) when its condition began since then, so a client is flagged
 * once, not every morning; the summary lists every client at risk each run.
 */
export function sinceLastRun(now: number): number {
  const day = new Date(now).getUTCDay();
  return (day === 1 ? 3 : day === 0 ? 2 : 1) * DAY_MS;
}

/** A deployment attempt of a ticket. */
interface Attempt {
  ticket: TicketView;
  at: string;
  ok: boolean;
  error: string | null;
}

/** The latest non-null client contact among some tickets (the most recently active first). */
function contactOf(tickets: TicketView[]): string | null {
  const byActivity = [...tickets].sort((a, b) => (ms(b.lastActivityAt) ?? 0) - (ms(a.lastActivityAt) ?? 0));
  return byActivity.find((t) => t.clientContact !== null)?.clientContact ?? null;
}

function groupByClient(tickets: TicketView[]): Map<string, TicketView[]> {
  const m = new Map<string, TicketView[]>();
  for (const t of tickets) m.set(t.client, [...(m.get(t.client) ?? []), t]);
  return m;
}

/**
 * `delivery-health-check` (weekdays 09:00), from the tickets on the read side:
 *
 * 1. deployments of the last 30 days (every attempt recorded on a ticket active in
 *    that window), and which failed;
 * 2. clients whose tickets had no activity for 30+ days: churn risk. Each is listed;
 *    `client.at_risk` is published for those whose 30 days ran out since the previous
 *    run (see `sinceLastRun`);
 * 3. clients with builds completing this week (tickets in `review_pending` or
 *    `approved`): one note to #delivery to schedule their delivery reviews;
 * 4. clients with 2+ failed deployments in the window: flagged, with `client.at_risk`
 *    when one of those failures happened since the previous run;
 * 5. the health summary to #delivery, every run.
 */
export async function deliveryHealthCheck(ctx: PlanContext): Promise<Plan> {
  const now = ctx.now;
  const windowStart = new Date(now - DEPLOYMENT_WINDOW_DAYS * DAY_MS).toISOString();
  const lastRun = now - sinceLastRun(now);
  const [recent, quiet, reviewing, approved] = await Promise.all([
    readTickets(ctx, { where: [{ field: 'lastActivityAt', op: 'gte', value: windowStart }] }),
    readTickets(ctx, { where: [{ field: 'lastActivityAt', op: 'lt', value: new Date(now - CHURN_QUIET_DAYS * DAY_MS).toISOString() }] }),
    readTickets(ctx, { state: 'review_pending' }),
    readTickets(ctx, { state: 'approved' }),
  ]);
  const attempts = deploymentsSince(recent.tickets, windowStart, now);
  const failures = attempts.filter((a) => !a.ok);
  const churn = quietClients(quiet.tickets, recent.tickets, now);
  const churnNew = churn.filter((c) => (ms(c.since) ?? 0) + CHURN_QUIET_DAYS * DAY_MS > lastRun);
  const failing = repeatedFailures(failures);
  const failingNew = failing.filter((c) => c.failures.some((f) => (ms(f.at) ?? 0) > lastRun));
  const completing = [...groupByClient([...reviewing.tickets, ...approved.tickets]).entries()].sort(([a], [b]) => a.localeCompare(b));

  const actions: PlannedAction[] = [...churnNew.map(flagQuiet), ...failingNew.map(flagFailing)];
  if (completing.length > 0) actions.push(reviewsNote(completing));
  const headline = `Delivery health: ${plural(attempts.length, 'deployment')} in ${DEPLOYMENT_WINDOW_DAYS} days, ${failures.length} failed; ${plural(churn.length, 'client')} quiet ${CHURN_QUIET_DAYS}+ days; ${completing.length} to review this week`;
  actions.push(summaryNote(headline, failures, failing, churn, completing));

  const hints: string[] = [];
  const noContact = churn.filter((c) => c.contact === null).map((c) => c.client);
  if (noContact.length) hints.push(`No client contact on the tickets of ${noContact.join(', ')}: set clientContact so the client can be re-engaged.`);
  if ([recent, quiet, reviewing, approved].some((r) => r.truncated)) hints.push('More tickets than one read allows: some clients may be missing from this check.');
  const flagged = [...churnNew.map((c) => c.client), ...failingNew.map((c) => c.client)];
  return {
    summary: `${headline}. ${flagged.length ? `Flagged at risk: ${flagged.join(', ')}.` : 'No new client flagged.'}`,
    findings: {
      deployments: attempts.length,
      failedDeployments: failures.map((f) => ({ ticketId: f.ticket.key, client: f.ticket.client, at: f.at, error: f.error })),
      churnRisk: churn.map((c) => c.client),
      repeatedFailures: failing.map((c) => c.client),
      flaggedAtRisk: flagged,
      reviewsToSchedule: Object.fromEntries(completing.map(([c, ts]) => [c, ts.map((t) => t.key)])),
    },
    actions,
    hints,
  };
}

/** Every deployment attempt recorded on `tickets` in [windowStart, now], oldest first. */
function deploymentsSince(tickets: TicketView[], windowStart: string, now: number): Attempt[] {
  return tickets
    .flatMap((t) => t.deployments.map((d) => ({ ticket: t, ...d })))
    .filter((a) => a.at >= windowStart && (ms(a.at) ?? Infinity) <= now)
    .sort((a, b) => a.at.localeCompare(b.at));
}

/** A client whose tickets all went quiet. */
interface QuietClient {
  client: string;
  /** The last activity on any of its tickets. */
  since: string;
  days: number;
  contact: string | null;
  tickets: TicketView[];
}

/** Clients of the quiet tickets with no ticket active in the window; the longest quiet first. */
function quietClients(quiet: TicketView[], recent: TicketView[], now: number): QuietClient[] {
  const active = new Set(recent.map((t) => t.client));
  return [...groupByClient(quiet.filter((t) => !active.has(t.client))).entries()]
    .map(([client, tickets]) => {
      const since = new Date(Math.max(...tickets.map((t) => ms(t.lastActivityAt) ?? 0))).toISOString();
      return { client, since, days: daysSince(since, now), contact: contactOf(tickets), tickets };
    })
    .sort((a, b) => a.since.localeCompare(b.since) || a.client.localeCompare(b.client));
}

/** Clients with `FAILED_DEPLOYS_FLAG` or more failures, in the order of their first failure. */
function repeatedFailures(failures: Attempt[]): { client: string; failures: Attempt[] }[] {
  return [...groupByClient(failures.map((f) => f.ticket)).keys()]
    .map((client) => ({ client, failures: failures.filter((f) => f.ticket.client === client) }))
    .filter((c) => c.failures.length >= FAILED_DEPLOYS_FLAG);
}

function flagQuiet(c: QuietClient): PlannedAction {
  const reason = `No ticket activity for ${c.days} days (last on ${isoDay(c.since)}: ${c.tickets.map((t) => `${t.key} ${t.state}`).join(', ')})`;
  return publishAction({ event: 'client.at_risk', data: { client: c.client, reason, contact: c.contact, since: c.since } }, `Flag ${c.client} at risk: ${reason}`, `client/${c.client}`);
}

function flagFailing(c: { client: string; failures: Attempt[] }): PlannedAction {
  const tickets = [...new Set(c.failures.map((f) => f.ticket.key))];
  const reason = `${c.failures.length} failed deployments in the last ${DEPLOYMENT_WINDOW_DAYS} days (${tickets.join(', ')}); last error: ${c.failures.at(-1)!.error ?? 'none given'}`;
  const data = { client: c.client, reason, contact: contactOf(c.failures.map((f) => f.ticket)), since: c.failures[0]!.at };
  return publishAction({ event: 'client.at_risk', data }, `Flag ${c.client} at risk: ${reason}`, `client/${c.client}`);
}

/** One note to #delivery: the clients whose builds complete this week, to book their delivery reviews. */
function reviewsNote(completing: [string, TicketView[]][]): PlannedAction {
  const lines = completing.map(([client, ts]) => {
    const builds = ts.map((t) => `${t.key} "${t.title}" (${t.state === 'approved' ? 'approved, deploying' : 'in review'})`).join(', ');
    return `${client}: ${builds}; contact ${contactOf(ts) ?? 'unknown'}`;
  });
  return notifyAction(
    {
      kind: 'brief',
      channel: 'delivery',
      severity: 'info',
      title: `Schedule delivery reviews: ${plural(completing.length, 'client')} with builds completing this week`,
      body: `${bullets(lines, 15)}\n\nBook a 30-minute delivery review with each client for after the deployment: walk them through the automation, hand over the documentation, agree how they report issues.`,
    },
    `Note to #delivery: schedule delivery reviews with ${completing.map(([c]) => c).join(', ')}`,
  );
}

/** The health summary to #delivery; a warning when a client has repeated failures. */
function summaryNote(headline: string, failures: Attempt[], failing: { client: string; failures: Attempt[] }[], churn: QuietClient[], completing: [string, TicketView[]][]): PlannedAction {
  const failed = (f: Attempt) => `${ticketName(f.ticket)} on ${isoDay(f.at)}: ${f.error ?? 'no error given'}${f.ticket.state === 'failed' ? ' (still failing)' : ''}`;
  const sections = [
    failures.length ? `Failed deployments (${DEPLOYMENT_WINDOW_DAYS} days):\n${bullets(failures.map(failed), 15)}` : `No failed deployment in ${DEPLOYMENT_WINDOW_DAYS} days.`,
    failing.length ? `Clients with ${FAILED_DEPLOYS_FLAG}+ failed deployments:\n${bullets(failing.map((c) => `${c.client}: ${c.failures.length}`), 15)}` : null,
    churn.length ? `Churn risk (no ticket activity for ${CHURN_QUIET_DAYS}+ days):\n${bullets(churn.map((c) => `${c.client}: quiet for ${c.days} days, contact ${c.contact ?? 'unknown'}`), 15)}` : null,
    completing.length ? `Builds completing this week: ${completing.map(([c, ts]) => `${c} (${ts.map((t) => t.key).join(', ')})`).join('; ')}.` : null,
  ].filter((x): x is string => x !== null);
  return notifyAction({ kind: 'summary', channel: 'delivery', severity: failing.length ? 'warning' : 'info', title: headline, body: sections.join('\n\n') }, `Summary to #delivery: ${headline}`);
}

/** The job. */
export const deliveryHealthJob: JobDefinition = {
  name: 'delivery-health-check',
  cron: '0 9 * * 1-5',
  description:
    'Client health check: failed deployments of the last 30 days; clients with no ticket activity for 30+ days (churn risk, client.at_risk); ' +
    'clients with builds completing this week (schedule delivery reviews); clients with 2+ failed deployments (flagged); the health summary to #delivery.',
  missed: 'skip',
  check: deliveryHealthCheck,
};
