/**
 * runtime/notify: notifications (`notify.send`, to a Slack-compatible webhook)
 * and email delivery (`email.send`, through the Gmail API or logged in demo
 * mode) as effect handlers, with their records. Other folders import only from
 * here. See docs/notifications.md.
 */
import type { Clock } from '../clock.ts';
import type { EffectHandler } from '../effects.ts';
import type { Logger } from '../logger.ts';
import type { NotifyConfig } from './config.ts';
import { emailSendEffect } from './email.ts';
import { notifySendEffect } from './notify-send.ts';
import type { DatabaseSource } from './source.ts';

export { loadNotifyConfig, NotifyConfig } from './config.ts';
export { NotifyError, type NotifyErrorCode } from './errors.ts';
export { notifySendEffect, NOTIFY_SEND, type NotifyResult } from './notify-send.ts';
export { emailSendEffect, EMAIL_SEND, type EmailResult } from './email.ts';
export {
  Notifications,
  checkWebhookUrl,
  decodeCursor,
  encodeCursor,
  type DeliveryStatus,
  type EmailQuery,
  type EmailStatus,
  type NotificationQuery,
  type NotificationRow,
  type NotifyPage,
  type SentEmailRow,
  type WebhookStatus,
  type WebhookTarget,
} from './notifications.ts';
export { slackMessage, escapeMrkdwn, type SlackMessage, type SlackBlock, type NotificationMessage } from './webhook.ts';
export { buildMessage, encodeHeaderText, quotedPrintable, HeaderInjectionError, type MailMessage } from './mime.ts';
export { databaseOf, type DatabaseSource } from './source.ts';

/**
 * The effect handlers of notify: `notify.send` and `email.send`. `db` may be a
 * function, for handlers made before the runtime opens its database.
 * @example
 * const notify = loadNotifyConfig(process.env);
 * const rt = createRuntime(config, { effects: notifyEffects(() => rt.db, clock, notify, log) });
 */
export function notifyEffects(db: DatabaseSource, clock: Clock, config: NotifyConfig, log: Logger): EffectHandler[] {
  return [notifySendEffect(db, clock, config, log), emailSendEffect(db, clock, config, log)];
}
