/**
 * Notifications as Slack incoming-webhook messages (`{ text, blocks }`), and the
 * post itself. Anything that accepts that JSON works as a target (Slack,
 * Mattermost, a relay of one's own).
 */
import { TerminalEffectError } from '../effects.ts';
import { hostOf, postJson } from './http.ts';

/** What a notification says, as the webhook renders it. */
export interface NotificationMessage {
  kind: string;
  channel: string;
  severity: 'info' | 'warning' | 'urgent';
  title: string;
  body: string;
  topic?: string | null;
  related?: string | null;
  agent?: string | null;
}

/** A Slack Block Kit block, as far as notify uses them. */
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: true } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] };

/** The JSON posted to the webhook. */
export interface SlackMessage {
  /** The fallback shown in notifications and by clients without blocks. */
  text: string;
  blocks: SlackBlock[];
}

const LABEL = { info: ':information_source: Info', warning: ':warning: Warning', urgent: ':rotating_light: Urgent' } as const;
// Slack's limits: header text 150 characters, section text 3000, 50 blocks a message.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const MAX_SECTIONS = 45;

/** Escapes the three characters Slack's mrkdwn gives a meaning to (`<@U1>`, `<!channel>`, links). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A notification as a Slack message: a header with the severity and the title,
 * the body (escaped, in sections of at most 3000 characters), and a context line
 * with the channel, the kind and what it concerns.
 * @example slackMessage({ kind: 'alert', channel: 'builds', severity: 'urgent', title: 'Deploy failed', body: 'main is red' })
 */
export function slackMessage(n: NotificationMessage): SlackMessage {
  const label = LABEL[n.severity];
  const header = clip(`${label}: ${n.title}`, HEADER_MAX);
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: header, emoji: true } }];
  const sections = chunks(n.body, SECTION_MAX);
  if (sections.length > MAX_SECTIONS) {
    sections.length = MAX_SECTIONS;
    sections[MAX_SECTIONS - 1] = `${sections[MAX_SECTIONS - 1]!.slice(0, SECTION_MAX - 80)}\n… (cut short; the full text is in Cadre)`;
  }
  for (const text of sections) blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
  const about = [`#${n.channel}`, n.kind, n.topic ? `topic ${n.topic}` : null, n.related ? `re ${n.related}` : null, n.agent ? `from ${n.agent}` : null].filter(Boolean);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(about.join(' · ')) }] });
  return { text: escapeMrkdwn(`${label}: ${n.title}`), blocks };
}

/** `s` cut to `max` characters (code points), with an ellipsis when cut. */
function clip(s: string, max: number): string {
  const cps = [...s];
  return cps.length <= max ? s : `${cps.slice(0, max - 1).join('')}…`;
}

/** The escaped body in pieces of at most `max` characters, breaking at a newline where one is near, never inside an escape or a character. */
function chunks(body: string, max: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const cp of body) {
    const piece = escapeMrkdwn(cp);
    if (cur.length + piece.length > max) {
      const nl = cur.lastIndexOf('\n');
      if (nl > max / 2) {
        out.push(cur.slice(0, nl));
        cur = cur.slice(nl + 1);
      } else {
        out.push(cur);
        cur = '';
      }
    }
    cur += piece;
  }
  if (cur.trim().length > 0) out.push(cur);
  return out;
}

/**
 * Posts a message to a webhook. A 2xx answer is delivered. No answer in time, a
 * connection failure, 408, 429 or 5xx: a plain Error (the executor retries).
 * Any other answer (a 4xx such as Slack's `invalid_payload`, `channel_not_found`,
 * `no_service`, or a redirect): a TerminalEffectError, since the same post will be
 * refused again. Messages name the host, never the URL (its path is the secret).
 */
export async function postToWebhook(url: string, message: SlackMessage, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const a = await postJson(url, message, { ...opts, what: 'the notification webhook' });
  if (a.status >= 200 && a.status < 300) return;
  const said = `the notification webhook (${hostOf(url)}) answered ${a.status}${a.text ? `: ${a.text.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
  if (a.status === 408 || a.status === 429 || a.status >= 500) throw new Error(said);
  throw new TerminalEffectError(`${said}; check the webhook (PUT /v1/notifications/webhook or CADRE_NOTIFY_WEBHOOK_URL)`, 'webhook_refused');
}
