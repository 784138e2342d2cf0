import { platformName, readTickets, type TicketView } from '../engineering/index.ts';
import { amount, bullets, emailAction, isEmail, isoDay, ms, notifyAction, plural } from '../kit/index.ts';
import type { JobDefinition, Plan, PlanContext, PlannedAction } from '../types.ts';
import { hoursSaved, MINUTES_PER_TASK, tasksSaved, TASKS_PER_AUTOMATION_MONTH } from './savings.ts';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The calendar month (UTC) before the one `now` is in: [start, end) in ms, and its name. */
export function previousMonth(now: number): { start: number; end: number; label: string } {
  const d = new Date(now);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const s = new Date(end - 1);
  const start = Date.UTC(s.getUTCFullYear(), s.getUTCMonth(), 1);
  return { start, end, label: `${MONTHS[s.getUTCMonth()]} ${s.getUTCFullYear()}` };
}

/** When an automation went live: its first successful deployment on record, else its last one. */
function liveFrom(t: TicketView): number | null {
  const first = t.deployments.find((d) => d.ok);
  return ms(first?.at ?? t.deployedAt);
}

/** One client's report for the period. */
export interface ClientReport {
  client: string;
  contact: string | null;
  period: string;
  /** `partOfMonth`: live for only a part of the period. */
  automations: { ticketId: string; title: string; platform: string; liveSince: string; partOfMonth: boolean; tasks: number }[];
  tasks: number;
  hours: number;
  deployments: { ok: number; failed: number };
}

function reportOf(client: string, tickets: TicketView[], period: { start: number; end: number; label: string }): ClientReport | null {
  const live = tickets
    .map((t) => ({ t, from: liveFrom(t) }))
    .filter((x): x is { t: TicketView; from: number } => x.from !== null && x.from < period.end)
    .sort((a, b) => a.from - b.from);
  if (live.length === 0) return null;
  const automations = live.map(({ t, from }) => ({ ticketId: t.key, title: t.title, platform: t.platform, liveSince: isoDay(from), partOfMonth: from > period.start, tasks: tasksSaved(from, period.start, period.end) }));
  const tasks = automations.reduce((n, a) => n + a.tasks, 0);
  const inPeriod = tickets.flatMap((t) => t.deployments).filter((d) => {
    const at = ms(d.at);
    return at !== null && at >= period.start && at < period.end;
  });
  const byActivity = [...tickets].sort((a, b) => (ms(b.lastActivityAt) ?? 0) - (ms(a.lastActivityAt) ?? 0));
  return {
    client,
    contact: byActivity.find((t) => isEmail(t.clientContact))?.clientContact ?? null,
    period: period.label,
    automations,
    tasks,
    hours: hoursSaved(tasks),
    deployments: { ok: inPeriod.filter((d) => d.ok).length, failed: inPeriod.filter((d) => !d.ok).length },
  };
}

/** The report email's text: what a client reads (after a person approved it). */
function reportBody(r: ClientReport): string {
  const lines = r.automations.map((a) => {
    const partial = a.partOfMonth ? ` (live since ${a.liveSince})` : '';
    return `${a.title} on ${platformName(a.platform)}${partial}: about ${amount(a.tasks)} tasks`;
  });
  const deploys = r.deployments.ok + r.deployments.failed;
  return [
    'Hello,',
    `Here is your automation report for ${r.period}.`,
    `Automations active: ${r.automations.length}\n${bullets(lines, 50)}`,
    `Estimated tasks handled by your automations: ${amount(r.tasks)}\nEstimated time saved: ${amount(r.hours)} hours`,
    deploys
      ? `Deployments this month: ${deploys}${r.deployments.failed ? ` (${r.deployments.failed} failed and retried)` : ', all successful'}.`
      : 'No changes were deployed this month; everything ran as set up.',
    `How we estimate: each live automation is counted at ${TASKS_PER_AUTOMATION_MONTH} tasks a month (fewer for a part of the month), ` +
      `and each task would take a person about ${MINUTES_PER_TASK} minutes by hand.`,
    'If there is another process you would like to automate, or anything you would like changed, just reply to this email.',
    'Best regards,\nThe delivery team',
  ].join('\n\n');
}

