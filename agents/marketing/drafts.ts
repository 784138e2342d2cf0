import { HOURLY_COST, MINUTES_PER_TASK, monthlySavings, paybackMonths, TASKS_PER_AUTOMATION_MONTH } from '../delivery/index.ts';
import { platformName, type TicketView } from '../engineering/index.ts';
import { amount, isoDay, joinAnd } from '../kit/index.ts';

/**
 * The texts marketing drafts from completed builds: case study outlines, LinkedIn
 * posts and a blog idea. Outlines are for the team and may name the client;
 * public posts never do (a person adds the name once the client agreed). ROI
 * figures use delivery's documented estimate (agents/delivery/savings.ts).
 */

/** The expected ROI of one build, in words. */
export function expectedRoi(t: TicketView): string {
  const s = monthlySavings();
  const payback = paybackMonths(t.value);
  return (
    `~${TASKS_PER_AUTOMATION_MONTH} tasks a month automated at ~${MINUTES_PER_TASK} minutes each → ~${amount(s.hours)} hours saved a month ` +
    `(~${amount(s.hours * 12)} a year), worth ~${amount(s.cost)} a month at ${HOURLY_COST}/hour loaded cost` +
    `${payback !== null ? `; the build (${amount(t.value)}) pays back in ~${amount(payback)} months` : ''}. Replace with the client's real run numbers once known.`
  );
}

/** A case study outline for the team: company type, problem, solution, automation built, expected ROI. */
export function caseStudyOutline(t: TicketView): string {
  const live = t.deployedAt ? `, live since ${isoDay(t.deployedAt)}` : '';
  return [
    `Case study outline: ${t.client} (${t.key})`,
    `Company type: ${t.client}; industry and size are not on record: confirm them in the delivery review.`,
    `Problem: the manual work behind "${t.title}": who did it, how often, and what it cost them (ask ${t.clientContact ?? 'the client contact'}).`,
    `Solution: ${automation(t.platform)} built by ${t.owner ?? 'our engineering team'}${t.approvedBy ? `, reviewed by ${t.approvedBy}` : ''}${live}.`,
    `Automation built: "${t.title}" (ticket ${t.key}${t.revisions ? `, ${t.revisions} review round${t.revisions === 1 ? '' : 's'}` : ''}).`,
    `Expected ROI: ${expectedRoi(t)}`,
    `Before publishing: get ${t.client}'s permission to be named and a one-line quote.`,
  ].join('\n');
}

const OPENERS = [
  (t: TicketView) => `We just wrapped up a new automation for a client: "${t.title}", built on ${platformName(t.platform)}.`,
  (t: TicketView) => `Another process off a client's to-do list this week: "${t.title}", now running on ${platformName(t.platform)}.`,
  (t: TicketView) => `A small build with a big effect: we automated "${t.title}" for a client on ${platformName(t.platform)}.`,
];
const CLOSERS = [
  'What repetitive task would you automate first?',
  'Which step in your week do you do by hand every single time?',
  'If you could hand one recurring task to a machine tomorrow, which would it be?',
];

/** The `n`th LinkedIn post of the week (0, 1 or 2), about one build; the client is not named. */
export function linkedInPost(t: TicketView, n: number): string {
  const s = monthlySavings();
  const tag = t.platform === 'make' ? '#make' : t.platform === 'other' ? '#workflow' : `#${t.platform}`;
  return [
    OPENERS[n % OPENERS.length]!(t),
    `What used to be done by hand now runs on its own: around ${TASKS_PER_AUTOMATION_MONTH} tasks a month, roughly ${amount(s.hours)} hours given back to the team every month.`,
    'The pattern we keep seeing: the biggest wins come from the small, repetitive steps nobody has time to fix.',
    CLOSERS[n % CLOSERS.length]!,
    `#automation ${tag} #operations`,
  ].join('\n\n');
}

/** A blog post idea with its outline, from some completed builds. */
export function blogIdea(builds: TicketView[]): { title: string; outline: string } {
  const platforms = [...new Set(builds.map((b) => platformName(b.platform)))];
  const hours = monthlySavings().hours * builds.length;
  const title =
    builds.length === 1
      ? `What automating "${builds[0]!.title}" taught us about ${platforms[0]}`
      : `${builds.length} automations, ~${amount(hours)} hours a month: what we learned building on ${joinAnd(platforms)}`;
  const outline = [
    `Working title: ${title}`,
    `1. The problem: the repetitive work behind ${builds.map((b) => `"${b.title}"`).join(', ')}, and what it costs a team each month.`,
    '2. How we pick what to automate first: frequency × minutes per run × error cost.',
    `3. Inside the builds: ${platforms.join(', ')}, the integrations involved, and the review before deployment.`,
    `4. Results: ~${TASKS_PER_AUTOMATION_MONTH} tasks and ~${amount(monthlySavings().hours)} hours saved per automation per month (our estimate; swap in real run data).`,
    '5. A checklist for readers: three signs a process is ready to automate.',
    'Call to action: book a free opportunity assessment.',
    'Clients stay unnamed unless they agreed to a case study.',
  ].join('\n');
  return { title, outline };
}

/** `a Make.com automation`, `an n8n automation`, `a custom automation`. */
function automation(platform: string): string {
  return platform === 'other' ? 'a custom automation' : `${platform === 'n8n' ? 'an' : 'a'} ${platformName(platform)} automation`;
}
