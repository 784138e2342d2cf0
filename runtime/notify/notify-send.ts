/**
 * The `notify.send` effect: record the notification, throttle alerts per topic,
 * post it to the tenant's webhook (or CADRE_NOTIFY_WEBHOOK_URL), record how it went.
 */
import { z } from 'zod';
import { NotifyParams } from '../../agents/actions.ts';
import type { Clock } from '../clock.ts';
import { paramsOf, type EffectHandler, type EffectRequest } from '../effects.ts';
import type { Logger } from '../logger.ts';
import type { Database } from '../store/index.ts';
import type { NotifyConfig } from './config.ts';
import { hostOf } from './http.ts';
import { databaseOf, type DatabaseSource } from './source.ts';
import { Notifications, type DeliveryStatus, type NotificationRow } from './notifications.ts';
import { postToWebhook, slackMessage } from './webhook.ts';

/** The action type. */
export const NOTIFY_SEND = 'notify.send';

/** What `notify.send` answers the actor. */
export interface NotifyResult {
  notificationId: string;
  delivery: Extract<DeliveryStatus, 'delivered' | 'throttled' | 'not_configured'>;
}

const SETTLED = new Set<DeliveryStatus>(['delivered', 'throttled', 'not_configured']);
const NOT_CONFIGURED = 'notification recorded; no webhook configured (set CADRE_NOTIFY_WEBHOOK_URL or PUT /v1/notifications/webhook)';

/**
 * The `notify.send` handler. Idempotent by the effect id: the record is written
 * first, and a retry finds it and posts nothing once it is delivered, throttled or
 * not configured. An alert (`kind: 'alert'`) whose topic had an alert posted within
 * `alertThrottleMs` is recorded as throttled and not posted; a lock per tenant and
 * topic makes a burst of them post once.
 * @example runtime options: { effects: [notifySendEffect(() => rt.db, clock, loadNotifyConfig(), log)] }
 */
export function notifySendEffect(db: DatabaseSource, clock: Clock, config: NotifyConfig, log: Logger): EffectHandler {
  const l = log.child({ component: 'notify' });
  return {
    actionType: NOTIFY_SEND,
    retry: { attempts: 5, backoffMs: 2000, maxBackoffMs: 120_000 },
    // The post's own limit, and time for the records around it.
    timeoutMs: config.webhookTimeoutMs + 5000,
    run: (req) => send(databaseOf(db), clock, config, l, req),
  };
}

async function send(db: Database, clock: Clock, config: NotifyConfig, log: Logger, req: EffectRequest): Promise<NotifyResult> {
  const rec = await record(db, clock, req, paramsOf(NotifyParams, req));
  const result = (delivery: NotifyResult['delivery']): NotifyResult => ({ notificationId: rec.id, delivery });
  if (SETTLED.has(rec.status)) return result(rec.status as NotifyResult['delivery']);

  const target = await new Notifications(db, clock, config).target(req.tenant);
  const now = new Date(clock.now()).toISOString();
  if (!target) {
    await settle(db, rec, 'not_configured', { attempts: true });
    log.info({ tenant: req.tenant, notification: rec.id, channel: rec.channel, title: rec.title }, NOT_CONFIGURED);
    return result('not_configured');
  }
  const host = hostOf(target.url);
  if (rec.kind === 'alert' && rec.topic) {
    const by = await claimAlert(db, rec, now, new Date(clock.now() - config.alertThrottleMs).toISOString(), host);
    if (by) {
      log.info({ tenant: req.tenant, notification: rec.id, topic: rec.topic, throttledBy: by }, 'alert throttled: an alert of this topic was delivered within CADRE_ALERT_THROTTLE_MS');
      return result('throttled');
    }
  } else {
    await db.query(
      `UPDATE notifications SET status = 'sending', sent_at = $3::timestamptz, target_host = $4, attempts = attempts + 1 WHERE tenant = $1 AND id = $2`,
      [rec.tenant, rec.id, now, host],
    );
  }
  try {
    await postToWebhook(target.url, slackMessage(rec), { timeoutMs: config.webhookTimeoutMs, signal: req.signal });
  } catch (err) {
    await settle(db, rec, 'failed', { error: (err as Error)?.message ?? String(err) });
    throw err;
  }
  await settle(db, rec, 'delivered', { deliveredAt: new Date(clock.now()).toISOString() });
  return result('delivered');
}

/** Writes the record if this is the first attempt, and reads it back either way. */
async function record(db: Database, clock: Clock, req: EffectRequest, n: z.output<typeof NotifyParams>): Promise<NotificationRow> {
  const params = [
    req.tenant, req.id, n.kind, n.channel, n.severity, n.title, n.body, n.topic ?? null, n.related ?? null,
    `${req.actor.kind}/${req.actor.key}`, new Date(clock.now()).toISOString(),
  ];
  // The insert's row, or the one a previous attempt wrote (the SELECT does not see the insert).
  const rows = await db.query<NotificationRow>(
    `WITH ins AS (
       INSERT INTO notifications (tenant, id, kind, channel, severity, title, body, topic, related, agent, actor, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT agent FROM effects WHERE tenant = $1 AND id = $2), $10, $11::timestamptz)
       ON CONFLICT (tenant, id) DO NOTHING
       RETURNING *)
     SELECT * FROM ins UNION ALL SELECT * FROM notifications WHERE tenant = $1 AND id = $2`,
    params,
  );
  if (rows[0]) return rows[0];
  // Another attempt inserted it concurrently and had not committed when we looked.
  const again = await db.query<NotificationRow>(`SELECT * FROM notifications WHERE tenant = $1 AND id = $2`, [req.tenant, req.id]);
  if (!again[0]) throw new Error(`the notification ${req.id} could not be recorded`);
  return again[0];
}

/**
 * Under a lock of the tenant and topic: throttles the alert if another alert of
 * its topic was posted (or is being posted) since `since`, else marks it sending,
 * so that the next alert of the topic sees it. Returns the id of the alert that
 * throttled it, or null when this one may post.
 */
async function claimAlert(db: Database, rec: NotificationRow, now: string, since: string, host: string): Promise<string | null> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`cadre.notify.alert/${rec.tenant}/${rec.topic}`]);
    const recent = await tx.query<{ id: string }>(
      `SELECT id FROM notifications
       WHERE topic = $3 AND tenant = $1 AND kind = 'alert' AND status IN ('sending', 'delivered') AND sent_at > $4::timestamptz AND id <> $2
       ORDER BY sent_at DESC LIMIT 1`,
      [rec.tenant, rec.id, rec.topic, since],
    );
    const by = recent[0]?.id ?? null;
    await tx.query(
      by
        ? `UPDATE notifications SET status = 'throttled', error = NULL, attempts = attempts + 1 WHERE tenant = $1 AND id = $2`
        : `UPDATE notifications SET status = 'sending', sent_at = $3::timestamptz, target_host = $4, attempts = attempts + 1 WHERE tenant = $1 AND id = $2`,
      by ? [rec.tenant, rec.id] : [rec.tenant, rec.id, now, host],
    );
    return by;
  });
}

async function settle(db: Database, rec: NotificationRow, status: DeliveryStatus, o: { error?: string; deliveredAt?: string; attempts?: boolean }): Promise<void> {
  await db.query(
    `UPDATE notifications SET status = $3, error = $4, delivered_at = COALESCE($5::timestamptz, delivered_at), attempts = attempts + $6
     WHERE tenant = $1 AND id = $2`,
    [rec.tenant, rec.id, status, o.error ?? null, o.deliveredAt ?? null, o.attempts ? 1 : 0],
  );
}
