import { z } from 'zod';
import { Token } from '../bus/address.ts';

/**
 * The params of the action types agents plan most, shared by the planners (rule-based
 * and Claude), the effect handlers and the tests. Machines of entities use the same
 * shapes (`to`, `subject`, `body` for email.send).
 */

/** `email.send`: one email. `to` may be one address or a few (the gate's bulk-send policy counts them). */
export const EmailParams = z.object({
  to: z.union([z.string().email(), z.array(z.string().email()).min(1).max(50)]),
  cc: z.array(z.string().email()).max(50).optional(),
  subject: z.string().min(1).max(300),
  /** Plain text. */
  body: z.string().min(1).max(100_000),
  replyTo: z.string().email().optional(),
  /** What it concerns, e.g. `deal/D-1`. */
  related: z.string().max(300).optional(),
});
export type EmailParams = z.infer<typeof EmailParams>;

/** Kinds of notification. */
export const NotificationKind = z.enum(['brief', 'report', 'alert', 'summary', 'draft']);
export type NotificationKind = z.infer<typeof NotificationKind>;

/**
 * `notify.send`: a notification to the company's people (a brief, a report, an
 * alert), recorded and delivered to the tenant's configured webhook (a Slack
 * incoming webhook, for example). Alerts are throttled per `topic`.
 */
export const NotifyParams = z.object({
  kind: NotificationKind,
  /** A channel name such as `leadership`, `sales`, `builds`, `delivery`, `marketing`. */
  channel: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,79}$/, 'must be a channel name such as sales or leadership'),
  severity: z.enum(['info', 'warning', 'urgent']).default('info'),
  title: z.string().min(1).max(300),
  /** Plain text (Slack renders its mrkdwn subset). */
  body: z.string().max(40_000),
  /** Alerts with the same topic are throttled together, e.g. `task.failed:email.send`. */
  topic: z.string().max(200).optional(),
  /** What it concerns, e.g. `run/<id>` or `deal/D-1`. */
  related: z.string().max(300).optional(),
});
export type NotifyParams = z.input<typeof NotifyParams>;

/** `social.publish`: a post, drafted by marketing, published once approved. */
export const SocialParams = z.object({
  network: z.enum(['linkedin', 'x', 'facebook']),
  text: z.string().min(1).max(3000),
  related: z.string().max(300).optional(),
});
export type SocialParams = z.infer<typeof SocialParams>;

/** `agent.delegate`: ask another agent for a task (see agents/types.ts). */
export const DelegateParams = z.object({
  to: z.enum(['sales', 'delivery', 'engineering', 'executive', 'marketing']),
  task: z.string().regex(/^[a-z][a-z0-9-]{0,79}$/),
  input: z.record(z.string(), z.unknown()).default({}),
  /** How long the delegator waits for the result. @default one hour */
  deadlineMs: z.number().int().min(1000).max(30 * 24 * 3600 * 1000).default(3600 * 1000),
});
export type DelegateParams = z.input<typeof DelegateParams>;

/** `agent.send`: a message from the agent to an entity actor (e.g. create a ticket for a won deal). */
export const AgentSendParams = z.object({
  to: z.object({ kind: Token, key: Token }),
  event: z.object({ type: z.string().min(1) }).passthrough(),
});
export type AgentSendParams = z.infer<typeof AgentSendParams>;

/** `agent.publish`: a domain event from the catalogue, e.g. `client.at_risk`. */
export const AgentPublishParams = z.object({
  event: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
  data: z.record(z.string(), z.unknown()),
});
export type AgentPublishParams = z.infer<typeof AgentPublishParams>;
