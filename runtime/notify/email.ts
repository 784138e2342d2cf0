/**
 * The `email.send` effect. With CADRE_GMAIL_ACCESS_TOKEN set it sends through the
 * Gmail API as CADRE_MAIL_FROM; without it (demo mode) it records the email and
 * logs that it was not sent. Either way the email is recorded in `sent_emails`,
 * keyed by the effect id, before anything is sent.
 */
import { z } from 'zod';
import { EmailParams } from '../../agents/actions.ts';
import type { Clock } from '../clock.ts';
import { paramsOf, TerminalEffectError, type EffectHandler, type EffectRequest } from '../effects.ts';
import type { Logger } from '../logger.ts';
import type { Database } from '../store/index.ts';
import type { NotifyConfig } from './config.ts';
import { gmailSend } from './gmail.ts';
import { buildMessage, HeaderInjectionError, messageIdFor, refuseLineBreaks } from './mime.ts';
import type { SentEmailRow } from './notifications.ts';
import { databaseOf, type DatabaseSource } from './source.ts';

/** The action type. */
export const EMAIL_SEND = 'email.send';

/** What `email.send` answers the actor. */
export type EmailResult =
  | { emailId: string; delivered: true; transport: 'gmail'; providerId: string | null; threadId: string | null }
  | { emailId: string; delivered: false; transport: 'log' };

const NOT_SENT = 'email not sent: no mail transport configured (CADRE_GMAIL_ACCESS_TOKEN); recorded';

/**
 * The `email.send` handler. Idempotent by the effect id: once its record says
 * sent (or logged), a retry answers the same result and sends nothing.
 * @example runtime options: { effects: [emailSendEffect(() => rt.db, clock, loadNotifyConfig(), log)] }
 */
export function emailSendEffect(db: DatabaseSource, clock: Clock, config: NotifyConfig, log: Logger): EffectHandler {
  const l = log.child({ component: 'email' });
  return {
    actionType: EMAIL_SEND,
    retry: { attempts: 5, backoffMs: 5000, maxBackoffMs: 300_000 },
    timeoutMs: config.mailTimeoutMs + 5000,
    run: (req) => send(databaseOf(db), clock, config, l, req),
  };
}

async function send(db: Database, clock: Clock, config: NotifyConfig, log: Logger, req: EffectRequest): Promise<EmailResult> {
  const e = paramsOf(EmailParams, req);
  const to = Array.isArray(e.to) ? e.to : [e.to];
  try {
    refuseLineBreaks('subject', e.subject);
    for (const a of [...to, ...(e.cc ?? []), ...(e.replyTo ? [e.replyTo] : [])]) refuseLineBreaks('recipient address', a);
  } catch (err) {
    if (err instanceof HeaderInjectionError) throw new TerminalEffectError(err.message, 'header_injection');
    throw err;
  }
  const gmail = config.gmailAccessToken && config.mailFrom ? { accessToken: config.gmailAccessToken, from: config.mailFrom } : null;
  const rec = await record(db, clock, req, { ...e, to }, gmail ? 'gmail' : 'log', config.mailFrom ?? null);
  if (rec.status === 'sent') return { emailId: rec.id, delivered: true, transport: 'gmail', providerId: rec.provider_id, threadId: rec.thread_id };
  if (rec.status === 'logged') return { emailId: rec.id, delivered: false, transport: 'log' };

  if (!gmail) {
    await update(db, rec, `status = 'logged', transport = 'log', attempts = attempts + 1, error = NULL`);
    log.info({ tenant: req.tenant, email: rec.id, to, subject: e.subject, related: e.related }, NOT_SENT);
    return { emailId: rec.id, delivered: false, transport: 'log' };
  }
  const raw = Buffer.from(
    buildMessage({ from: gmail.from, to, cc: e.cc, replyTo: e.replyTo, subject: e.subject, body: e.body, date: new Date(clock.now()), messageId: messageIdFor(`${req.tenant}/${req.id}`, gmail.from) }),
    'utf8',
  ).toString('base64url');
  await update(db, rec, `status = 'sending', transport = 'gmail', attempts = attempts + 1`);
  let sent;
  try {
    sent = await gmailSend({ baseUrl: config.gmailBaseUrl, accessToken: gmail.accessToken, timeoutMs: config.mailTimeoutMs }, raw, req.signal);
  } catch (err) {
    await update(db, rec, `status = 'failed', error = $3`, [(err as Error)?.message ?? String(err)]);
    throw err;
  }
  await update(db, rec, `status = 'sent', error = NULL, provider_id = $3, thread_id = $4, sent_at = $5::timestamptz`, [sent.id, sent.threadId, new Date(clock.now()).toISOString()]);
  return { emailId: rec.id, delivered: true, transport: 'gmail', providerId: sent.id, threadId: sent.threadId };
}

/** Writes the record if this is the first attempt, and reads it back either way. */
async function record(
  db: Database,
  clock: Clock,
  req: EffectRequest,
  e: Omit<z.output<typeof EmailParams>, 'to'> & { to: string[] },
  transport: 'gmail' | 'log',
  from: string | null,
): Promise<SentEmailRow> {
  const rows = await db.query<SentEmailRow>(
    `WITH ins AS (
       INSERT INTO sent_emails (tenant, id, actor, agent, from_address, to_addresses, cc_addresses, reply_to, subject, body, related, transport, at)
       VALUES ($1, $2, $3, (SELECT agent FROM effects WHERE tenant = $1 AND id = $2), $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12::timestamptz)
       ON CONFLICT (tenant, id) DO NOTHING
       RETURNING *)
     SELECT * FROM ins UNION ALL SELECT * FROM sent_emails WHERE tenant = $1 AND id = $2`,
    [
      req.tenant, req.id, `${req.actor.kind}/${req.actor.key}`, from, JSON.stringify(e.to), JSON.stringify(e.cc ?? []), e.replyTo ?? null,
      e.subject, e.body, e.related ?? null, transport, new Date(clock.now()).toISOString(),
    ],
  );
  if (rows[0]) return rows[0];
  const again = await db.query<SentEmailRow>(`SELECT * FROM sent_emails WHERE tenant = $1 AND id = $2`, [req.tenant, req.id]);
  if (!again[0]) throw new Error(`the email ${req.id} could not be recorded`);
  return again[0];
}

async function update(db: Database, rec: SentEmailRow, set: string, params: unknown[] = []): Promise<void> {
  await db.query(`UPDATE sent_emails SET ${set} WHERE tenant = $1 AND id = $2`, [rec.tenant, rec.id, ...params]);
}
