/**
 * Notifications and emails (docs/notifications.md): what `notify.send` and
 * `email.send` recorded, newest first with cursor pages, and the tenant's
 * webhook (shown by host only: a Slack webhook URL is a secret).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { loadNotifyConfig, Notifications, type NotificationRow, type NotifyConfig, type SentEmailRow, type WebhookStatus } from '../../notify/index.ts';
import type { RouteOptions } from '../app.ts';
import { ApiError } from '../errors.ts';
import { tenantDatabase } from '../tenant-scope.ts';
import { actingTenant, decider, errors, guards, isoOf, isoOrNull, limitParam, num, TenantQuery } from './actors.ts';

/** A notification or email id: the effect's id, `tenant/kind/key#seq#x0` (percent-encode `/` and `#` in the path). */
const EffectId = z.string().min(1).max(400);
const Cursor = z.string().min(1).max(1000).optional().describe('the `next` of the previous page');
const Since = z.iso.datetime({ offset: true }).optional().describe('at or after this time (ISO 8601)');
const Delivery = z.enum(['pending', 'sending', 'delivered', 'failed', 'throttled', 'not_configured']);
const EmailStatus = z.enum(['pending', 'sending', 'sent', 'failed', 'logged']);

const NotificationItem = z.object({
  id: z.string().describe('the notify.send effect id'),
  kind: z.string(),
  channel: z.string(),
  severity: z.enum(['info', 'warning', 'urgent']),
  title: z.string(),
  body: z.string(),
  topic: z.string().nullable(),
  related: z.string().nullable(),
  agent: z.string().nullable(),
  actor: z.string().nullable().describe('kind/key of the actor that asked'),
  createdAt: z.string(),
  delivery: Delivery.describe('delivered, throttled (an alert of the topic went out lately), not_configured (no webhook), failed (last post failed; retried), pending, sending'),
  sentAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  target: z.string().nullable().describe('the webhook host it went to'),
  error: z.string().nullable(),
  attempts: z.number().int(),
});

const EmailItem = z.object({
  id: z.string().describe('the email.send effect id'),
  actor: z.string().nullable(),
  agent: z.string().nullable(),
  from: z.string().nullable(),
  to: z.array(z.string()),
  cc: z.array(z.string()),
  replyTo: z.string().nullable(),
  subject: z.string(),
  body: z.string(),
  related: z.string().nullable(),
  transport: z.enum(['gmail', 'log']).describe('log: no transport configured, recorded only'),
  providerId: z.string().nullable().describe("Gmail's message id"),
  threadId: z.string().nullable(),
  status: EmailStatus,
  error: z.string().nullable(),
  attempts: z.number().int(),
  at: z.string(),
  sentAt: z.string().nullable(),
});

const Webhook = z.object({
  configured: z.boolean(),
  source: z.enum(['tenant', 'environment']).nullable().describe("tenant: set with PUT; environment: CADRE_NOTIFY_WEBHOOK_URL; null: none (notifications are recorded only)"),
  host: z.string().nullable().describe('the host only; the URL is a secret'),
  setBy: z.string().nullable(),
  updatedAt: z.string().nullable(),
});

const notificationOf = (n: NotificationRow): z.input<typeof NotificationItem> => ({
  id: n.id, kind: n.kind, channel: n.channel, severity: n.severity, title: n.title, body: n.body, topic: n.topic, related: n.related, agent: n.agent,
  actor: n.actor, createdAt: isoOf(n.created_at), delivery: n.status, sentAt: isoOrNull(n.sent_at), deliveredAt: isoOrNull(n.delivered_at),
  target: n.target_host, error: n.error, attempts: num(n.attempts),
});

const emailOf = (e: SentEmailRow): z.input<typeof EmailItem> => ({
  id: e.id, actor: e.actor, agent: e.agent, from: e.from_address, to: e.to_addresses, cc: e.cc_addresses, replyTo: e.reply_to, subject: e.subject,
  body: e.body, related: e.related, transport: e.transport, providerId: e.provider_id, threadId: e.thread_id, status: e.status, error: e.error,
  attempts: num(e.attempts), at: isoOf(e.at), sentAt: isoOrNull(e.sent_at),
});

const webhookOf = (w: WebhookStatus): z.input<typeof Webhook> => ({ ...w, updatedAt: isoOrNull(w.updatedAt) });

/**
 * The routes with a given configuration (its `webhookUrl` is the fallback
 * `GET /v1/notifications/webhook` reports).
 * @example const app = await buildGateway(rt, { adminToken }, [...coreRoutes, notificationRoutesWith(loadNotifyConfig({}))]);
 */
