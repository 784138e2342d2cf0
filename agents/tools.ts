import { Token } from '../bus/address.ts';
import { z } from 'zod';
import {
  AgentPublishParams,
  AgentSendParams,
  DelegateParams,
  EmailParams,
  NotifyParams,
  SocialParams,
} from './actions.ts';
import { PlannedAction } from './types.ts';

/**
 * The tool catalogue: what the Claude planner may ask for, each tool mapping onto
 * one planned action (agents/types.ts) whose params are built by the schemas of
 * agents/actions.ts. A tool call never acts: it adds an action to the plan, and
 * the action goes through the company's gate like any other (docs/agents.md).
 * Agents list the tools they may use by name (`AgentDefinition.tools`).
 */

/** The object schemas tools take: what `z.toJSONSchema` turns into the model's `input_schema`. */
export type ToolInput = z.ZodType<Record<string, unknown>>;

/** One tool: its name and description for the model, its input schema, its mapping onto a planned action. */
export interface Tool<I extends ToolInput = ToolInput> {
  /** `snake_case`, unique in the catalogue. */
  readonly name: string;
  /** What the model reads to decide when to use it. */
  readonly description: string;
  /** The arguments; the model's input is validated with it before `toAction`. */
  readonly input: I;
  /** The planned action for validated arguments; throws (a ZodError) if the params it builds are invalid. */
  toAction(args: z.output<I>): PlannedAction;
}

/** A tool as the model is offered it (the Messages API's tool definition, minus vendor types). */
export interface ToolSpec {
  name: string;
  description: string;
  /** A JSON Schema of an object (`type: 'object'`). */
  inputSchema: Record<string, unknown>;
}

/**
 * Declares a tool; the result is frozen.
 * @example
 * const ping = defineTool({ name: 'ping', description: 'Say hi', input: z.object({ to: z.string() }), toAction: (a) => …});
 */
export function defineTool<I extends ToolInput>(tool: Tool<I>): Tool<I> {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(tool.name)) throw new TypeError(`tool name "${tool.name}" must be snake_case, at most 64 characters`);
  return Object.freeze({ ...tool });
}

