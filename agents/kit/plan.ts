import type { z } from 'zod';
import { AgentPublishParams, AgentSendParams, EmailParams, NotifyParams, SocialParams } from '../actions.ts';
import type { PlannedAction } from '../types.ts';
import { clip } from './text.ts';

/**
 * Planned actions built from the shared param schemas (agents/actions.ts),
 * parsed here so a check can never plan params the effect handlers refuse.
 * Texts are cut to the schemas' limits; a preview to 2,000 characters, a target
 * to 300.
 */

function planned(actionType: string, params: Record<string, unknown>, preview: string, target?: string): PlannedAction {
  return { actionType, params, preview: clip(preview, 2000), ...(target ? { target: clip(target, 300) } : {}) };
}

/** `email.send`; subject and related are cut to their limits. */
export function emailAction(p: z.input<typeof EmailParams>, preview: string, target?: string): PlannedAction {
  const params = EmailParams.parse({ ...p, subject: clip(p.subject, 300), ...(p.related ? { related: clip(p.related, 300) } : {}) });
  return planned('email.send', params, preview, target);
}

/** `notify.send`; title, body, topic and related are cut to their limits. */
export function notifyAction(p: NotifyParams, preview: string, target?: string): PlannedAction {
  const params = NotifyParams.parse({
    ...p,
    title: clip(p.title, 300),
    body: clip(p.body, 40_000),
    ...(p.topic ? { topic: clip(p.topic, 200) } : {}),
    ...(p.related ? { related: clip(p.related, 300) } : {}),
  });
  return planned('notify.send', params, preview, target);
}

/** `social.publish`; the text is cut to 3,000 characters. */
export function socialAction(p: SocialParams, preview: string, target?: string): PlannedAction {
  return planned('social.publish', SocialParams.parse({ ...p, text: clip(p.text, 3000) }), preview, target);
}

/** `agent.send`: an event to an entity actor, carried out by the agent actor itself. */
export function sendAction(p: AgentSendParams, preview: string): PlannedAction {
  const params = AgentSendParams.parse(p);
  return planned('agent.send', params, preview, `${params.to.kind}/${params.to.key}`);
}

/** `agent.publish`: a domain event from the catalogue, carried out by the agent actor itself. */
export function publishAction(p: AgentPublishParams, preview: string, target?: string): PlannedAction {
  return planned('agent.publish', AgentPublishParams.parse(p), preview, target);
}
