import type { AgentDefinition } from '../types.ts';
import { contentPipelineJob } from './content.ts';
import { marketingReactions } from './reactions.ts';

export { contentPipeline, contentPipelineJob, POSTS_PER_WEEK } from './content.ts';
export { onTicketDeployed, onLeadQualified, marketingReactions } from './reactions.ts';
export { caseStudyOutline, linkedInPost, blogIdea, expectedRoi } from './drafts.ts';

/**
 * The Marketing agent (`<tenant>/agent/marketing`): turns completed builds into
 * content. `marketing-content-pipeline` (Mondays 10:00) drafts case study outlines,
 * up to three LinkedIn posts and a blog idea from last week's closed builds; it
 * drafts a case study when a build goes live and adds qualified leads to nurture.
 * Every public post waits for a person's approval.
 */
export const marketingAgent: AgentDefinition = {
  name: 'marketing',
  title: 'Marketing',
  mission:
    'You are the Marketing agent of an automation agency: you turn the builds the team delivers into case studies, LinkedIn posts and blog ideas, ' +
    'and keep new leads warm. You never name a client publicly without their consent; a person approves every post.',
  jobs: [contentPipelineJob],
  reactions: marketingReactions,
  accepts: [],
  tools: ['publish_social_post', 'notify_team', 'send_email', 'delegate_task'],
};
