import type { z } from 'zod';
import { AgentPublishParams, AgentSendParams, EmailParams, NotifyParams, SocialParams } from '../actions.ts';
import type { PlannedAction } from '../types.ts';

/**
 * What the engineering, delivery and marketing checks share to write a plan:
 * planned actions built from the shared param schemas (agents/actions.ts, parsed
 * here so a check can never plan params the effect handlers refuse), the input
 * error, and small text helpers for what people read (deterministic: en-US
 * grouping, UTC dates).
 */

/**
 * A check was given input it cannot use: an event or a delegation whose data
 * does not have the shape the check needs. Not retryable: the same input fails
 * the same way. `issues` names each problem (`input.ticketId: …`).
 */
export class CheckInputError extends Error {
  readonly code = 'invalid_input';
  readonly retryable = false;
  constructor(
    readonly job: string,
    readonly issues: string[],
  ) {
    super(`${job}: invalid input: ${issues.join('; ')}`);
    this.name = 'CheckInputError';
  }
}

/** Parses a check's `ctx.input` with `schema`, or throws `CheckInputError` naming each problem. */
export function parseInput<T>(job: string, schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new CheckInputError(
    job,
    r.error.issues.map((i) => `input${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`),
  );
}

function planned(actionType: string, params: Record<string, unknown>, preview: string, target?: string): PlannedAction {
  return { actionType, params, preview: clip(preview, 2000), ...(target ? { target: clip(target, 300) } : {}) };
}

/** `email.send`. */
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

/** `social.publish`. */
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

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** `12,000`, `3.5`. */
export function amount(n: number): string {
  return GROUPED.format(n);
}

/** The UTC date of an instant: `2026-01-05`. */
export function isoDay(t: number | string): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** `1 day`, `3 days`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A bullet list of at most `max` lines, then `… and N more`. */
export function bullets(lines: string[], max = 15): string {
  const shown = lines.slice(0, max).map((l) => `• ${l}`);
  if (lines.length > max) shown.push(`• … and ${lines.length - max} more`);
  return shown.join('\n');
}

/** Cuts a text to `max` characters, ending with `…` when cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** `T-1 "Invoice intake" (Cornerstone)`. */
export function ticketName(t: { key: string; title: string; client: string }): string {
  const title = t.title && t.title !== t.key ? ` "${t.title}"` : '';
  return `${t.key}${title} (${t.client})`;
}

/** How the platforms are called in texts for people. */
export function platformName(p: string): string {
  return p === 'make' ? 'Make.com' : p === 'n8n' ? 'n8n' : p === 'zapier' ? 'Zapier' : 'a custom platform';
}