/**
 * `monthly-client-reports` (the 1st of each month, 09:00): for each client with at
 * least one deployed or closed ticket live before the end of last month, a
 * performance report of last month: automations active, estimated tasks saved
 * (`TASKS_PER_AUTOMATION_MONTH` per automation, prorated by the days it was live;
 * agents/delivery/savings.ts) and hours saved (`MINUTES_PER_TASK` per task), the
 * deployments of the month. One `email.send` per client to its contact (the latest
 * client email on its tickets): the gate holds it for a person's approval. One note
 * to #delivery: "X monthly reports ready for review". Clients without a contact
 * email get no draft; the note and the hints name them.
 */
export async function monthlyClientReports(ctx: PlanContext): Promise<Plan> {
  const period = previousMonth(ctx.now);
  const [deployed, closed] = await Promise.all([readTickets(ctx, { state: 'deployed' }), readTickets(ctx, { state: 'closed' })]);
  const byClient = new Map<string, TicketView[]>();
  for (const t of [...deployed.tickets, ...closed.tickets]) byClient.set(t.client, [...(byClient.get(t.client) ?? []), t]);
  const reports = [...byClient.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([client, tickets]) => reportOf(client, tickets, period))
    .filter((r): r is ClientReport => r !== null);
  if (reports.length === 0) {
    return { summary: `No client had an automation live in ${period.label}: no report to write.`, findings: { period: period.label, reports: [] }, actions: [], hints: [] };
  }

  const actions: PlannedAction[] = [];
  const drafted = reports.filter((r) => r.contact !== null);
  for (const r of drafted) {
    actions.push(
      emailAction(
        { to: r.contact!, subject: `${r.client}: your automation report for ${r.period}`, body: reportBody(r), related: `client/${r.client}` },
        `Monthly report for ${r.client} (${r.period}) to ${r.contact}: ${plural(r.automations.length, 'automation')}, ~${amount(r.tasks)} tasks, ~${amount(r.hours)} h saved. Review before it goes out.`,
        `client/${r.client}`,
      ),
    );
  }
  const missing = reports.filter((r) => r.contact === null);
  const lines = reports.map((r) => `${r.client}: ${plural(r.automations.length, 'automation')}, ~${amount(r.tasks)} tasks, ~${amount(r.hours)} h saved → ${r.contact ?? 'no contact email: not drafted'}`);
  actions.push(
    notifyAction(
      {
        kind: 'report',
        channel: 'delivery',
        severity: 'info',
        title: `${plural(drafted.length, 'monthly report')} ready for review`,
        body: `Reports for ${period.label}:\n${bullets(lines, 50)}\n\nEach email waits in the approval queue: read it, adjust it if needed, and approve it to send.`,
      },
      `Note to #delivery: ${drafted.length} monthly reports for ${period.label} ready for review`,
    ),
  );
  return {
    summary: `${plural(drafted.length, 'monthly report')} for ${period.label} drafted for review${missing.length ? `; ${missing.map((r) => r.client).join(', ')} without a contact email` : ''}.`,
    findings: { period: period.label, reports },
    actions,
    hints: missing.map((r) => `${r.client} has no client contact email on its tickets: set clientContact so next month's report can be sent.`),
  };
}

/** The job. */
export const monthlyReportsJob: JobDefinition = {
  name: 'monthly-client-reports',
  cron: '0 9 1 * *',
  description:
    "Monthly performance reports for every client with a live automation: automations active, estimated tasks saved (300 a month per automation) and hours saved (2 minutes per task); " +
    'one report email per client held for a person to approve, and "X monthly reports ready for review" to #delivery.',
  missed: 'run_once',
  check: monthlyClientReports,
};