export function notificationRoutesWith(config: Pick<NotifyConfig, 'webhookUrl'>): (app: FastifyInstance, o: RouteOptions) => Promise<void> {
  return async (app, { runtime: rt, tokens }) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const guard = guards(tokens);
    /** Reads behind the tenant wall (row-level security). */
    const reads = (tenant: string) => new Notifications(tenantDatabase(rt.db, tenant), rt.clock, config);

    r.get('/v1/notifications', {
      preValidation: guard.viewer,
      schema: {
        summary: 'Notifications (briefs, reports, alerts, summaries, drafts), newest first, with how each was delivered',
        tags: ['notifications'],
        querystring: TenantQuery.extend({
          kind: z.enum(['brief', 'report', 'alert', 'summary', 'draft']).optional(),
          channel: z.string().max(80).optional(),
          severity: z.enum(['info', 'warning', 'urgent']).optional(),
          delivery: Delivery.optional(),
          since: Since,
          limit: limitParam(50, 500),
          after: Cursor,
        }),
        response: { 200: z.object({ items: z.array(NotificationItem), next: z.string().nullable() }), ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'viewer', tokens);
      const q = request.query;
      const p = await reads(tenant).list(tenant, { kind: q.kind, channel: q.channel, severity: q.severity, status: q.delivery, since: q.since, limit: q.limit, after: q.after });
      return { items: p.items.map(notificationOf), next: p.next };
    });

    r.get('/v1/notifications/webhook', {
      preValidation: guard.viewer,
      schema: {
        summary: "Whether the tenant's notifications have a webhook to go to (its host only, never the URL)",
        tags: ['notifications'],
        querystring: TenantQuery,
        response: { 200: Webhook, ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'viewer', tokens);
      return webhookOf(await reads(tenant).webhook(tenant));
    });

    r.put('/v1/notifications/webhook', {
      preValidation: guard.operator,
      schema: {
        summary: "Set the tenant's webhook (a Slack incoming webhook URL); it wins over CADRE_NOTIFY_WEBHOOK_URL",
        description: 'https:// only (http:// to 127.0.0.1 or localhost). 400 `invalid_webhook` otherwise.',
        tags: ['notifications'],
        querystring: TenantQuery,
        body: z.object({ url: z.string().min(1).max(2000) }).strict(),
        response: { 200: Webhook, ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'operator', tokens);
      const w = await new Notifications(rt.db, rt.clock, config).setWebhook(tenant, request.body.url, decider(request));
      request.log.info({ tenant, host: w.host }, 'notification webhook set');
      return webhookOf(w);
    });

    r.delete('/v1/notifications/webhook', {
      preValidation: guard.operator,
      schema: {
        summary: "Remove the tenant's webhook (CADRE_NOTIFY_WEBHOOK_URL applies again, if set)",
        tags: ['notifications'],
        querystring: TenantQuery,
        response: { 200: Webhook.extend({ removed: z.boolean().describe('false when the tenant had none') }), ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'operator', tokens);
      const n = new Notifications(rt.db, rt.clock, config);
      const removed = await n.clearWebhook(tenant);
      return { ...webhookOf(await n.webhook(tenant)), removed };
    });

    r.get('/v1/notifications/:id', {
      preValidation: guard.viewer,
      schema: {
        summary: 'One notification, by its id (the notify.send effect id)',
        tags: ['notifications'],
        params: z.object({ id: EffectId }),
        querystring: TenantQuery,
        response: { 200: NotificationItem, ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'viewer', tokens);
      const n = await reads(tenant).get(tenant, request.params.id);
      if (!n) throw new ApiError(404, 'not_found', `there is no notification ${request.params.id}`);
      return notificationOf(n);
    });

    r.get('/v1/emails', {
      preValidation: guard.viewer,
      schema: {
        summary: 'Emails recorded by email.send, newest first: sent through Gmail, or logged when no transport is configured',
        tags: ['notifications'],
        querystring: TenantQuery.extend({ status: EmailStatus.optional(), since: Since, limit: limitParam(50, 500), after: Cursor }),
        response: { 200: z.object({ items: z.array(EmailItem), next: z.string().nullable() }), ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'viewer', tokens);
      const q = request.query;
      const p = await reads(tenant).emails(tenant, { status: q.status, since: q.since, limit: q.limit, after: q.after });
      return { items: p.items.map(emailOf), next: p.next };
    });

    r.get('/v1/emails/:id', {
      preValidation: guard.viewer,
      schema: {
        summary: 'One recorded email, by its id (the email.send effect id)',
        tags: ['notifications'],
        params: z.object({ id: EffectId }),
        querystring: TenantQuery,
        response: { 200: EmailItem, ...errors },
      },
    }, async (request) => {
      const tenant = await actingTenant(request, 'viewer', tokens);
      const e = await reads(tenant).email(tenant, request.params.id);
      if (!e) throw new ApiError(404, 'not_found', `there is no email ${request.params.id}`);
      return emailOf(e);
    });
  };
}

/**
 * `/v1/notifications…`, `/v1/emails…`, with the configuration from the
 * environment (read once, when the gateway is built).
 * @example const app = await buildGateway(rt, { adminToken }, [...coreRoutes, notificationRoutes]);
 */
export async function notificationRoutes(app: FastifyInstance, o: RouteOptions): Promise<void> {
  await notificationRoutesWith(loadNotifyConfig(process.env))(app, o);
}
