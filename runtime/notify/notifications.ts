/**
 * The notification and email records (migrations/009_notifications.sql), read
 * newest first with cursors, and each tenant's webhook. Reads take any Database,
 * so the gateway can pass one behind the tenant wall (tenantDatabase).
 */
import type { Clock } from '../clock.ts';
import type { Database } from '../store/index.ts';
import type { NotifyConfig } from './config.ts';
import { NotifyError } from './errors.ts';
import { hostOf } from './http.ts';

/** Where a notification stands. */
export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed' | 'throttled' | 'not_configured';
/** Where an email stands. */
export type EmailStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'logged';

/** A row of `notifications`. */
export type NotificationRow = {
  tenant: string;
  /** The notify.send effect's id. */
  id: string;
  kind: string;
  channel: string;
  severity: 'info' | 'warning' | 'urgent';
  title: string;
  body: string;
  topic: string | null;
  related: string | null;
  agent: string | null;
  /** kind/key of the actor that asked for it. */
  actor: string | null;
  created_at: Date;
  status: DeliveryStatus;
  sent_at: Date | null;
  delivered_at: Date | null;
  target_host: string | null;
  error: string | null;
  attempts: number;
};

/** A row of `sent_emails`. */
export type SentEmailRow = {
  tenant: string;
  /** The email.send effect's id. */
  id: string;
  actor: string | null;
  agent: string | null;
  from_address: string | null;
  to_addresses: string[];
  cc_addresses: string[];
  reply_to: string | null;
  subject: string;
  body: string;
  related: string | null;
  transport: 'gmail' | 'log';
  provider_id: string | null;
  thread_id: string | null;
  status: EmailStatus;
  error: string | null;
  attempts: number;
  at: Date;
  sent_at: Date | null;
};

/** Filters of {@link Notifications.list}. */
export interface NotificationQuery {
  kind?: string;
  channel?: string;
  severity?: string;
  status?: DeliveryStatus;
  /** At or after this time (ISO 8601). */
  since?: string;
  /** @default 50 */
  limit?: number;
  /** The `next` of the previous page. */
  after?: string;
}

/** Filters of {@link Notifications.emails}. */
export interface EmailQuery {
  status?: EmailStatus;
  since?: string;
  /** @default 50 */
  limit?: number;
  after?: string;
}

/** One page, newest first; `next` is the cursor of the following page, null on the last. */
export interface NotifyPage<T> {
  items: T[];
  next: string | null;
}

/** Whether a tenant's notifications have somewhere to go. Never the URL: a Slack webhook URL is a secret. */
export interface WebhookStatus {
  configured: boolean;
  /** `tenant`: set for the tenant; `environment`: CADRE_NOTIFY_WEBHOOK_URL; null: none. */
  source: 'tenant' | 'environment' | null;
  /** Host (and port) only. */
  host: string | null;
  setBy: string | null;
  updatedAt: Date | null;
}

/** Where a tenant's notifications go. */
export interface WebhookTarget {
  url: string;
  source: 'tenant' | 'environment';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Checks a tenant's webhook URL: `https://` anywhere, or `http://` to this
 * machine's loopback (a local relay, tests); at most 2000 characters; no user
 * name or password. Throws NotifyError `invalid_webhook` saying what is wrong.
 */
export function checkWebhookUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new NotifyError('invalid_webhook', 'the webhook is not a URL; give the full https:// URL of the incoming webhook');
  }
  if (url.length > 2000) throw new NotifyError('invalid_webhook', 'the webhook URL is longer than 2000 characters');
  if (u.username || u.password) throw new NotifyError('invalid_webhook', 'the webhook URL must not carry a user name or password');
  if (u.protocol === 'https:') return u.toString();
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return u.toString();
  throw new NotifyError('invalid_webhook', `the webhook must be an https:// URL (http:// only to 127.0.0.1 or localhost); got ${u.protocol}//${u.host}`);
}

/** A page cursor: the last item's time and id, base64url. */
export function encodeCursor(at: Date | string, id: string): string {
  return Buffer.from(JSON.stringify([new Date(at).toISOString(), id])).toString('base64url');
}

/** The time and id of a cursor; NotifyError `invalid_cursor` if it is not one of ours. */
export function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0]))) return { at: v[0], id: v[1] };
  } catch {
    // Not JSON: refused below.
  }
  throw new NotifyError('invalid_cursor', 'the cursor is not one this API gave out; pass the `next` of the previous page');
}

const N_COLUMNS = `tenant, id, kind, channel, severity, title, body, topic, related, agent, actor, created_at, status, sent_at, delivered_at, target_host, error, attempts`;
const E_COLUMNS = `tenant, id, actor, agent, from_address, to_addresses, cc_addresses, reply_to, subject, body, related, transport, provider_id, thread_id, status, error, attempts, at, sent_at`;

/**
 * Notifications and sent emails of a tenant, and its webhook.
 * @example
 * const n = new Notifications(rt.db, rt.clock, loadNotifyConfig());
 * const { items, next } = await n.list('acme', { kind: 'alert', limit: 20 });
 */
