/**
 * The Gmail API, as far as Cadre uses it: `users.messages.send` with a raw RFC
 * 2822 message. Plain fetch, one adapter: no Google SDK types leave this file.
 */
import { TerminalEffectError } from '../effects.ts';
import { postJson } from './http.ts';

/** How to reach Gmail. */
export interface GmailOptions {
  /** e.g. `https://gmail.googleapis.com` (tests: a fake on loopback). */
  baseUrl: string;
  accessToken: string;
  timeoutMs: number;
}

/** What Gmail answers a send with. */
export interface GmailSent {
  id: string | null;
  threadId: string | null;
}

type GoogleError = { error?: { code?: number; message?: string; status?: string; errors?: { reason?: string }[] } };

// A 403 with one of these reasons is Gmail's rate limiting, not a refusal.
const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

/**
 * Sends a message. 2xx: sent. 401, and 403 other than rate limiting: a
 * TerminalEffectError telling the operator to refresh the token. 408, 429, 5xx,
 * 403 rate limits, timeouts and connection failures: a plain Error (retried).
 * Any other 4xx (a message Gmail will not take): terminal.
 */
export async function gmailSend(o: GmailOptions, raw: string, signal?: AbortSignal): Promise<GmailSent> {
  const url = `${o.baseUrl.replace(/\/+$/, '')}/gmail/v1/users/me/messages/send`;
  const a = await postJson(url, { raw }, { timeoutMs: o.timeoutMs, signal, what: 'Gmail', headers: { authorization: `Bearer ${o.accessToken}` } });
  let body: unknown;
  try {
    body = a.text ? JSON.parse(a.text) : {};
  } catch {
    body = {};
  }
  if (a.status >= 200 && a.status < 300) {
    const b = body as { id?: unknown; threadId?: unknown };
    return { id: typeof b.id === 'string' ? b.id : null, threadId: typeof b.threadId === 'string' ? b.threadId : null };
  }
  const e = (body as GoogleError).error ?? {};
  const reasons = (e.errors ?? []).map((x) => x.reason).filter((r): r is string => typeof r === 'string');
  const said = `Gmail answered ${a.status}${e.status ? ` ${e.status}` : ''}${reasons.length ? ` (${reasons.join(', ')})` : ''}: ${e.message ?? (a.text.slice(0, 200) || 'no detail')}`;
  if (a.status === 401 || (a.status === 403 && !reasons.some((r) => RATE_REASONS.has(r)))) {
    throw new TerminalEffectError(
      `${said}. The access token is expired, revoked or lacks the https://www.googleapis.com/auth/gmail.send scope: ` +
        'refresh CADRE_GMAIL_ACCESS_TOKEN, restart Cadre, and ask again (gate.retry)',
      'gmail_unauthorized',
    );
  }
  if (a.status === 403 || a.status === 408 || a.status === 429 || a.status >= 500) throw new Error(said);
  throw new TerminalEffectError(said, 'gmail_refused');
}