/** Text for people, cut to what a preview may hold. */
function clip(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** A planned action, checked by the `PlannedAction` schema. */
function planned(actionType: string, params: Record<string, unknown>, preview: string, target?: string): PlannedAction {
  return PlannedAction.parse({ actionType, params, preview: clip(preview, 2000), ...(target ? { target } : {}) });
}

const related = z.string().max(300).describe('What it concerns, as kind/key, e.g. deal/D-1042 or contact/C-7');

/** `send_email` → `email.send`. */
export const sendEmail = defineTool({
  name: 'send_email',
  description:
    'Send one email to a client, lead or partner (action email.send). Plain text, written to the person, one clear purpose. ' +
    'Never send the same message to many people: one recipient, or a few who are on the same thread.',
  input: z.object({
    to: EmailParams.shape.to.describe('The recipient address, or a few addresses on the same thread'),
    cc: EmailParams.shape.cc,
    subject: EmailParams.shape.subject,
    body: EmailParams.shape.body.describe('Plain text, signed off as the company'),
    related: related.optional(),
  }),
  toAction(a) {
    const params = EmailParams.parse(a);
    const to = Array.isArray(params.to) ? params.to.join(', ') : params.to;
    return planned('email.send', params, `Email ${to}: ${params.subject}`, params.related);
  },
});

/** `notify_team` → `notify.send`. */
export const notifyTeam = defineTool({
  name: 'notify_team',
  description:
    "Notify the company's own people (action notify.send): a brief, a report, an alert, a summary or a draft for review, " +
    'posted to a team channel such as sales, delivery, builds, marketing or leadership.',
  input: z.object({
    kind: NotifyParams.shape.kind,
    channel: NotifyParams.shape.channel.describe('The team channel, e.g. sales, delivery, builds, marketing, leadership'),
    severity: NotifyParams.shape.severity,
    title: NotifyParams.shape.title,
    body: NotifyParams.shape.body,
    topic: NotifyParams.shape.topic.describe('Alerts with the same topic are throttled together'),
    related: related.optional(),
  }),
  toAction(a) {
    const params = NotifyParams.parse(a);
    return planned('notify.send', params, `${params.kind} to #${params.channel}: ${params.title}`, params.related);
  },
});

/** `publish_social_post` → `social.publish`. */
export const publishSocialPost = defineTool({
  name: 'publish_social_post',
  description: 'Publish one post on a company social account (action social.publish); a person approves it first unless the company decided otherwise.',
  input: z.object({
    network: SocialParams.shape.network,
    text: SocialParams.shape.text,
    related: related.optional(),
  }),
  toAction(a) {
    const params = SocialParams.parse(a);
    return planned('social.publish', params, `${params.network} post: ${params.text}`, params.related);
  },
});

/** `delegate_task` → `agent.delegate`. */
export const delegateTask = defineTool({
  name: 'delegate_task',
  description:
    'Ask another department agent to do a task it accepts (action agent.delegate), e.g. delivery for an order check. ' +
    'The other agent plans and acts on its own; its result comes back later.',
  input: z.object({
    to: DelegateParams.shape.to,
    task: DelegateParams.shape.task.describe('The task name the other agent accepts, kebab-case'),
    input: DelegateParams.shape.input.describe('The input the task needs'),
    deadlineMs: DelegateParams.shape.deadlineMs.describe('How long to wait for the result, in milliseconds'),
  }),
  toAction(a) {
    const params = DelegateParams.parse(a);
    return planned('agent.delegate', params, `Ask ${params.to}: ${params.task}`, `agent/${params.to}`);
  },
});

/** Why a person should get a task; the gate's `no_human_task` policy checks it (runtime/gate/policies.ts). */
export const HumanTaskTrigger = z.enum(['client_request', 'compliance_deadline', 'safety_escalation']);

/** `create_human_task` → `task.create`, with the evidence the gate's `no_human_task` policy reads. */
export const createHumanTask = defineTool({
  name: 'create_human_task',
  description:
    'Create a task for a person (action task.create). Only when a client explicitly asked for something a person must do ' +
    '(quote the client\'s own words in requestedByClient), a compliance deadline is due, or safety needs escalation. ' +
    'Never to "follow up" or "check in": the gate blocks those.',
  input: z
    .object({
      title: z.string().min(1).max(300),
      details: z.string().max(10_000).optional(),
      trigger: HumanTaskTrigger,
      requestedByClient: z
        .string()
        .min(1)
        .max(2000)
        .optional()
        .describe("The client's own words asking for it, quoted exactly from their message (required when trigger is client_request)"),
      due: z.iso.date().optional().describe('The due date, YYYY-MM-DD'),
      related: related.optional(),
    })
    .superRefine((a, ctx) => {
      if (a.trigger === 'client_request' && !a.requestedByClient) {
        ctx.addIssue({ code: 'custom', path: ['requestedByClient'], message: "a client request needs the client's own words quoted in requestedByClient" });
      }
    }),
  toAction(a) {
    // The gate reads `trigger`, `evidence` and `evidenceFrom` (humanTaskAllowed); `requestedByClient`
    // stays beside them so people see the quote under the name the model used.
    const evidence = a.trigger === 'client_request' && a.requestedByClient ? { requestedByClient: a.requestedByClient, evidence: a.requestedByClient, evidenceFrom: 'client' } : {};
    const params = { title: a.title, trigger: a.trigger, ...evidence, ...(a.details ? { details: a.details } : {}), ...(a.due ? { due: a.due } : {}), ...(a.related ? { related: a.related } : {}) };
    return planned('task.create', params, `Task: ${a.title}`, a.related);
  },
});

/** The data of `client.at_risk`, as `flag_client_at_risk` publishes it. */
export const ClientAtRisk = z.object({
  client: z.string().min(1).max(300).describe('The client: its name, or its key such as contact/C-7'),
  reason: z.string().min(1).max(2000),
  contact: z.string().min(1).max(300).nullable().describe('The contact to reach (an address or contact key), or null'),
  since: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).nullable().describe('Since when (ISO date or time), or null'),
});

