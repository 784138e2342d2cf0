import { readTickets, ticketView, type TicketView } from '../engineering/index.ts';
import { DAY_MS, notifyAction, plural, socialAction } from '../kit/index.ts';
import type { JobDefinition, Plan, PlanContext, PlannedAction } from '../types.ts';
import { blogIdea, caseStudyOutline, linkedInPost } from './drafts.ts';

/** LinkedIn posts drafted per week at most. */
export const POSTS_PER_WEEK = 3;
/** Completed builds a blog idea draws on at most. */
const BLOG_BUILDS = 5;

/**
 * `marketing-content-pipeline` (Mondays 10:00): the week's content from the builds
 * closed in the 7 days before the run (`closedAt` in [now - 7 days, now)):
 *
 * - per build, a case study outline to #marketing (a draft: company type, problem,
 *   solution, automation built, expected ROI);
 * - up to 3 LinkedIn posts (`social.publish`, held for a person's approval), one per
 *   build, the most valuable builds first; none without builds (a hint says so);
 * - 1 blog idea with an outline, from last week's builds, else from the latest
 *   closed builds of all time; none when nothing was ever closed;
 * - "X content pieces ready for review" to #marketing, when there is anything.
 */
export async function contentPipeline(ctx: PlanContext): Promise<Plan> {
  const weekAgo = new Date(ctx.now - 7 * DAY_MS).toISOString();
  const now = new Date(ctx.now).toISOString();
  const { tickets: builds } = await readTickets(ctx, {
    state: 'closed',
    where: [
      { field: 'closedAt', op: 'gte', value: weekAgo },
      { field: 'closedAt', op: 'lt', value: now },
    ],
    orderBy: { field: 'value', dir: 'desc' },
  });
  let blogFrom: TicketView[] = builds.slice(0, BLOG_BUILDS);
  if (blogFrom.length === 0) {
    // No build last week: the latest closed builds of all time, for the blog idea only.
    const latest = await ctx.read.query(ctx.tenant, { kind: 'ticket', state: 'closed', orderBy: { field: 'closedAt', dir: 'desc' }, limit: BLOG_BUILDS });
    blogFrom = latest.items.filter((i) => i.status !== 'stopped').map(ticketView);
  }

  const actions: PlannedAction[] = [];
  for (const t of builds) {
    actions.push(
      notifyAction(
        { kind: 'draft', channel: 'marketing', severity: 'info', title: `Case study outline: ${t.client} (${t.title})`, body: caseStudyOutline(t), related: `ticket/${t.key}` },
        `Draft to #marketing: case study outline for ${t.client} (${t.key})`,
        `ticket/${t.key}`,
      ),
    );
  }
  const posted = builds.slice(0, POSTS_PER_WEEK);
  posted.forEach((t, i) => {
    actions.push(socialAction({ network: 'linkedin', text: linkedInPost(t, i), related: `ticket/${t.key}` }, `LinkedIn post ${i + 1} of ${posted.length} about "${t.title}" (${t.key}, ${t.client}); the post does not name the client: check the title does not either`, `ticket/${t.key}`));
  });
  const blog = blogFrom.length ? blogIdea(blogFrom) : null;
  if (blog) {
    actions.push(
      notifyAction(
        { kind: 'draft', channel: 'marketing', severity: 'info', title: `Blog idea: ${blog.title}`, body: blog.outline },
        `Draft to #marketing: blog idea "${blog.title}"`,
      ),
    );
  }
  const pieces = actions.length;
  if (pieces > 0) {
    const body = [
      `${plural(builds.length, 'build')} closed last week${builds.length ? `: ${builds.map((t) => `${t.key} ${t.client}`).join(', ')}` : ''}.`,
      `${plural(builds.length, 'case study outline')}, ${plural(posted.length, 'LinkedIn post')} (in the approval queue), ${blog ? '1 blog idea' : 'no blog idea'}.`,
    ].join('\n');
    actions.push(notifyAction({ kind: 'summary', channel: 'marketing', severity: 'info', title: `${plural(pieces, 'content piece')} ready for review`, body }, `Summary to #marketing: ${pieces} content pieces ready for review`));
  }

  const hints: string[] = [];
  if (builds.length === 0) hints.push('No build closed last week: no case study or LinkedIn post this week. Consider a post from an older success or the blog idea.');
  if (!blog) hints.push('No build has ever been closed: nothing to write about yet.');
  return {
    summary:
      pieces > 0
        ? `${plural(pieces, 'content piece')} ready for review from ${plural(builds.length, 'build')} closed last week.`
        : 'No build closed last week and none ever: no content drafted.',
    findings: {
      closedLastWeek: builds.map((t) => t.key),
      caseStudies: builds.map((t) => t.key),
      linkedInPosts: posted.map((t) => t.key),
      blog: blog ? { title: blog.title, basedOn: blogFrom.map((t) => t.key) } : null,
      pieces,
    },
    actions,
    hints,
  };
}

/** The job. */
export const contentPipelineJob: JobDefinition = {
  name: 'marketing-content-pipeline',
  cron: '0 10 * * 1',
  description:
    'Weekly content from the builds closed last week: a case study outline per build, up to 3 LinkedIn post drafts (a person approves each), ' +
    '1 blog idea with an outline, and "X content pieces ready for review" to #marketing.',
  missed: 'skip',
  check: contentPipeline,
};