export class Notifications {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: Pick<NotifyConfig, 'webhookUrl'>,
  ) {}

  /** Notifications newest first, filtered. */
  async list(tenant: string, q: NotificationQuery = {}): Promise<NotifyPage<NotificationRow>> {
    const limit = q.limit ?? 50;
    const after = q.after ? decodeCursor(q.after) : null;
    const rows = await this.db.query<NotificationRow>(
      `SELECT ${N_COLUMNS} FROM notifications
       WHERE tenant = $1 AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR channel = $3) AND ($4::text IS NULL OR severity = $4)
         AND ($5::text IS NULL OR status = $5) AND ($6::timestamptz IS NULL OR created_at >= $6::timestamptz)
         AND ($7::timestamptz IS NULL OR (created_at, id) < ($7::timestamptz, $8::text))
       ORDER BY created_at DESC, id DESC LIMIT $9`,
      [tenant, q.kind ?? null, q.channel ?? null, q.severity ?? null, q.status ?? null, q.since ?? null, after?.at ?? null, after?.id ?? null, limit + 1],
    );
    return page(rows, limit, (r) => encodeCursor(r.created_at, r.id));
  }

  /** One notification, by its id (the effect id). */
  async get(tenant: string, id: string): Promise<NotificationRow | undefined> {
    const rows = await this.db.query<NotificationRow>(`SELECT ${N_COLUMNS} FROM notifications WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return rows[0];
  }

  /** Emails recorded by email.send, newest first. */
  async emails(tenant: string, q: EmailQuery = {}): Promise<NotifyPage<SentEmailRow>> {
    const limit = q.limit ?? 50;
    const after = q.after ? decodeCursor(q.after) : null;
    const rows = await this.db.query<SentEmailRow>(
      `SELECT ${E_COLUMNS} FROM sent_emails
       WHERE tenant = $1 AND ($2::text IS NULL OR status = $2) AND ($3::timestamptz IS NULL OR at >= $3::timestamptz)
         AND ($4::timestamptz IS NULL OR (at, id) < ($4::timestamptz, $5::text))
       ORDER BY at DESC, id DESC LIMIT $6`,
      [tenant, q.status ?? null, q.since ?? null, after?.at ?? null, after?.id ?? null, limit + 1],
    );
    return page(rows, limit, (r) => encodeCursor(r.at, r.id));
  }

  /** One recorded email, by its id (the effect id). */
  async email(tenant: string, id: string): Promise<SentEmailRow | undefined> {
    const rows = await this.db.query<SentEmailRow>(`SELECT ${E_COLUMNS} FROM sent_emails WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return rows[0];
  }

  /** Where the tenant's notifications go: its own webhook, else CADRE_NOTIFY_WEBHOOK_URL, else nowhere. */
  async target(tenant: string): Promise<WebhookTarget | null> {
    const rows = await this.db.query<{ webhook_url: string }>(`SELECT webhook_url FROM notification_channels WHERE tenant = $1`, [tenant]);
    if (rows[0]) return { url: rows[0].webhook_url, source: 'tenant' };
    return this.config.webhookUrl ? { url: this.config.webhookUrl, source: 'environment' } : null;
  }

  /** Whether the tenant's notifications have somewhere to go, and the host only. */
  async webhook(tenant: string): Promise<WebhookStatus> {
    const rows = await this.db.query<{ webhook_url: string; set_by: string; updated_at: Date }>(
      `SELECT webhook_url, set_by, updated_at FROM notification_channels WHERE tenant = $1`,
      [tenant],
    );
    const r = rows[0];
    if (r) return { configured: true, source: 'tenant', host: hostOf(r.webhook_url), setBy: r.set_by, updatedAt: r.updated_at };
    if (this.config.webhookUrl) return { configured: true, source: 'environment', host: hostOf(this.config.webhookUrl), setBy: null, updatedAt: null };
    return { configured: false, source: null, host: null, setBy: null, updatedAt: null };
  }

  /** Sets the tenant's webhook (checked by {@link checkWebhookUrl}); answers the status after. */
  async setWebhook(tenant: string, url: string, by: string): Promise<WebhookStatus> {
    const checked = checkWebhookUrl(url);
    const now = new Date(this.clock.now()).toISOString();
    await this.db.query(
      `INSERT INTO notification_channels (tenant, webhook_url, set_by, created_at, updated_at) VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz)
       ON CONFLICT (tenant) DO UPDATE SET webhook_url = EXCLUDED.webhook_url, set_by = EXCLUDED.set_by, updated_at = EXCLUDED.updated_at`,
      [tenant, checked, by, now],
    );
    return this.webhook(tenant);
  }

  /** Removes the tenant's webhook (CADRE_NOTIFY_WEBHOOK_URL applies again, if set); false if it had none. */
  async clearWebhook(tenant: string): Promise<boolean> {
    const rows = await this.db.query(`DELETE FROM notification_channels WHERE tenant = $1 RETURNING tenant`, [tenant]);
    return rows.length > 0;
  }
}

function page<T>(rows: T[], limit: number, cursor: (last: T) => string): NotifyPage<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? cursor(items[items.length - 1]!) : null };
}