/** `flag_client_at_risk` → `agent.publish` of `client.at_risk`. */
export const flagClientAtRisk = defineTool({
  name: 'flag_client_at_risk',
  description: 'Publish the domain event client.at_risk (action agent.publish) so the other agents and people know a client may be lost, with why.',
  input: z.object({
    client: ClientAtRisk.shape.client,
    reason: ClientAtRisk.shape.reason,
    contact: ClientAtRisk.shape.contact.default(null),
    since: ClientAtRisk.shape.since.default(null),
  }),
  toAction(a) {
    const params = AgentPublishParams.parse({ event: 'client.at_risk', data: ClientAtRisk.parse(a) });
    return planned('agent.publish', params, `Client at risk: ${a.client}: ${a.reason}`, a.client);
  },
});

/** Entity kinds: anything but agents, which are asked through `delegate_task`. */
const EntityKind = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be an entity kind such as deal, bid, order or contact')
  .refine((k) => k !== 'agent', 'agents are asked with delegate_task, not sent events');

/** `update_entity` → `agent.send`. */
export const updateEntity = defineTool({
  name: 'update_entity',
  description:
    'Send an event to a business entity (action agent.send): a deal, bid, order or contact, e.g. {"type":"note","text":"…"}. ' +
    'The entity accepts only the events it knows and refuses the others.',
  input: z.object({
    kind: EntityKind,
    key: Token.describe('The entity key, e.g. D-1042 (letters, digits, "_" and "-")'),
    event: AgentSendParams.shape.event.describe('The event: its type and its fields'),
  }),
  toAction(a) {
    const params = AgentSendParams.parse({ to: { kind: a.kind, key: a.key }, event: a.event });
    return planned('agent.send', params, `${params.event.type} → ${a.kind}/${a.key}`, `${a.kind}/${a.key}`);
  },
});

/** `research.run`: research on a question (the gate holds it while engagements are overdue). */
export const ResearchParams = z.object({
  query: z.string().min(1).max(1000),
  reason: z.string().min(1).max(2000),
  related: z.string().max(300).optional(),
});
export type ResearchParams = z.infer<typeof ResearchParams>;

/** `run_research` → `research.run`. */
export const runResearch = defineTool({
  name: 'run_research',
  description:
    'Research a question (action research.run): a prospect, a market, a competitor. Research waits while any follow-up is overdue: engage first.',
  input: z.object({
    query: ResearchParams.shape.query.describe('What to find out'),
    reason: ResearchParams.shape.reason.describe('Why it matters now'),
    related: related.optional(),
  }),
  toAction(a) {
    const params = ResearchParams.parse(a);
    return planned('research.run', params, `Research: ${params.query}`, params.related);
  },
});

/** Every tool, by name. */
export const TOOLS: Readonly<Record<string, Tool>> = Object.freeze(
  Object.fromEntries(
    [sendEmail, notifyTeam, publishSocialPost, delegateTask, createHumanTask, flagClientAtRisk, updateEntity, runResearch].map((t): [string, Tool] => [t.name, t]),
  ),
);

/** The names in the catalogue. */
export const TOOL_NAMES: readonly string[] = Object.freeze(Object.keys(TOOLS));

/** Thrown for a tool name that is not in the catalogue (an agent definition naming one is a mistake). */
export class UnknownToolError extends Error {
  readonly code = 'unknown_tool';
  readonly retryable = false;
  constructor(readonly tool: string) {
    super(`unknown tool "${tool}"; the tools are ${TOOL_NAMES.join(', ')}`);
    this.name = 'UnknownToolError';
  }
}

/**
 * The tools of these names, in this order; throws `UnknownToolError` for a name not in the catalogue.
 * @example
 * const tools = toolsFor(['send_email', 'notify_team']);
 */
export function toolsFor(names: readonly string[]): Tool[] {
  return [...new Set(names)].map((n) => {
    const tool = Object.hasOwn(TOOLS, n) ? TOOLS[n] : undefined;
    if (!tool) throw new UnknownToolError(n);
    return tool;
  });
}

/** The JSON Schema of a tool's input, as the model is given it: an object, its input shape (defaults optional). */
export function toolJsonSchema(tool: Tool): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' });
  return { ...schema, type: 'object' };
}

/** The tools as offered to the model. */
export function toolSpecs(tools: readonly Tool[]): ToolSpec[] {
  return tools.map((t) => ({ name: t.name, description: t.description, inputSchema: toolJsonSchema(t) }));
}
